"""Communication that moves the needle (issue 6): weekly digests, completion-aware nudges
with escalation, the monthly leaderboard update, milestone announcements and chat webhooks.

Every number comes from the progress engine (`reports.progress`) and the dashboard
selectors built on it (`reports.selectors`); nothing here redefines a metric.

Exactly once, and what a crash means
------------------------------------
Every message has a unique key (kind, recipient, period) in `SentMessage`. A message is
CLAIMED by inserting its row (status "pending", `created_at` = claim time) BEFORE it is
sent; the INSERT that loses the race on the unique constraint raises IntegrityError and
that run skips the message. So a task that runs twice, or two workers at once, never send
a duplicate: the database decides who sends. After sending, the row is marked "sent" (or
"failed" with the error).

A crash between sending and recording leaves the row "pending". E-mail is AT-MOST-ONCE:
a pending row is never sent again (its key is taken), and `claims_mark_unknown` turns
pending rows older than MESSAGE_CLAIM_STALE_MINUTES into status "unknown" ("unknown
delivery") so the admin page shows them instead of silently resending; younger pending
rows are left alone (their sender may still be working). A second reminder is worse
than a lost one, and the next period's message follows anyway. An e-mail the backend
refused (SMTP error) is recorded "failed" with the error and keeps its key: it shows on
the admin page and is not retried automatically.

Chat webhooks are AT-LEAST-ONCE: only the run that claimed the row queues the post
(`reports.tasks.webhook_deliver`), which retries with exponential backoff on network
errors and 5xx answers; a worker lost in the middle of a post lets the broker redeliver
it (acks late), which may post twice. A missing milestone in the channel is worse than a
doubled one. The row records each attempt, then "sent" or "failed" (4xx, or retries
exhausted). Webhooks are posted from their own task, after commit: they never block or
fail the e-mail.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from champions.models import ExecutiveSponsor, LearningChampion, StudySession
from programs.models import Employee, LearningProgram, Organization, ProgramStatus
from programs.selectors import collections_visible
from reports.models import (
    MessageChannel,
    MessageKind,
    MessageSettings,
    MessageStatus,
    OrgWebhook,
    SentMessage,
    Unsubscribe,
    WebhookKind,
)
from reports.progress import (
    ProgramProgress,
    company_time_zone,
    eligible_employees,
    employees_who_met,
    program_pace,
    program_progress,
)
from reports.selectors import (
    Headline,
    LeaderboardRow,
    headline,
    leaderboard,
    people_not_met,
    rate_change,
    snapshot_rates_on,
)

logger = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "reports.unsubscribe"
UNSUBSCRIBABLE = [
    MessageKind.DIGEST,
    MessageKind.NUDGE,
    MessageKind.ESCALATION_CHAMPION,
    MessageKind.ESCALATION_SPONSOR,
    MessageKind.LEADERBOARD,
    MessageKind.MILESTONE,
]
LEADERBOARD_CHANGE_DAYS = 30
DIGEST_CHANGE_DAYS = 7
ERROR_MAX_CHARS = 2000


class WebhookServerError(Exception):
    """The receiver answered 5xx (or 429): worth retrying."""


class WebhookRejectedError(Exception):
    """The receiver answered another 4xx: retrying would not help."""


# --- Settings, time, keys -------------------------------------------------------------------


def settings_for(*, program: LearningProgram) -> MessageSettings:
    """The program's message settings, created with the defaults on first use."""
    message_settings, _ = MessageSettings.objects.get_or_create(program=program)
    return message_settings


def local_now(now: dt.datetime | None = None) -> dt.datetime:
    """`now` (default: the current time) in the company time zone."""
    return (now or timezone.now()).astimezone(company_time_zone())


def week_key(day: dt.date) -> str:
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def employee_key(employee_id: int) -> str:
    return f"employee:{employee_id}"


