from django.urls import include, path

from programs import views

app_name = "programs"

urlpatterns = [
    path("", views.home, name="home"),
    path("collections/import/", views.collections_import_upload, name="collections_import"),
    path("roster/", views.roster, name="roster"),
    path("roster/import/", views.roster_import_upload, name="roster_import"),
    path("providers/", include("programs.provider_urls")),
    path("manage/", include("programs.admin_urls")),
]
