"""Collection curation in the L&D admin area: a program's collections, create and edit
one, its ordered courses (add from the catalog, remove, move up or down), and its
submission to the sponsor. L&D admins only; every write is a function of programs.collections."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from learnhub.manage.forms import CollectionForm, CourseSearchForm, errors_to_form
from learnhub.manage.views._common import acting_admin
from learnhub.roles import can_submit_collection, ld_admin_required
from programs.collections import (
    collection_course_add,
    collection_course_move,
    collection_course_remove,
    collection_create,
    collection_review_step,
    collection_submit_action,
    collection_update,
)
from programs.models import Collection, CollectionReviewAction, Course, LearningProgram
from programs.selectors import collection_review_history, collections_of, courses_search


@ld_admin_required
def collection_list(request: HttpRequest, pk: int) -> HttpResponse:
    program = get_object_or_404(LearningProgram, pk=pk)
    return render(
        request,
        "manage/collection_list.html",
        {"program": program, "collections": collections_of(program=program)},
    )


@ld_admin_required
def collection_new(request: HttpRequest, pk: int) -> HttpResponse:
    program = get_object_or_404(LearningProgram, pk=pk)
    form = CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            collection = collection_create(program=program, **form.cleaned_data)
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(
                request, _("Collection %(name)s created. Add its courses below.") % {"name": collection.name}
            )
            return redirect("manage:collection", pk=collection.pk)
    return render(request, "manage/collection_form.html", {"form": form, "program": program, "collection": None})


@ld_admin_required
def collection_edit(request: HttpRequest, pk: int) -> HttpResponse:
    collection = get_object_or_404(Collection.objects.select_related("program", "organization"), pk=pk)
    form = CollectionForm(
        request.POST or None,
        initial={
            "name": collection.name,
            "organization": collection.organization,
            "needs": collection.needs,
            "launch_video_url": collection.launch_video_url,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            collection_update(collection=collection, **form.cleaned_data)
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, _("Collection %(name)s saved.") % {"name": collection.name})
            return redirect("manage:collection", pk=collection.pk)
    return render(
        request,
        "manage/collection_form.html",
        {"form": form, "program": collection.program, "collection": collection},
    )


@ld_admin_required
def collection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The collection's courses in order (move up / down, remove) and a catalog search to add more."""
    collection = get_object_or_404(Collection.objects.select_related("program", "organization"), pk=pk)
    items = list(collection.items.select_related("course").order_by("position", "id"))
    search = CourseSearchForm(request.GET or None)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    in_collection = {item.course_id for item in items}
    results = [(course, course.pk in in_collection) for course in courses_search(query=query)]
    return render(
        request,
        "manage/collection_detail.html",
        {
            "collection": collection,
            "program": collection.program,
            "items": items,
            "search": search,
            "query": query,
            "results": results,
            "steps": list(collection_review_history().filter(collection=collection)),
            "submit_action": collection_submit_action(collection=collection),
        },
    )


@ld_admin_required
@require_POST
def collection_submit(request: HttpRequest, pk: int) -> HttpResponse:
    """Submit the collection to its organization's sponsor, or resubmit it after the
    changes they asked for; the sponsor is e-mailed."""
    collection = get_object_or_404(Collection.objects.select_related("program", "organization"), pk=pk)
    if not can_submit_collection(request.user, collection):
        raise PermissionDenied(_("A company-wide collection has no sponsor review."))
    action = collection_submit_action(collection=collection) or CollectionReviewAction.SUBMITTED
    try:
        collection_review_step(
            collection=collection, actor=acting_admin(request), action=action, note=request.POST.get("note", "")
        )
    except ValidationError as error:
        messages.error(
            request,
            _("%(name)s not submitted: %(problems)s") % {"name": collection.name, "problems": " ".join(error.messages)},
        )
    else:
        messages.success(
            request,
            _("%(name)s sent to the sponsor of %(organization)s.")
            % {"name": collection.name, "organization": collection.organization},
        )
    return redirect("manage:collection", pk=collection.pk)


def _back_to_collection(request: HttpRequest, collection: Collection) -> HttpResponse:
    url = reverse("manage:collection", args=[collection.pk])
    query = request.POST.get("q", "").strip()
    if query:
        url = f"{url}?{urlencode({'q': query})}"
    return redirect(url)


@ld_admin_required
@require_POST
def course_add(request: HttpRequest, pk: int) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk)
    course_id = request.POST.get("course", "")
    course = Course.objects.filter(pk=int(course_id)).first() if course_id.isdigit() else None
    if course is None:
        messages.error(request, _("Choose a course from the catalog search."))
        return _back_to_collection(request, collection)
    try:
        collection_course_add(collection=collection, course=course)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Added %(course)s.") % {"course": course})
    return _back_to_collection(request, collection)


@ld_admin_required
@require_POST
def course_remove(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk)
    try:
        course = collection_course_remove(collection=collection, item_id=item_pk)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Removed %(course)s.") % {"course": course})
    return _back_to_collection(request, collection)


@ld_admin_required
@require_POST
def course_move(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        messages.error(request, _("Move a course up or down."))
        return _back_to_collection(request, collection)
    try:
        collection_course_move(collection=collection, item_id=item_pk, direction=direction)  # type: ignore[arg-type]
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return _back_to_collection(request, collection)
