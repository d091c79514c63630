"""Query parameters of the API, read one way by every view and by the pagination, so the
schema can say what each accepts:

- a parameter given more than once is refused (400), as is an empty value for an
  integer, date or choice parameter; `errors` names the parameter;
- ids are whole numbers from 1 (documented `minimum: 1`); an id that matches nothing is
  a 404 naming the parameter (the request was well formed, the object is not there).

Absent parameters are None (or "" for text), and the view applies its default.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from learnhub.api.errors import ParameterNotFound

# Ids are BigAutoField values: a larger number is well formed but can match nothing.
MAX_ID = 2**63 - 1
ID_SCHEMA = {"type": "integer", "minimum": 1}
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _refuse(name: str, message: str) -> ValidationError:
    return ValidationError({name: [message]})


def _raw(request: Request, name: str) -> str | None:
    values = request.query_params.getlist(name)
    if not values:
        return None
    if len(values) > 1:
        raise _refuse(name, f"Give {name} once, not {len(values)} times.")
    return values[0]


def text_param(request: Request, name: str) -> str:
    """Free text, stripped; "" when absent or empty."""
    return (_raw(request, name) or "").strip()


def _present(request: Request, name: str, hint: str) -> str | None:
    value = _raw(request, name)
    if value == "":
        raise _refuse(name, f"{name} is empty: {hint}, or leave it out.")
    return value


def choice_param(request: Request, name: str, choices: Sequence[str]) -> str | None:
    value = _present(request, name, f"use one of {', '.join(choices)}")
    if value is not None and value not in choices:
        raise _refuse(name, f"must be one of: {', '.join(choices)}.")
    return value


def int_param(request: Request, name: str) -> int | None:
    """A whole number from 1. Numbers past the id range (2^63 - 1) all read as 2^63: no id
    matches them and no page is that far (and Python refuses int() of thousands of digits)."""
    value = _present(request, name, f"use {name}=<a whole number from 1>")
    if value is None:
        return None
    digits = value.lstrip("0")
    if not value.isascii() or not value.isdigit() or not digits:
        raise _refuse(name, f"“{value}” is not a whole number from 1.")
    return int(digits) if len(digits) <= len(str(MAX_ID)) else MAX_ID + 1


def date_param(request: Request, name: str) -> dt.date | None:
    """A day written YYYY-MM-DD (the schema's `format: date`; no other ISO 8601 form)."""
    value = _present(request, name, f"use {name}=YYYY-MM-DD")
    if value is None:
        return None
    try:
        if not DATE.fullmatch(value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _refuse(name, f"“{value}” is not a date: use {name}=YYYY-MM-DD.") from None


def object_param(request: Request, name: str, queryset: QuerySet[Any]) -> Any:
    """The object whose id is `?name=`, or None when the parameter is absent."""
    pk = int_param(request, name)
    if pk is None:
        return None
    found = queryset.filter(pk=pk).first() if pk <= MAX_ID else None
    if found is None:
        shown = pk if pk <= MAX_ID else request.query_params[name]
        message = f"There is no {queryset.model._meta.verbose_name} with id {shown}."
        raise ParameterNotFound(field=name, message=message)
    return found


def id_parameter(name: str, description: str) -> OpenApiParameter:
    """The schema of an id query parameter (read by object_param)."""
    return OpenApiParameter(name, ID_SCHEMA, description=description)


def date_parameter(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.DATE, description=description)
