"""People, one by one: who is counted and who has not met the goal yet, with their
counted courses and their last provider activity. Built on the engine's rules
(`reports.progress`: `eligible_employees`, `employees_who_met`, `counted_completion_q`):
the champion's list, the organization dashboard, the digest, the escalations and the
people export all read this one list, so they agree on every person and date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import cast

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextChoices,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest, NullIf
from django.utils.translation import gettext_lazy as _

from programs.models import Employee, Enrollment, LearningProgram, Organization
from reports.models import MessageKind, MessageStatus, SentMessage, Unsubscribe
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


# --- Who to nudge first ------------------------------------------------------------------------


class Stage(TextChoices):
    """Where a person who has not met the goal stands at the providers, closest first.
    The labels are lazy (the reader's language), typed as the str they stand for so that
    forms taking (value, label) pairs accept `Stage.choices`."""

    IN_PROGRESS = "in-progress", cast(str, _("Course in progress"))
    NOT_STARTED = "not-started", cast(str, _("Enrolled, not started"))
    NEVER_ACTIVE = "never-active", cast(str, _("Never active at the provider"))
    NOT_ON_PROVIDER = "not-on-provider", cast(str, _("Not on a provider"))


_STAGE_ORDER = {stage.value: position for position, stage in enumerate(Stage)}


def _open_enrollments() -> QuerySet[Enrollment]:
    """The person's enrollments still to finish: not completed, not removed at the provider."""
    return Enrollment.objects.filter(employee=OuterRef("pk"), is_completed=False, is_removed=False)


def course_in_progress() -> dict[str, Subquery]:
    """The rule of "the course in progress": of the person's open enrollments with some
    progress, the one furthest along (then the latest activity). Annotations for an
    Employee queryset: `course_id`, `course_title`, `course_url`, `course_progress`
    (percent), all NULL when nothing is in progress."""
    furthest = (
        _open_enrollments()
        .filter(progress__gt=0)
        .order_by("-progress", F("last_activity_at").desc(nulls_last=True), "course_id")
    )
    return {
        "course_id": Subquery(furthest.values("course_id")[:1], output_field=IntegerField()),
        "course_title": Subquery(furthest.values("course__title")[:1], output_field=CharField()),
        "course_url": Subquery(furthest.values("course__url")[:1], output_field=CharField()),
        "course_progress": Subquery(
            furthest.values("progress")[:1], output_field=DecimalField(max_digits=5, decimal_places=2)
        ),
    }


def people_ranked(people: QuerySet[Employee], *, program: LearningProgram) -> QuerySet[Employee]:
    """`people` (shaped like `people_status`: with `counted_courses` and
    `last_activity_at`) ranked closest to the goal first, each with its `stage`:

    1. a course in progress (`course_in_progress`), furthest along first;
    2. enrolled, not started: an open enrollment without progress, or provider activity
       on record with nothing open now;
    3. never active at the provider: known to a provider, with no provider time at all;
    4. not on a provider: no enrollment at all.

    Within a stage: more counted courses first, then the latest provider activity, then
    the lists' order (`PEOPLE_ORDER`). Also `stage_label`, `last_nudged_at` and `last_nudged_by` (the
    latest nudge of `program` that did not fail, and the champion who sent it, None for
    the scheduled one) and `unsubscribed` (from nudges or from all messages). One query,
    however many people: each person's columns are read from their own rows."""
    nudges = (
        SentMessage.objects.filter(program=program, kind=MessageKind.NUDGE, employee=OuterRef("pk"))
        .exclude(status=MessageStatus.FAILED)
        .order_by("-created_at", "-id")
    )
    stopped = Unsubscribe.objects.filter(employee=OuterRef("pk"), kind__in=[MessageKind.NUDGE, Unsubscribe.ALL])
    stage = Case(
        When(course_progress__isnull=False, then=Value(Stage.IN_PROGRESS.value)),
        When(Q(Exists(_open_enrollments())) | Q(last_activity_at__isnull=False), then=Value(Stage.NOT_STARTED.value)),
        When(Exists(Enrollment.objects.filter(employee=OuterRef("pk"))), then=Value(Stage.NEVER_ACTIVE.value)),
        default=Value(Stage.NOT_ON_PROVIDER.value),
        output_field=CharField(),
    )
    stage_order = Case(
        *[When(stage=value, then=Value(position)) for value, position in _STAGE_ORDER.items()],
        output_field=IntegerField(),
    )
    stage_label = Case(
        *[When(stage=value, then=Value(str(label))) for value, label in Stage.choices], output_field=CharField()
    )
    return (
        people.annotate(**course_in_progress())
        .annotate(
            stage=stage,
            last_nudged_at=Subquery(nudges.values("created_at")[:1], output_field=DateTimeField()),
            last_nudged_by=Subquery(nudges.values("sent_by__full_name")[:1], output_field=CharField()),
            unsubscribed=Exists(stopped),
        )
        .annotate(stage_order=stage_order, stage_label=stage_label)
        .order_by(
            "stage_order",
            F("course_progress").desc(nulls_last=True),
            F("counted_courses").desc(),
            F("last_activity_at").desc(nulls_last=True),
            *PEOPLE_ORDER,
        )
    )


def people_met_count(people: QuerySet[Employee]) -> tuple[int, int]:
    """Of `people` (shaped like `people_status`, with `has_met`): how many met the goal, and
    how many there are. One query."""
    counts = people.order_by().aggregate(met=Count("pk", filter=Q(has_met=True)), eligible=Count("pk"))
    return counts["met"], counts["eligible"]
