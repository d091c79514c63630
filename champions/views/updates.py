"""Progress updates posted by champions, sponsors and L&D admins."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from champions import services
from champions.forms import (
    ProgressUpdateForm,
)
from champions.views._common import form_errors, program_or_404, signed_in_employee
from learnhub.roles import (
    can_mark_for_all_hands,
    update_organizations,
)


@login_required
def update_new(request: HttpRequest) -> HttpResponse:
    """Champions and sponsors post to their organization; sponsors (and L&D admins) may
    mark an update for the All Hands."""
    program = program_or_404()
    organizations = update_organizations(request.user, program)
    if not organizations.exists():
        raise PermissionDenied("Champions and sponsors post updates.")
    all_hands = can_mark_for_all_hands(request.user, program)
    form = ProgressUpdateForm(
        request.POST if request.method == "POST" else None, organizations=organizations, all_hands=all_hands
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        for_all_hands = data.get("for_all_hands", False)
        if for_all_hands and not can_mark_for_all_hands(request.user, program, data["organization"]):
            form.add_error("for_all_hands", "Only the organization's sponsor marks an update for the All Hands.")
        else:
            try:
                services.progress_update_post(
                    program=program,
                    organization=data["organization"],
                    author=signed_in_employee(request),
                    title=data["title"],
                    body=data["body"],
                    for_all_hands=for_all_hands,
                )
            except ValidationError as error:
                form_errors(form, error)
            else:
                messages.success(request, f"Update posted to {data['organization'].name}.")
                return redirect("home")
    return render(request, "champions/update_form.html", {"form": form, "program": program})
