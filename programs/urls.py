from django.urls import include, path

from programs import import_views, views

app_name = "programs"

urlpatterns = [
    path("", views.home, name="home"),
    path("collections/import/", views.collections_import_upload, name="collections_import"),
    path("roster/", views.roster, name="roster"),
    path("roster/import/", views.roster_import_upload, name="roster_import"),
    path("imports/<int:pk>/", import_views.import_job_detail, name="import_job"),
    path("providers/", include("programs.provider_urls")),
    path("manage/", include("programs.admin_urls")),
]
