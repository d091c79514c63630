"""The L&D admin area (/manage/): programs with their audit trail, clone for next year,
collection curation and appointments. Every view is for L&D admins only
(learnhub.roles.ld_admin_required), loads its object or answers 404, and calls one
function of programs/program_services.py; every write is a POST."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from learnhub.roles import current_program, ld_admin_required
from programs import program_services as services
from programs.forms_admin import (
    AppointmentForm,
    CloneForm,
    CollectionForm,
    CourseSearchForm,
    PeopleSearchForm,
    ProgramForm,
    errors_to_form,
)
from programs.models import Collection, Course, Employee, LearningProgram
from programs.services import program_create


def _acting_admin(request: HttpRequest) -> Employee:
    """The signed-in L&D admin (ld_admin_required has let only them through)."""
    if not isinstance(request.user, Employee):
        raise PermissionDenied("This page is for L&D admins.")
    return request.user


def _program_form_data(form: ProgramForm) -> dict:
    return {
        "name": form.cleaned_data["name"],
        "starts_on": form.cleaned_data["starts_on"],
        "ends_on": form.cleaned_data["ends_on"],
        "target_rate": form.target_rate,
        "required_completions": form.cleaned_data["required_completions"],
    }


def _program_initial(program: LearningProgram | services.CloneDefaults) -> dict:
    return {
        "name": program.name,
        "starts_on": program.starts_on,
        "ends_on": program.ends_on,
        "target_percent": services.target_percent(program.target_rate),
        "required_completions": program.required_completions,
    }


# --- Home -------------------------------------------------------------------------------


@ld_admin_required
def manage_home(request: HttpRequest) -> HttpResponse:
    """Links to every L&D admin page, and the organizations of the current program that
    still lack a champion or a sponsor."""
    program = current_program()
    gaps = services.organizations_without_appointments(program=program) if program else []
    links = [
        ("Programs", reverse("programs:manage_programs"), "Create, edit, activate, close and clone programs."),
        ("Roster", reverse("programs:roster"), "Everyone on the roster."),
        ("Import the roster", reverse("programs:roster_import"), "Upload the HRIS roster file."),
        ("Import collections", reverse("programs:collections_import"), "Upload curated collections from a file."),
        ("Providers", reverse("programs:providers:connections"), "Provider connections, syncs, unmatched records."),
        ("Messages", reverse("reports:messages"), "Digests, nudges and announcements: what was sent and what failed."),
        ("API tokens", reverse("api:tokens"), "Tokens for HR systems and BI tools."),
        ("Django admin", reverse("admin:index"), "Every record, for power use."),
    ]
    if program is not None:
        links[1:1] = [
            (
                "Curate collections",
                reverse("programs:manage_collections", args=[program.pk]),
                f"Collections of {program.name}.",
            ),
            (
                "Appointments",
                reverse("programs:manage_appointments", args=[program.pk]),
                f"Sponsors and champions of {program.name}.",
            ),
        ]
    return render(
        request,
        "programs/manage/home.html",
        {"program": program, "gaps": gaps, "links": links},
    )


# --- Programs ---------------------------------------------------------------------------


@ld_admin_required
def program_list(request: HttpRequest) -> HttpResponse:
    programs = LearningProgram.objects.select_related("cloned_from").order_by("-starts_on", "name")
    rows = [(program, services.target_label(program.target_rate)) for program in programs]
    return render(request, "programs/manage/program_list.html", {"rows": rows})


@ld_admin_required
def program_new(request: HttpRequest) -> HttpResponse:
    """Create a program, as a draft (activate it from its page)."""
    form = ProgramForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            program = program_create(status="draft", **_program_form_data(form))
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, f"{program.name} created as a draft.")
            return redirect("programs:manage_program", pk=program.pk)
    return render(request, "programs/manage/program_form.html", {"form": form, "program": None})


@ld_admin_required
def program_detail(request: HttpRequest, pk: int) -> HttpResponse:
    program = get_object_or_404(LearningProgram.objects.select_related("cloned_from"), pk=pk)
    changes = [
        (change, services.AUDITED_FIELDS.get(change.field, change.field))
        for change in program.changes.select_related("changed_by")
    ]
    clone = LearningProgram.objects.filter(cloned_from=program).first()
    return render(
        request,
        "programs/manage/program_detail.html",
        {
            "program": program,
            "target": services.target_label(program.target_rate),
            "changes": changes,
            "clone": clone,
            "collections": services.collections_of(program=program),
            "appointments": services.appointments_of(program=program),
        },
    )


@ld_admin_required
def program_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a program; changes to the target, window or completions go to the audit trail."""
    program = get_object_or_404(LearningProgram, pk=pk)
    form = ProgramForm(request.POST or None, initial=_program_initial(program))
    if request.method == "POST" and form.is_valid():
        try:
            changes = services.program_update(
                program=program, changed_by=_acting_admin(request), **_program_form_data(form)
            )
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(
                request, f"{program.name} saved ({len(changes)} audited change{'s' if len(changes) != 1 else ''})."
            )
            return redirect("programs:manage_program", pk=program.pk)
    return render(request, "programs/manage/program_form.html", {"form": form, "program": program})


