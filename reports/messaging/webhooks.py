"""Chat webhooks (Slack, Microsoft Teams): what reaches a chat, where a post may go, and
how a claimed post is delivered.

Chat webhooks are AT-LEAST-ONCE: a post is claimed in the ledger like an e-mail
(`reports.messaging.ledger`), and only the run that claimed the row queues the post
(`reports.messaging.tasks.webhook_deliver`, after commit), which retries with exponential
backoff on network errors and 5xx answers; a worker lost in the middle of a post lets the
broker redeliver it (acks late), which may post twice. A missing milestone in the channel
is worse than a doubled one. The row records each attempt, then "sent" or "failed" (4xx,
or retries exhausted). Webhooks are posted from their own task: they never block or fail
the e-mail.

What reaches a chat
-------------------
Names people typed (organizations, programs) are escaped for each format: Slack's
control characters `&`, `<`, `>` as entities and no mrkdwn for them (`plain_text`, top-level
`mrkdwn: false`), so a name cannot mention @channel or smuggle a link; Teams' card text
(Markdown and limited HTML) with its markers backslashed and `&`, `<`, `>` as entities.

Where a post may go
-------------------
Webhook URLs are https to a public host: checked when saved and again at each post (DNS
answers change); a post connects to the very address it checked and never follows a
redirect. WEBHOOK_ALLOW_PRIVATE_URLS (development and tests only) allows http and local
addresses.
"""

from __future__ import annotations

import datetime as dt
import html
import ipaddress
import re
import socket
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from requests.adapters import HTTPAdapter

from programs.models import LearningProgram, Organization
from reports.messaging.ledger import ERROR_MAX_CHARS, message_claim
from reports.models import MessageChannel, MessageSettings, MessageStatus, OrgWebhook, SentMessage, WebhookKind


class WebhookServerError(Exception):
    """The receiver answered 5xx (or 429): worth retrying."""


class WebhookRejectedError(Exception):
    """The receiver answered another 4xx: retrying would not help."""


def mask_url(url: str) -> str:
    """What a page may show of a webhook URL: scheme and host, the secret path masked
    ("https://hooks.slack.com/…/****"). Empty for no URL."""
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}/…/****"


# --- What reaches a chat -------------------------------------------------------------------


def chat_language() -> translation.override:
    """Build a chat post inside this: a channel is read by many people, so posts are in
    the company default language (settings.LANGUAGE_CODE), whoever or whatever sends them."""
    return translation.override(settings.LANGUAGE_CODE)


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
                {"@type": "OpenUri", "name": _("Open LearnHub"), "targets": [{"os": "default", "uri": link}]}
            ],
        }
    text = "\n".join(slack_text(line) for line in [title, *lines])
    open_label = _("Open LearnHub")
    return {
        "text": f"{text}\n{slack_text(link)}",
        "mrkdwn": False,
        "blocks": [
            {"type": "section", "text": {"type": "plain_text", "text": text}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"<{slack_text(link)}|{slack_text(open_label)}>"}],
            },
        ],
    }


# --- Where a post may go ---------------------------------------------------------------------


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
        raise WebhookUrlError(_("Use an https:// address: a webhook post carries your organization's progress."))
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError as exc:
        raise WebhookUrlError(_("This address has an invalid port.")) from exc
    host = parts.hostname or ""
    if not host:
        raise WebhookUrlError(_("Enter the full webhook address, e.g. https://hooks.slack.com/services/…"))
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError as exc:
        raise WebhookUrlError(_("This host name is not valid.")) from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        refused = [a for a in addresses if not address_is_public(a)]
        if refused:
            where = refused[0] if refused[0] == host else f"{host} ({refused[0]})"
            raise WebhookUrlError(
                _("%(address)s is a private, local or reserved address: webhooks are only posted to public hosts.")
                % {"address": where}
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


# --- Claims and delivery ---------------------------------------------------------------------


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
        message_settings = _message_settings(program)
        connected_at = message_settings.company_webhook_connected_at if message_settings else None
        heard = connected_by is None or connected_at is None or connected_at <= connected_by
        if message_settings is not None and message_settings.company_webhook_url and heard:
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
    from reports.messaging.tasks import webhook_deliver  # the task module imports this one

    transaction.on_commit(lambda: webhook_deliver.delay(message_id), robust=True)


def _message_settings(program: LearningProgram) -> MessageSettings | None:
    """The program's message settings as saved, for its company-wide webhook; None before
    the first save (then there is no company webhook)."""
    return MessageSettings.objects.filter(program=program).first()


def _webhook_url(message: SentMessage) -> str:
    if message.webhook_id is not None and message.webhook is not None:
        return message.webhook.url
    if message.recipient_key.startswith("company-webhook:"):
        message_settings = _message_settings(message.program)
        return message_settings.company_webhook_url if message_settings is not None else ""
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
