"""Forms of the L&D admin pages (/manage/): input checks only; the rules live in
the domain functions (programs.learning_programs, programs.collections,
champions.appointments) and come back as errors next to the field."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from programs.models import PROGRAM_CHANGE_REASON_MAX_LENGTH, Organization

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise as StrPromise

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

# A service reports a broken rule under its own argument name; the form shows it here.
SERVICE_FIELD_TO_FORM_FIELD = {"target_rate": "target_percent"}


def errors_to_form(form: forms.Form, error: ValidationError) -> None:
    """Put a service's ValidationError next to the matching fields (or on top of the form)."""
    if hasattr(error, "error_dict"):
        for field, messages in error.message_dict.items():
            name = SERVICE_FIELD_TO_FORM_FIELD.get(field, field)
            form.add_error(name if name in form.fields else None, messages)
    else:
        form.add_error(None, error.messages)


class ProgramForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    starts_on = forms.DateField(
        label=gettext_lazy("Starts on"),
        widget=DATE_WIDGET,
        help_text=gettext_lazy("First day of the window (inclusive)."),
    )
    ends_on = forms.DateField(
        label=gettext_lazy("Ends on"), widget=DATE_WIDGET, help_text=gettext_lazy("Last day of the window (inclusive).")
    )
    target_percent = forms.DecimalField(
        # xgettext:no-python-format
        label=gettext_lazy("Target (% of employees)"),
        min_value=Decimal("0.1"),
        max_value=Decimal(100),
        max_digits=4,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"step": "0.1", "min": "0.1", "max": "100", "inputmode": "decimal"}),
        help_text=gettext_lazy("For example 90 for 90%; one decimal at most (87.5)."),
    )
    required_completions = forms.IntegerField(
        label=gettext_lazy("Completions required per person"),
        min_value=1,
        max_value=100,
        initial=1,
        help_text=gettext_lazy("Distinct courses each person completes in the window to meet the goal."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on <= starts_on:
            self.add_error("ends_on", _("The program must end after it starts."))
        return cleaned

    @property
    def target_rate(self) -> Decimal:
        return self.cleaned_data["target_percent"] / 100


REASON_FIELD_HELP = gettext_lazy("Optional: kept with the change in the program's audit trail.")


def reason_field(label: str | StrPromise) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=PROGRAM_CHANGE_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=REASON_FIELD_HELP,
    )


class ProgramEditForm(ProgramForm):
    """A program's changes, with why: the reason goes to the audit trail with each change."""

    reason = reason_field(gettext_lazy("Reason for the change"))


class ProgramCloseForm(forms.Form):
    reason = reason_field(gettext_lazy("Reason for closing"))


class CloneForm(ProgramForm):
    """Next year's program: the same fields, proposed from this year's."""


class CollectionForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    organization = forms.ModelChoiceField(
        label=gettext_lazy("For"),
        queryset=Organization.objects.order_by("path"),
        required=False,
        empty_label=gettext_lazy("The whole company"),
        help_text=gettext_lazy("An organization (its teams see it too), or the whole company."),
    )
    needs = forms.CharField(
        label=gettext_lazy("Needs it answers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("The near- and long-term skill needs agreed with the executive."),
    )
    launch_video_url = forms.URLField(
        label=gettext_lazy("Launch video URL"),
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=gettext_lazy("The sponsor's launch video, e.g. on the company video site."),
    )


class CourseSearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Search the catalog"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Title, partner or id."),
    )


class AppointmentForm(forms.Form):
    role = forms.ChoiceField(
        label=gettext_lazy("Role"),
        choices=[("champion", gettext_lazy("Learning champion")), ("sponsor", gettext_lazy("Executive sponsor"))],
    )
    organization = forms.ModelChoiceField(
        label=gettext_lazy("Organization"),
        queryset=Organization.objects.order_by("path"),
        empty_label=gettext_lazy("Choose an organization"),
    )
    email = forms.CharField(
        label=gettext_lazy("Employee e-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        help_text=gettext_lazy("Their e-mail on the roster; use the search below to find it."),
    )


class PeopleSearchForm(forms.Form):
    q = forms.CharField(
        label=gettext_lazy("Find a person"), required=False, max_length=200, help_text=gettext_lazy("Name or e-mail.")
    )
