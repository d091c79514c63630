from django.urls import include, path

from programs.views import collections_import, imports, roster

app_name = "programs"

urlpatterns = [
    path("collections/import/", collections_import.collections_import_upload, name="collections_import"),
    path("roster/", roster.roster, name="roster"),
    path("roster/import/", roster.roster_import_upload, name="roster_import"),
    path("imports/<int:pk>/", imports.import_job_detail, name="import_job"),
    path("imports/<int:pk>/progress.json", imports.import_job_progress, name="import_job_progress"),
    path("imports/<int:pk>/bad-lines.csv", imports.import_job_errors, name="import_job_errors"),
    path("providers/", include("programs.provider_urls")),
]
