from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "LearnHub administration"
admin.site.site_title = "LearnHub admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("programs.urls")),
    path("champions/", include("champions.urls")),
    path("reports/", include("reports.urls")),
]
