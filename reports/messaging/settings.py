"""A program's message settings (which messages, when, thresholds), its webhooks, and the
ledger as the L&D admins' message log lists it. Webhook URLs are write-only: an empty
value keeps the stored one, and a new URL passes the webhook rule before it is saved
(`reports.messaging.webhooks.webhook_url_check`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from programs.models import LearningProgram, Organization
from reports.messaging.webhooks import webhook_connection_time, webhook_url_check
from reports.models import MessageSettings, OrgWebhook, SentMessage

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


def settings_for(*, program: LearningProgram) -> MessageSettings:
    """The program's message settings, created with the defaults on first use."""
    message_settings, _ = MessageSettings.objects.get_or_create(program=program)
    return message_settings


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
            raise ValueError(_("A new webhook needs its URL."))
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
