from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.utils.translation import gettext_lazy
from django.views.generic import RedirectView

from champions.views.home import home
from learnhub.language import language_choose

admin.site.site_header = gettext_lazy("LearnHub administration")
admin.site.site_title = gettext_lazy("LearnHub admin")

urlpatterns = [
    # Browsers ask for /favicon.ico on pages without an icon link (allauth's own layout, files).
    path("favicon.ico", RedirectView.as_view(url=static("img/favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", home, name="home"),
    path("language/", language_choose, name="language"),
    path("", include("programs.urls")),
    path("manage/", include("learnhub.manage.urls")),
    path("champions/", include("champions.urls")),
    path("reports/", include("reports.urls")),
    path("api/", include("learnhub.api.urls")),
    path("scim/v2/", include("learnhub.scim.urls")),
    # xAPI statement intake: machines with their own credentials (programs/xapi/views.py).
    path("xapi/", include("programs.xapi.urls")),
]

# The API and the xAPI addresses answer their JSON error bodies for their own paths
# (learnhub/api/errors.py); every other path keeps Django's default pages.
handler400 = "learnhub.api.errors.bad_request"
handler403 = "learnhub.api.errors.permission_denied"
handler404 = "learnhub.api.errors.page_not_found"
handler500 = "learnhub.api.errors.server_error"
