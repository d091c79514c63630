"""People, one by one: who is counted and who has not met the goal yet, with their
counted courses and their last provider activity. Built on the engine's rules
(`reports.progress`: `eligible_employees`, `employees_who_met`, `counted_completion_q`):
the champion's list, the organization dashboard, the digest, the escalations and the
people export all read this one list, so they agree on every person and date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import (
    BooleanField,
    DateTimeField,
    ExpressionWrapper,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce, Greatest, NullIf

from programs.models import Employee, Enrollment, LearningProgram, Organization
from reports.progress import distinct_counted_courses, eligible_employees, employees_who_met

# The order of every people list: by organization path, then name, then e-mail.
PEOPLE_ORDER = ("organization__path", "full_name", "email")

# Stands in for "no date" inside GREATEST, which on SQLite is NULL as soon as one value is.
_NO_DATE = Value(dt.datetime(1970, 1, 1, tzinfo=dt.UTC), output_field=DateTimeField())


def last_provider_activity() -> Subquery:
    """The rule of "last activity": the latest provider time of any of the person's
    enrollments, activity, enrollment or completion, whichever is latest (NULL: never
    active at a provider). A correlated subquery on Employee."""
    latest = Greatest(
        Coalesce("last_activity_at", _NO_DATE), Coalesce("enrolled_at", _NO_DATE), Coalesce("completed_at", _NO_DATE)
    )
    per_person = (
        Enrollment.objects.filter(employee=OuterRef("pk"))
        .order_by()
        .values("employee")
        .annotate(latest=Max(latest))
        .values("latest")
    )
    return Subquery(per_person, output_field=DateTimeField())


def people_status(
    *, program: LearningProgram, day: dt.date, organizations: Iterable[Organization] | None
) -> QuerySet[Employee]:
    """The eligible people (rule: `eligible_employees`) of the subtrees of `organizations`
    (None: the whole company, people without an organization included) as of `day`, each
    annotated with `counted_courses` (distinct courses whose completion counts,
    `distinct_counted_courses`), `has_met` (in `employees_who_met`) and `last_activity_at`
    (`last_provider_activity`). One query, however many people: no GROUP BY, each
    person's numbers read from their own enrollments once."""
    people = eligible_employees(program=program, day=day)
    if organizations is not None:
        subtree = Q(pk__in=[])
        for organization in organizations:
            subtree |= Q(organization__in=Organization.objects.subtree(organization))
        people = people.filter(subtree)
    met_ids = employees_who_met(program=program, day=day)
    return (
        people.annotate(
            counted_courses=distinct_counted_courses(program=program, day=day, employee_ref="pk"),
            last_activity_at=NullIf(last_provider_activity(), _NO_DATE),
            has_met=ExpressionWrapper(Q(pk__in=met_ids), output_field=BooleanField()),
        )
        .select_related("organization")
        .order_by(*PEOPLE_ORDER)
    )


def people_not_met(*, program: LearningProgram, day: dt.date, organization: Organization) -> QuerySet[Employee]:
    """The eligible people of `organization`'s subtree who have not met the goal as of
    `day`, with their counted courses so far and last provider activity."""
    return people_status(program=program, day=day, organizations=[organization]).exclude(
        pk__in=employees_who_met(program=program, day=day)
    )
