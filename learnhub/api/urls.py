"""/api/: the v1 API, its OpenAPI schema, the offline docs page and the token page."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from learnhub.api import pages, views

router = SimpleRouter()
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
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("tokens/", pages.tokens, name="tokens"),
    path("tokens/<int:pk>/revoke/", pages.token_revoke, name="token_revoke"),
]