@ld_admin_required
@require_POST
def program_activate(request: HttpRequest, pk: int) -> HttpResponse:
    program = get_object_or_404(LearningProgram, pk=pk)
    try:
        services.program_activate(program=program, changed_by=_acting_admin(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{program.name} is active.")
    return redirect("programs:manage_program", pk=program.pk)


@ld_admin_required
@require_POST
def program_close(request: HttpRequest, pk: int) -> HttpResponse:
    program = get_object_or_404(LearningProgram, pk=pk)
    try:
        services.program_close(program=program, changed_by=_acting_admin(request))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{program.name} is closed.")
    return redirect("programs:manage_program", pk=program.pk)


@ld_admin_required
def program_clone(request: HttpRequest, pk: int) -> HttpResponse:
    """Next year's program from this one: the form proposes the defaults; POST clones."""
    program = get_object_or_404(LearningProgram, pk=pk)
    existing = LearningProgram.objects.filter(cloned_from=program).first()
    defaults = services.program_clone_defaults(program=program)
    form = CloneForm(request.POST or None, initial=_program_initial(defaults))
    if request.method == "POST" and form.is_valid():
        try:
            clone = services.program_clone(
                program=program, cloned_by=_acting_admin(request), **_program_form_data(form)
            )
        except services.ProgramAlreadyClonedError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("programs:manage_program", pk=error.clone.pk)
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(
                request,
                f"{clone.name} created as a draft from {program.name}: review its collections and confirm "
                "the proposed sponsors and champions.",
            )
            return redirect("programs:manage_program", pk=clone.pk)
    return render(
        request, "programs/manage/program_clone.html", {"form": form, "program": program, "existing": existing}
    )


# --- Collections ------------------------------------------------------------------------


@ld_admin_required
def collection_list(request: HttpRequest, pk: int) -> HttpResponse:
    program = get_object_or_404(LearningProgram, pk=pk)
    return render(
        request,
        "programs/manage/collection_list.html",
        {"program": program, "collections": services.collections_of(program=program)},
    )


@ld_admin_required
def collection_new(request: HttpRequest, pk: int) -> HttpResponse:
    program = get_object_or_404(LearningProgram, pk=pk)
    form = CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            collection = services.collection_create(program=program, **form.cleaned_data)
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, f"Collection {collection.name} created. Add its courses below.")
            return redirect("programs:manage_collection", pk=collection.pk)
    return render(
        request, "programs/manage/collection_form.html", {"form": form, "program": program, "collection": None}
    )


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
            services.collection_update(collection=collection, **form.cleaned_data)
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, f"Collection {collection.name} saved.")
            return redirect("programs:manage_collection", pk=collection.pk)
    return render(
        request,
        "programs/manage/collection_form.html",
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
    results = [(course, course.pk in in_collection) for course in services.courses_search(query=query)]
    return render(
        request,
        "programs/manage/collection_detail.html",
        {
            "collection": collection,
            "program": collection.program,
            "items": items,
            "search": search,
            "query": query,
            "results": results,
        },
    )


def _back_to_collection(request: HttpRequest, collection: Collection) -> HttpResponse:
    url = reverse("programs:manage_collection", args=[collection.pk])
    query = request.POST.get("q", "").strip()
    if query:
        url = f"{url}?{urlencode({'q': query})}"
    return redirect(url)


@ld_admin_required
@require_POST
def collection_course_add(request: HttpRequest, pk: int) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk)
    course_id = request.POST.get("course", "")
    course = Course.objects.filter(pk=int(course_id)).first() if course_id.isdigit() else None
    if course is None:
        messages.error(request, "Choose a course from the catalog search.")
        return _back_to_collection(request, collection)
    try:
        services.collection_course_add(collection=collection, course=course)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Added {course}.")
    return _back_to_collection(request, collection)


