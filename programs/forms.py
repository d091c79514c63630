"""Forms of the programs app: input checks only; the rules live in the domain functions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from programs.models import LearningProgram, Organization

COLLECTIONS_FILE_MAX_BYTES = 2 * 1024 * 1024


class CollectionsImportForm(forms.Form):
    """The programs offered are those the person sees (learnhub.roles.programs_visible)."""

    program = forms.ModelChoiceField(
        queryset=LearningProgram.objects.none(),
        empty_label=None,
        label=_("Program"),
        help_text=_("The collections are created or updated in this program."),
    )
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "Columns: collection, organization, provider, course_id, course_title, position. "
            "UTF-8, header on the first line."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        if upload.size > COLLECTIONS_FILE_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s KB; a collections file can be at most %(limit)s MB.")
                % {"size": upload.size // 1024, "limit": COLLECTIONS_FILE_MAX_BYTES // 1024 // 1024}
            )
        return upload

    def __init__(self, *args: Any, programs: QuerySet[LearningProgram], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = programs  # type: ignore[attr-defined]


class RosterImportForm(forms.Form):
    """The roster upload; the file itself is checked by programs.imports (size limit
    IMPORT_MAX_UPLOAD_MB, encoding, header) before it is stored."""

    file = forms.FileField(
        label=_("Roster CSV file"),
        help_text=_(
            "Columns: email, full_name, external_id, organization, title, manager_email, hired_on, "
            "departed_on (dates as YYYY-MM-DD). UTF-8, UTF-16 or Windows-1252 (Excel's CSV), header on the first line."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    BAD_ROWS_CHOICES = (
        ("refuse", _("All or nothing: any bad row and nothing is written")),
        ("apply_valid", _("Apply the valid rows: write the good rows, list the bad ones")),
    )
    bad_rows = forms.ChoiceField(
        label=_("When the file has bad rows"),
        choices=BAD_ROWS_CHOICES,
        initial="refuse",
        required=False,
        widget=forms.RadioSelect,
    )
    dry_run = forms.BooleanField(
        label=_("Dry run (check only, write nothing)"),
        required=False,
        # The browser must not keep it ticked for the next upload, which would then write nothing.
        widget=forms.CheckboxInput(attrs={"autocomplete": "off"}),
    )
    mark_missing_departed = forms.BooleanField(
        label=_("Mark people missing from the file as departed"),
        required=False,
        help_text=_(
            "Everyone without a departure date who is not in the file departs today, L&D admins "
            "included: departed people can no longer sign in. Not done when only the valid rows are applied."
        ),
    )


class RosterFilterForm(forms.Form):
    q = forms.CharField(label=_("Name or e-mail"), required=False, max_length=200)
    organization = forms.ModelChoiceField(
        label=_("Organization"),
        queryset=Organization.objects.all(),
        required=False,
        empty_label=_("All organizations"),
        to_field_name="path",
    )
