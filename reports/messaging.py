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

E-mails of one run go over ONE connection to the mail server (`emails_send`,
`mail_connection`), each still claimed, sent and recorded on its own.

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

What reaches a chat
-------------------
Names people typed (organizations, programs) are escaped for each format: Slack's
control characters `&`, `<`, `>` as entities and no mrkdwn for them (`plain_text`, top-level
`mrkdwn: false`), so a name cannot mention @channel or smuggle a link; Teams' card text
(Markdown and limited HTML) with its markers backslashed and `&`, `<`, `>` as entities.
Webhook URLs are https to a public host: checked when saved and again at each post (DNS
answers change); a post connects to the very address it checked and never follows a
redirect. WEBHOOK_ALLOW_PRIVATE_URLS (development and tests only) allows http and local
addresses.

Unsubscribe links
-----------------
Signed (employee, kind) and time-stamped: a link works for UNSUBSCRIBE_LINK_MAX_AGE_DAYS
days after its e-mail was sent (default 365); an older one gets a page that says so.
"""

from __future__ import annotations

import datetime as dt
import html
import ipaddress
import logging
import re
import socket
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from requests.adapters import HTTPAdapter

from champions.models import ExecutiveSponsor, LearningChampion, StudySession
from programs.models import Employee, LearningProgram, Organization, ProgramStatus, subtree_q
from programs.selectors import collections_visible
from reports.models import (
    MessageChannel,
    MessageKind,
    MessageSettings,
    MessageStatus,
    Milestone,
    OrgWebhook,
    SentMessage,
    Unsubscribe,
    WebhookKind,
)
from reports.people import people_not_met
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


class UnsubscribeLinkExpiredError(Exception):
    """A genuine unsubscribe link older than UNSUBSCRIBE_LINK_MAX_AGE_DAYS."""


def unsubscribe_token(*, employee: Employee, kind: str, signer: signing.TimestampSigner | None = None) -> str:
    """A signed, time-stamped, URL-safe token naming the employee and the kind of message
    (or "all"). `signer` (default: one on the current time, salted for unsubscribes) is
    for a signer with another clock, e.g. a link signed a year ago."""
    signer = signer or signing.TimestampSigner(salt=UNSUBSCRIBE_SALT)
    return signer.sign_object({"e": employee.pk, "k": kind}, compress=True)


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
    or an employee who no longer exists. A genuine token signed more than
    UNSUBSCRIBE_LINK_MAX_AGE_DAYS days ago raises UnsubscribeLinkExpiredError (the
    signature is checked first: a forged token is "not valid", never "expired")."""
    max_age = dt.timedelta(days=settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS)
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT, max_age=max_age)
        employee_id, kind = int(data["e"]), str(data["k"])
    except signing.SignatureExpired as exc:
        raise UnsubscribeLinkExpiredError(str(exc)) from exc
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
    html_body = render_to_string(f"reports/email/{email.template}.html", context)
    return unsubscribe, text, html_body


def _email_claim(
    *, program: LearningProgram, kind: str, employee: Employee, period: str, subject: str, now: dt.datetime | None
) -> SentMessage | None:
    return message_claim(
        program=program,
        kind=kind,
        recipient_key=employee_key(employee.pk),
        period=period,
        recipient=employee.email,
        subject=subject,
        employee=employee,
        now=now,
    )


