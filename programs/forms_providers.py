"""Forms of the provider pages: input checks only, no business rules."""

from __future__ import annotations

from django import forms


class SyncNowForm(forms.Form):
    full = forms.BooleanField(
        required=False,
        label="Re-read everything (full sync)",
        help_text="Otherwise only the days since the last successful sync (plus one) are read again.",
    )


class ProviderCsvUploadForm(forms.Form):
    file = forms.FileField(
        label="Coursera CourseActivity export (CSV)",
        help_text="The admin export, UTF-8, header on line 1. Columns are found by name; extra columns are ignored.",
    )

    def clean_file(self) -> object:
        file = self.cleaned_data["file"]
        if file.size == 0:
            raise forms.ValidationError("The file is empty.")
        if not file.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError("Upload the export as a .csv file.")
        return file
