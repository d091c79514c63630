"""Weekly escalations: to a champion, the people still not done after several nudges; to a
sponsor, their organization behind pace several weeks in a row."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from champions.models import ExecutiveSponsor, LearningChampion
from programs.models import LearningProgram, Organization
from reports.kept import people_not_met_read, progress_read
from reports.messaging.delivery import Email, absolute_url, emails_send, in_recipient_language
from reports.messaging.digests import appointments_held, digest_for_org
from reports.messaging.ledger import asked_day, local_now, week_key
from reports.messaging.settings import settings_for
from reports.models import MessageKind, MessageStatus, SentMessage
from reports.progress import ProgramProgress, program_pace
from reports.selectors import snapshot_rates_on


def nudged_at_least(*, program: LearningProgram, times: int) -> QuerySet:
    """Ids of the people sent at least `times` nudges in the program."""
    return (
        SentMessage.objects.filter(program=program, kind=MessageKind.NUDGE, status=MessageStatus.SENT)
        .order_by()
        .values("employee_id")
        .annotate(n=Count("pk"))
        .filter(n__gte=times)
        .values("employee_id")
    )


def weeks_behind_pace(
    *, program: LearningProgram, organization: Organization, progress: ProgramProgress, weeks: int
) -> bool:
    """Behind pace for `weeks` weeks in a row: today's rate (`progress`) and the
    snapshot rate 7, 14, ... days before are each below the pace of their day. A week
    with no snapshot, no rate or before the program start breaks the run (we do not
    flag what we cannot show)."""
    for k in range(weeks):
        day = progress.as_of - dt.timedelta(days=7 * k)
        if day < program.starts_on:
            return False
        if k == 0:
            block = progress.for_organization(organization.pk)
            rate = block.rate if block is not None else None
        else:
            rate = snapshot_rates_on(program=program, day=day).get(organization.pk)
        if rate is None or rate >= program_pace(program=program, day=day):
            return False
    return True


def escalations(*, program: LearningProgram, now: dt.datetime | None = None) -> int:
    """Weekly escalations (period: ISO week): to each champion holding the appointment
    today, the people of their organization still not done after `escalate_after_nudges`
    nudges (none to list: no mail); to each sponsor holding it today, a flag when their
    organization has been behind pace `escalate_after_weeks_behind` weeks in a row.
    Returns e-mails sent."""
    message_settings = settings_for(program=program)
    local = local_now(now)
    as_of = asked_day(now)
    week = week_key(local.date())
    progress = progress_read(program=program, as_of=as_of)
    nudged = nudged_at_least(program=program, times=message_settings.escalate_after_nudges)
    emails: list[Email] = []
    for appointment in appointments_held(model=LearningChampion, program=program, day=local.date()):
        org = appointment.organization
        people = list(people_not_met_read(program=program, as_of=as_of, organization=org).filter(pk__in=nudged))
        if not people:
            continue
        with in_recipient_language(appointment.employee):
            subject = _champion_subject(
                people=len(people), organization=org.name, nudges=message_settings.escalate_after_nudges
            )
        emails.append(
            Email(
                kind=MessageKind.ESCALATION_CHAMPION,
                employee=appointment.employee,
                period=f"p{program.pk}/{week}/org:{org.pk}",
                subject=subject,
                template="escalation_champion",
                context={
                    "program": program,
                    "organization": org,
                    "people": people,
                    "nudges": message_settings.escalate_after_nudges,
                    "not_yet_url": absolute_url(reverse("champions:not_yet_index")),
                },
            )
        )
    for appointment in appointments_held(model=ExecutiveSponsor, program=program, day=local.date()):
        org = appointment.organization
        weeks = message_settings.escalate_after_weeks_behind
        if not weeks_behind_pace(program=program, organization=org, progress=progress, weeks=weeks):
            continue
        digest = digest_for_org(program=program, organization=org, as_of=as_of, progress=progress)
        with in_recipient_language(appointment.employee):
            subject = _("%(organization)s has been behind pace for %(weeks)d weeks") % {
                "organization": org.name,
                "weeks": weeks,
            }
        emails.append(
            Email(
                kind=MessageKind.ESCALATION_SPONSOR,
                employee=appointment.employee,
                period=f"p{program.pk}/{week}/org:{org.pk}",
                subject=subject,
                template="escalation_sponsor",
                context={
                    "program": program,
                    "organization": org,
                    "digest": digest,
                    "weeks": weeks,
                    "org_url": absolute_url(reverse("reports:org", args=[org.pk])),
                },
            )
        )
    return emails_send(program=program, emails=emails, now=now).count


def _champion_subject(*, people: int, organization: str, nudges: int) -> str:
    """ "3 people in Sales still not done after 2 reminders": one sentence, both counts
    pluralized (the reminders inside the people's sentence)."""
    reminders = ngettext("%(count)d reminder", "%(count)d reminders", nudges) % {"count": nudges}
    return ngettext(
        "%(count)d person in %(organization)s still not done after %(reminders)s",
        "%(count)d people in %(organization)s still not done after %(reminders)s",
        people,
    ) % {"count": people, "organization": organization, "reminders": reminders}
