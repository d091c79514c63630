"""Forms of the champions pages: input shape only. The rules live in services.py."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from champions.models import StoryModeration
from programs.models import Collection, Course, Organization

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"


class LocalDateTimeInput(forms.DateTimeInput):
    """A phone-friendly date and time picker; the value is in the company time zone."""

    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format=DATETIME_LOCAL, **kwargs)


class StudyGroupForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), empty_label=None, label=_("Organization")
    )
    name = forms.CharField(max_length=200, label=_("Name"))
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label=_("Description"))
    course = forms.ModelChoiceField(
        queryset=Course.objects.none(),
        required=False,
        empty_label=_("(none)"),
        label=_("Course"),
        help_text=_("A course or a collection."),
    )
    collection = forms.ModelChoiceField(
        queryset=Collection.objects.none(), required=False, empty_label=_("(none)"), label=_("Collection")
    )
    location = forms.CharField(
        max_length=200, required=False, label=_("Location"), help_text=_("A room, or leave empty for video only.")
    )
    video_url = forms.URLField(max_length=500, required=False, label=_("Video link"), assume_scheme="https")
    capacity = forms.IntegerField(min_value=1, required=False, label=_("Capacity"), help_text=_("Empty for no limit."))
    is_open = forms.BooleanField(required=False, label=_("Open to people from other organizations"))

    def __init__(
        self,
        *args: Any,
        organizations: QuerySet[Organization],
        courses: QuerySet[Course],
        collections: QuerySet[Collection],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]
        self.fields["course"].queryset = courses  # type: ignore[attr-defined]
        self.fields["collection"].queryset = collections  # type: ignore[attr-defined]


class StudySessionForm(forms.Form):
    starts_at = forms.DateTimeField(
        label=_("Starts"), widget=LocalDateTimeInput(), input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"]
    )
    ends_at = forms.DateTimeField(
        label=_("Ends"), widget=LocalDateTimeInput(), input_formats=[DATETIME_LOCAL, "%Y-%m-%d %H:%M"]
    )
    topic = forms.CharField(max_length=200, required=False, label=_("Topic"))
    location = forms.CharField(
        max_length=200, required=False, label=_("Location"), help_text=_("Empty: the group's usual place.")
    )
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, label=_("Session notes"))


class ProgressUpdateForm(forms.Form):
    organization = forms.ModelChoiceField(
        queryset=Organization.objects.none(), empty_label=None, label=_("Organization")
    )
    title = forms.CharField(max_length=200, label=_("Title"))
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label=_("Update"))
    for_all_hands = forms.BooleanField(required=False, label=_("Also for the All Hands report"))

    def __init__(self, *args: Any, organizations: QuerySet[Organization], all_hands: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organization"].queryset = organizations  # type: ignore[attr-defined]
        if not all_hands:
            del self.fields["for_all_hands"]


class LearnerStoryForm(forms.Form):
    title = forms.CharField(max_length=200, label=_("Title"))
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), label=_("How did you use the new skill?"))
    course = forms.ModelChoiceField(
        queryset=Course.objects.none(), required=False, empty_label=_("(none)"), label=_("Course")
    )
    consent_to_share = forms.BooleanField(
        required=False, label=_("Show my story in updates and the All-Hands report (with my name)")
    )

    def __init__(self, *args: Any, courses: QuerySet[Course], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = courses  # type: ignore[attr-defined]


class StoryModerationFilterForm(forms.Form):
    moderation = forms.ChoiceField(
        choices=StoryModeration.choices, label=_("Show stories"), initial=StoryModeration.PENDING
    )


class StoryModerationForm(forms.Form):
    to = forms.ChoiceField(choices=[(StoryModeration.APPROVED, _("Approve")), (StoryModeration.DECLINED, _("Decline"))])


class CollectionReviewForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("changes", _("Request changes"))],
        widget=forms.RadioSelect,
        label=_("Decision"),
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label=_("Note"),
        help_text=_("Required when you request changes."),
    )


class LaunchVideoForm(forms.Form):
    launch_video_url = forms.URLField(
        max_length=500,
        required=False,
        label=_("Launch video link"),
        assume_scheme="https",
        help_text=_("Empty to remove."),
    )


class PracticeNoteForm(forms.Form):
    title = forms.CharField(max_length=200, label=_("Title"))
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label=_("What worked"))


class SearchForm(forms.Form):
    q = forms.CharField(max_length=100, required=False, label=_("Search"))


class RankedListFilterForm(forms.Form):
    """The filters of "who to nudge first": a team of the organization, a status."""

    team = forms.ModelChoiceField(
        queryset=Organization.objects.none(), required=False, empty_label=_("All teams"), label=_("Team")
    )
    status = forms.ChoiceField(required=False, label=_("Status"))

    def __init__(
        self, *args: Any, teams: QuerySet[Organization], statuses: list[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]
        self.fields["status"].choices = [("", _("Every status")), *statuses]  # type: ignore[attr-defined]
