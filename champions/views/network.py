"""The champions' network: every champion's organization rate and trend, and the board of practices."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from champions import selectors, services
from champions.forms import (
    PracticeNoteForm,
)
from champions.views._common import form_errors, program_or_404, signed_in_employee
from learnhub.roles import (
    can_post_practice,
    in_network,
)
from reports.kept import progress_read


@login_required
def network(request: HttpRequest) -> HttpResponse:
    """Every champion of the program with their organization's rate, trend and groups,
    and the shared board of practices. Champions, sponsors and L&D admins read it;
    champions and L&D admins post."""
    program = program_or_404()
    if not in_network(request.user, program):
        raise PermissionDenied(_("The champions' network is for champions, sponsors and L&D admins."))
    can_post = can_post_practice(request.user, program)
    form = PracticeNoteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not can_post:
            raise PermissionDenied(_("Champions and L&D admins post practices."))
        if form.is_valid():
            try:
                services.practice_note_post(
                    program=program,
                    author=signed_in_employee(request),
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                )
            except ValidationError as error:
                form_errors(form, error)
            else:
                messages.success(request, _("Practice shared with the network."))
                return redirect("champions:network")
    progress = progress_read(program=program)
    return render(
        request,
        "champions/network.html",
        {
            "program": program,
            "progress": progress,
            "entries": selectors.champions_network(program=program, progress=progress, user=request.user),
            "notes": selectors.practice_notes(program=program),
            "form": form,
            "can_post": can_post,
        },
    )
