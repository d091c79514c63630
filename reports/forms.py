"""Forms of the communication pages: input checks only, no business rules. Webhook URLs
are write-only: the inputs start empty and "empty" means "keep what is stored"; a URL
typed in is checked by the services' own rule (`webhook_url_check`: https to a public
host), so the page says what is wrong before anything is saved."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.utils.translation import gettext_lazy as _

from programs.models import Organization
from reports.messaging.settings import SETTINGS_FIELDS
from reports.messaging.webhooks import WebhookUrlError, webhook_url_check
from reports.models import MessageKind, MessageSettings, MessageStatus, WebhookKind

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]
HOURS = [(h, f"{h:02d}:00") for h in range(24)]


def _webhook_url_field(label: StrOrPromise) -> forms.URLField:
    return forms.URLField(
        label=label,
        required=False,
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"autocomplete": "off", "placeholder": "https://hooks.slack.com/services/…"}),
        help_text=_("https to a public host. Write-only: never shown again. Leave empty to keep the stored URL."),
    )


def _checked_webhook_url(value: str) -> str:
    if value:
        try:
            webhook_url_check(value)
        except WebhookUrlError as exc:
            raise forms.ValidationError(str(exc)) from exc
    return value


class MessageSettingsForm(forms.ModelForm):
    digest_weekday = forms.TypedChoiceField(label=_("Weekly digest day"), choices=WEEKDAYS, coerce=int)
    digest_hour = forms.TypedChoiceField(label=_("Weekly digest time"), choices=HOURS, coerce=int)
    nudge_hour = forms.TypedChoiceField(label=_("Daily nudge time"), choices=HOURS, coerce=int)
    leaderboard_hour = forms.TypedChoiceField(
        label=_("Monthly leaderboard time (1st of the month)"), choices=HOURS, coerce=int
    )
    company_webhook_url = _webhook_url_field(_("Company-wide webhook URL"))
    remove_company_webhook = forms.BooleanField(label=_("Remove the company-wide webhook"), required=False)

    class Meta:
        model = MessageSettings
        fields = SETTINGS_FIELDS  # the fields message_settings_update saves
        labels = {
            "digest_enabled": _("Send the weekly digest to champions and sponsors"),
            "nudges_enabled": _("Nudge people who have not met the goal"),
            "escalations_enabled": _("Escalate to champions and sponsors"),
            "leaderboard_enabled": _("Send the monthly leaderboard update to everyone"),
            "milestones_enabled": _("Announce when an organization or the company reaches the target"),
            "nudge_interval_days": _("Days between two nudges to the same person"),
            "escalate_after_nudges": _("Tell the champion about people still not done after this many nudges"),
            "escalate_after_weeks_behind": _("Tell the sponsor when the organization is behind pace this many weeks"),
            "company_webhook_kind": _("Company-wide webhook format"),
        }

    def clean_company_webhook_url(self) -> str:
        return _checked_webhook_url(self.cleaned_data["company_webhook_url"])

    def clean_nudge_interval_days(self) -> int:
        value = self.cleaned_data["nudge_interval_days"]
        if value < 1 or value > 365:
            raise forms.ValidationError(_("Use a number of days from 1 to 365."))
        return value

    def clean_escalate_after_nudges(self) -> int:
        value = self.cleaned_data["escalate_after_nudges"]
        if value < 1 or value > 50:
            raise forms.ValidationError(_("Use a number from 1 to 50."))
        return value

    def clean_escalate_after_weeks_behind(self) -> int:
        value = self.cleaned_data["escalate_after_weeks_behind"]
        if value < 1 or value > 52:
            raise forms.ValidationError(_("Use a number of weeks from 1 to 52."))
        return value


class OrgWebhookForm(forms.Form):
    organization = forms.ModelChoiceField(label=_("Organization"), queryset=Organization.objects.none())
    kind = forms.ChoiceField(label=_("Format"), choices=WebhookKind.choices)
    url = _webhook_url_field(_("Incoming-webhook URL"))
    remove = forms.BooleanField(label=_("Remove this organization's webhook"), required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["organization"].queryset = Organization.objects.order_by("path")  # type: ignore[attr-defined]

    def clean_url(self) -> str:
        return _checked_webhook_url(self.cleaned_data["url"])


class MessageFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), required=False, choices=[("", _("Any kind")), *MessageKind.choices])
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status")), *MessageStatus.choices]
    )
