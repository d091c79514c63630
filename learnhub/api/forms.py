from django import forms
from django.utils.translation import gettext_lazy

from programs.models import ApiToken, ApiTokenScope


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=ApiToken._meta.get_field("name").max_length,
        label=gettext_lazy("Name"),
        help_text=gettext_lazy("What will use it, e.g. “Workday roster push” or “Power BI”."),
    )
    scope = forms.ChoiceField(
        choices=ApiTokenScope.choices,
        initial=ApiTokenScope.READ,
        widget=forms.RadioSelect,
        label=gettext_lazy("Scope"),
        help_text=gettext_lazy("Read-only tokens can never change anything."),
    )
