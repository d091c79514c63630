"""Which language a page speaks. Django's LocaleMiddleware picks the language cookie or the
browser's Accept-Language; for a signed-in person, the language they saved wins
(`PersonLanguageMiddleware`). `language_choose` is the footer's language form: it sets the
cookie (Django's `set_language`) and, for a signed-in person, saves the choice so their
e-mails follow it too."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from programs.languages import employee_language_set, person_language_activate
from programs.models import Employee


class PersonLanguageMiddleware:
    """After authentication: the signed-in person's saved language, if any, for this request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        person_language_activate(request, getattr(request, "user", None))
        return self.get_response(request)


@require_POST
def language_choose(request: HttpRequest) -> HttpResponse:
    """The footer's language form: the cookie for this browser (`set_language` checks the
    language and that `next` is on this site) and the person's saved choice."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if isinstance(request.user, Employee) and language in dict(settings.LANGUAGES):
        employee_language_set(employee=request.user, language=language)
    return response
