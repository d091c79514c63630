"""Progress updates posted by champions, sponsors and L&D admins, and their feeds: the
company's and each organization's, newest first, paged."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from champions import selectors, services
from champions.forms import (
    ProgressUpdateForm,
)
from champions.views._common import form_errors, program_or_404, signed_in_employee
from learnhub.roles import (
    can_mark_for_all_hands,
    update_organizations,
)
from programs.models import Organization

UPDATES_PAGE_SIZE = 20


@login_required
def updates_feed(request: HttpRequest, org_pk: int | None = None) -> HttpResponse:
    """Every update of the current program, or those of one organization and its teams,
    newest first. Updates are for everyone signed in."""
    program = program_or_404()
    organization = get_object_or_404(Organization, pk=org_pk) if org_pk is not None else None
    updates = selectors.updates_feed(program=program, organization=organization)
    page = Paginator(updates, UPDATES_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "champions/updates.html",
        {
            "program": program,
            "organization": organization,
            "page": page,
            "can_post": update_organizations(request.user, program).exists(),
        },
    )


@login_required
def update_new(request: HttpRequest) -> HttpResponse:
    """Champions and sponsors post to their organization; sponsors (and L&D admins) may
    mark an update for the All Hands."""
    program = program_or_404()
    organizations = update_organizations(request.user, program)
    if not organizations.exists():
        raise PermissionDenied(_("Champions and sponsors post updates."))
    all_hands = can_mark_for_all_hands(request.user, program)
    form = ProgressUpdateForm(
        request.POST if request.method == "POST" else None, organizations=organizations, all_hands=all_hands
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        for_all_hands = data.get("for_all_hands", False)
        if for_all_hands and not can_mark_for_all_hands(request.user, program, data["organization"]):
            form.add_error("for_all_hands", _("Only the organization's sponsor marks an update for the All Hands."))
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
                messages.success(request, _("Update posted to %(name)s.") % {"name": data["organization"].name})
                return redirect("home")
    return render(request, "champions/update_form.html", {"form": form, "program": program})
