"""/api/schema/ and /api/docs/: signed-in people only unless settings.API_DOCS_PUBLIC
(SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]).

- The schema is an API answer: a refusal is the JSON error body (401), never YAML.
- The docs page is a browser page: an anonymous visitor is sent to the sign-in page and
  back. It is drf-spectacular's split Swagger UI view, whose init script is a file of its
  own (`?script`), because the Content-Security-Policy allows no inline script.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponseBase
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request


class SchemaView(SpectacularAPIView):
    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if response.status_code >= 400:
            # The schema renderers would write the error body as an OpenAPI document.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)


class DocsView(SpectacularSwaggerSplitView):
    # drf-spectacular's page without its inline <style> block (the CSP allows none).
    template_name = "api/swagger_ui.html"

    def handle_exception(self, exc: Exception) -> HttpResponseBase:
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            return redirect_to_login(self.request.get_full_path())
        return super().handle_exception(exc)
