"""One error body for every API answer that is not a success, whoever produces it (a DRF
view, Django's URL resolver, a middleware, a crash):
{"detail": "<what went wrong>", "errors": [...]}, where each item of `errors` has a
`message` and, when it applies, the `field` (dotted path, or the query parameter) or the
`line` (index of a bulk row) it is about.

The API is every path under /api/ except its browser pages (the docs page and the token
page), which answer HTML like the rest of the site. The xAPI addresses (/xapi/) have their
own JSON error shape, `{"error": "..."}` (programs/xapi/responses.py): Django's error views
answer it there too, for an unknown address, a body Django refuses or a crash."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from programs.xapi.responses import xapi_error

NON_FIELD = "non_field_errors"
API_PREFIX = "/api/"
XAPI_PREFIX = "/xapi/"
BROWSER_PAGES = ("/api/docs/", "/api/tokens/")
VALIDATION_DETAIL = gettext_lazy("The request has errors; nothing was changed.")


class ParameterNotFound(exceptions.NotFound):
    """A query parameter names an object that does not exist: 404, and `errors` says which
    parameter."""

    def __init__(self, *, field: str, message: str) -> None:
        super().__init__(message)
        self.errors = [{"field": field, "message": message}]


def _flatten(data: Any, path: str = "") -> list[dict[str, Any]]:
    if isinstance(data, dict):
        items: list[dict[str, Any]] = []
        for key, value in data.items():
            name = "" if key in (NON_FIELD, "__all__") else str(key)
            items += _flatten(value, f"{path}.{name}" if path and name else (name or path))
        return items
    if isinstance(data, list):
        if all(not isinstance(v, (dict, list)) for v in data):
            return [{"field": path, "message": str(v)} if path else {"message": str(v)} for v in data]
        items = []
        for index, value in enumerate(data):
            items += _flatten(value, f"{path}.{index}" if path else str(index))
        return items
    return [{"field": path, "message": str(data)} if path else {"message": str(data)}]


def error_response(*, detail: str, errors: list[dict[str, Any]], status_code: int) -> Response:
    return Response({"detail": detail, "errors": errors}, status=status_code)


def body_too_large_detail() -> str:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None:
        return _("The request body is too large.")
    return _("The request body is too large: at most %(megabytes)d MB.") % {"megabytes": limit // (1024 * 1024) or 1}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return error_response(detail=body_too_large_detail(), errors=[], status_code=413)
    if isinstance(exc, DjangoValidationError):
        data = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
        exc = exceptions.ValidationError(data)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": str(VALIDATION_DETAIL), "errors": _flatten(response.data)}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = {"detail": str(detail) or str(response.status_text), "errors": getattr(exc, "errors", [])}
    return response


# --- Django's error views (learnhub/urls.py handler400/403/404/500) ------------------------


def is_api_request(request: HttpRequest) -> bool:
    path = request.path_info
    return path.startswith(API_PREFIX) and not path.startswith(BROWSER_PAGES)


def _json_error(detail: str, status_code: int) -> JsonResponse:
    return JsonResponse(
        {"detail": detail, "errors": []}, status=status_code, json_dumps_params={"separators": (",", ":")}
    )


def is_xapi_request(request: HttpRequest) -> bool:
    return request.path_info.startswith(XAPI_PREFIX)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_xapi_request(request):
        return xapi_error(400, "Bad request.")
    if not is_api_request(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        return _json_error(body_too_large_detail(), status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    return _json_error(_("Bad request."), status.HTTP_400_BAD_REQUEST)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_xapi_request(request):
        return xapi_error(403, "Forbidden.")
    if not is_api_request(request):
        return defaults.permission_denied(request, exception)
    return _json_error(str(exceptions.PermissionDenied.default_detail), status.HTTP_403_FORBIDDEN)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_xapi_request(request):
        return xapi_error(404, "No such xAPI address: statements go to /xapi/<connection id>/statements.")
    if not is_api_request(request):
        return defaults.page_not_found(request, exception)
    return _json_error(str(exceptions.NotFound.default_detail), status.HTTP_404_NOT_FOUND)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_xapi_request(request):
        return xapi_error(500, "Server error: it is logged; send the statements again later.")
    if not is_api_request(request):
        return defaults.server_error(request)
    return _json_error(_("Server error: it is logged; try again later."), status.HTTP_500_INTERNAL_SERVER_ERROR)
