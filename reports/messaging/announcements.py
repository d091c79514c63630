"""Company-wide announcements: the monthly leaderboard update and milestones.

Milestones
----------
An organization at the leaderboard's depth, or the whole company, reaching the target is
recorded ONCE (`Milestone`, unique per program and organization) by the first tick that
sees it, and announced from that row only: a rate that falls back and rises again
announces nothing. Its e-mail goes to the eligible people it concerns (the
organization's; the company's to everyone eligible), one e-mail per person per tick
however many milestones concern them: such an e-mail holds one ledger row per milestone,
so a tick that crashed halfway and runs again sends each person each milestone at most
once. Its chat post goes only to webhooks connected before it was reached
(`OrgWebhook.connected_at`, `MessageSettings.company_webhook_connected_at`): a channel
added later never hears of an older milestone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import F, Q
from django.urls import reverse
from django.utils import formats as date_formats
from django.utils import timezone
from django.utils.translation import gettext as _

from programs.models import Employee, LearningProgram, subtree_q
from programs.templatetags import formats
from reports.kept import progress_read
from reports.messaging.delivery import Email, LedgerKey, absolute_url, emails_send, in_recipient_language
from reports.messaging.ledger import asked_day, local_now
from reports.messaging.webhooks import chat_language, webhooks_claim
from reports.models import MessageKind, Milestone
from reports.progress import ProgramProgress, eligible_employees
from reports.selectors import LeaderboardRow, headline, leaderboard, snapshot_rates_on

LEADERBOARD_CHANGE_DAYS = 30


# --- The monthly leaderboard ------------------------------------------------------------------


def leaderboard_update_send(*, program: LearningProgram, now: dt.datetime | None = None) -> int:
    """The monthly leaderboard update (period: the month, company time zone) to every
    eligible person: the company rate and the organizations ranked by rate with their
    change over the last 30 days. Returns e-mails sent."""
    local = local_now(now)
    progress = progress_read(program=program, as_of=asked_day(now))
    day = progress.as_of
    rates_before = snapshot_rates_on(program=program, day=day - dt.timedelta(days=LEADERBOARD_CHANGE_DAYS))
    rows: list[LeaderboardRow] = leaderboard(progress=progress, rates_before=rates_before, champions={})
    context = {
        "program": program,
        "company": headline(progress=progress, block=progress.company, name="Company"),
        "rows": rows,
        "month": local,
        "company_url": absolute_url(reverse("reports:company")),
    }
    emails = (
        Email(
            kind=MessageKind.LEADERBOARD,
            employee=person,
            period=f"p{program.pk}/{local.year}-{local.month:02d}",
            subject=_leaderboard_subject(program=program, month=local, person=person),
            template="leaderboard",
            context=context,
        )
        for person in eligible_employees(program=program, day=day).order_by("pk")
    )
    return emails_send(program=program, emails=emails, now=now).count


def _leaderboard_subject(*, program: LearningProgram, month: dt.datetime, person: Employee) -> str:
    with in_recipient_language(person):
        return _("%(program)s leaderboard: %(month)s") % {
            "program": program.name,
            "month": date_formats.date_format(month, "YEAR_MONTH_FORMAT"),
        }


# --- Milestones ---------------------------------------------------------------------------------


def milestones_record(*, program: LearningProgram, progress: ProgramProgress, now: dt.datetime | None = None) -> None:
    """Record each organization at the leaderboard's depth (top level) and the company
    whose rate reached the target in `progress` (rate >= target), once per program and
    organization: the first tick that sees it writes its row (rate, progress day, time);
    later ticks, a rate that falls back and rises again, or two ticks at once add nothing
    (the unique constraints decide: ON CONFLICT DO NOTHING)."""
    at = now or timezone.now()
    rows = []
    if progress.goal_reached and progress.company.rate is not None:
        rows.append(Milestone(program=program, rate=progress.company.rate, reached_on=progress.as_of, reached_at=at))
    for block in progress.organizations:
        if block.depth == 1 and block.rate is not None and block.rate >= progress.target:
            rows.append(
                Milestone(
                    program=program,
                    organization_id=block.organization_id,
                    rate=block.rate,
                    reached_on=progress.as_of,
                    reached_at=at,
                )
            )
    Milestone.objects.bulk_create(rows, ignore_conflicts=True)


def milestone_announcements(*, program: LearningProgram, now: dt.datetime | None = None) -> int:
    """Record the milestones reached as of today (`milestones_record`) and announce every
    recorded one not yet announced: e-mails by `_milestone_emails_send`, and a post for
    each to its organization's webhook (the company's: the company-wide webhook) if that
    webhook was connected by the time it was reached. Marked announced afterwards; a run
    that stopped halfway is finished by the next one, the ledger keys sending nothing
    twice. Returns e-mails sent."""
    progress = progress_read(program=program, as_of=asked_day(now))
    day = progress.as_of
    milestones_record(program=program, progress=progress, now=now)
    pending = list(
        Milestone.objects.filter(program=program, announced_at__isnull=True)
        .select_related("organization")
        .order_by(F("organization__path").asc(nulls_last=True), "pk")  # the company (no organization) last
    )
    if not pending:
        return 0
    sent = _milestone_emails_send(program=program, milestones=pending, day=day, target=progress.target, now=now)
    link = absolute_url(reverse("reports:company"))
    with chat_language():
        for milestone in pending:
            webhooks_claim(
                program=program,
                kind=MessageKind.MILESTONE,
                period=_milestone_period(milestone),
                title=_milestone_title(program, milestone),
                lines=[
                    _("%(name)s reached %(rate)s (target %(target)s). Congratulations!")
                    % {
                        "name": _milestone_name(milestone),
                        "rate": formats.percent(milestone.rate),
                        "target": formats.target(progress.target),
                    }
                ],
                link=link,
                organization=milestone.organization,
                connected_by=milestone.reached_at,
                now=now,
            )
    Milestone.objects.filter(pk__in=[m.pk for m in pending], announced_at__isnull=True).update(
        announced_at=now or timezone.now()
    )
    return sent


@dataclass(frozen=True)
class MilestoneNews:
    """The milestone e-mail of one person: it stands for one ledger key per milestone that
    concerns them (kind "milestone", period `_milestone_period`) and, once claimed, names
    the milestones this run claimed (`email_for`)."""

    program: LearningProgram
    employee: Employee
    milestones: list[Milestone]
    target: float
    kind: str = MessageKind.MILESTONE
    sender: None = None  # announcements are scheduled

    def ledger_keys(self) -> list[LedgerKey]:
        with in_recipient_language(self.employee):
            return [
                LedgerKey(period=_milestone_period(m), subject=_milestone_title(self.program, m))
                for m in self.milestones
            ]

    def email_for(self, claimed: Sequence[LedgerKey]) -> Email:
        periods = {key.period for key in claimed}
        milestones = [m for m in self.milestones if _milestone_period(m) in periods]
        with in_recipient_language(self.employee):
            names = [_milestone_name(m) for m in milestones]
            if len(milestones) == 1:
                subject = _milestone_title(self.program, milestones[0])
            else:
                names_in_text = [_milestone_name(m, in_text=True) for m in milestones]
                subject = _("%(names)s and %(last)s reached the %(program)s target") % {
                    "names": ", ".join(names_in_text[:-1]),
                    "last": names_in_text[-1],
                    "program": self.program.name,
                }
        return Email(
            kind=self.kind,
            employee=self.employee,
            period=_milestone_period(milestones[0]),
            subject=subject,
            template="milestone",
            context={
                "program": self.program,
                "milestones": [{"name": name, "rate": m.rate} for name, m in zip(names, milestones, strict=True)],
                "target": self.target,
                "company_url": absolute_url(reverse("reports:company")),
            },
        )


def _milestone_emails_send(
    *, program: LearningProgram, milestones: list[Milestone], day: dt.date, target: float, now: dt.datetime | None
) -> int:
    """One e-mail per eligible person (`eligible_employees` on `day`) about the
    `milestones` that concern them (`MilestoneNews`): an organization's to the people of
    its subtree, the company's to everyone, by the rules of `emails_send` (nothing to
    someone who unsubscribed, each person-milestone pair claimed in the ledger, one mail
    connection). Returns e-mails sent."""
    people = eligible_employees(program=program, day=day).select_related("organization").order_by("pk")
    organizations = [m.organization for m in milestones if m.organization is not None]
    if len(organizations) == len(milestones):  # no company milestone: only the people of these subtrees
        in_subtrees = Q()
        for organization in organizations:
            in_subtrees |= subtree_q(organization, prefix="organization__")
        people = people.filter(in_subtrees)
    news = [
        MilestoneNews(program=program, employee=person, milestones=concerned, target=target)
        for person in people
        if (concerned := [m for m in milestones if _concerns(m, person)])
    ]
    return emails_send(program=program, emails=news, now=now).count


def _concerns(milestone: Milestone, person: Employee) -> bool:
    if milestone.organization is None:
        return True
    if person.organization is None:
        return False
    return milestone.organization.path in person.organization.ancestor_paths()


def _milestone_name(milestone: Milestone, *, in_text: bool = False) -> str:
    """The organization's name, or the company's: "The whole company" leading a sentence,
    "the whole company" within one (`in_text`)."""
    if milestone.organization is not None:
        return milestone.organization.name
    return _("the whole company") if in_text else _("The whole company")


def _milestone_title(program: LearningProgram, milestone: Milestone) -> str:
    return _("%(name)s reached the %(program)s target: %(rate)s") % {
        "name": _milestone_name(milestone),
        "program": program.name,
        "rate": formats.percent(milestone.rate),
    }


def _milestone_period(milestone: Milestone) -> str:
    about = "company" if milestone.organization_id is None else f"org:{milestone.organization_id}"
    return f"p{milestone.program_id}/milestone/{about}"
