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
    """`format_name` and `description` say which file the connection's kind takes."""

    file = forms.FileField(label="The file (CSV)")

    def __init__(self, *args: object, format_name: str = "", description: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if format_name:
            self.fields["file"].label = f"{format_name} (CSV)"
        self.fields["file"].help_text = description

    def clean_file(self) -> object:
        file = self.cleaned_data["file"]
        if file.size == 0:
            raise forms.ValidationError("The file is empty.")
        if not file.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError("Upload the export as a .csv file.")
        return file