def _email_deliver(*, email: Email, claims: Sequence[SentMessage], connection: BaseEmailBackend | None) -> str:
    """Render and send one claimed e-mail with List-Unsubscribe headers (RFC 8058
    one-click) and record its ledger rows "sent", or "failed" with the backend's error
    (a failed send resets the batch's connection, which the server may have dropped).
    Returns the status."""
    ids = [claim.pk for claim in claims]
    try:
        unsubscribe, text, html_body = email_render(email=email)
        message = EmailMultiAlternatives(
            subject=f"[LearnHub] {email.subject}",
            body=text,
            to=[email.employee.email],
            headers={"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
            connection=connection,
        )
        message.attach_alternative(html_body, "text/html")
        message.send()
    except Exception as exc:  # any backend error: recorded on the rows, the run goes on
        logger.warning("message %s to %s failed: %s", email.kind, email.employee.pk, exc)
        SentMessage.objects.filter(pk__in=ids).update(
            status=MessageStatus.FAILED, attempts=1, error=str(exc)[:ERROR_MAX_CHARS]
        )
        if connection is not None:
            _connection_reset(connection)
        status = MessageStatus.FAILED
    else:
        SentMessage.objects.filter(pk__in=ids).update(status=MessageStatus.SENT, attempts=1, sent_at=timezone.now())
        status = MessageStatus.SENT
    for claim in claims:
        claim.status = status
    return status


def _connection_reset(connection: BaseEmailBackend) -> None:
    try:
        connection.close()
        connection.open()
    except Exception as exc:  # the next e-mail tries again on its own and records its failure
        logger.warning("mail connection could not be reopened: %s", exc)


@contextmanager
def mail_connection() -> Iterator[BaseEmailBackend]:
    """One connection to the mail server for a batch of e-mails, opened once and closed at
    the end. A server that cannot be reached now is logged, not raised: each e-mail then
    tries on its own and records its failure, as a single e-mail would."""
    connection = get_connection()
    try:
        connection.open()
    except Exception as exc:
        logger.warning("mail connection failed: %s", exc)
    try:
        yield connection
    finally:
        connection.close()


def email_send(
    *,
    program: LearningProgram,
    email: Email,
    now: dt.datetime | None = None,
    connection: BaseEmailBackend | None = None,
) -> SentMessage | None:
    """Send one e-mail exactly once: skipped when the person unsubscribed from its kind
    (or from all) or when its key is already claimed; otherwise claimed, sent through
    Django's e-mail backend (over `connection` when a batch shares one) and recorded
    "sent" or "failed". Returns the ledger row, or None when skipped."""
    if unsubscribed_ids(kind=email.kind, employee_ids=[email.employee.pk]):
        return None
    claim = _email_claim(
        program=program, kind=email.kind, employee=email.employee, period=email.period, subject=email.subject, now=now
    )
    if claim is None:
        return None
    _email_deliver(email=email, claims=[claim], connection=connection)
    return claim


def emails_send(*, program: LearningProgram, emails: Iterable[Email], now: dt.datetime | None = None) -> int:
    """Send `emails`, each by the rules of `email_send`, over one mail connection (none
    is opened for an empty batch). Returns how many were sent."""
    batch = list(emails)
    if not batch:
        return 0
    with mail_connection() as connection:
        return sum(
            _was_sent(email_send(program=program, email=email, now=now, connection=connection)) for email in batch
        )


def _was_sent(message: SentMessage | None) -> bool:
    return message is not None and message.status == MessageStatus.SENT


# --- Webhooks: what reaches a chat -------------------------------------------------------------

_TEAMS_MARKERS = re.compile(r"([\\`*_~\[\]#|])")
_TEAMS_LINE_MARKERS = re.compile(r"^(\s*)([-+])|^(\s*\d+)([.)])", re.MULTILINE)


def slack_text(text: str) -> str:
    """Text for any Slack text field, shown as typed: Slack's three control characters
    `&`, `<`, `>` as HTML entities, nothing else ("Formatting text for app surfaces",
    escaping). `<!channel>` or `<https://x|y>` in a name then shows as typed instead of
    pinging the channel or linking. Put such text in `plain_text` objects (or in a message
    with `mrkdwn: false`): mrkdwn has no escape for `*`, `_`, `~` or backticks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def teams_text(text: str) -> str:
    """Text for a Microsoft Teams MessageCard field, shown as typed: the card renders
    Markdown and limited HTML in its text fields, so Markdown's markers (`\\`, backtick,
    `*`, `_`, `~`, `[`, `]`, `#`, `|`, and a list marker starting a line) get a
    backslash, then `&`, `<`, `>` become entities (no tag, link or image survives)."""
    marked = _TEAMS_MARKERS.sub(r"\\\1", text)
    marked = _TEAMS_LINE_MARKERS.sub(_backslash_line_marker, marked)
    return html.escape(marked, quote=False)


def _backslash_line_marker(match: re.Match[str]) -> str:
    if match[2] is not None:  # "- item" or "+ item"
        return f"{match[1]}\\{match[2]}"
    return f"{match[3]}\\{match[4]}"  # "1. item": the dot is what makes the list


def webhook_payload(*, kind: str, title: str, lines: list[str], link: str) -> dict[str, Any]:
    """The JSON body for a Slack incoming webhook or a Microsoft Teams connector (a simple
    MessageCard). `title` and `lines` are plain text that may hold names people typed:
    each is escaped for the format (`slack_text`, `teams_text`); only `link`, our own
    URL, is formatted as a link. Slack gets the text as `plain_text` plus a link in
    mrkdwn, and a plain fallback `text` (`mrkdwn: false`) for notifications."""
    if kind == WebhookKind.TEAMS:
        return {
            "@type": "MessageCard",
            "@context": "https://schema.org/extensions",
            "summary": teams_text(title),
            "themeColor": "1F4E8C",
            "title": teams_text(title),
            "text": "<br>".join(teams_text(line) for line in lines),
            "potentialAction": [
                {"@type": "OpenUri", "name": "Open LearnHub", "targets": [{"os": "default", "uri": link}]}
            ],
        }
    text = "\n".join(slack_text(line) for line in [title, *lines])
    return {
        "text": f"{text}\n{slack_text(link)}",
        "mrkdwn": False,
        "blocks": [
            {"type": "section", "text": {"type": "plain_text", "text": text}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{slack_text(link)}|Open LearnHub>"}]},
        ],
    }


# --- Webhooks: where a post may go ----------------------------------------------------------


class WebhookUrlError(ValueError):
    """A webhook URL LearnHub does not post to; the message says why, for the person who
    typed it."""


@dataclass(frozen=True)
class WebhookTarget:
    """Where one post goes: the URL, its host and port, and the checked addresses the
    connection is made to (in the resolver's order)."""

    url: str
    host: str
    port: int
    addresses: tuple[str, ...]

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        explicit_port = urlsplit(self.url).port
        return name if explicit_port is None else f"{name}:{explicit_port}"


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def address_is_public(address: str) -> bool:
    """A public unicast address. Refused: private, loopback, link-local, shared (carrier
    NAT), reserved, documentation, benchmarking, multicast, unspecified and broadcast
    addresses, their IPv6 equivalents (unique-local, site-local, link-local, ...) and
    any IPv6 address wrapping an IPv4 one (IPv4-mapped, 6to4, Teredo, NAT64), whatever
    it wraps. `ipaddress` follows the IANA special-purpose registries."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # without an IPv6 zone ("fe80::1%eth0")
    if isinstance(ip, ipaddress.IPv6Address) and (
        ip.ipv4_mapped or ip.sixtofour or ip.teredo or ip in _NAT64 or ip.is_site_local
    ):
        return False
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_private or ip.is_loopback)


def webhook_target(url: str) -> WebhookTarget:
    """Where a post to `url` goes, by the webhook rule: https, with a host whose every
    address is public (`address_is_public`; all of them, since a connection may use any).
    WEBHOOK_ALLOW_PRIVATE_URLS (development, tests) also allows http and local
    addresses. Raises WebhookUrlError saying what is wrong, or OSError when the host name
    does not resolve now (socket.gaierror)."""
    allow_private = settings.WEBHOOK_ALLOW_PRIVATE_URLS
    parts = urlsplit(url.strip())
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme.lower() not in schemes:
        raise WebhookUrlError("Use an https:// address: a webhook post carries your organization's progress.")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise WebhookUrlError("This address has an invalid port.") from exc
    host = parts.hostname or ""
    if not host:
        raise WebhookUrlError("Enter the full webhook address, e.g. https://hooks.slack.com/services/…")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise WebhookUrlError("This host name is not valid.") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        refused = [a for a in addresses if not address_is_public(a)]
        if refused:
            where = refused[0] if refused[0] == host else f"{host} ({refused[0]})"
            raise WebhookUrlError(
                f"{where} is a private, local or reserved address: webhooks are only posted to public hosts."
            )
    return WebhookTarget(url=url.strip(), host=host, port=port, addresses=tuple(addresses))


def webhook_url_check(url: str) -> None:
    """The rule for saving a webhook URL (pages, services, Django admin): that of
    `webhook_target`, except that a host name that does not resolve now is accepted (DNS
    may be briefly down; every post checks again). Raises WebhookUrlError."""
    with suppress(OSError):
        webhook_target(url)


def webhook_connection_time(
    *, stored_url: str, new_url: str, connected_at: dt.datetime | None, now: dt.datetime | None = None
) -> dt.datetime | None:
    """When a webhook counts as connected once `new_url` is saved over `stored_url`: a new
    or changed URL now (its channel hears of milestones reached from then on), the same
    URL keeps its time, no URL none."""
    if not new_url:
        return None
    if new_url != stored_url:
        return now or timezone.now()
    return connected_at


class _PinnedAddressAdapter(HTTPAdapter):
    """Connects to `address`, one that `webhook_target` checked, whatever the host's DNS
    answers a moment later (no second lookup to race); TLS still names and verifies the
    host (SNI, certificate host name), and the Host header names it."""

    def __init__(self, *, host: str, address: str) -> None:
        self.host, self.address = host, address
        super().__init__(max_retries=0)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        host_params["host"] = self.address
        tls: dict[str, Any] = dict(pool_kwargs)
        if host_params["scheme"] == "https":
            tls |= {"server_hostname": self.host, "assert_hostname": self.host}
        return host_params, tls


def webhook_request(target: WebhookTarget, payload: dict[str, Any]) -> requests.Response:
    """POST to the target's checked addresses in the resolver's order, moving to the next
    only when no connection could be made (nothing was sent), as a plain client would."""
    *others, last = target.addresses
    for address in others:
        try:
            return _webhook_request_to(target, address, payload)
        except requests.ConnectionError as exc:
            if not _never_connected(exc):
                raise
    return _webhook_request_to(target, last, payload)


def _webhook_request_to(target: WebhookTarget, address: str, payload: dict[str, Any]) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: the connection goes to the checked address
        adapter = _PinnedAddressAdapter(host=target.host, address=address)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        return session.post(
            target.url,
            json=payload,
            headers={"Host": target.host_header},
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            allow_redirects=False,  # a redirect could lead anywhere, past the check
        )


def _never_connected(exc: requests.ConnectionError) -> bool:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectTimeout) or isinstance(reason, urllib3.exceptions.NewConnectionError)


# --- Webhooks: claims and delivery ----------------------------------------------------------


def webhooks_claim(
    *,
    program: LearningProgram,
    kind: str,
    period: str,
    title: str,
    lines: list[str],
    link: str,
    organization: Organization | None,
    connected_by: dt.datetime | None = None,
    now: dt.datetime | None = None,
) -> list[SentMessage]:
    """Claim one post per webhook that should receive this message: the organization's
    active webhook when `organization` is given, else the company-wide one. With
    `connected_by` (when a milestone was reached) only a webhook connected by then: a
    channel added or changed later never hears of an earlier event (a company webhook
    saved before connection times were kept counts as connected from the start). The
    posts are queued after commit."""
    claims: list[SentMessage] = []
    if organization is not None:
        hooks = OrgWebhook.objects.filter(program=program, organization=organization, is_active=True)
        if connected_by is not None:
            hooks = hooks.filter(connected_at__lte=connected_by)
        for hook in hooks:
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
        connected_at = message_settings.company_webhook_connected_at
        heard = connected_by is None or connected_at is None or connected_at <= connected_by
        if message_settings.company_webhook_url and heard:
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
    webhook URL (read at send time, so a changed URL is used) after checking it again
    (`webhook_target`: https to a public address; DNS answers change), to the address
    checked, never following a redirect. 2xx: "sent". 5xx, 429, a network error or a host
    that does not resolve: the error is recorded and WebhookServerError / the requests
    error is raised for the task to retry, unless `final` (retries exhausted): then
    "failed". A refused URL, a redirect or another 4xx: "failed" at once. A row no longer
    pending is left alone (idempotent)."""
    message = SentMessage.objects.select_related("webhook", "program").filter(pk=message_id).first()
    if message is None or message.status != MessageStatus.PENDING:
        return message
    SentMessage.objects.filter(pk=message.pk).update(attempts=F("attempts") + 1)
    url = _webhook_url(message)
    try:
        if not url:
            raise WebhookRejectedError("The webhook URL was removed.")
        response = webhook_request(_webhook_target_at_send(url), message.payload)
        if response.status_code >= 500 or response.status_code == 429:
            raise WebhookServerError(f"HTTP {response.status_code} from the webhook")
        if 300 <= response.status_code < 400:
            raise WebhookRejectedError(f"HTTP {response.status_code} from the webhook: redirects are not followed")
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


def _webhook_target_at_send(url: str) -> WebhookTarget:
    """`webhook_target` for a post: a refused URL is final (WebhookRejectedError), a name
    that does not resolve is a network error worth retrying."""
    try:
        return webhook_target(url)
    except WebhookUrlError as exc:
        raise WebhookRejectedError(f"Not posted: {exc}") from exc
    except OSError as exc:
        host = urlsplit(url).hostname or "the host"
        raise requests.ConnectionError(f"{host} does not resolve: {exc}") from exc


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


def _appointments(
    model: type[LearningChampion] | type[ExecutiveSponsor], program: LearningProgram, day: dt.date
) -> QuerySet:
    """The program's appointments held on `day`: confirmed, and the employee has not left
    (someone who departed on or before `day` holds nothing and hears nothing as a champion
    or sponsor)."""
    return (
        model.objects.filter(program=program)
        .held(day)
        .select_related("employee", "organization")
        .order_by("organization__path", "employee__email")
    )


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _percent(rate: float | None) -> str:
    return "\N{EN DASH}" if rate is None else f"{round(rate * 100)}%"


def digests_send(*, program: LearningProgram, now: dt.datetime | None = None) -> int:
    """Send this week's digest (period: ISO week in the company time zone) to each
    champion (with the people still to complete) and sponsor of each organization whose
    appointment is held today (`_appointments`), and post its summary to the
    organization's webhook; the company summary goes to the company-wide webhook.
    Champions are served first, so someone both champion and sponsor of an organization
    gets the champion's version, once. Returns the number of e-mails sent."""
    local = local_now(now)
    day = min(local.date(), program.ends_on)
    progress = program_progress(program=program, as_of=day)
    week = week_key(local.date())
    digests: dict[int, OrgDigest] = {}
    emails: list[Email] = []
    recipients = [(a, True) for a in _appointments(LearningChampion, program, local.date())]
    recipients += [(a, False) for a in _appointments(ExecutiveSponsor, program, local.date())]
    for appointment, is_champion in recipients:
        org = appointment.organization
        if org.pk not in digests:
            digests[org.pk] = digest_for_org(program=program, organization=org, progress=progress)
        digest = digests[org.pk]
        emails.append(
            Email(
                kind=MessageKind.DIGEST,
                employee=appointment.employee,
                period=f"p{program.pk}/{week}/org:{org.pk}",
                subject=f"{org.name}: {_percent(digest.headline.rate)} this week",
                template="digest",
                context={"digest": digest, "is_champion": is_champion, "program": program},
            )
        )
    sent = emails_send(program=program, emails=emails, now=now)
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
    deadline_days = (program.ends_on - today).days
    with mail_connection() as connection:
        for person in to_nudge:
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
            result = email_send(program=program, email=email, now=now, connection=connection)
            if result is None:
                outcome.too_soon.append(person.pk)
            elif result.status == MessageStatus.SENT:
                outcome.sent.append(person.pk)
            else:
                outcome.failed.append(person.pk)
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
    """Weekly escalations (period: ISO week): to each champion holding the appointment
    today, the people of their organization still not done after `escalate_after_nudges`
    nudges (none to list: no mail); to each sponsor holding it today, a flag when their
    organization has been behind pace `escalate_after_weeks_behind` weeks in a row.
    Returns e-mails sent."""
    message_settings = settings_for(program=program)
    local = local_now(now)
    day = min(local.date(), program.ends_on)
    week = week_key(local.date())
    progress = program_progress(program=program, as_of=day)
    nudged = nudged_at_least(program=program, times=message_settings.escalate_after_nudges)
    emails: list[Email] = []
    for appointment in _appointments(LearningChampion, program, local.date()):
        org = appointment.organization
        people = list(people_not_met(program=program, day=day, organization=org).filter(pk__in=nudged))
        if not people:
            continue
        emails.append(
            Email(
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
            )
        )
    for appointment in _appointments(ExecutiveSponsor, program, local.date()):
        org = appointment.organization
        weeks = message_settings.escalate_after_weeks_behind
        if not weeks_behind_pace(program=program, organization=org, progress=progress, weeks=weeks):
            continue
        digest = digest_for_org(program=program, organization=org, progress=progress)
        emails.append(
            Email(
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
            )
        )
    return emails_send(program=program, emails=emails, now=now)


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
    people = eligible_employees(program=program, day=day).exclude(pk__in=stopped).order_by("pk")
    context = {
        "program": program,
        "company": company,
        "rows": rows,
        "month": local,
        "company_url": absolute_url(reverse("reports:company")),
    }
    emails = (
        Email(
            kind=MessageKind.LEADERBOARD,
            employee=person,
            period=f"p{program.pk}/{month}",
            subject=f"{program.name} leaderboard: {local:%B %Y}",
            template="leaderboard",
            context=context,
        )
        for person in people
    )
    return emails_send(program=program, emails=emails, now=now)


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
    local = local_now(now)
    day = min(local.date(), program.ends_on)
    progress = program_progress(program=program, as_of=day)
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
    for milestone in pending:
        name = _milestone_name(milestone)
        webhooks_claim(
            program=program,
            kind=MessageKind.MILESTONE,
            period=_milestone_period(milestone),
            title=_milestone_title(program, milestone),
            lines=[f"{name} reached {_percent(milestone.rate)} (target {_percent(progress.target)}). Congratulations!"],
            link=link,
            organization=milestone.organization,
            connected_by=milestone.reached_at,
            now=now,
        )
    Milestone.objects.filter(pk__in=[m.pk for m in pending], announced_at__isnull=True).update(
        announced_at=now or timezone.now()
    )
    return sent


def _milestone_name(milestone: Milestone) -> str:
    return "The whole company" if milestone.organization is None else milestone.organization.name


def _milestone_title(program: LearningProgram, milestone: Milestone) -> str:
    return f"{_milestone_name(milestone)} reached the {program.name} target: {_percent(milestone.rate)}"


def _milestone_period(milestone: Milestone) -> str:
    about = "company" if milestone.organization_id is None else f"org:{milestone.organization_id}"
    return f"p{milestone.program_id}/milestone/{about}"


def _milestone_emails_send(
    *, program: LearningProgram, milestones: list[Milestone], day: dt.date, target: float, now: dt.datetime | None
) -> int:
    """One e-mail per eligible person (`eligible_employees` on `day`) about the
    `milestones` that concern them: an organization's to the people of its subtree, the
    company's to everyone. Each person-milestone pair is claimed in the ledger (the key
    of one milestone's e-mail, kind "milestone"), and the e-mail names the milestones
    this run claimed; nothing is sent to someone who unsubscribed. One mail connection
    for the batch. Returns e-mails sent."""
    people = eligible_employees(program=program, day=day).select_related("organization").order_by("pk")
    organizations = [m.organization for m in milestones if m.organization is not None]
    if len(organizations) == len(milestones):  # no company milestone: only the people of these subtrees
        in_subtrees = Q()
        for organization in organizations:
            in_subtrees |= subtree_q(organization, prefix="organization__")
        people = people.filter(in_subtrees)
    person_list = list(people)
    if not person_list:
        return 0
    sent = 0
    with mail_connection() as connection:
        for person in person_list:
            concerned = [m for m in milestones if _concerns(m, person)]
            if not concerned or unsubscribed_ids(kind=MessageKind.MILESTONE, employee_ids=[person.pk]):
                continue
            claimed: list[tuple[Milestone, SentMessage]] = []
            for milestone in concerned:
                claim = _email_claim(
                    program=program,
                    kind=MessageKind.MILESTONE,
                    employee=person,
                    period=_milestone_period(milestone),
                    subject=_milestone_title(program, milestone),
                    now=now,
                )
                if claim is not None:
                    claimed.append((milestone, claim))
            if not claimed:
                continue
            email = _milestone_email(program=program, person=person, milestones=[m for m, _ in claimed], target=target)
            status = _email_deliver(email=email, claims=[c for _, c in claimed], connection=connection)
            sent += status == MessageStatus.SENT
    return sent


def _concerns(milestone: Milestone, person: Employee) -> bool:
    if milestone.organization is None:
        return True
    if person.organization is None:
        return False
    return milestone.organization.path in person.organization.ancestor_paths()


def _milestone_email(
    *, program: LearningProgram, person: Employee, milestones: list[Milestone], target: float
) -> Email:
    reached = [{"name": _milestone_name(m), "rate": m.rate} for m in milestones]
    if len(reached) == 1:
        subject = _milestone_title(program, milestones[0])
    else:
        names = [str(r["name"]) for r in reached]
        names = [n if n != "The whole company" else "the whole company" for n in names]
        subject = f"{', '.join(names[:-1])} and {names[-1]} reached the {program.name} target"
    return Email(
        kind=MessageKind.MILESTONE,
        employee=person,
        period=_milestone_period(milestones[0]),
        subject=subject,
        template="milestone",
        context={
            "program": program,
            "milestones": reached,
            "target": target,
            "company_url": absolute_url(reverse("reports:company")),
        },
    )


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
    now: dt.datetime | None = None,
) -> MessageSettings:
    """Save the program's message settings. The company webhook URL is write-only: an
    empty value keeps the stored one; `remove_company_webhook` clears it. A new URL must
    pass `webhook_url_check` (WebhookUrlError, nothing saved) and, when it differs from
    the stored one, connects the channel now: it hears of milestones reached from then on
    (`webhook_connection_time`)."""
    url = company_webhook_url.strip()
    if url and not remove_company_webhook:
        webhook_url_check(url)
    message_settings = settings_for(program=program)
    for name in SETTINGS_FIELDS:
        if name in values:
            setattr(message_settings, name, values[name])
    if remove_company_webhook or url:
        new_url = "" if remove_company_webhook else url
        message_settings.company_webhook_connected_at = webhook_connection_time(
            stored_url=message_settings.company_webhook_url,
            new_url=new_url,
            connected_at=message_settings.company_webhook_connected_at,
            now=now,
        )
        message_settings.company_webhook_url = new_url
    message_settings.save()
    return message_settings


