"""One error body for every API refusal: {"detail": "<what went wrong>", "errors": [...]}
where each item of `errors` has a `message` and, when it applies, the `field` (dotted
path) or the `line` (index of a bulk row) it is about."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

NON_FIELD = "non_field_errors"


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


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        data = exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages}
        exc = exceptions.ValidationError(data)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(response.data)
        response.data = {"detail": "The request has errors; nothing was changed.", "errors": errors}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else ""
        response.data = {"detail": str(detail) or str(response.status_text), "errors": []}
    return response
