"""The company and organization dashboards and the All-Hands report (everyone signed in;
an organization's people for its champions, sponsors and L&D admins)."""

from __future__ import annotations

from dataclasses import replace

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from learnhub.roles import (
    can_see_closed_study_groups_of,
    can_see_people_of,
)
from programs.models import Organization
from reports.kept import people_not_met_read
from reports.selectors import (
    NOT_MET_SHOWN,
    all_hands_report,
    company_dashboard,
    organization_dashboard,
)
from reports.views._common import request_choice


@login_required
def company(request: HttpRequest) -> HttpResponse:
    """The company dashboard: goal, pace, trend, executives and the leaderboard."""
    choice = request_choice(request)
    dashboard = company_dashboard(program=choice.program, as_of=choice.day) if choice.program else None
    return render(request, "reports/company.html", {"choice": choice, "dashboard": dashboard})


@login_required
def organization(request: HttpRequest, organization_id: int) -> HttpResponse:
    """An organization's dashboard; its champions and sponsors (or those of an
    organization above it) and L&D admins also see who has not met the goal yet."""
    org = get_object_or_404(Organization, pk=organization_id)
    choice = request_choice(request)
    if choice.program is None:
        return render(request, "reports/organization.html", {"choice": choice, "organization": org})
    dashboard = organization_dashboard(program=choice.program, organization=org, as_of=choice.day)
    sees_people = can_see_people_of(request.user, choice.program, org)
    closed = [g for g in dashboard.study_groups if not g.is_open]
    if closed and not can_see_closed_study_groups_of(request.user, choice.program, org):
        dashboard = replace(dashboard, study_groups=[g for g in dashboard.study_groups if g.is_open])
    not_met = None
    not_met_count = 0
    if sees_people:
        not_met = list(
            people_not_met_read(program=choice.program, as_of=choice.day, organization=org, first=NOT_MET_SHOWN)
        )
        not_met_count = dashboard.headline.not_met
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
    choice = request_choice(request, day_param="date")
    report = all_hands_report(program=choice.program, day=choice.day) if choice.program else None
    return render(request, "reports/all_hands.html", {"choice": choice, "report": report})
