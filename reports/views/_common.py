"""What the report pages share: the program and day a request asks about."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.http import HttpRequest
from django.utils.translation import gettext as _

from learnhub.roles import current_program_in, programs_visible, request_program_set
from programs.models import LearningProgram


@dataclass
class Choice:
    """The program and day a page is about, and what was wrong with the request."""

    program: LearningProgram | None
    day: dt.date | None
    problems: list[str] = field(default_factory=list)
    programs: list[LearningProgram] = field(default_factory=list)


def parse_day(value: str, name: str, problems: list[str]) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        problems.append(_("“%(value)s” is not a date: use %(name)s=YYYY-MM-DD.") % {"value": value, "name": name})
        return None


def request_choice(request: HttpRequest, *, day_param: str = "as_of") -> Choice:
    """?program=<id> among the programs the person sees (`programs_visible`; default: the
    current program) and ?as_of=YYYY-MM-DD (default: today). A bad value is reported
    (pages show the default instead; exports refuse)."""
    problems: list[str] = []
    programs = list(programs_visible(request.user).order_by("-starts_on", "name"))
    current = current_program_in(programs)
    request_program_set(request, current)  # the navigation's, without reading them again
    program = None
    raw_program = request.GET.get("program", "")
    if raw_program:
        program = next((p for p in programs if str(p.pk) == raw_program.strip()), None)
        if program is None:
            problems.append(_("There is no program “%(program)s”.") % {"program": raw_program})
    if program is None:
        program = current
    day = parse_day(request.GET.get(day_param, "").strip(), day_param, problems)
    return Choice(program=program, day=day, problems=problems, programs=programs)
