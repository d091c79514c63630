"""How the API reads a query parameter: one form field per kind (text, whole number, the id
of an object, date, one of a list), used by the FilterSets of the lists
(learnhub.api.filters), the forms of the actions below and the pagination, so that every
parameter follows the same rules and the schema says what each accepts:

- a parameter given more than once is refused (400), as is an empty value for an
  integer, date or choice parameter; `errors` names the parameter;
- ids are whole numbers from 1 (documented `minimum: 1`); an id that matches nothing is
  a 404 naming the parameter (the request was well formed, the object is not there).

Absent parameters are None (or "" for text), and the view applies its default.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from django import forms
from django.core.exceptions import ValidationError as FormValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request

from learnhub.api.errors import ParameterNotFound
from programs.models import LearningProgram, Organization
from reports.people import Stage

# Ids are BigAutoField values: a larger number is well formed but can match nothing.
MAX_ID = 2**63 - 1
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class QueryValues(NamedTuple):
    """Every value the query string gives one parameter, and the parameter's name (the
    messages name it)."""

    name: str
    values: list[str]


class QueryStringInput(forms.Widget):
    """Hands its field every value of the parameter, not only the last one (what a form
    reads by default), so that a repeated parameter is refused rather than half read."""

    def value_from_datadict(self, data: Mapping[str, Any], files: Any, name: str) -> QueryValues:
        return QueryValues(name, data.getlist(name))  # type: ignore[attr-defined]  # a QueryDict


class QueryParameter(forms.Field):
    """One query parameter, never required: absent it reads as None; given twice it is
    refused; empty it is refused, unless the kind is free text (`empty_refusal` None).
    Each kind parses the value (`parse`) and says its OpenAPI `schema`.

    Messages pass the value as a parameter, never inside the text: a value such as "%d"
    is shown as written."""

    widget = QueryStringInput

    def __init__(self, **kwargs: Any) -> None:
        kwargs["required"] = False
        super().__init__(**kwargs)

    @property
    def schema(self) -> dict[str, Any]:
        return {"type": "string"}

    def empty_refusal(self, name: str) -> str | None:
        """The refusal of an empty value, saying how to write one; None: empty is allowed."""
        return None

    def to_python(self, value: Any) -> Any:
        name, values = value  # a QueryValues (QueryStringInput)
        if not values:
            return None
        if len(values) > 1:
            given = ngettext(
                "Give %(name)s once, not %(count)d time.", "Give %(name)s once, not %(count)d times.", len(values)
            )
            raise FormValidationError(given % {"name": name, "count": len(values)})
        refusal = self.empty_refusal(name)
        if values[0] == "" and refusal is not None:
            raise FormValidationError(refusal)
        return self.parse(name, values[0])

    def parse(self, name: str, value: str) -> Any:
        return value


def _not(value: str, message: str, name: str = "") -> FormValidationError:
    """`message` (with %(value)s and, if it names it, %(name)s) about `value`, given as a
    parameter: the value is shown as written."""
    return FormValidationError(message, params={"value": value, "name": name})


class TextParameter(QueryParameter):
    """Free text, stripped; "" when absent or empty."""

    def to_python(self, value: Any) -> str:
        return (super().to_python(value) or "").strip()


class WholeNumberParameter(QueryParameter):
    """A whole number from 1. Numbers past the id range (2^63 - 1) all read as 2^63: no id
    matches them and no page is that far (and Python refuses int() of thousands of digits)."""

    @property
    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": 1}

    def empty_refusal(self, name: str) -> str:
        return _("%(name)s is empty: use %(name)s=<a whole number from 1>, or leave it out.") % {"name": name}

    def parse(self, name: str, value: str) -> int:
        digits = value.lstrip("0")
        if not value.isascii() or not value.isdigit() or not digits:
            raise _not(value, _("“%(value)s” is not a whole number from 1."))
        return int(digits) if len(digits) <= len(str(MAX_ID)) else MAX_ID + 1


class ObjectParameter(WholeNumberParameter):
    """The object of `queryset` whose id is the value. An id that matches nothing is no
    malformed request: it raises ParameterNotFound (the API's 404 naming the parameter),
    which the form lets through."""

    def __init__(self, *, queryset: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.queryset = queryset

    def parse(self, name: str, value: str) -> Any:
        pk = super().parse(name, value)
        found = self.queryset.filter(pk=pk).first() if pk <= MAX_ID else None
        if found is None:
            message = _("There is no %(object)s with id %(id)s.") % {
                "object": self.queryset.model._meta.verbose_name,
                "id": pk if pk <= MAX_ID else value,
            }
            raise ParameterNotFound(field=name, message=message)
        return found


class DateParameter(QueryParameter):
    """A day written YYYY-MM-DD (the schema's `format: date`; no other ISO 8601 form)."""

    @property
    def schema(self) -> dict[str, Any]:
        return {"type": "string", "format": "date"}

    def empty_refusal(self, name: str) -> str:
        return _("%(name)s is empty: use %(name)s=YYYY-MM-DD, or leave it out.") % {"name": name}

    def parse(self, name: str, value: str) -> dt.date:
        try:
            if not DATE.fullmatch(value):
                raise ValueError(value)
            return dt.date.fromisoformat(value)
        except ValueError:
            raise _not(value, _("“%(value)s” is not a date: use %(name)s=YYYY-MM-DD."), name) from None


class ChoiceParameter(QueryParameter):
    """One of `allowed`, written exactly."""

    def __init__(self, *, allowed: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.allowed = list(allowed)

    @property
    def schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": self.allowed}

    def empty_refusal(self, name: str) -> str:
        return _("%(name)s is empty: use one of %(allowed)s, or leave it out.") % {
            "name": name,
            "allowed": ", ".join(self.allowed),
        }

    def parse(self, name: str, value: str) -> str:
        if value not in self.allowed:
            raise FormValidationError(_("must be one of: %(allowed)s.") % {"allowed": ", ".join(self.allowed)})
        return value


def parameters_read(form_class: type[forms.Form], request: Request) -> dict[str, Any]:
    """The parameters of `form_class` read from the request's query string; any bad one
    is the API's 400 naming it (the FilterSets' DjangoFilterBackend answers the same)."""
    form = form_class(request.query_params)
    if not form.is_valid():
        raise ValidationError({name: list(messages) for name, messages in form.errors.items()})
    return form.cleaned_data


def openapi_parameters(form_class: type[forms.Form]) -> list[OpenApiParameter]:
    """The schema of the parameters of `form_class`, from its fields."""
    return [
        OpenApiParameter(name, field.schema, description=str(field.help_text))
        for name, field in form_class.base_fields.items()
        if isinstance(field, QueryParameter)
    ]


# --- The parameters of the pagination and of the actions that are not lists -------------


class PageParameters(forms.Form):
    page = WholeNumberParameter()
    page_size = WholeNumberParameter()


class ToNudgeParameters(forms.Form):
    program = ObjectParameter(
        queryset=LearningProgram.objects.all(), help_text="Program id (default: the current program)."
    )
    status = ChoiceParameter(allowed=Stage.values, help_text="Only the people at this stage (default: everyone).")


class ProgressParameters(forms.Form):
    as_of = DateParameter(help_text="YYYY-MM-DD (default today; never after the program end).")


# "from" and "to" are Python keywords, so this form is built from a mapping of its fields.
SnapshotParameters: type[forms.Form] = type(
    "SnapshotParameters",
    (forms.Form,),
    {
        "organization": ObjectParameter(
            queryset=Organization.objects.all(), help_text="Organization id (default: the company)."
        ),
        "from": DateParameter(help_text="First day, YYYY-MM-DD."),
        "to": DateParameter(help_text="Last day, YYYY-MM-DD (a `to` before `from` gives no points)."),
    },
)
