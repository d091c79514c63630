"""What the people-side pages share: the current program, the signed-in employee, and
putting a service's errors on a form."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from learnhub.roles import (
    current_program,
)
from programs.models import Employee, LearningProgram


def program_or_404() -> LearningProgram:
    program = current_program()
    if program is None:
        raise Http404("No learning program has been set up yet.")
    return program


def signed_in_employee(request: HttpRequest) -> Employee:
    user = request.user
    if not isinstance(user, Employee):  # login_required runs first: never reached
        raise PermissionDenied(_("Sign in first."))
    return user


def form_errors(form: Any, error: ValidationError) -> None:
    """Put a service's errors next to the matching fields (others at the top)."""
    for name, messages_ in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages_)
