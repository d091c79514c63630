"""A person's language: the one write (`employee_language_set`). Which language a page or
an e-mail uses is read from `Employee.language` by learnhub.language (pages) and
`Employee.message_language` (e-mails)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from programs.models import Employee


def employee_language_set(*, employee: Employee, language: str) -> None:
    """Save the language `employee` chose for their pages and e-mails ("" for none)."""
    if language and language not in dict(settings.LANGUAGES):
        raise ValidationError(_("%(language)s is not a language LearnHub speaks.") % {"language": language})
    if employee.language != language:
        employee.language = language
        employee.save(update_fields=["language"])
