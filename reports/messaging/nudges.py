"""Completion-aware nudges: a reminder to the eligible people who have not met the goal, at
most once per interval, scheduled daily or sent by hand from a champion's page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils import timezone

from programs.models import Collection, Employee, LearningProgram, Organization, ProgramStatus
from programs.selectors import collections_for_organization
from reports.messaging.delivery import Email, absolute_url, emails_send
from reports.messaging.ledger import local_now
from reports.messaging.settings import settings_for
from reports.messaging.unsubscribe import unsubscribed_ids
from reports.models import MessageKind, MessageStatus, SentMessage
from reports.progress import eligible_employees, employees_who_met, progress_day


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

    The e-mail points to the collections of the person's home organization
    (`_collections_by_home_organization`). A fixed number of queries for the whole batch
    plus, per e-mail, its claim and its record (`emails_send`). Call it outside a
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
    bucket = (today - program.starts_on).days // message_settings.nudge_interval_days
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
    collections = _collections_by_home_organization(
        program=program, organization_ids={person.organization_id for person in to_nudge}
    )
    days_left = (program.ends_on - today).days
    emails = [
        Email(
            kind=MessageKind.NUDGE,
            employee=person,
            period=f"p{program.pk}/n{bucket}",
            subject=f"{days_left} days left: one course for {program.name}",
            template="nudge",
            context={
                "program": program,
                "collections": collections[person.organization_id],
                "sender": sender,
                "days_left": days_left,
                "collections_url": absolute_url(reverse("champions:collections")),
            },
        )
        for person in to_nudge
    ]
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


def _collections_by_home_organization(
    *, program: LearningProgram, organization_ids: set[int | None]
) -> dict[int | None, list[Collection]]:
    """For each home organization (None: people with none), the collections its people
    browse (`collections_for_organization`: the company-wide ones and those of the
    organization and every one above it; an L&D admin is nudged toward their own
    organization's collections like everyone else), the organization's own first and the
    company-wide ones last. A few queries per home organization, however many people."""
    organizations = Organization.objects.in_bulk([pk for pk in organization_ids if pk is not None])
    by_organization: dict[int | None, list[Collection]] = {}
    for pk in organization_ids:
        organization = organizations.get(pk) if pk is not None else None
        visible = list(collections_for_organization(program=program, organization=organization))
        by_organization[pk] = [c for c in visible if not c.is_company_wide] + [c for c in visible if c.is_company_wide]
    return by_organization
