"""Study groups: list, page, create and edit, join and leave, sessions, attendance and calendar files."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from champions import selectors, services
from champions.forms import (
    SearchForm,
    StudyGroupForm,
    StudySessionForm,
)
from champions.ics import sessions_calendar
from champions.models import StudyGroup, StudySession
from champions.views._common import form_errors, program_or_404, signed_in_employee
from learnhub.roles import (
    can_manage_study_group,
    study_group_organizations,
)
from programs.models import Collection, Employee, LearningProgram


def _visible_group(request: HttpRequest, pk: int) -> StudyGroup:
    program = program_or_404()
    try:
        return selectors.groups_visible(program=program, user=request.user).get(pk=pk)
    except StudyGroup.DoesNotExist:
        raise Http404("No such study group.") from None


def _managed_group(request: HttpRequest, pk: int) -> StudyGroup:
    group = get_object_or_404(StudyGroup.objects.select_related("organization", "program"), pk=pk)
    if not can_manage_study_group(request.user, group):
        raise PermissionDenied(_("Only the group's champions run it."))
    return group


@login_required
def groups(request: HttpRequest) -> HttpResponse:
    program = program_or_404()
    me = signed_in_employee(request)
    visible = list(selectors.groups_visible(program=program, user=me))
    mine = set(me.study_groups.filter(program=program).values_list("pk", flat=True))
    return render(
        request,
        "champions/groups.html",
        {
            "program": program,
            "groups": visible,
            "my_group_ids": mine,
            "can_create": study_group_organizations(request.user, program).exists(),
        },
    )


@login_required
def group_detail(request: HttpRequest, pk: int) -> HttpResponse:
    group = _visible_group(request, pk)
    members = list(group.members.order_by("full_name", "email"))
    is_member = any(m.pk == request.user.pk for m in members)
    return render(
        request,
        "champions/group_detail.html",
        {
            "group": group,
            "sessions": selectors.group_sessions(group=group),
            "members": members,
            "is_member": is_member,
            "is_full": group.capacity is not None and len(members) >= group.capacity,
            "can_manage": can_manage_study_group(request.user, group),
            "time_zone": timezone.get_current_timezone_name(),
        },
    )


def _group_form(request: HttpRequest, program: LearningProgram, data: Any = None, **kwargs: Any) -> StudyGroupForm:
    return StudyGroupForm(
        data,
        organizations=study_group_organizations(request.user, program),
        courses=selectors.program_courses(program=program),
        collections=Collection.objects.filter(program=program).order_by("name"),
        **kwargs,
    )


@login_required
def group_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create (no pk) or edit a study group: champions of the group's organization."""
    program = program_or_404()
    group = _managed_group(request, pk) if pk is not None else None
    if group is None and not study_group_organizations(request.user, program).exists():
        raise PermissionDenied(_("Learning Champions create study groups."))
    if group is not None:
        program = group.program
    initial = (
        {
            "organization": group.organization_id,
            "name": group.name,
            "description": group.description,
            "course": group.course_id,
            "collection": group.collection_id,
            "location": group.location,
            "video_url": group.video_url,
            "capacity": group.capacity,
            "is_open": group.is_open,
        }
        if group
        else {"is_open": True}
    )
    form = _group_form(request, program, request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = services.study_group_save(
                group=group,
                program=program,
                organization=data["organization"],
                champion=signed_in_employee(request),
                name=data["name"],
                description=data["description"],
                course=data["course"],
                collection=data["collection"],
                location=data["location"],
                video_url=data["video_url"],
                capacity=data["capacity"],
                is_open=data["is_open"],
            )
        except ValidationError as error:
            form_errors(form, error)
        else:
            messages.success(request, _("Study group “%(name)s” saved.") % {"name": saved.name})
            return redirect("champions:group", pk=saved.pk)
    return render(request, "champions/group_form.html", {"form": form, "group": group})


@login_required
@require_POST
def group_join(request: HttpRequest, pk: int) -> HttpResponse:
    group = _visible_group(request, pk)
    outcome = services.study_group_join(group=group, employee=signed_in_employee(request))
    if outcome is services.JoinOutcome.FULL:
        messages.error(request, _("“%(name)s” is full: no place left.") % {"name": group.name})
    elif outcome is services.JoinOutcome.ALREADY_MEMBER:
        messages.info(request, _("You are already in “%(name)s”.") % {"name": group.name})
    else:
        messages.success(request, _("You joined “%(name)s”.") % {"name": group.name})
    return redirect("champions:group", pk=group.pk)


@login_required
@require_POST
def group_leave(request: HttpRequest, pk: int) -> HttpResponse:
    group = _visible_group(request, pk)
    if services.study_group_leave(group=group, employee=signed_in_employee(request)):
        messages.success(request, _("You left “%(name)s”.") % {"name": group.name})
    else:
        messages.info(request, _("You were not in “%(name)s”.") % {"name": group.name})
    return redirect("champions:group", pk=group.pk)


def _calendar_response(*, sessions: Any, name: str, filename: str, request: HttpRequest) -> HttpResponse:
    body = sessions_calendar(
        sessions=sessions, domain=request.get_host().split(":")[0], stamp=timezone.now(), name=name
    )
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def group_calendar(request: HttpRequest, pk: int) -> HttpResponse:
    group = _visible_group(request, pk)
    sessions = group.sessions.select_related("group").order_by("starts_at")
    return _calendar_response(
        sessions=sessions, name=group.name, filename=f"study-group-{group.pk}.ics", request=request
    )


@login_required
def session_calendar(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(StudySession.objects.select_related("group"), pk=pk)
    group = _visible_group(request, session.group_id)
    return _calendar_response(
        sessions=[session], name=group.name, filename=f"study-session-{session.pk}.ics", request=request
    )


@login_required
def session_edit(request: HttpRequest, group_pk: int | None = None, pk: int | None = None) -> HttpResponse:
    """Add a session to a group (group_pk) or edit one (pk), with its notes."""
    session = get_object_or_404(StudySession.objects.select_related("group"), pk=pk) if pk is not None else None
    group = _managed_group(request, session.group_id if session else group_pk)  # type: ignore[arg-type]
    initial = (
        {
            "starts_at": timezone.localtime(session.starts_at),
            "ends_at": timezone.localtime(session.ends_at),
            "topic": session.topic,
            "location": session.location,
            "notes": session.notes,
        }
        if session
        else {}
    )
    form = StudySessionForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.study_session_save(
                session=session,
                group=group,
                starts_at=data["starts_at"],
                ends_at=data["ends_at"],
                topic=data["topic"],
                location=data["location"],
                notes=data["notes"],
            )
        except ValidationError as error:
            form_errors(form, error)
        else:
            messages.success(request, _("Session saved."))
            return redirect("champions:group", pk=group.pk)
    return render(
        request,
        "champions/session_form.html",
        {"form": form, "group": group, "session": session, "time_zone": timezone.get_current_timezone_name()},
    )


@login_required
def session_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    """Record who attended: the group's members plus people of the group's organization
    found by search. POST saves exactly the ticked set."""
    session = get_object_or_404(StudySession.objects.select_related("group"), pk=pk)
    group = _managed_group(request, session.group_id)
    search = SearchForm(request.GET or None)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    members = list(group.members.order_by("full_name", "email"))
    attending = set(session.attendances.values_list("employee_id", flat=True))
    extra = list(selectors.attendance_candidates(group=group, search=query))
    others = list(
        Employee.objects.filter(pk__in=attending).exclude(pk__in=[m.pk for m in members]).order_by("full_name")
    )
    if request.method == "POST":
        try:
            ids = {int(v) for v in request.POST.getlist("attendees")}
        except ValueError:
            ids = None
        people = None if ids is None else selectors.attendance_allowed(group=group, session=session, ids=ids)
        if people is None:
            messages.error(
                request, _("Some of the people ticked cannot be recorded for this group. Nothing was saved.")
            )
        else:
            added, removed = services.attendance_record(session=session, employees=people)
            messages.success(
                request,
                _("Attendance saved: %(attended)d attended (%(added)d added, %(removed)d removed).")
                % {"attended": len(people), "added": added, "removed": removed},
            )
            return redirect("champions:attendance", pk=session.pk)
    return render(
        request,
        "champions/attendance.html",
        {
            "group": group,
            "session": session,
            "people": members + others + extra,
            "attending": attending,
            "search": search,
            "query": query,
        },
    )
