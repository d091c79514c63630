from django.urls import path

from reports.views import dashboards, exports, messages

app_name = "reports"

urlpatterns = [
    path("", dashboards.company, name="company"),
    path("org/<int:organization_id>/", dashboards.organization, name="org"),
    path("all-hands/", dashboards.all_hands, name="all_hands"),
    path("all-hands/deck/", dashboards.deck, name="all_hands_deck"),
    path("export/organizations.csv", exports.export_organizations, name="export_organizations"),
    path("export/people.csv", exports.export_people, name="export_people"),
    path("messages/", messages.messages_log, name="messages"),
    path("messages/settings/<int:program_id>/", messages.message_settings, name="message_settings"),
    path("unsubscribe/<str:token>/", messages.unsubscribe, name="unsubscribe"),
]
