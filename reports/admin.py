"""Django admin for progress snapshots (computed by the progress engine, so read-only) and
for communication: webhook URLs follow the pages' rules (write-only, https to a public
host, a new URL connects the channel now)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from programs.admin import ProgressInputAdmin
from reports.messaging.webhooks import WebhookUrlError, webhook_connection_time, webhook_url_check
from reports.models import MessageSettings, OrgWebhook, ProgressSnapshot, SentMessage, Unsubscribe


@admin.register(ProgressSnapshot)
class ProgressSnapshotAdmin(ProgressInputAdmin):
    """Snapshots are recomputed from enrollments; a hand edit would be overwritten, so
    they can be looked at (and deleted, to force a recompute) but not added or edited.
    Today's rows are the kept counts (`reports.kept`): a delete marks them stale."""

    list_display = ["day", "program", "organization", "eligible", "met", "rate", "completions", "curated_completions"]
    list_filter = ["program", "day", "organization__depth"]
    search_fields = ["organization__path", "program__name"]
    list_select_related = ["program", "organization"]
    date_hierarchy = "day"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Communication (reports/messaging/) ---------------------------------------------------


class _WriteOnlyUrlForm(forms.ModelForm):
    """Webhook URLs are write-only: the input starts empty; empty keeps the stored URL. A
    URL typed in must pass `webhook_url_check`, as on the message settings page."""

    url_field = "url"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields[self.url_field]
        field.required = field.required and not self.instance.pk
        field.widget = forms.URLInput(attrs={"autocomplete": "off", "size": 60})
        field.help_text = "https to a public host. Write-only: never shown. Leave empty to keep the stored URL."
        self.initial[self.url_field] = ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        typed = data.get(self.url_field)
        if typed:
            try:
                webhook_url_check(typed)
            except WebhookUrlError as exc:
                self.add_error(self.url_field, str(exc))
        elif self.instance.pk:
            data[self.url_field] = (
                type(self.instance).objects.values_list(self.url_field, flat=True).get(pk=self.instance.pk)
            )
        return data


class MessageSettingsAdminForm(_WriteOnlyUrlForm):
    url_field = "company_webhook_url"

    class Meta:
        model = MessageSettings
        exclude: list[str] = []


class OrgWebhookAdminForm(_WriteOnlyUrlForm):
    class Meta:
        model = OrgWebhook
        fields = ["program", "organization", "kind", "url", "is_active"]


class _WebhookAdmin(admin.ModelAdmin):
    """Saving a new or changed URL connects its channel now (`webhook_connection_time`):
    it hears of milestones reached from then on."""

    url_field = "url"
    connected_field = "connected_at"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        stored = type(obj).objects.filter(pk=obj.pk).values_list(self.url_field, flat=True).first() if change else ""
        connected_at = webhook_connection_time(
            stored_url=stored or "",
            new_url=getattr(obj, self.url_field),
            connected_at=getattr(obj, self.connected_field),
        )
        setattr(obj, self.connected_field, connected_at)
        super().save_model(request, obj, form, change)


@admin.register(MessageSettings)
class MessageSettingsAdmin(_WebhookAdmin):
    form = MessageSettingsAdminForm
    list_display = ["program", "digest_enabled", "nudges_enabled", "nudge_interval_days", "digest_weekday"]
    readonly_fields = ["company_webhook_connected_at"]
    url_field = "company_webhook_url"
    connected_field = "company_webhook_connected_at"


@admin.register(OrgWebhook)
class OrgWebhookAdmin(_WebhookAdmin):
    form = OrgWebhookAdminForm
    list_display = ["organization", "program", "kind", "is_active", "connected_at"]
    list_filter = ["program", "kind"]
    readonly_fields = ["connected_at"]


@admin.register(SentMessage)
class SentMessageAdmin(admin.ModelAdmin):
    """The ledger is written by reports/messaging/ only: read-only here."""

    list_display = ["created_at", "kind", "channel", "recipient", "status", "attempts", "sent_at"]
    list_filter = ["kind", "status", "channel", "program"]
    search_fields = ["recipient", "subject", "period"]
    exclude = ["payload"]  # may quote the organization's numbers only, but keeps the page short

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Unsubscribe)
class UnsubscribeAdmin(admin.ModelAdmin):
    list_display = ["employee", "kind", "created_at"]
    search_fields = ["employee__email"]