@ld_admin_required
@require_POST
def collection_course_remove(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk)
    try:
        course = services.collection_course_remove(collection=collection, item_id=item_pk)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Removed {course}.")
    return _back_to_collection(request, collection)


@ld_admin_required
@require_POST
def collection_course_move(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk)
    direction = request.POST.get("direction")
    if direction not in ("up", "down"):
        messages.error(request, "Move a course up or down.")
        return _back_to_collection(request, collection)
    try:
        services.collection_course_move(collection=collection, item_id=item_pk, direction=direction)  # type: ignore[arg-type]
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return _back_to_collection(request, collection)


# --- Appointments -----------------------------------------------------------------------


@ld_admin_required
def appointments_current(request: HttpRequest) -> HttpResponse:
    program = current_program()
    if program is None:
        raise Http404("No program yet.")
    return redirect("programs:manage_appointments", pk=program.pk)


@ld_admin_required
def appointments(request: HttpRequest, pk: int) -> HttpResponse:
    """Sponsors and champions of a program (proposals to confirm first), organizations
    still missing one, a form to appoint someone and a people search for their e-mail."""
    program = get_object_or_404(LearningProgram, pk=pk)
    form = AppointmentForm(request.POST or None, initial={"email": request.GET.get("email", "")})
    if request.method == "POST" and form.is_valid():
        try:
            appointment = services.appointment_create(program=program, **form.cleaned_data)
        except ValidationError as error:
            errors_to_form(form, error)
        else:
            messages.success(request, f"Appointed {appointment}.")
            return redirect("programs:manage_appointments", pk=program.pk)
    people_search = PeopleSearchForm(request.GET or None)
    query = people_search.cleaned_data["q"] if people_search.is_valid() else ""
    found = services.appointments_of(program=program)
    return render(
        request,
        "programs/manage/appointments.html",
        {
            "program": program,
            "form": form,
            "people_search": people_search,
            "query": query,
            "people": services.employees_search(query=query),
            "sections": [
                ("sponsor", "Executive sponsors", found["sponsor"]),
                ("champion", "Learning champions", found["champion"]),
            ],
            "gaps": services.organizations_without_appointments(program=program),
        },
    )


def _appointment_change(
    request: HttpRequest, pk: int, role: str, appointment_pk: int, *, confirm: bool
) -> HttpResponse:
    program = get_object_or_404(LearningProgram, pk=pk)
    if role not in services.APPOINTMENT_MODELS:
        raise Http404("No such role.")
    if confirm:
        done = services.appointment_confirm(program=program, role=role, appointment_id=appointment_pk)  # type: ignore[arg-type]
        text = "Appointment confirmed." if done else "Nothing to confirm: it was already confirmed or removed."
    else:
        done = services.appointment_remove(program=program, role=role, appointment_id=appointment_pk)  # type: ignore[arg-type]
        text = "Appointment removed." if done else "Nothing to remove: it was already removed."
    (messages.success if done else messages.warning)(request, text)
    return redirect("programs:manage_appointments", pk=program.pk)


@ld_admin_required
@require_POST
def appointment_confirm(request: HttpRequest, pk: int, role: str, appointment_pk: int) -> HttpResponse:
    return _appointment_change(request, pk, role, appointment_pk, confirm=True)


@ld_admin_required
@require_POST
def appointment_remove(request: HttpRequest, pk: int, role: str, appointment_pk: int) -> HttpResponse:
    return _appointment_change(request, pk, role, appointment_pk, confirm=False)
