"""The filtering parameters of the API's lists, as django-filter FilterSets (so
drf-spectacular documents them). Each parameter is read by a learnhub.api.params field:
the same rules, messages and schema as every other query parameter of the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema_field
from rest_framework.request import Request

from champions.selectors import groups_visible
from learnhub.api.params import ChoiceParameter, ObjectParameter, TextParameter
from learnhub.roles import current_program, programs_visible
from programs.models import (
    EmployeeQuerySet,
    LearningProgram,
    Organization,
    OrganizationQuerySet,
    ProviderConnection,
    SyncStatus,
)
from programs.selectors import collections_visible

EMPLOYEE_STATUSES = ("active", "departed")


class ListFilterBackend(DjangoFilterBackend):
    """The view's `filterset_class`, on its list only: one object is found by its id
    alone, whatever the query string says."""

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        if getattr(view, "action", None) != "list":
            return queryset
        return super().filter_queryset(request, queryset, view)


class ParameterFilter(django_filters.Filter):
    """A filter whose parameter is read by `field_class` (a learnhub.api.params field),
    which also gives its schema; `help_text` describes it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schema = {**self.field.schema, "description": str(self.field.help_text)}
        extend_schema_field(schema)(self)


class TextFilter(ParameterFilter):
    field_class = TextParameter


class ObjectFilter(ParameterFilter):
    field_class = ObjectParameter


class ChoiceFilter(ParameterFilter):
    field_class = ChoiceParameter


class OrganizationFilter(django_filters.FilterSet):
    within = ObjectFilter(
        queryset=Organization.objects.all(), method="in_subtree", help_text="Only this organization and below."
    )

    def in_subtree(self, organizations: OrganizationQuerySet, name: str, within: Organization) -> QuerySet[Any]:
        return organizations.subtree(within)


class EmployeeFilter(django_filters.FilterSet):
    organization = ObjectFilter(
        queryset=Organization.objects.all(), method="in_organization", help_text="This organization and below."
    )
    email = TextFilter(method="email_contains", help_text="E-mail contains (ignoring case).")
    status = ChoiceFilter(allowed=EMPLOYEE_STATUSES, method="with_status", help_text="As of today.")

    def in_organization(self, employees: EmployeeQuerySet, name: str, organization: Organization) -> QuerySet[Any]:
        return employees.filter(organization__in=Organization.objects.subtree(organization))

    def email_contains(self, employees: EmployeeQuerySet, name: str, text: str) -> QuerySet[Any]:
        # No stored e-mail holds a NUL character (nor can the database compare one).
        return employees.none() if "\x00" in text else employees.filter(email__icontains=text)

    def with_status(self, employees: EmployeeQuerySet, name: str, status: str) -> QuerySet[Any]:
        """As of today (company time zone): "departed" left on or before today, "active"
        did not."""
        today = timezone.localdate()
        return employees.departed(today) if status == "departed" else employees.not_departed(today)


class ProgramFilter(django_filters.FilterSet):
    """?program=<id>: the list of one program the person sees (learnhub.roles.programs_visible),
    by default the current one (learnhub.roles.current_program). What a person sees of a
    program is the rule of a selector (`visible`), so the list is that selector's answer:
    the view's queryset is empty, and stays so if the filter is ever left out."""

    program = ObjectFilter(
        queryset=LearningProgram.objects.all(), help_text="Program id (default: the current program)."
    )
    visible: Callable[..., QuerySet[Any]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.filters["program"].field.queryset = programs_visible(self.request.user)  # type: ignore[union-attr]

    def filter_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        program = self.form.cleaned_data["program"] or current_program(self.request.user)  # type: ignore[union-attr]
        if program is None:
            return queryset.none()
        return self.visible(program=program, user=self.request.user)  # type: ignore[union-attr]


class CollectionFilter(ProgramFilter):
    visible = staticmethod(collections_visible)


class StudyGroupFilter(ProgramFilter):
    visible = staticmethod(groups_visible)


class SyncRunFilter(django_filters.FilterSet):
    connection = ObjectFilter(queryset=ProviderConnection.objects.all(), help_text="Only this connection's runs.")
    status = ChoiceFilter(allowed=SyncStatus.values)
