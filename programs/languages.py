"""A person's language: the one write (`employee_language_set`), and the page language of a
request once a person is known (`person_language_activate`: learnhub.language's middleware,
and the sign-in itself). E-mails use `Employee.message_language`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _

from programs.models import Employee


def employee_language_set(*, employee: Employee, language: str) -> None:
    """Save the language `employee` chose for their pages and e-mails ("" for none)."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError(_("%(language)s is not a language LearnHub speaks.") % {"language": language})
    if employee.language != language:
        employee.language = language
        employee.save(update_fields=["language"])


def person_language_activate(request: HttpRequest, user: Any) -> None:
    """For the rest of `request`: the language `user` saved, if they are a person who saved
    one (else the language Django's LocaleMiddleware picked stays)."""
    language = user.language if isinstance(user, Employee) else ""
    if language in dict(settings.LANGUAGES):
        translation.activate(language)
        request.LANGUAGE_CODE = language
