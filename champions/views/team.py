"""A line manager's team: everyone who reports to them on the roster, directly or through
others, with where each stands (met the goal, a course in progress, not started), the
team's rate against the target, and nudges under the same rules as a champion's."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from champions.views._common import signed_in_employee
from champions.views.not_yet import nudge_outcome_messages
from learnhub.roles import current_program, team_of
from programs.models import Employee
from reports.kept import people_status_read
from reports.messaging.nudges import nudge_employees
from reports.people import people_met_count, people_ranked


@login_required
def my_team(request: HttpRequest) -> HttpResponse:
    manager = signed_in_employee(request)
    team = team_of(manager)
    if not team.exists():
        raise PermissionDenied(_("This page is for managers: nobody on the roster reports to you."))
    program = current_program(manager)
    if program is None:
        return render(request, "champions/team.html", {"program": None})
    people = people_status_read(program=program, as_of=None, organizations=None).filter(pk__in=team.values("pk"))
    if request.method == "POST":
        selected = [value for value in request.POST.getlist("selected") if value.isdigit()]
        targets = list(team.filter(pk__in=selected))
        if not targets:
            messages.error(request, _("Select at least one person of your team who has not completed yet."))
        else:
            outcome = nudge_employees(program=program, employees=targets, sender=manager)
            for level, text in nudge_outcome_messages(outcome, {person.pk: str(person) for person in targets}):
                messages.add_message(request, level, text)
        return redirect(reverse("champions:team"))
    met, eligible = people_met_count(people)
    context = {
        "program": program,
        "people": _still_to_complete_first(people_ranked(people, program=program)),
        "met": met,
        "eligible": eligible,
        "rate": met / eligible if eligible else None,
    }
    return render(request, "champions/team.html", context)


def _still_to_complete_first(people: QuerySet[Employee]) -> QuerySet[Employee]:
    """Those who have not met the goal first, closest to it first; then those who have."""
    return people.order_by("has_met", *people.query.order_by)
