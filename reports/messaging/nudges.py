"""Completion-aware nudges: a reminder to the eligible people who have not met the goal, at
most once per interval, scheduled daily or sent by hand from a champion's page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, Min, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import ngettext

from champions.models import StudyGroup, StudyGroupMembership, StudySession
from champions.selectors import OrgStanding, org_standing
from programs.models import Course, Employee, LearningProgram, Organization, ProgramStatus
from programs.selectors import collections_for_organization
from reports.kept import progress_counts_read
from reports.messaging.delivery import Email, absolute_url, emails_send, in_recipient_language
from reports.messaging.ledger import local_now
from reports.messaging.settings import settings_for
from reports.messaging.unsubscribe import unsubscribed_ids
from reports.models import MessageKind, MessageStatus, SentMessage
from reports.people import course_in_progress
from reports.progress import counted_completion_q, eligible_employees, employees_who_met, progress_day

# How many of the organization's most completed courses a nudge names when the person has
# no course in progress and no study group.
NEXT_STEP_COURSES = 3


@dataclass(frozen=True)
class NudgeOutcome:
    """What a nudge did, person by person (each distinct person in one bucket)."""

    sent: list[int] = field(default_factory=list)
    already_met: list[int] = field(default_factory=list)
    not_eligible: list[int] = field(default_factory=list)
    too_soon: list[int] = field(default_factory=list)
    unsubscribed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    program_not_running: bool = False

    @property
    def sent_count(self) -> int:
        return len(self.sent)


def nudge_employees(
    *,
    program: LearningProgram,
    employees: Iterable[Employee],
    sender: Employee | None = None,
    now: dt.datetime | None = None,
) -> NudgeOutcome:
    """Nudge `employees` about `program` (scheduled when `sender` is None, by hand from
    a champion's page otherwise; the caller checked the sender may see these people).

    Rules, for each distinct person:
    - only while the program runs (active, today within its window);
    - never to anyone who met the goal (`employees_who_met`) or is not eligible
      (`eligible_employees`) as of today;
    - at most one nudge per person per `nudge_interval_days`: none if a nudge was claimed
      (sent, pending or of unknown delivery) less than the interval ago, and the ledger key
      is the interval bucket since the program start, so two runs at once send one;
    - never to anyone who unsubscribed from nudges or from all messages.

    Each e-mail leads with the person's next step (`nudge_emails`). A fixed number of
    queries for the whole batch, a few per home organization, plus, per e-mail, its claim
    and its record (`emails_send`). Call it outside a
    transaction (views run in autocommit): each claim must be committed before its e-mail
    goes, or a rollback after sending would forget the send.
    """
    people = {e.pk: e for e in employees}
    today = local_now(now).date()
    if program.status != ProgramStatus.ACTIVE or not (program.starts_on <= today <= program.ends_on):
        return NudgeOutcome(program_not_running=True)
    message_settings = settings_for(program=program)
    ids = list(people)
    eligible = set(eligible_employees(program=program, day=today).filter(pk__in=ids).values_list("pk", flat=True))
    met = set(
        employees_who_met(program=program, day=today).filter(employee_id__in=ids).values_list("employee_id", flat=True)
    )
    interval = dt.timedelta(days=message_settings.nudge_interval_days)
    recent = set(
        SentMessage.objects.filter(
            program=program,
            kind=MessageKind.NUDGE,
            employee_id__in=ids,
            created_at__gt=(now or timezone.now()) - interval,
        )
        .exclude(status=MessageStatus.FAILED)
        .values_list("employee_id", flat=True)
    )
    stopped = unsubscribed_ids(kind=MessageKind.NUDGE, employee_ids=ids)
    outcome = NudgeOutcome()
    to_nudge: list[Employee] = []
    for pk, person in sorted(people.items()):
        if pk not in eligible:
            outcome.not_eligible.append(pk)
        elif pk in met:
            outcome.already_met.append(pk)
        elif pk in stopped:
            outcome.unsubscribed.append(pk)
        elif pk in recent:
            outcome.too_soon.append(pk)
        else:
            to_nudge.append(person)
    if not to_nudge:
        return outcome
    emails = nudge_emails(program=program, people=to_nudge, sender=sender, today=today, now=now)
    sent = emails_send(program=program, emails=emails, now=now)
    outcome.sent.extend(sent.sent)
    outcome.failed.extend(sent.failed)
    outcome.unsubscribed.extend(sent.unsubscribed)  # unsubscribed a moment ago
    outcome.too_soon.extend(sent.already_claimed)  # another run nudged them a moment ago
    return outcome


def nudges_send(*, program: LearningProgram, now: dt.datetime | None = None) -> NudgeOutcome:
    """The scheduled nudge: every eligible person of the company who has not met the
    goal, by the rules of `nudge_employees`."""
    today = progress_day(program=program, as_of=local_now(now).date())
    people = eligible_employees(program=program, day=today).exclude(
        pk__in=employees_who_met(program=program, day=today)
    )
    return nudge_employees(program=program, employees=people, now=now)


# --- What a nudge says -----------------------------------------------------------------------


@dataclass(frozen=True)
class CourseInProgress:
    title: str
    url: str
    progress: Decimal


@dataclass(frozen=True)
class NextStep:
    """A person's next step, the first that applies: the course they have in progress
    (`course`), else a study group they joined (`group`, with its `session` still to
    come, None when none is planned), else the courses of their organization's
    collections most completed (`popular`, empty when there is no collection)."""

    course: CourseInProgress | None = None
    group: StudyGroup | None = None
    session: StudySession | None = None
    popular: list[Course] = field(default_factory=list)


def nudge_emails(
    *,
    program: LearningProgram,
    people: list[Employee],
    sender: Employee | None,
    today: dt.date,
    now: dt.datetime | None = None,
) -> list[Email]:
    """The nudge e-mail of each of `people` as of `today`: their next step
    (`next_steps`), then the deadline and their organization's standing (its top-level
    organization's rate and rank, `org_standing`). The ledger key is the nudge interval
    bucket since the program start. Also what the preview shows."""
    interval_days = settings_for(program=program).nudge_interval_days
    bucket = (today - program.starts_on).days // interval_days
    homes = Organization.objects.in_bulk({person.organization_id for person in people} - {None})
    steps = next_steps(program=program, people=people, homes=homes, now=now or timezone.now())
    standings = _standings(program=program, homes=homes)
    days_left = (program.ends_on - today).days
    emails = []
    for person in people:
        with in_recipient_language(person):
            subject = _nudge_subject(program=program, step=steps[person.pk], days_left=days_left)
        emails.append(
            Email(
                kind=MessageKind.NUDGE,
                employee=person,
                period=f"p{program.pk}/n{bucket}",
                subject=subject,
                template="nudge",
                context={
                    "program": program,
                    "step": steps[person.pk],
                    "standing": standings[person.organization_id],
                    "sender": sender,
                    "days_left": days_left,
                    "collections_url": absolute_url(reverse("champions:collections")),
                },
                sender=sender,
            )
        )
    return emails


def nudge_preview(
    *, program: LearningProgram, person: Employee, sender: Employee | None, now: dt.datetime | None = None
) -> Email:
    """The nudge `person` would get from `sender` now (`nudge_emails`), whatever the rules
    of sending: a preview sends nothing and claims nothing."""
    (email,) = nudge_emails(program=program, people=[person], sender=sender, today=local_now(now).date(), now=now)
    return email


def _nudge_subject(*, program: LearningProgram, step: NextStep, days_left: int) -> str:
    if step.course:
        return ngettext(
            "%(days)d day left: finish %(course)s for %(program)s",
            "%(days)d days left: finish %(course)s for %(program)s",
            days_left,
        ) % {"days": days_left, "course": step.course.title, "program": program.name}
    return ngettext(
        "%(days)d day left: one course for %(program)s",
        "%(days)d days left: one course for %(program)s",
        days_left,
    ) % {"days": days_left, "program": program.name}


def next_steps(
    *, program: LearningProgram, people: list[Employee], homes: dict[int, Organization], now: dt.datetime
) -> dict[int, NextStep]:
    """Each person's `NextStep`. The course in progress is `course_in_progress`'s rule;
    of the study groups of `program` a person joined, the one meeting soonest (then the
    latest joined); the popular courses are the `NEXT_STEP_COURSES` courses of the
    collections the person browses (`collections_for_organization`) with the most
    completions counted in the program (`counted_completion_q`), then by title. `homes`:
    the people's home organizations by id. Three queries, and one per home organization
    of the people with neither a course in progress nor a group."""
    ids = [person.pk for person in people]
    in_progress = {
        pk: CourseInProgress(title=title, url=url, progress=progress)
        for pk, title, url, progress in Employee.objects.filter(pk__in=ids)
        .annotate(**course_in_progress())
        .filter(course_title__isnull=False)
        .values_list("pk", "course_title", "course_url", "course_progress")
    }
    steps: dict[int, NextStep] = {pk: NextStep(course=course) for pk, course in in_progress.items()}
    groups = _joined_groups(program=program, employee_ids=set(ids) - set(steps), now=now)
    steps.update(groups)
    rest = [person for person in people if person.pk not in steps]
    popular = {
        organization_id: _popular_courses(
            program=program, organization=homes[organization_id] if organization_id is not None else None
        )
        for organization_id in {person.organization_id for person in rest}
    }
    steps.update({person.pk: NextStep(popular=popular[person.organization_id]) for person in rest})
    return steps


def _joined_groups(*, program: LearningProgram, employee_ids: set[int], now: dt.datetime) -> dict[int, NextStep]:
    memberships = (
        StudyGroupMembership.objects.filter(employee_id__in=employee_ids, group__program=program)
        .select_related("group")
        .annotate(
            next_start=Min("group__sessions__starts_at", filter=Q(group__sessions__starts_at__gte=now)),
        )
        .order_by("employee_id", F("next_start").asc(nulls_last=True), "-joined_at")
    )
    chosen: dict[int, StudyGroupMembership] = {}
    for membership in memberships:
        chosen.setdefault(membership.employee_id, membership)
    sessions = {
        (s.group_id, s.starts_at): s
        for s in StudySession.objects.filter(
            group_id__in={m.group_id for m in chosen.values()}, starts_at__gte=now
        ).order_by("starts_at")
    }
    return {
        pk: NextStep(group=m.group, session=sessions.get((m.group_id, m.next_start)))  # type: ignore[attr-defined]
        for pk, m in chosen.items()
    }


def _popular_courses(*, program: LearningProgram, organization: Organization | None) -> list[Course]:
    collections = collections_for_organization(program=program, organization=organization).values("pk")
    counted = counted_completion_q(program=program, day=progress_day(program=program), prefix="enrollments__")
    return list(
        Course.objects.filter(collection_items__collection__in=collections)
        .distinct()
        .annotate(completions=Count("enrollments__employee", filter=counted, distinct=True))
        .order_by("-completions", "title")[:NEXT_STEP_COURSES]
    )


def _standings(*, program: LearningProgram, homes: dict[int, Organization]) -> dict[int | None, OrgStanding | None]:
    """The standing of each home organization's top-level organization (None for people
    with no organization, or at the company itself): `org_standing` on today's kept counts."""
    progress = progress_counts_read(program=program)
    top_paths = {pk: organization.ancestor_paths()[1] for pk, organization in homes.items() if organization.depth}
    tops = {o.path: o for o in Organization.objects.filter(path__in=top_paths.values())}
    standings: dict[int | None, OrgStanding | None] = dict.fromkeys([None, *homes])
    for pk, path in top_paths.items():
        standings[pk] = org_standing(progress=progress, organization=tops[path])
    return standings
