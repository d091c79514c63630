"""The company and organization dashboards and the All-Hands report (everyone signed in;
an organization's people for its champions, sponsors and L&D admins)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe

from learnhub.roles import (
    can_see_closed_study_groups_of,
    can_see_people_of,
)
from programs.models import LearningProgram, Organization
from reports.kept import kept_counts_stamp, people_not_met_read
from reports.progress import progress_day
from reports.selectors import (
    NOT_MET_SHOWN,
    all_hands_deck,
    all_hands_report,
    company_dashboard,
    organization_dashboard,
)
from reports.views._common import parse_day, request_choice

# A rendered company dashboard is kept in the cache under the state of the kept figures it
# was rendered from; a change names another state, so an entry is never read once stale.
COMPANY_BODY_SECONDS = 3600


def company_body(*, program: LearningProgram, day: dt.date | None) -> SafeString:
    """The company dashboard's figures (headline, trend, leaderboard, executives),
    rendered once per state of today's kept figures (`kept_counts_stamp`; also per
    calendar day, for the appointments held that day, and per language) and then read
    from the cache: every
    input of the page calls `progress_changed` when it changes. An explicit day is
    rendered each time."""
    stamp = kept_counts_stamp(program=program, as_of=day)
    day_key = timezone.localdate().isoformat()
    key = f"reports:company-body:{program.pk}:{translation.get_language()}:{day_key}:{stamp}"
    cached = cache.get(key) if stamp else None
    if cached is not None:
        return mark_safe(cached)  # noqa: S308 (our own template's output)
    context = {"dashboard": company_dashboard(program=program, as_of=day), "program_id": program.pk, "day": day}
    body = render_to_string("reports/includes/company_dashboard.html", context)
    if stamp:
        cache.set(key, str(body), COMPANY_BODY_SECONDS)
    return body


@login_required
def company(request: HttpRequest) -> HttpResponse:
    """The company dashboard: goal, pace, trend, executives and the leaderboard."""
    choice = request_choice(request)
    if choice.program is None:
        return render(request, "reports/company.html", {"choice": choice})
    context = {
        "choice": choice,
        "as_of": progress_day(program=choice.program, as_of=choice.day),
        "body": company_body(program=choice.program, day=choice.day),
    }
    return render(request, "reports/company.html", context)


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


@login_required
def deck(request: HttpRequest) -> HttpResponse:
    """The All-Hands deck for ?date=YYYY-MM-DD (default today), with each organization's
    change since ?since=YYYY-MM-DD (the last All Hands): 16:9 slides that print one per
    page, and a presenter's view paged with the arrow keys (static/js/deck.js)."""
    choice = request_choice(request, day_param="date")
    since = parse_day(request.GET.get("since", "").strip(), "since", choice.problems)
    deck = all_hands_deck(program=choice.program, day=choice.day, since=since) if choice.program else None
    return render(request, "reports/all_hands_deck.html", {"choice": choice, "deck": deck})
