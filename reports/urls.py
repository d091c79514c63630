from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.company, name="company"),
    path("org/<int:organization_id>/", views.organization, name="org"),
    path("all-hands/", views.all_hands, name="all_hands"),
    path("export/organizations.csv", views.export_organizations, name="export_organizations"),
    path("export/people.csv", views.export_people, name="export_people"),
]
