from django.urls import path

from reports import views, views_messages

app_name = "reports"

urlpatterns = [
    path("", views.company, name="company"),
    path("org/<int:organization_id>/", views.organization, name="org"),
    path("all-hands/", views.all_hands, name="all_hands"),
    path("export/organizations.csv", views.export_organizations, name="export_organizations"),
    path("export/people.csv", views.export_people, name="export_people"),
]

urlpatterns += [
    path("messages/", views_messages.messages_log, name="messages"),
    path("messages/settings/<int:program_id>/", views_messages.message_settings, name="message_settings"),
    path("unsubscribe/<str:token>/", views_messages.unsubscribe, name="unsubscribe"),
]
