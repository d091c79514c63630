"""The weekly digest: each organization's rate, change, rank, pace and study sessions of the
week, e-mailed to its champions (with the people still to complete) and sponsors, and its
summary posted to the organization's webhook; the company summary to the company-wide
webhook."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from champions.models import ExecutiveSponsor, LearningChampion, StudySession
from programs.models import Employee, LearningProgram, Organization
from programs.templatetags import formats
from reports.kept import people_to_nudge_read, progress_read
from reports.messaging.delivery import Email, absolute_url, emails_send, in_recipient_language
from reports.messaging.ledger import asked_day, local_now, week_key
from reports.messaging.webhooks import chat_language, webhooks_claim
from reports.models import MessageKind
from reports.progress import ProgramProgress, company_time_zone
from reports.selectors import Headline, headline, leaderboard, rate_change, snapshot_rates_on

DIGEST_CHANGE_DAYS = 7


@dataclass(frozen=True)
class SessionOfWeek:
    group: str
    starts_at: dt.datetime
    topic: str
    location: str


@dataclass(frozen=True)
class OrgDigest:
    """The weekly digest of one organization, as of a day."""

    program: LearningProgram
    organization: Organization
    as_of: dt.date
    headline: Headline
    rate_last_week: float | None
    change: float | None
    rank: int | None
    ranked_of: int
    sessions: list[SessionOfWeek]
    people_not_met: list[Employee] = field(default_factory=list)


def digest_for_org(
    *,
    program: LearningProgram,
    organization: Organization,
    as_of: dt.date | None = None,
    progress: ProgramProgress | None = None,
) -> OrgDigest:
    """The weekly digest of `organization` as of day D (see `program_progress`): its
    rate and the change since the snapshot of D-7, its rank among the organizations at
    its depth (the leaderboard's rule: equal rates share a rank, no rate no rank), pace
    (on track or behind, and how many more people must meet the goal to be back on
    track), the study-group sessions of the week ahead (D to D+7, the organization's
    groups, those of the teams below it and company-wide ones), and the eligible people
    still to complete, closest to the goal first (`people_to_nudge_read`; for champions
    only). `progress`, when given, is that of `as_of`
    (None: today, from the kept figures)."""
    progress = progress or progress_read(program=program, as_of=as_of)
    day = progress.as_of
    block = progress.for_organization(organization.pk)
    if block is None:
        raise ValueError(f"{organization} is not in the progress of {program}")
    rates_before = snapshot_rates_on(program=program, day=day - dt.timedelta(days=DIGEST_CHANGE_DAYS))
    rows = leaderboard(progress=progress, rates_before=rates_before, champions={}, depth=organization.depth)
    mine = next((r for r in rows if r.organization_id == organization.pk), None)
    week_start = dt.datetime.combine(day, dt.time.min, tzinfo=company_time_zone())
    sessions = (
        StudySession.objects.filter(
            Q(group__organization__in=Organization.objects.subtree(organization)) | Q(group__organization__isnull=True),
            group__program=program,
            starts_at__gte=week_start,
            starts_at__lt=week_start + dt.timedelta(days=7),
        )
        .select_related("group")
        .order_by("starts_at")
    )
    return OrgDigest(
        program=program,
        organization=organization,
        as_of=day,
        headline=headline(progress=progress, block=block, name=organization.name),
        rate_last_week=rates_before.get(organization.pk),
        change=rate_change(current=block.rate, before=rates_before.get(organization.pk)),
        rank=mine.rank if mine is not None and mine.rate is not None else None,
        ranked_of=len(rows),
        sessions=[
            SessionOfWeek(
                group=s.group.name, starts_at=s.starts_at, topic=s.topic, location=s.location or s.group.location
            )
            for s in sessions
        ],
        people_not_met=list(people_to_nudge_read(program=program, as_of=as_of, organization=organization)),
    )


def appointments_held(
    *, model: type[LearningChampion] | type[ExecutiveSponsor], program: LearningProgram, day: dt.date
) -> QuerySet:
    """The program's champions or sponsors (`model`) whose appointment is held on `day`:
    confirmed, and the employee has not left (someone who departed on or before `day`
    holds nothing and hears nothing as a champion or sponsor). By organization, then
    e-mail."""
    return (
        model.objects.filter(program=program)
        .held(day)
        .select_related("employee", "organization")
        .order_by("organization__path", "employee__email")
    )


def digest_email(*, digest: OrgDigest, recipient: Employee, is_champion: bool, week: str) -> Email:
    """The digest e-mail of `digest` to `recipient` for ISO `week`: a champion's version
    lists the people still to complete. Also what the preview shows."""
    org, program = digest.organization, digest.program
    with in_recipient_language(recipient):
        subject = _("%(organization)s: %(rate)s this week") % {
            "organization": org.name,
            "rate": formats.percent(digest.headline.rate),
        }
    return Email(
        kind=MessageKind.DIGEST,
        employee=recipient,
        period=f"p{program.pk}/{week}/org:{org.pk}",
        subject=subject,
        template="digest",
        context={"digest": digest, "is_champion": is_champion, "program": program},
    )


def digest_preview(
    *, program: LearningProgram, organization: Organization, reader: Employee, now: dt.datetime | None = None
) -> Email:
    """This week's digest of `organization` in its champions' version (with the people
    still to complete), addressed to `reader`: a preview sends nothing and claims nothing."""
    digest = digest_for_org(program=program, organization=organization, as_of=asked_day(now))
    return digest_email(digest=digest, recipient=reader, is_champion=True, week=week_key(local_now(now).date()))


def digests_send(*, program: LearningProgram, now: dt.datetime | None = None) -> int:
    """Send this week's digest (period: ISO week in the company time zone) to each
    champion (with the people still to complete) and sponsor of each organization whose
    appointment is held today (`appointments_held`), and post its summary to the
    organization's webhook; the company summary goes to the company-wide webhook.
    Champions are served first, so someone both champion and sponsor of an organization
    gets the champion's version, once. Returns the number of e-mails sent."""
    local = local_now(now)
    as_of = asked_day(now)
    progress = progress_read(program=program, as_of=as_of)
    week = week_key(local.date())
    digests: dict[int, OrgDigest] = {}
    emails: list[Email] = []
    recipients = [(a, True) for a in appointments_held(model=LearningChampion, program=program, day=local.date())]
    recipients += [(a, False) for a in appointments_held(model=ExecutiveSponsor, program=program, day=local.date())]
    for appointment, is_champion in recipients:
        org = appointment.organization
        if org.pk not in digests:
            digests[org.pk] = digest_for_org(program=program, organization=org, as_of=as_of, progress=progress)
        emails.append(
            digest_email(digest=digests[org.pk], recipient=appointment.employee, is_champion=is_champion, week=week)
        )
    sent = emails_send(program=program, emails=emails, now=now).count
    link = absolute_url(reverse("reports:company"))
    with chat_language():
        for digest in digests.values():
            webhooks_claim(
                program=program,
                kind=MessageKind.DIGEST,
                period=f"p{program.pk}/{week}/org:{digest.organization.pk}",
                title=_("%(organization)s weekly progress: %(rate)s")
                % {"organization": digest.organization.name, "rate": formats.percent(digest.headline.rate)},
                lines=_digest_lines(digest),
                link=link,
                organization=digest.organization,
                now=now,
            )
        company = headline(progress=progress, block=progress.company, name=_("Company"))
        webhooks_claim(
            program=program,
            kind=MessageKind.DIGEST,
            period=f"p{program.pk}/{week}/company",
            title=_("%(program)s weekly progress: %(rate)s")
            % {"program": program.name, "rate": formats.percent(company.rate)},
            lines=[
                _("%(met)d of %(eligible)d people met the goal (%(rate)s, target %(target)s).")
                % {
                    "met": company.met,
                    "eligible": company.eligible,
                    "rate": formats.percent(company.rate),
                    "target": formats.target(company.target),
                },
                _("On track.")
                if company.on_track
                else _("Behind pace: %(count)d more people needed.") % {"count": company.needed_for_pace},
            ],
            link=link,
            organization=None,
            now=now,
        )
    return sent


def _digest_lines(digest: OrgDigest) -> list[str]:
    head = digest.headline
    lines = [
        _("%(met)d of %(eligible)d people met the goal (%(rate)s).")
        % {"met": head.met, "eligible": head.eligible, "rate": formats.percent(head.rate)}
    ]
    if digest.change is not None:
        lines.append(_("Change since last week: %(points)+.0f points.") % {"points": digest.change * 100})
    if digest.rank is not None:
        lines.append(_("Rank %(rank)d of %(of)d on the leaderboard.") % {"rank": digest.rank, "of": digest.ranked_of})
    lines.append(
        _("On track.")
        if head.on_track
        else _("Behind pace: %(count)d more people must complete.") % {"count": head.needed_for_pace}
    )
    return lines