def org_webhook_set(
    *,
    program: LearningProgram,
    organization: Organization,
    kind: str,
    url: str = "",
    remove: bool = False,
    now: dt.datetime | None = None,
) -> OrgWebhook | None:
    """Add, change or remove an organization's webhook. The URL is write-only: an empty
    URL keeps the stored one (a new webhook needs one: ValueError). A new URL must pass
    `webhook_url_check` (WebhookUrlError, nothing saved) and, when it differs from the
    stored one, connects the channel now: it hears of milestones reached from then on."""
    url = url.strip()
    if url and not remove:
        webhook_url_check(url)
    hook = OrgWebhook.objects.filter(program=program, organization=organization).first()
    if remove:
        if hook is not None:
            hook.delete()
        return None
    if hook is None:
        if not url:
            raise ValueError("A new webhook needs its URL.")
        return OrgWebhook.objects.create(
            program=program,
            organization=organization,
            kind=kind,
            url=url,
            connected_at=now or timezone.now(),  # a new URL: connected now (`webhook_connection_time`)
        )
    hook.kind = kind
    if url:
        connected_at = webhook_connection_time(
            stored_url=hook.url, new_url=url, connected_at=hook.connected_at, now=now
        )
        hook.connected_at = connected_at or hook.connected_at
        hook.url = url
    hook.save(update_fields=["kind", "url", "connected_at"])
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
    "emails_send",
    "escalations",
    "leaderboard_update_send",
    "milestone_announcements",
    "milestones_record",
    "nudge_employees",
    "nudges_send",
    "webhook_post",
]
