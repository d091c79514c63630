"""/api/: the v1 API, its OpenAPI schema, the offline docs page and the token page."""

from typing import Any

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from learnhub.api import docs, pages, views


class IdRouter(SimpleRouter):
    """Objects are found by their numeric id: `<int:pk>` in every detail path, so a path
    whose id is not a whole number (`/collections/abc/`) matches no URL and gets the API's
    JSON 404 (learnhub.api.errors.page_not_found) instead of reaching a query."""

    def __init__(self) -> None:
        super().__init__(use_regex_path=False)

    def get_lookup_regex(self, viewset: Any, lookup_prefix: str = "") -> str:
        lookup = getattr(viewset, "lookup_url_kwarg", None) or getattr(viewset, "lookup_field", "pk")
        return f"<int:{lookup_prefix}{lookup}>"


router = IdRouter()
router.register("programs", views.ProgramViewSet, basename="program")
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("employees", views.EmployeeViewSet, basename="employee")
router.register("collections", views.CollectionViewSet, basename="collection")
router.register("study-groups", views.StudyGroupViewSet, basename="study-group")
router.register("connections", views.ConnectionViewSet, basename="connection")
router.register("sync-runs", views.SyncRunViewSet, basename="sync-run")

app_name = "api"

urlpatterns = [
    path("v1/", include(router.urls)),
    path("schema/", docs.SchemaView.as_view(), name="schema"),
    path("docs/", docs.DocsView.as_view(url_name="api:schema"), name="docs"),
    path("tokens/", pages.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", pages.token_revoke, name="token_revoke"),
]
