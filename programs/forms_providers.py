"""Forms of the provider pages: input checks only, no business rules."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from programs.connections import (
    DEFAULT_INTERVAL_MINUTES,
    KIND_NEEDS,
    MIN_INTERVAL_MINUTES,
    NAME_MAX_LENGTH,
    kind_is_synced,
)
from programs.models import Provider, ProviderConnection


class SyncNowForm(forms.Form):
    full = forms.BooleanField(
        required=False,
        label=_("Re-read everything (full sync)"),
        help_text=_("Otherwise only the days since the last successful sync (plus one) are read again."),
    )


class ProviderCsvUploadForm(forms.Form):
    """`format_name` and `description` say which file the connection's kind takes."""

    file = forms.FileField(label=_("The file (CSV)"))

    def __init__(self, *args: object, format_name: str = "", description: str = "", **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if format_name:
            self.fields["file"].label = f"{format_name} (CSV)"
        self.fields["file"].help_text = description

    def clean_file(self) -> object:
        file = self.cleaned_data["file"]
        if file.size == 0:
            raise forms.ValidationError(_("The file is empty."))
        if not file.name.lower().endswith((".csv", ".txt")):
            raise forms.ValidationError(_("Upload the export as a .csv file."))
        return file


# --- Adding and editing a connection ---------------------------------------------------

PROVIDER_FIELDS = ("base_url", "token_url", "org_id", "program_ids", "client_id", "client_secret")  # KIND_NEEDS
# Help under each field, per kind ("" for every kind that shows the field).
FIELD_HELP: dict[str, dict[str, str | Promise]] = {
    "name": {"": _("How the pages name it, e.g. “Udemy Business”. Unique.")},
    "base_url": {
        Provider.COURSERA: _(
            "https://api.coursera.org/api/ (some Enterprise accounts: https://api.coursera.com/ent/api/)."
        ),
        Provider.UDEMY: _("Your account's API address, e.g. https://acme.udemy.com/api-2.0/."),
        Provider.LINKEDIN: "https://api.linkedin.com/v2/",
        Provider.EDX: "https://api.edx.org/",
    },
    "token_url": {
        Provider.COURSERA: "https://api.coursera.org/oauth2/client_credentials/token",
        Provider.LINKEDIN: "https://www.linkedin.com/oauth/v2/accessToken",
        Provider.EDX: "https://api.edx.org/oauth2/v1/access_token",
    },
    "org_id": {
        Provider.COURSERA: _("Your Coursera business (organization) id."),
        Provider.UDEMY: _("Your Udemy Business organization id."),
        Provider.EDX: _("Your edX enterprise customer id (a UUID)."),
    },
    "program_ids": {
        Provider.COURSERA: _("The Coursera programs whose completions count: their ids, separated by spaces.")
    },
    "client_id": {
        "": _("The API client id (key) the provider issued to your organization's admin."),
        Provider.XAPI: _(
            "The id the provider signs in with: choose one (e.g. linkedin-learning) and enter it in its xAPI settings."
        ),
    },
    "client_secret": {
        "": _("The API client secret. It is stored, never shown again."),
        Provider.XAPI: _(
            "A long random secret you choose and enter in the provider's xAPI settings. "
            "It is stored, never shown again."
        ),
    },
    "interval_minutes": {
        "": _("Minutes between scheduled syncs (at least 5)."),
        Provider.COURSERA: _(
            "Minutes between scheduled syncs (at least 5). Coursera's reports trail activity by up to "
            "a day: every few hours is plenty."
        ),
    },
}
STORED_KEPT_HELP = _("A secret is stored and never shown: leave this empty to keep it, or enter a new one.")


@dataclass(frozen=True)
class FieldRow:
    """How the connection form shows one field: the kinds it belongs to (`kinds`, space
    separated, for the script), whether it shows for the current kind, and its help per
    group of kinds as (kinds, text, shown)."""

    field: forms.BoundField
    kinds: str
    shown: bool
    helps: list[tuple[str, str, bool]]


class ConnectionKindForm(forms.Form):
    """The first step of adding a connection: its kind (a GET form; the script makes it live)."""

    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[("", _("Choose a kind")), *Provider.choices],
        help_text=_("Where the completions come from. The form below asks only for what this kind needs."),
        widget=forms.Select(attrs={"data-kind-select": "", "aria-describedby": "choose_kind_help"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["auto_id"] = "choose_%s"  # the add form below posts a `kind` of its own
        super().__init__(*args, **kwargs)


class ConnectionForm(forms.Form):
    """A connection's settings. Each kind needs only some fields (KIND_NEEDS): those are
    required for the chosen kind, the others are ignored (and hidden). For a new connection
    every field is on the page and the script shows the chosen kind's (`kind` is posted
    hidden, chosen with ConnectionKindForm); editing one (`connection`) keeps its kind and has
    only its fields. The secret is never rendered back, and left
    empty on an edit it keeps the stored one."""

    kind = forms.ChoiceField(choices=Provider.choices, widget=forms.HiddenInput(attrs={"data-kind-value": ""}))
    name = forms.CharField(label=_("Name"), max_length=NAME_MAX_LENGTH)
    base_url = forms.CharField(label=_("API base URL"), max_length=500, required=False)
    token_url = forms.CharField(label=_("Token URL"), max_length=500, required=False)
    org_id = forms.CharField(label=_("Organization id"), max_length=200, required=False)
    program_ids = forms.CharField(label=_("Program ids"), max_length=2000, required=False)
    client_id = forms.CharField(label=_("Client id"), max_length=300, required=False)
    client_secret = forms.CharField(
        label=_("Client secret"),
        max_length=500,
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    interval_minutes = forms.IntegerField(
        label=_("Sync every (minutes)"),
        min_value=MIN_INTERVAL_MINUTES,
        initial=DEFAULT_INTERVAL_MINUTES,
        required=False,
    )

    def __init__(self, *args: Any, kind: str = "", connection: ProviderConnection | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection = connection
        if connection is not None:
            kind = connection.kind
            for name in [n for n in self.fields if n == "kind" or (n != "name" and kind not in self.kinds_of(n))]:
                del self.fields[name]
        elif self.is_bound:
            kind = str(self.data.get("kind", ""))
        self.chosen = kind if kind in Provider.values else ""
        for name in self.fields:
            if name not in ("kind", "name"):
                self.fields[name].required = self.chosen in self.kinds_of(name)
        if connection is not None and connection.client_secret and "client_secret" in self.fields:
            self.fields["client_secret"].required = False
        for row in self.rows:  # the help shown for the chosen kind describes the input (the script keeps it so)
            shown = [f"{row.field.auto_id}_help_{i}" for i, (_kinds, _text, visible) in enumerate(row.helps) if visible]
            attrs = row.field.field.widget.attrs
            attrs.pop("aria-describedby", None)
            if shown:
                attrs["aria-describedby"] = " ".join(shown)

    @staticmethod
    def kinds_of(name: str) -> list[str]:
        """The kinds whose connections have the field `name`."""
        if name == "name":
            return list(Provider.values)
        if name == "interval_minutes":
            return [kind for kind in Provider.values if kind_is_synced(kind)]
        return [kind for kind in Provider.values if name in KIND_NEEDS[kind]]

    @property
    def rows(self) -> list[FieldRow]:
        """Every field but the kind, as the template shows it (FieldRow)."""
        rows = []
        for name in self.fields:
            if name == "kind":
                continue
            kinds = self.kinds_of(name)
            texts = FIELD_HELP.get(name, {})
            groups: dict[str, list[str]] = {}
            for kind in kinds:
                text = str(texts.get(kind, texts.get("", "")))
                if text:
                    groups.setdefault(text, []).append(kind)
            if name == "client_secret" and self.connection is not None and self.connection.client_secret:
                groups = {str(STORED_KEPT_HELP): kinds}
            helps = [(" ".join(group), text, self.chosen in group) for text, group in groups.items()]
            rows.append(FieldRow(field=self[name], kinds=" ".join(kinds), shown=self.chosen in kinds, helps=helps))
        return rows

    def values(self) -> dict[str, Any]:
        """The chosen kind's settings as `provider_connection_save` takes them (the other
        kinds' fields are left out, so they keep what the connection has)."""
        data = self.cleaned_data
        values: dict[str, Any] = {}
        for name in self.fields:
            if name in ("kind", "name") or self.chosen not in self.kinds_of(name):
                continue
            value = data.get(name)
            values[name] = value.replace(",", " ").split() if name == "program_ids" and value else value
        return values


class ConnectionActiveForm(forms.Form):
    action = forms.ChoiceField(choices=[("pause", _("Pause")), ("resume", _("Resume"))])


class ConnectionRemoveForm(forms.Form):
    """To remove a connection that holds records, its name is typed as confirmation."""

    confirm_name = forms.CharField(label=_("Type the connection's name to confirm"), max_length=NAME_MAX_LENGTH)

    def __init__(self, *args: Any, connection: ProviderConnection, confirm: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connection = connection
        if confirm:
            self.fields["confirm_name"].label = _("Type %(name)s to confirm") % {"name": connection.name}
        else:
            del self.fields["confirm_name"]

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"].strip()
        if typed != self.connection.name:
            raise forms.ValidationError(_("Type the name exactly as it is: %(name)s") % {"name": self.connection.name})
        return typed


class LearnerLinkForm(forms.Form):
    """Link an unmatched provider learner to a roster employee, found by e-mail (the
    people search on the page finds it by name)."""

    provider = forms.ChoiceField(label=_("Provider"), choices=Provider.choices)
    learner_key = forms.CharField(
        label=_("Provider learner (external id or e-mail)"), max_length=254, help_text=_("As listed above.")
    )
    email = forms.CharField(
        label=_("Employee e-mail"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        help_text=_("Their e-mail on the roster; use the search below to find it."),
    )


class LearnerDismissForm(forms.Form):
    provider = forms.ChoiceField(choices=Provider.choices, widget=forms.HiddenInput)
    learner_key = forms.CharField(max_length=254, widget=forms.HiddenInput)