def mask_url(url: str) -> str:
    """What a page may show of a webhook URL: scheme and host, the secret path masked
    ("https://hooks.slack.com/…/****"). Empty for no URL."""
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…/****"


def absolute_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


# --- Unsubscribe ------------------------------------------------------------------------------


def unsubscribe_token(*, employee: Employee, kind: str) -> str:
    """A signed, URL-safe token naming the employee and the kind of message (or "all")."""
    return signing.dumps({"e": employee.pk, "k": kind}, salt=UNSUBSCRIBE_SALT, compress=True)


@dataclass(frozen=True)
class UnsubscribeRequest:
    employee: Employee
    kind: str

    @property
    def kind_label(self) -> str:
        if self.kind == Unsubscribe.ALL:
            return "all LearnHub e-mails"
        return str(MessageKind(self.kind).label) + " e-mails"


def unsubscribe_read(*, token: str) -> UnsubscribeRequest | None:
    """The employee and kind a token names; None for a bad signature, an unknown kind
    or an employee who no longer exists."""
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        employee_id, kind = int(data["e"]), str(data["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if kind != Unsubscribe.ALL and kind not in MessageKind.values:
        return None
    employee = Employee.objects.filter(pk=employee_id).first()
    return None if employee is None else UnsubscribeRequest(employee=employee, kind=kind)


def unsubscribe_apply(*, request: UnsubscribeRequest) -> Unsubscribe:
    """Record the unsubscribe; honoured by the very next send (every send checks it).
    Idempotent: a second click keeps the first row."""
    row, _ = Unsubscribe.objects.get_or_create(employee=request.employee, kind=request.kind)
    return row


def unsubscribed_ids(*, kind: str, employee_ids: Iterable[int] | None = None) -> set[int]:
    """Employees who stopped `kind` messages or all of them."""
    rows = Unsubscribe.objects.filter(kind__in=[kind, Unsubscribe.ALL])
    if employee_ids is not None:
        rows = rows.filter(employee_id__in=list(employee_ids))
    return set(rows.values_list("employee_id", flat=True))


# --- The ledger: claim before sending ---------------------------------------------------------


def message_claim(
    *,
    program: LearningProgram,
    kind: str,
    recipient_key: str,
    period: str,
    recipient: str,
    subject: str = "",
    channel: str = MessageChannel.EMAIL,
    employee: Employee | None = None,
    webhook: OrgWebhook | None = None,
    payload: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> SentMessage | None:
    """Claim the message (kind, recipient_key, period): INSERT its ledger row as
    "pending". Returns None when the key already exists: another run sent or is sending
    it (the unique constraint decides; concurrent inserts wait for each other)."""
    try:
        with transaction.atomic():
            return SentMessage.objects.create(
                program=program,
                kind=kind,
                channel=channel,
                recipient_key=recipient_key,
                period=period,
                recipient=recipient,
                subject=subject[:300],
                employee=employee,
                webhook=webhook,
                payload=payload or {},
                created_at=now or timezone.now(),
            )
    except IntegrityError:
        return None


def claims_mark_unknown(*, now: dt.datetime | None = None) -> int:
    """Pending e-mail claims older than MESSAGE_CLAIM_STALE_MINUTES: the sender crashed
    between sending and recording. They become "unknown" (delivery unknown), never
    resent (at-most-once). Returns how many were marked."""
    cutoff = (now or timezone.now()) - dt.timedelta(minutes=settings.MESSAGE_CLAIM_STALE_MINUTES)
    return SentMessage.objects.filter(
        channel=MessageChannel.EMAIL, status=MessageStatus.PENDING, created_at__lt=cutoff
    ).update(status=MessageStatus.UNKNOWN, error="Claimed but never recorded as sent: delivery unknown.")


@dataclass(frozen=True)
class Email:
    kind: str
    employee: Employee
    period: str
    subject: str
    template: str
    context: dict[str, Any]


def email_render(*, email: Email) -> tuple[str, str, str]:
    """(unsubscribe URL, plain text, HTML) of an e-mail."""
    unsubscribe = absolute_url(
        reverse("reports:unsubscribe", args=[unsubscribe_token(employee=email.employee, kind=email.kind)])
    )
    context = {
        **email.context,
        "recipient": email.employee,
        "subject": email.subject,
        "unsubscribe_url": unsubscribe,
        "site_url": settings.SITE_URL,
    }
    text = render_to_string(f"reports/email/{email.template}.txt", context)
    html = render_to_string(f"reports/email/{email.template}.html", context)
    return unsubscribe, text, html


def email_send(*, program: LearningProgram, email: Email, now: dt.datetime | None = None) -> SentMessage | None:
    """Send one e-mail exactly once: skipped when the person unsubscribed from its kind
    (or from all) or when its key is already claimed; otherwise claimed, sent through
    Django's e-mail backend with List-Unsubscribe headers (RFC 8058 one-click), and
    recorded "sent" or "failed". Returns the ledger row, or None when skipped."""
    if unsubscribed_ids(kind=email.kind, employee_ids=[email.employee.pk]):
        return None
    claim = message_claim(
        program=program,
        kind=email.kind,
        recipient_key=employee_key(email.employee.pk),
        period=email.period,
        recipient=email.employee.email,
        subject=email.subject,
        employee=email.employee,
        now=now,
    )
    if claim is None:
        return None
    try:
        unsubscribe, text, html = email_render(email=email)
        message = EmailMultiAlternatives(
            subject=f"[LearnHub] {email.subject}",
            body=text,
            to=[email.employee.email],
            headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )
        message.attach_alternative(html, "text/html")
        message.send()
    except Exception as exc:  # any backend error: recorded on the row, the run goes on
        logger.warning("message %s to %s failed: %s", email.kind, email.employee.pk, exc)
        SentMessage.objects.filter(pk=claim.pk).update(
            status=MessageStatus.FAILED, attempts=1, error=str(exc)[:ERROR_MAX_CHARS]
        )
        claim.status = MessageStatus.FAILED
        return claim
    SentMessage.objects.filter(pk=claim.pk).update(status=MessageStatus.SENT, attempts=1, sent_at=timezone.now())
    claim.status = MessageStatus.SENT
    return claim


# --- Webhooks ---------------------------------------------------------------------------------


def webhook_payload(*, kind: str, title: str, lines: list[str], link: str) -> dict[str, Any]:
    """The JSON body for a Slack incoming webhook ({"text"} plus one mrkdwn section) or a
    Microsoft Teams connector (a simple MessageCard)."""
    text = "\n".join(lines)
    if kind == WebhookKind.TEAMS:
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": title,
            "themeColor": "1F4E8C",
            "title": title,
            "text": "<br>".join(lines),
            "potentialAction": [
                {"@type": "OpenUri", "name": "Open LearnHub", "targets": [{"os": "default", "uri": link}]}
            ],
        }
    return {
        "text": f"{title}\n{text}\n{link}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{text}\n<{link}|Open LearnHub>"}}
        ],
    }


def webhooks_claim(
    *,
    program: LearningProgram,
    kind: str,
    period: str,
    title: str,
    lines: list[str],
    link: str,
    organization: Organization | None,
    now: dt.datetime | None = None,
) -> list[SentMessage]:
    """Claim one post per webhook that should receive this message: the organization's
    active webhook (when `organization` is given) and the company-wide one (when
    `organization` is None, or `also_company`). The posts are queued after commit."""
    claims: list[SentMessage] = []
    if organization is not None:
        for hook in OrgWebhook.objects.filter(program=program, organization=organization, is_active=True):
            claim = message_claim(
                program=program,
                kind=kind,
                channel=MessageChannel.WEBHOOK,
                recipient_key=f"webhook:{hook.pk}",
                period=period,
                recipient=f"{hook.get_kind_display()} {mask_url(hook.url)}",
                subject=title,
                webhook=hook,
                payload=webhook_payload(kind=hook.kind, title=title, lines=lines, link=link),
                now=now,
            )
            if claim is not None:
                claims.append(claim)
    else:
        message_settings = settings_for(program=program)
        if message_settings.company_webhook_url:
            claim = message_claim(
                program=program,
                kind=kind,
                channel=MessageChannel.WEBHOOK,
                recipient_key=f"company-webhook:{program.pk}",
                period=period,
                recipient=f"Company {mask_url(message_settings.company_webhook_url)}",
                subject=title,
                payload=webhook_payload(
                    kind=message_settings.company_webhook_kind, title=title, lines=lines, link=link
                ),
                now=now,
            )
            if claim is not None:
                claims.append(claim)
    for claim in claims:
        _queue_webhook(claim.pk)
    return claims


def _queue_webhook(message_id: int) -> None:
    from reports.tasks import webhook_deliver

    transaction.on_commit(lambda: webhook_deliver.delay(message_id), robust=True)


def _webhook_url(message: SentMessage) -> str:
    if message.webhook_id is not None and message.webhook is not None:
        return message.webhook.url
    if message.recipient_key.startswith("company-webhook:"):
        return settings_for(program=message.program).company_webhook_url
    return ""


def webhook_post(*, message_id: int, final: bool = True) -> SentMessage | None:
    """One delivery attempt of a claimed webhook post: POST its JSON payload to the
    webhook URL (read at send time, so a changed URL is used). 2xx: "sent". 5xx, 429 or
    a network error: the error is recorded and WebhookServerError / the requests error
    is raised for the task to retry, unless `final` (retries exhausted): then "failed".
    Other 4xx: "failed" at once. A row no longer pending is left alone (idempotent)."""
    message = SentMessage.objects.select_related("webhook", "program").filter(pk=message_id).first()
    if message is None or message.status != MessageStatus.PENDING:
        return message
    SentMessage.objects.filter(pk=message.pk).update(attempts=F("attempts") + 1)
    url = _webhook_url(message)
    try:
        if not url:
            raise WebhookRejectedError("The webhook URL was removed.")
        response = requests.post(url, json=message.payload, timeout=settings.WEBHOOK_TIMEOUT_SECONDS)
        if response.status_code >= 500 or response.status_code == 429:
            raise WebhookServerError(f"HTTP {response.status_code} from the webhook")
        if response.status_code >= 400:
            raise WebhookRejectedError(f"HTTP {response.status_code} from the webhook: {response.text[:300]}")
    except WebhookRejectedError as exc:
        SentMessage.objects.filter(pk=message.pk).update(status=MessageStatus.FAILED, error=str(exc))
        return message
    except (requests.RequestException, WebhookServerError) as exc:
        update: dict[str, Any] = {"error": str(exc)[:ERROR_MAX_CHARS]}
        if final:
            update["status"] = MessageStatus.FAILED
        SentMessage.objects.filter(pk=message.pk).update(**update)
        if final:
            return message
        raise
    SentMessage.objects.filter(pk=message.pk).update(status=MessageStatus.SENT, sent_at=timezone.now(), error="")
    return message


# --- Weekly digest ----------------------------------------------------------------------------


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
    still to complete (for champions only)."""
    progress = progress or program_progress(program=program, as_of=as_of)
    day = progress.as_of
    block = progress.for_organization(organization.pk)
    if block is None:
        raise ValueError(f"{organization} is not in the progress of {program}")
    rates_before = snapshot_rates_on(program=program, day=day - dt.timedelta(days=DIGEST_CHANGE_DAYS))
    rows = leaderboard(progress=progress, rates_before=rates_before, champions={}, depth=organization.depth)
    mine = next((r for r in rows if r.organization_id == organization.pk), None)
    tz = company_time_zone()
    week_start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
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
        people_not_met=list(people_not_met(program=program, day=day, organization=organization)),
    )


def _appointments(model: type[LearningChampion] | type[ExecutiveSponsor], program: LearningProgram) -> QuerySet:
    return (
        model.objects.filter(program=program, is_confirmed=True)
        .select_related("employee", "organization")
        .order_by("organization__path", "employee__email")
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _percent(rate: float | None) -> str:
    return "\N{EN DASH}" if rate is None else f"{round(rate * 100)}%"


def digests_send(*, program: LearningProgram, now: dt.datetime | None = None) -> int:
    """Send this week's digest (period: ISO week in the company time zone) to each
    confirmed champion (with the people still to complete) and sponsor of each
    organization, and post its summary to the organization's webhook; the company
    summary goes to the company-wide webhook. Champions are served first, so someone both
    champion and sponsor of an organization gets the champion's version, once. Returns
    the number of e-mails sent."""
    local = local_now(now)
    day = min(local.date(), program.ends_on)
    progress = program_progress(program=program, as_of=day)
    week = week_key(local.date())
    digests: dict[int, OrgDigest] = {}
    sent = 0
    recipients = [(a, True) for a in _appointments(LearningChampion, program)]
    recipients += [(a, False) for a in _appointments(ExecutiveSponsor, program)]
    for appointment, is_champion in recipients:
        org = appointment.organization
        if org.pk not in digests:
            digests[org.pk] = digest_for_org(program=program, organization=org, progress=progress)
        digest = digests[org.pk]
        email = Email(
            kind=MessageKind.DIGEST,
            employee=appointment.employee,
            period=f"p{program.pk}/{week}/org:{org.pk}",
            subject=f"{org.name}: {_percent(digest.headline.rate)} this week",
            template="digest",
            context={"digest": digest, "is_champion": is_champion, "program": program},
        )
        result = email_send(program=program, email=email, now=now)
        sent += result is not None and result.status == MessageStatus.SENT
    link = absolute_url(reverse("reports:company"))
    for digest in digests.values():
        head = digest.headline
        webhooks_claim(
            program=program,
            kind=MessageKind.DIGEST,
            period=f"p{program.pk}/{week}/org:{digest.organization.pk}",
            title=f"{digest.organization.name} weekly progress: {_percent(head.rate)}",
            lines=_digest_lines(digest),
            link=link,
            organization=digest.organization,
            now=now,
        )
    company = headline(progress=progress, block=progress.company, name="Company")
    webhooks_claim(
        program=program,
        kind=MessageKind.DIGEST,
        period=f"p{program.pk}/{week}/company",
        title=f"{program.name} weekly progress: {_percent(company.rate)}",
        lines=[
            f"{company.met} of {company.eligible} people met the goal ({_percent(company.rate)}, "
            f"target {_percent(company.target)}).",
            "On track." if company.on_track else f"Behind pace: {company.needed_for_pace} more people needed.",
        ],
        link=link,
        organization=None,
        now=now,
    )
    return sent


def _digest_lines(digest: OrgDigest) -> list[str]:
    head = digest.headline
    lines = [f"{head.met} of {head.eligible} people met the goal ({_percent(head.rate)})."]
    if digest.change is not None:
        lines.append(f"Change since last week: {digest.change * 100:+.0f} points.")
    if digest.rank is not None:
        lines.append(f"Rank {digest.rank} of {digest.ranked_of} on the leaderboard.")
    lines.append("On track." if head.on_track else f"Behind pace: {head.needed_for_pace} more people must complete.")
    return lines


# --- Nudges -----------------------------------------------------------------------------------


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

    Call it outside a transaction (views run in autocommit): each claim must be committed
    before its e-mail goes, or a rollback after sending would forget the send.
    """
    people = {e.pk: e for e in employees}
    local = local_now(now)
    today = local.date()
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
    deadline_days = (program.ends_on - today).days
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
            visible = list(collections_visible(program=program, user=person))
            collections = [c for c in visible if not c.is_company_wide] + [c for c in visible if c.is_company_wide]
            email = Email(
                kind=MessageKind.NUDGE,
                employee=person,
                period=f"p{program.pk}/n{bucket}",
                subject=f"{deadline_days} days left: one course for {program.name}",
                template="nudge",
                context={
                    "program": program,
                    "collections": collections,
                    "sender": sender,
                    "days_left": deadline_days,
                    "collections_url": absolute_url(reverse("champions:collections")),
                },
            )
            result = email_send(program=program, email=email, now=now)
            if result is None:
                outcome.too_soon.append(pk)
            elif result.status == MessageStatus.SENT:
                outcome.sent.append(pk)
            else:
                outcome.failed.append(pk)
    return outcome


def nudges_send(*, program: LearningProgram, now: dt.datetime | None = None) -> NudgeOutcome:
    """The scheduled nudge: every eligible person of the company who has not met the
    goal, by the rules of `nudge_employees`."""
    today = min(local_now(now).date(), program.ends_on)
    people = eligible_employees(program=program, day=today).exclude(
        pk__in=employees_who_met(program=program, day=today)
    )
    return nudge_employees(program=program, employees=people.select_related("organization"), now=now)


# --- Escalations ------------------------------------------------------------------------------


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
    """Weekly escalations (period: ISO week): to each confirmed champion, the people of
    their organization still not done after `escalate_after_nudges` nudges (none to
    list: no mail); to each confirmed sponsor, a flag when their organization has been
    behind pace `escalate_after_weeks_behind` weeks in a row. Returns e-mails sent."""
    message_settings = settings_for(program=program)
    local = local_now(now)
    day = min(local.date(), program.ends_on)
    week = week_key(local.date())
    progress = program_progress(program=program, as_of=day)
    nudged = nudged_at_least(program=program, times=message_settings.escalate_after_nudges)
    sent = 0
    for appointment in _appointments(LearningChampion, program):
        org = appointment.organization
        people = list(people_not_met(program=program, day=day, organization=org).filter(pk__in=nudged))
        if not people:
            continue
        result = email_send(
            program=program,
            email=Email(
                kind=MessageKind.ESCALATION_CHAMPION,
                employee=appointment.employee,
                period=f"p{program.pk}/{week}/org:{org.pk}",
                subject=f"{_count(len(people), 'person', 'people')} in {org.name} still not done after "
                f"{_count(message_settings.escalate_after_nudges, 'reminder', 'reminders')}",
                template="escalation_champion",
                context={
                    "program": program,
                    "organization": org,
                    "people": people,
                    "nudges": message_settings.escalate_after_nudges,
                    "not_yet_url": absolute_url(reverse("champions:not_yet_index")),
                },
            ),
            now=now,
        )
        sent += result is not None and result.status == MessageStatus.SENT
    for appointment in _appointments(ExecutiveSponsor, program):
        org = appointment.organization
        weeks = message_settings.escalate_after_weeks_behind
        if not weeks_behind_pace(program=program, organization=org, progress=progress, weeks=weeks):
            continue
        digest = digest_for_org(program=program, organization=org, progress=progress)
        result = email_send(
            program=program,
            email=Email(
                kind=MessageKind.ESCALATION_SPONSOR,
                employee=appointment.employee,
                period=f"p{program.pk}/{week}/org:{org.pk}",
                subject=f"{org.name} has been behind pace for {weeks} weeks",
                template="escalation_sponsor",
                context={
                    "program": program,
                    "organization": org,
                    "digest": digest,
                    "weeks": weeks,
                    "org_url": absolute_url(reverse("reports:org", args=[org.pk])),
                },
            ),
            now=now,
        )
        sent += result is not None and result.status == MessageStatus.SENT
    return sent


# --- Company updates --------------------------------------------------------------------------


def leaderboard_update_send(*, program: LearningProgram, now: dt.datetime | None = None) -> int:
    """The monthly leaderboard update (period: the month, company time zone) to every
    eligible person: the company rate and the organizations ranked by rate with their
    change over the last 30 days. Returns e-mails sent."""
    local = local_now(now)
    day = min(local.date(), program.ends_on)
    progress = program_progress(program=program, as_of=day)
    rates_before = snapshot_rates_on(program=program, day=day - dt.timedelta(days=LEADERBOARD_CHANGE_DAYS))
    rows: list[LeaderboardRow] = leaderboard(progress=progress, rates_before=rates_before, champions={})
    company = headline(progress=progress, block=progress.company, name="Company")
    month = f"{local.year}-{local.month:02d}"
    stopped = unsubscribed_ids(kind=MessageKind.LEADERBOARD)
    sent = 0
    for person in eligible_employees(program=program, day=day).exclude(pk__in=stopped).order_by("pk"):
        result = email_send(
            program=program,
            email=Email(
                kind=MessageKind.LEADERBOARD,
                employee=person,
                period=f"p{program.pk}/{month}",
                subject=f"{program.name} leaderboard: {local:%B %Y}",
                template="leaderboard",
                context={
                    "program": program,
                    "company": company,
                    "rows": rows,
                    "month": local,
                    "company_url": absolute_url(reverse("reports:company")),
                },
            ),
            now=now,
        )
        sent += result is not None and result.status == MessageStatus.SENT
    return sent


def milestone_announcements(*, program: LearningProgram, now: dt.datetime | None = None) -> int:
    """Announce, once per program, each top-level organization (leaderboard depth) and
    the company reaching the target (rate >= target, `program_progress`): an e-mail to
    every eligible person and a post to the organization's webhook (the company's: the
    company-wide webhook). Returns e-mails sent."""
    local = local_now(now)
    day = min(local.date(), program.ends_on)
    progress = program_progress(program=program, as_of=day)
    reached: list[tuple[Organization | None, str, float]] = []
    if progress.goal_reached and progress.company.rate is not None:
        reached.append((None, "The whole company", progress.company.rate))
    orgs = {o.pk: o for o in Organization.objects.filter(depth=1)}
    for block in progress.organizations:
        if block.depth == 1 and block.rate is not None and block.rate >= progress.target:
            reached.append((orgs[block.organization_id], block.name, block.rate))
    if not reached:
        return 0
    people = list(eligible_employees(program=program, day=day).order_by("pk"))
    link = absolute_url(reverse("reports:company"))
    sent = 0
    for organization, name, rate in reached:
        period = f"p{program.pk}/milestone/{'company' if organization is None else f'org:{organization.pk}'}"
        title = f"{name} reached the {program.name} target: {_percent(rate)}"
        for person in people:
            result = email_send(
                program=program,
                email=Email(
                    kind=MessageKind.MILESTONE,
                    employee=person,
                    period=period,
                    subject=title,
                    template="milestone",
                    context={
                        "program": program,
                        "name": name,
                        "rate": rate,
                        "target": progress.target,
                        "company_url": link,
                    },
                ),
                now=now,
            )
            sent += result is not None and result.status == MessageStatus.SENT
        webhooks_claim(
            program=program,
            kind=MessageKind.MILESTONE,
            period=period,
            title=title,
            lines=[f"{name} reached {_percent(rate)} (target {_percent(progress.target)}). Congratulations!"],
            link=link,
            organization=organization,
            now=now,
        )
    return sent


# --- The tick -----------------------------------------------------------------------------------


@dataclass
class TickReport:
    """What one tick did, per program name."""

    digests: dict[str, int] = field(default_factory=dict)
    escalations: dict[str, int] = field(default_factory=dict)
    nudges: dict[str, int] = field(default_factory=dict)
    leaderboard: dict[str, int] = field(default_factory=dict)
    milestones: dict[str, int] = field(default_factory=dict)
    unknown_marked: int = 0

    def lines(self) -> list[str]:
        out = []
        for label, counts in [
            ("digests", self.digests),
            ("escalations", self.escalations),
            ("nudges", self.nudges),
            ("leaderboard updates", self.leaderboard),
            ("milestone announcements", self.milestones),
        ]:
            out += [f"{program}: {n} {label} sent" for program, n in counts.items()]
        if self.unknown_marked:
            out.append(f"{self.unknown_marked} stale pending messages marked 'unknown delivery'")
        return out


def communications_tick(
    *, now: dt.datetime | None = None, programs: Iterable[LearningProgram] | None = None
) -> TickReport:
    """Send what is due now (company time zone) for each active program, by its
    MessageSettings: milestones on every tick; the weekly digest and escalations on the
    digest weekday from the digest hour; nudges daily from the nudge hour; the
    leaderboard update on the 1st of the month from its hour. Run hourly; every message's
    unique key makes later ticks of the same day (or two at once) send nothing twice."""
    local = local_now(now)
    report = TickReport(unknown_marked=claims_mark_unknown(now=now))
    chosen = LearningProgram.objects.active() if programs is None else programs
    for program in chosen:
        if program.status != ProgramStatus.ACTIVE or local.date() < program.starts_on:
            continue
        s = settings_for(program=program)
        if s.milestones_enabled:
            report.milestones[program.name] = milestone_announcements(program=program, now=now)
        if local.date() > program.ends_on:
            continue
        weekly_due = local.weekday() == s.digest_weekday and local.hour >= s.digest_hour
        if s.digest_enabled and weekly_due:
            report.digests[program.name] = digests_send(program=program, now=now)
        if s.escalations_enabled and weekly_due:
            report.escalations[program.name] = escalations(program=program, now=now)
        if s.nudges_enabled and local.hour >= s.nudge_hour:
            report.nudges[program.name] = nudges_send(program=program, now=now).sent_count
        if s.leaderboard_enabled and local.day == 1 and local.hour >= s.leaderboard_hour:
            report.leaderboard[program.name] = leaderboard_update_send(program=program, now=now)
    return report


# --- Settings pages -----------------------------------------------------------------------------


SETTINGS_FIELDS = [
    "digest_enabled",
    "nudges_enabled",
    "escalations_enabled",
    "leaderboard_enabled",
    "milestones_enabled",
    "nudge_interval_days",
    "escalate_after_nudges",
    "escalate_after_weeks_behind",
    "digest_weekday",
    "digest_hour",
    "nudge_hour",
    "leaderboard_hour",
    "company_webhook_kind",
]


def message_settings_update(
    *,
    program: LearningProgram,
    values: dict[str, Any],
    company_webhook_url: str = "",
    remove_company_webhook: bool = False,
) -> MessageSettings:
    """Save the program's message settings. The company webhook URL is write-only: an
    empty value keeps the stored one; `remove_company_webhook` clears it."""
    message_settings = settings_for(program=program)
    for name in SETTINGS_FIELDS:
        if name in values:
            setattr(message_settings, name, values[name])
    if remove_company_webhook:
        message_settings.company_webhook_url = ""
    elif company_webhook_url.strip():
        message_settings.company_webhook_url = company_webhook_url.strip()
    message_settings.save()
    return message_settings


def org_webhook_set(
    *, program: LearningProgram, organization: Organization, kind: str, url: str = "", remove: bool = False
) -> OrgWebhook | None:
    """Add, change or remove an organization's webhook. The URL is write-only: an empty
    URL keeps the stored one (a new webhook needs one: ValueError)."""
    hook = OrgWebhook.objects.filter(program=program, organization=organization).first()
    if remove:
        if hook is not None:
            hook.delete()
        return None
    if hook is None:
        if not url.strip():
            raise ValueError("A new webhook needs its URL.")
        return OrgWebhook.objects.create(program=program, organization=organization, kind=kind, url=url.strip())
    hook.kind = kind
    if url.strip():
        hook.url = url.strip()
    hook.save(update_fields=["kind", "url"])
    return hook


def sent_messages(*, kind: str = "", status: str = "", program: LearningProgram | None = None) -> QuerySet[SentMessage]:
    """The ledger, newest first, optionally filtered."""
    rows = SentMessage.objects.select_related("program", "employee")
    if program is not None:
        rows = rows.filter(program=program)
    if kind:
        rows = rows.filter(kind=kind)
    if status:
        rows = rows.filter(status=status)
    return rows.order_by("-created_at", "-id")


__all__ = [
    "NudgeOutcome",
    "OrgDigest",
    "communications_tick",
    "digest_for_org",
    "digests_send",
    "escalations",
    "leaderboard_update_send",
    "milestone_announcements",
    "nudge_employees",
    "nudges_send",
    "webhook_post",
]
