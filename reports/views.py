"""Dashboards, the All-Hands report and the CSV exports. Each view checks access
(learnhub/roles.py), reads its query parameters, calls one function of
reports/selectors.py or reports/exports.py and renders."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from learnhub.roles import (
    can_see_people_of,
    championed_organizations,
    current_program,
    is_ld_admin,
    sponsored_organizations,
)
from programs.models import LearningProgram, Organization
from reports.exports import (
    ORGANIZATION_HEADER,
    PEOPLE_HEADER,
    export_filename,
    organization_rows,
    people_rows,
    write_csv,
)
from reports.progress import program_progress, progress_day
from reports.selectors import (
    NOT_MET_SHOWN,
    all_hands_report,
    company_dashboard,
    organization_dashboard,
    people_not_met,
)


@dataclass
class Choice:
    """The program and day a page is about, and what was wrong with the request."""

    program: LearningProgram | None
    day: dt.date | None
    problems: list[str] = field(default_factory=list)
    programs: list[LearningProgram] = field(default_factory=list)


def _parse_day(value: str, name: str, problems: list[str]) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        problems.append(f"“{value}” is not a date: use {name}=YYYY-MM-DD.")
        return None


def _choice(request: HttpRequest, *, day_param: str = "as_of") -> Choice:
    """?program=<id> (default: the current program) and ?as_of=YYYY-MM-DD (default:
    today). A bad value is reported (pages show the default instead; exports refuse)."""
    problems: list[str] = []
    programs = list(LearningProgram.objects.order_by("-starts_on", "name"))
    program = None
    raw_program = request.GET.get("program", "")
    if raw_program:
        program = next((p for p in programs if str(p.pk) == raw_program.strip()), None)
        if program is None:
            problems.append(f"There is no program “{raw_program}”.")
    if program is None:
        program = current_program()
    day = _parse_day(request.GET.get(day_param, "").strip(), day_param, problems)
    return Choice(program=program, day=day, problems=problems, programs=programs)


@login_required
def company(request: HttpRequest) -> HttpResponse:
    """The company dashboard: goal, pace, trend, executives and the leaderboard."""
    choice = _choice(request)
    dashboard = company_dashboard(program=choice.program, as_of=choice.day) if choice.program else None
    return render(request, "reports/company.html", {"choice": choice, "dashboard": dashboard})


def _belongs_to(user: object, org: Organization) -> bool:
    """Whether the user's home organization is `org` or below it."""
    own_id = getattr(user, "organization_id", None)
    return own_id is not None and Organization.objects.subtree(org).filter(pk=own_id).exists()


@login_required
def organization(request: HttpRequest, organization_id: int) -> HttpResponse:
    """An organization's dashboard; its champions and sponsors (or those of an
    organization above it) and L&D admins also see who has not met the goal yet."""
    org = get_object_or_404(Organization, pk=organization_id)
    choice = _choice(request)
    if choice.program is None:
        return render(request, "reports/organization.html", {"choice": choice, "organization": org})
    dashboard = organization_dashboard(program=choice.program, organization=org, as_of=choice.day)
    sees_people = can_see_people_of(request.user, choice.program, org)
    if any(not g.is_open for g in dashboard.study_groups) and not (sees_people or _belongs_to(request.user, org)):
        # The rule of champions.selectors.groups_visible: a closed group is for its own
        # organization's people, its champions and sponsors and L&D admins.
        dashboard = replace(dashboard, study_groups=[g for g in dashboard.study_groups if g.is_open])
    not_met = None
    not_met_count = 0
    if sees_people:
        people = people_not_met(program=choice.program, day=dashboard.progress.as_of, organization=org)
        not_met = list(people[:NOT_MET_SHOWN])
        not_met_count = people.count()
    return render(
        request,
        "reports/organization.html",
        {
            "choice": choice,
            "organization": org,
            "dashboard": dashboard,
            "not_met": not_met,
            "not_met_count": not_met_count,
            "not_met_shown": NOT_MET_SHOWN,
        },
    )


@login_required
def all_hands(request: HttpRequest) -> HttpResponse:
    """The printable All-Hands report for ?date=YYYY-MM-DD (default today)."""
    choice = _choice(request, day_param="date")
    report = all_hands_report(program=choice.program, day=choice.day) if choice.program else None
    return render(request, "reports/all_hands.html", {"choice": choice, "report": report})


def _csv_response(*, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _export_refused(problems: list[str]) -> str:
    """An export never falls back silently: the file would not say what it holds."""
    return "Nothing was exported.\n" + "\n".join(problems)


def _bad_request(message: str) -> HttpResponse:
    return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")


@login_required
def export_organizations(request: HttpRequest) -> HttpResponse:
    """Organization progress as CSV, for everyone signed in (aggregates only)."""
    choice = _choice(request)
    if choice.problems:
        return _bad_request(_export_refused(choice.problems))
    if choice.program is None:
        return _bad_request("No learning program has been set up yet.")
    progress = program_progress(program=choice.program, as_of=choice.day)
    response = _csv_response(filename=export_filename(program=choice.program, what="organizations", day=progress.as_of))
    write_csv(out=response, header=ORGANIZATION_HEADER, rows=organization_rows(progress=progress))
    return response


@login_required
def export_people(request: HttpRequest) -> HttpResponse:
    """Person-level status as CSV. L&D admins: the whole company, or ?org=<id>.
    Sponsors and champions: their own organizations (and below), or one of them with
    ?org=<id>. Everyone else, and anyone asking for another organization: 403."""
    choice = _choice(request)
    if choice.problems:
        return _bad_request(_export_refused(choice.problems))
    program = choice.program
    if program is None:
        return _bad_request("No learning program has been set up yet.")
    raw_org = request.GET.get("org", "").strip()
    org: Organization | None = None
    if raw_org:
        if not raw_org.isdigit():
            return _bad_request(f"“{raw_org}” is not an organization id: use org=<number>.")
        org = get_object_or_404(Organization, pk=int(raw_org))
    organizations: list[Organization] | None
    if org is not None:
        if not can_see_people_of(request.user, program, org):
            raise PermissionDenied("You can export the people of your own organization only.")
        organizations = [org]
    elif is_ld_admin(request.user):
        organizations = None
    else:
        organizations = list(
            (sponsored_organizations(request.user, program) | championed_organizations(request.user, program))
            .distinct()
            .order_by("path")
        )
        if not organizations:
            raise PermissionDenied("Person-level status is for L&D admins, sponsors and champions.")
    day = progress_day(program=program, as_of=choice.day)
    response = _csv_response(filename=export_filename(program=program, what="people", day=day, organization=org))
    write_csv(
        out=response, header=PEOPLE_HEADER, rows=people_rows(program=program, day=day, organizations=organizations)
    )
    return response
