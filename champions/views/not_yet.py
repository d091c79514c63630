""" "Not yet completed": the people of an organization who have not met the goal, and nudges."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from champions.views._common import program_or_404, signed_in_employee
from learnhub.roles import (
    can_see_people_of,
    people_scope,
)
from programs.models import Organization
from reports.kept import people_not_met_read
from reports.messaging.nudges import NudgeOutcome, nudge_employees


@login_required
def not_yet_index(request: HttpRequest) -> HttpResponse:
    program = program_or_404()
    scope = people_scope(request.user, program)
    organizations = list(Organization.objects.filter(depth=1).order_by("path")) if scope is None else scope
    if not organizations:
        raise PermissionDenied("Champions, sponsors and L&D admins see who has not completed yet.")
    if len(organizations) == 1:
        return redirect("champions:not_yet", org_pk=organizations[0].pk)
    return render(request, "champions/not_yet_index.html", {"organizations": organizations, "program": program})


def _people(count: int) -> str:
    return f"{count} {'person' if count == 1 else 'people'}"


def nudge_outcome_messages(outcome: NudgeOutcome) -> list[tuple[int, str]]:
    """What the champion reads after a nudge: who got one, and why the others did not."""
    if outcome.program_not_running:
        return [(messages.WARNING, "Nothing was sent: nudges go out only while the program is active.")]
    said = [(messages.SUCCESS, f"Nudged {_people(outcome.sent_count)} by e-mail.")] if outcome.sent else []
    reasons = [
        (outcome.already_met, "already met the goal"),
        (outcome.not_eligible, "not in the program's count today"),
        (outcome.too_soon, "nudged recently (one nudge per person per interval)"),
        (outcome.unsubscribed, "unsubscribed from nudges"),
        (outcome.failed, "the e-mail could not be sent; see Messages"),
    ]
    said += [(messages.INFO, f"Not nudged, {_people(len(ids))}: {why}.") for ids, why in reasons if ids]
    return said


@login_required
def not_yet(request: HttpRequest, org_pk: int) -> HttpResponse:
    """Eligible people of the organization who have not met the goal; nudge one or many."""
    program = program_or_404()
    organization = get_object_or_404(Organization, pk=org_pk)
    if not can_see_people_of(request.user, program, organization):
        raise PermissionDenied("Only this organization's champions, sponsor and L&D admins see its people.")
    people = list(people_not_met_read(program=program, as_of=None, organization=organization))
    if request.method == "POST":
        chosen = request.POST.getlist("selected") if "only" not in request.POST else [request.POST["only"]]
        by_id = {str(p.pk): p for p in people}
        targets = [by_id[v] for v in chosen if v in by_id]
        if not targets:
            messages.error(request, "Select at least one person who has not completed yet.")
        else:
            outcome = nudge_employees(program=program, employees=targets, sender=signed_in_employee(request))
            for level, text in nudge_outcome_messages(outcome):
                messages.add_message(request, level, text)
            return redirect("champions:not_yet", org_pk=organization.pk)
    return render(
        request,
        "champions/not_yet.html",
        {"program": program, "organization": organization, "people": people},
    )
