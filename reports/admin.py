"""Django admin for progress snapshots: computed by the progress engine, so read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from reports.models import MessageSettings, OrgWebhook, ProgressSnapshot, SentMessage, Unsubscribe


@admin.register(ProgressSnapshot)
class ProgressSnapshotAdmin(admin.ModelAdmin):
    """Snapshots are recomputed from enrollments; a hand edit would be overwritten, so
    they can be looked at (and deleted, to force a recompute) but not added or edited."""

    list_display = ["day", "program", "organization", "eligible", "met", "rate", "completions", "curated_completions"]
    list_filter = ["program", "day", "organization__depth"]
    search_fields = ["organization__path", "program__name"]
    list_select_related = ["program", "organization"]
    date_hierarchy = "day"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Communication (reports/messaging.py) --------------------------------------------------


class _WriteOnlyUrlForm(forms.ModelForm):
    """Webhook URLs are write-only: the input starts empty; empty keeps the stored URL."""

    url_field = "url"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields[self.url_field]
        field.required = field.required and not self.instance.pk
        field.widget = forms.URLInput(attrs={"autocomplete": "off", "size": 60})
        field.help_text = "Write-only: never shown. Leave empty to keep the stored URL."
        self.initial[self.url_field] = ""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get(self.url_field) and self.instance.pk:
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


@admin.register(MessageSettings)
class MessageSettingsAdmin(admin.ModelAdmin):
    form = MessageSettingsAdminForm
    list_display = ["program", "digest_enabled", "nudges_enabled", "nudge_interval_days", "digest_weekday"]


@admin.register(OrgWebhook)
class OrgWebhookAdmin(admin.ModelAdmin):
    form = OrgWebhookAdminForm
    list_display = ["organization", "program", "kind", "is_active"]
    list_filter = ["program", "kind"]


@admin.register(SentMessage)
class SentMessageAdmin(admin.ModelAdmin):
    """The ledger is written by reports/messaging.py only: read-only here."""

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
