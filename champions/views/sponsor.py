"""The executive sponsor's page: commitment, organizations, launch video, collection review."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from champions import selectors, services
from champions.forms import (
    CollectionReviewForm,
    LaunchVideoForm,
)
from champions.models import ExecutiveSponsor
from champions.views._common import program_or_404, signed_in_employee
from learnhub.roles import (
    can_review_collection,
)
from programs.collections import collection_review_actions, collection_review_step
from programs.models import Collection, CollectionReviewAction
from reports.kept import progress_read
from reports.progress import employee_has_met, progress_day


def _sponsor_page(
    request: HttpRequest, *, bound_video_form: LaunchVideoForm | None = None, status: int = 200
) -> HttpResponse:
    program = program_or_404()
    me = signed_in_employee(request)
    appointments = list(
        ExecutiveSponsor.objects.for_program(program)
        .held(timezone.localdate())
        .filter(employee=me)
        .select_related("organization")
        .order_by("organization__path")
    )
    if not appointments:
        raise PermissionDenied(_("This page is for executive sponsors."))
    progress = progress_read(program=program)
    for appointment in appointments:
        appointment.org_progress = progress.for_organization(appointment.organization_id)  # type: ignore[attr-defined]
        appointment.collections = list(  # type: ignore[attr-defined]
            selectors.organization_collections(program=program, organization=appointment.organization)
        )
        for collection in appointment.collections:  # type: ignore[attr-defined]
            collection.review_actions = collection_review_actions(collection=collection)
        prefix = f"video-{appointment.pk}"
        appointment.video_form = (  # type: ignore[attr-defined]
            bound_video_form
            if bound_video_form is not None and bound_video_form.prefix == prefix
            else LaunchVideoForm(initial={"launch_video_url": appointment.launch_video_url}, prefix=prefix)
        )
    completed = selectors.sponsor_completed_courses(program=program, employee=me)
    return render(
        request,
        "champions/sponsor.html",
        {
            "program": program,
            "appointments": appointments,
            "completed": completed,
            "met": employee_has_met(program=program, employee=me, day=progress_day(program=program)),
            "target": progress.target,
        },
        status=status,
    )


@login_required
def sponsor(request: HttpRequest) -> HttpResponse:
    """My sponsorship: my commitment, my organizations' progress, launch video, collections."""
    return _sponsor_page(request)


@login_required
@require_POST
def sponsor_video(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = get_object_or_404(
        ExecutiveSponsor.objects.held(timezone.localdate()), pk=pk, employee_id=request.user.pk
    )
    form = LaunchVideoForm(request.POST, prefix=f"video-{appointment.pk}")
    if not form.is_valid():
        messages.error(request, _("Launch video not saved: see the error next to the field."))
        return _sponsor_page(request, bound_video_form=form, status=400)
    services.sponsor_launch_video_set(appointment=appointment, url=form.cleaned_data["launch_video_url"])
    messages.success(request, _("Launch video link saved."))
    return redirect("champions:sponsor")


@login_required
@require_POST
def collection_review(request: HttpRequest, pk: int) -> HttpResponse:
    """The sponsor of the collection's organization approves it or requests changes."""
    collection = get_object_or_404(Collection.objects.select_related("organization", "program"), pk=pk)
    if not can_review_collection(request.user, collection):
        raise PermissionDenied(_("Only the organization's sponsor reviews its collection."))
    form = CollectionReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose Approve or Request changes."))
        return redirect("champions:sponsor")
    approve = form.cleaned_data["decision"] == "approve"
    try:
        collection_review_step(
            collection=collection,
            actor=signed_in_employee(request),
            action=CollectionReviewAction.APPROVED if approve else CollectionReviewAction.CHANGES_REQUESTED,
            note=form.cleaned_data["note"],
        )
    except ValidationError as error:
        messages.error(
            request,
            _("“%(name)s” not changed: %(reason)s") % {"name": collection.name, "reason": " ".join(error.messages)},
        )
    else:
        messages.success(
            request,
            _("“%(name)s”: %(status)s.")
            % {"name": collection.name, "status": collection.get_approval_status_display()},
        )
    return redirect("champions:sponsor")
