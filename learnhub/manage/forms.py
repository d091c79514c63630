"""Forms of the L&D admin pages (/manage/): input checks only; the rules live in
the domain functions (programs.learning_programs, programs.collections,
champions.appointments) and come back as errors next to the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from programs.models import PROGRAM_CHANGE_REASON_MAX_LENGTH, Organization

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
    name = forms.CharField(label="Name", max_length=200)
    starts_on = forms.DateField(label="Starts on", widget=DATE_WIDGET, help_text="First day of the window (inclusive).")
    ends_on = forms.DateField(label="Ends on", widget=DATE_WIDGET, help_text="Last day of the window (inclusive).")
    target_percent = forms.DecimalField(
        label="Target (% of employees)",
        min_value=Decimal("0.1"),
        max_value=Decimal(100),
        max_digits=4,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"step": "0.1", "min": "0.1", "max": "100", "inputmode": "decimal"}),
        help_text="For example 90 for 90%; one decimal at most (87.5).",
    )
    required_completions = forms.IntegerField(
        label="Completions required per person",
        min_value=1,
        max_value=100,
        initial=1,
        help_text="Distinct courses each person completes in the window to meet the goal.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts_on, ends_on = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts_on and ends_on and ends_on <= starts_on:
            self.add_error("ends_on", "The program must end after it starts.")
        return cleaned

    @property
    def target_rate(self) -> Decimal:
        return self.cleaned_data["target_percent"] / 100


REASON_FIELD_HELP = "Optional: kept with the change in the program's audit trail."


def reason_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=PROGRAM_CHANGE_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=REASON_FIELD_HELP,
    )


class ProgramEditForm(ProgramForm):
    """A program's changes, with why: the reason goes to the audit trail with each change."""

    reason = reason_field("Reason for the change")


class ProgramCloseForm(forms.Form):
    reason = reason_field("Reason for closing")


class CloneForm(ProgramForm):
    """Next year's program: the same fields, proposed from this year's."""


class CollectionForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    organization = forms.ModelChoiceField(
        label="For",
        queryset=Organization.objects.order_by("path"),
        required=False,
        empty_label="The whole company",
        help_text="An organization (its teams see it too), or the whole company.",
    )
    needs = forms.CharField(
        label="Needs it answers",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The near- and long-term skill needs agreed with the executive.",
    )
    launch_video_url = forms.URLField(
        label="Launch video URL",
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="The sponsor's launch video, e.g. on the company video site.",
    )


class CourseSearchForm(forms.Form):
    q = forms.CharField(label="Search the catalog", required=False, max_length=200, help_text="Title, partner or id.")


class AppointmentForm(forms.Form):
    role = forms.ChoiceField(
        label="Role", choices=[("champion", "Learning champion"), ("sponsor", "Executive sponsor")]
    )
    organization = forms.ModelChoiceField(
        label="Organization", queryset=Organization.objects.order_by("path"), empty_label="Choose an organization"
    )
    email = forms.CharField(
        label="Employee e-mail",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        help_text="Their e-mail on the roster; use the search below to find it.",
    )


class PeopleSearchForm(forms.Form):
    q = forms.CharField(label="Find a person", required=False, max_length=200, help_text="Name or e-mail.")
