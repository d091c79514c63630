"""What the L&D admin pages share: who is acting, and a program form's values."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.utils.translation import gettext as _

from learnhub.manage.forms import ProgramForm
from programs.learning_programs import CloneDefaults
from programs.models import Employee, LearningProgram
from programs.templatetags.formats import target_percent


def acting_admin(request: HttpRequest) -> Employee:
    """The signed-in L&D admin (ld_admin_required has let only them through)."""
    if not isinstance(request.user, Employee):
        raise PermissionDenied(_("This page is for L&D admins."))
    return request.user


def program_form_data(form: ProgramForm) -> dict:
    return {
        "name": form.cleaned_data["name"],
        "starts_on": form.cleaned_data["starts_on"],
        "ends_on": form.cleaned_data["ends_on"],
        "target_rate": form.target_rate,
        "required_completions": form.cleaned_data["required_completions"],
    }


def program_initial(program: LearningProgram | CloneDefaults) -> dict:
    return {
        "name": program.name,
        "starts_on": program.starts_on,
        "ends_on": program.ends_on,
        "target_percent": target_percent(program.target_rate),
        "required_completions": program.required_completions,
    }
