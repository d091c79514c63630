"""Pages of employees, Learning Champions and executive sponsors. Each view checks the
role and the object (learnhub/roles.py), validates input, calls one domain function
(services.py / selectors.py / nudges.py) and responds."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from champions import selectors, services
from champions.forms import (
    CollectionReviewForm,
    LaunchVideoForm,
    LearnerStoryForm,
    PracticeNoteForm,
    ProgressUpdateForm,
    SearchForm,
    StudyGroupForm,
    StudySessionForm,
)
from champions.ics import sessions_calendar
from champions.models import ExecutiveSponsor, LearnerStory, StudyGroup, StudySession
from learnhub.roles import (
    can_see_people_of,
    championed_organizations,
    current_program,
    is_champion_of,
    is_ld_admin,
    is_sponsor_of,
    sponsored_organizations,
)
from programs.models import PATH_SEPARATOR, Collection, Employee, LearningProgram, Organization
from reports.messaging import NudgeOutcome, nudge_employees
from reports.progress import program_progress


def _program() -> LearningProgram:
    program = current_program()
    if program is None:
        raise Http404("No learning program has been set up yet.")
    return program


def _me(request: HttpRequest) -> Employee:
    user = request.user
    if not isinstance(user, Employee):  # login_required runs first: never reached
        raise PermissionDenied("Sign in first.")
    return user


def _form_errors(form: Any, error: ValidationError) -> None:
    """Put a service's errors next to the matching fields (others at the top)."""
    for name, messages_ in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages_)


# --- Collections ---------------------------------------------------------------------------


@login_required
def collections(request: HttpRequest) -> HttpResponse:
    """Browse and search my organization's collections (first) and company-wide ones."""
    program = _program()
    form = SearchForm(request.GET or None)
    search = form.cleaned_data["q"] if form.is_valid() else ""
    rows = selectors.collections_for_person(program=program, user=request.user, search=search)
    course_ids = {item.course_id for c in rows for item in c.items.all()}
    statuses = selectors.course_statuses(program=program, employee=_me(request), course_ids=course_ids)
    return render(
        request,
        "champions/collections.html",
        {
            "program": program,
            "form": form,
            "search": search,
            "collections": selectors.with_launch_videos(
                program=program, collections=selectors.with_my_status(rows, statuses)
            ),
        },
    )


# --- Study groups ----------------------------------------------------------------------------


def _visible_group(request: HttpRequest, pk: int) -> StudyGroup:
    program = _program()
    try:
        return selectors.groups_visible(program=program, user=request.user).get(pk=pk)
    except StudyGroup.DoesNotExist:
        raise Http404("No such study group.") from None


def can_manage_group(user: Any, group: StudyGroup) -> bool:
    """Champions of the group's organization (or above) and L&D admins; company-wide
    groups are run by L&D admins."""
    if is_ld_admin(user):
        return True
    return group.organization is not None and is_champion_of(user, group.program, group.organization)


def _managed_group(request: HttpRequest, pk: int) -> StudyGroup:
    group = get_object_or_404(StudyGroup.objects.select_related("organization", "program"), pk=pk)
    if not can_manage_group(request.user, group):
        raise PermissionDenied("Only the group's champions run it.")
    return group


def _group_organizations(request: HttpRequest, program: LearningProgram) -> QuerySet[Organization]:
    """Organizations a person may run groups for: those they champion and the teams below."""
    if is_ld_admin(request.user):
        return Organization.objects.order_by("path")
    below = Q(pk__in=[])
    for org in championed_organizations(request.user, program):
        below |= Q(path=org.path) | Q(path__startswith=org.path + PATH_SEPARATOR)
    return Organization.objects.filter(below).order_by("path")


@login_required
def groups(request: HttpRequest) -> HttpResponse:
    program = _program()
    me = _me(request)
    visible = list(selectors.groups_visible(program=program, user=me))
    mine = set(me.study_groups.filter(program=program).values_list("pk", flat=True))
    return render(
        request,
        "champions/groups.html",
        {
            "program": program,
            "groups": visible,
            "my_group_ids": mine,
            "can_create": _group_organizations(request, program).exists(),
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
            "can_manage": can_manage_group(request.user, group),
            "time_zone": timezone.get_current_timezone_name(),
        },
    )


def _group_form(request: HttpRequest, program: LearningProgram, data: Any = None, **kwargs: Any) -> StudyGroupForm:
    return StudyGroupForm(
        data,
        organizations=_group_organizations(request, program),
        courses=selectors.program_courses(program=program),
        collections=Collection.objects.filter(program=program).order_by("name"),
        **kwargs,
    )


@login_required
def group_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Create (no pk) or edit a study group: champions of the group's organization."""
    program = _program()
    group = _managed_group(request, pk) if pk is not None else None
    if group is None and not _group_organizations(request, program).exists():
        raise PermissionDenied("Learning Champions create study groups.")
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
                champion=_me(request),
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
            _form_errors(form, error)
        else:
            messages.success(request, f"Study group “{saved.name}” saved.")
            return redirect("champions:group", pk=saved.pk)
    return render(request, "champions/group_form.html", {"form": form, "group": group})


@login_required
@require_POST
def group_join(request: HttpRequest, pk: int) -> HttpResponse:
    group = _visible_group(request, pk)
    outcome = services.study_group_join(group=group, employee=_me(request))
    if outcome is services.JoinOutcome.FULL:
        messages.error(request, f"“{group.name}” is full: no place left.")
    elif outcome is services.JoinOutcome.ALREADY_MEMBER:
        messages.info(request, f"You are already in “{group.name}”.")
    else:
        messages.success(request, f"You joined “{group.name}”.")
    return redirect("champions:group", pk=group.pk)


@login_required
@require_POST
def group_leave(request: HttpRequest, pk: int) -> HttpResponse:
    group = _visible_group(request, pk)
    if services.study_group_leave(group=group, employee=_me(request)):
        messages.success(request, f"You left “{group.name}”.")
    else:
        messages.info(request, f"You were not in “{group.name}”.")
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
            _form_errors(form, error)
        else:
            messages.success(request, "Session saved.")
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
            messages.error(request, "Some of the people ticked cannot be recorded for this group. Nothing was saved.")
        else:
            added, removed = services.attendance_record(session=session, employees=people)
            messages.success(request, f"Attendance saved: {len(people)} attended ({added} added, {removed} removed).")
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


# --- Stories ----------------------------------------------------------------------------------


@login_required
def my_stories(request: HttpRequest) -> HttpResponse:
    program = _program()
    me = _me(request)
    form = LearnerStoryForm(
        request.POST if request.method == "POST" else None, courses=selectors.program_courses(program=program)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.learner_story_save(
                story=None,
                program=program,
                employee=me,
                title=data["title"],
                body=data["body"],
                course=data["course"],
                consent_to_share=data["consent_to_share"],
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, "Thank you: your story is saved.")
            return redirect("champions:my_stories")
    stories = LearnerStory.objects.filter(employee=me, program=program).select_related("course")
    return render(request, "champions/my_stories.html", {"form": form, "stories": stories, "program": program})


def _my_story(request: HttpRequest, pk: int) -> LearnerStory:
    """Only the author edits or withdraws a story; anyone else gets 404 (it may be private)."""
    return get_object_or_404(LearnerStory, pk=pk, employee_id=request.user.pk)


@login_required
def story_edit(request: HttpRequest, pk: int) -> HttpResponse:
    story = _my_story(request, pk)
    initial = {
        "title": story.title,
        "body": story.body,
        "course": story.course_id,
        "consent_to_share": story.consent_to_share,
    }
    form = LearnerStoryForm(
        request.POST if request.method == "POST" else None,
        courses=selectors.program_courses(program=story.program),
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.learner_story_save(
                story=story,
                program=story.program,
                employee=story.employee,
                title=data["title"],
                body=data["body"],
                course=data["course"],
                consent_to_share=data["consent_to_share"],
            )
        except ValidationError as error:
            _form_errors(form, error)
        else:
            messages.success(request, "Story updated.")
            return redirect("champions:my_stories")
    return render(request, "champions/story_form.html", {"form": form, "story": story})


@login_required
@require_POST
def story_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    services.learner_story_withdraw(story=_my_story(request, pk))
    messages.success(request, "Story withdrawn: only you can see it now.")
    return redirect("champions:my_stories")


@login_required
@require_POST
def story_reshare(request: HttpRequest, pk: int) -> HttpResponse:
    story = services.learner_story_reshare(story=_my_story(request, pk))
    if story.consent_to_share:
        messages.success(request, "Story shared again.")
    else:
        messages.info(request, "Story restored. Tick the consent box (Edit) to show it to others.")
    return redirect("champions:my_stories")


# --- Progress updates ------------------------------------------------------------------------


def _update_organizations(request: HttpRequest, program: LearningProgram) -> QuerySet[Organization]:
    if is_ld_admin(request.user):
        return Organization.objects.order_by("path")
    return (
        (championed_organizations(request.user, program) | sponsored_organizations(request.user, program))
        .distinct()
        .order_by("path")
    )


@login_required
def update_new(request: HttpRequest) -> HttpResponse:
    """Champions and sponsors post to their organization; sponsors (and L&D admins) may
    mark an update for the All Hands."""
    program = _program()
    organizations = _update_organizations(request, program)
    if not organizations.exists():
        raise PermissionDenied("Champions and sponsors post updates.")
    all_hands = is_ld_admin(request.user) or sponsored_organizations(request.user, program).exists()
    form = ProgressUpdateForm(
        request.POST if request.method == "POST" else None, organizations=organizations, all_hands=all_hands
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        for_all_hands = data.get("for_all_hands", False)
        if for_all_hands and not (
            is_ld_admin(request.user) or is_sponsor_of(request.user, program, data["organization"])
        ):
            form.add_error("for_all_hands", "Only the organization's sponsor marks an update for the All Hands.")
        else:
            try:
                services.progress_update_post(
                    program=program,
                    organization=data["organization"],
                    author=_me(request),
                    title=data["title"],
                    body=data["body"],
                    for_all_hands=for_all_hands,
                )
            except ValidationError as error:
                _form_errors(form, error)
            else:
                messages.success(request, f"Update posted to {data['organization'].name}.")
                return redirect("programs:home")
    return render(request, "champions/update_form.html", {"form": form, "program": program})


# --- Not yet completed -------------------------------------------------------------------------


@login_required
def not_yet_index(request: HttpRequest) -> HttpResponse:
    program = _program()
    if is_ld_admin(request.user):
        organizations = list(Organization.objects.filter(depth=1).order_by("path"))
    else:
        organizations = list(
            (championed_organizations(request.user, program) | sponsored_organizations(request.user, program))
            .distinct()
            .order_by("path")
        )
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
    program = _program()
    organization = get_object_or_404(Organization, pk=org_pk)
    if not can_see_people_of(request.user, program, organization):
        raise PermissionDenied("Only this organization's champions, sponsor and L&D admins see its people.")
    people = list(selectors.not_yet_completed(program=program, organization=organization))
    for person in people:
        person.last_seen = selectors.last_activity(person)  # type: ignore[attr-defined]
    if request.method == "POST":
        chosen = request.POST.getlist("selected") if "only" not in request.POST else [request.POST["only"]]
        by_id = {str(p.pk): p for p in people}
        targets = [by_id[v] for v in chosen if v in by_id]
        if not targets:
            messages.error(request, "Select at least one person who has not completed yet.")
        else:
            outcome = nudge_employees(program=program, employees=targets, sender=_me(request))
            for level, text in nudge_outcome_messages(outcome):
                messages.add_message(request, level, text)
            return redirect("champions:not_yet", org_pk=organization.pk)
    return render(
        request,
        "champions/not_yet.html",
        {"program": program, "organization": organization, "people": people},
    )


# --- Network --------------------------------------------------------------------------------------


@login_required
def network(request: HttpRequest) -> HttpResponse:
    """Every champion of the program with their organization's rate, trend and groups,
    and the shared board of practices. Champions, sponsors and L&D admins read it;
    champions and L&D admins post."""
    program = _program()
    if not selectors.in_network(user=request.user, program=program):
        raise PermissionDenied("The champions' network is for champions, sponsors and L&D admins.")
    can_post = is_ld_admin(request.user) or championed_organizations(request.user, program).exists()
    form = PracticeNoteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not can_post:
            raise PermissionDenied("Champions and L&D admins post practices.")
        if form.is_valid():
            try:
                services.practice_note_post(
                    program=program,
                    author=_me(request),
                    title=form.cleaned_data["title"],
                    body=form.cleaned_data["body"],
                )
            except ValidationError as error:
                _form_errors(form, error)
            else:
                messages.success(request, "Practice shared with the network.")
                return redirect("champions:network")
    progress = program_progress(program=program)
    return render(
        request,
        "champions/network.html",
        {
            "program": program,
            "progress": progress,
            "entries": selectors.champions_network(program=program, progress=progress),
            "notes": selectors.practice_notes(program=program),
            "form": form,
            "can_post": can_post,
        },
    )


# --- Sponsor ----------------------------------------------------------------------------------------


def org_dashboard_url(organization: Organization) -> str | None:
    """The organization's dashboard page, when the reports app has one."""
    for kwargs in ({"pk": organization.pk}, {"org_pk": organization.pk}, {"organization_id": organization.pk}):
        try:
            return reverse("reports:org", kwargs=kwargs)
        except NoReverseMatch:
            continue
    return None


def _sponsor_page(
    request: HttpRequest, *, bound_video_form: LaunchVideoForm | None = None, status: int = 200
) -> HttpResponse:
    program = _program()
    me = _me(request)
    appointments = list(
        ExecutiveSponsor.objects.filter(program=program, employee=me, is_confirmed=True)
        .select_related("organization")
        .order_by("organization__path")
    )
    if not appointments:
        raise PermissionDenied("This page is for executive sponsors.")
    progress = program_progress(program=program)
    for appointment in appointments:
        appointment.dashboard_url = org_dashboard_url(appointment.organization)  # type: ignore[attr-defined]
        appointment.org_progress = progress.for_organization(appointment.organization_id)  # type: ignore[attr-defined]
        appointment.collections = selectors.organization_collections(  # type: ignore[attr-defined]
            program=program, organization=appointment.organization
        )
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
            "met": len(completed) >= program.required_completions,
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
    appointment = get_object_or_404(ExecutiveSponsor, pk=pk, employee_id=request.user.pk, is_confirmed=True)
    form = LaunchVideoForm(request.POST, prefix=f"video-{appointment.pk}")
    if not form.is_valid():
        messages.error(request, "Launch video not saved: see the error next to the field.")
        return _sponsor_page(request, bound_video_form=form, status=400)
    services.sponsor_launch_video_set(appointment=appointment, url=form.cleaned_data["launch_video_url"])
    messages.success(request, "Launch video link saved.")
    return redirect("champions:sponsor")


@login_required
@require_POST
def collection_review(request: HttpRequest, pk: int) -> HttpResponse:
    """The sponsor of the collection's organization approves it or requests changes."""
    collection = get_object_or_404(Collection.objects.select_related("organization", "program"), pk=pk)
    if collection.organization is None or not is_sponsor_of(request.user, collection.program, collection.organization):
        raise PermissionDenied("Only the organization's sponsor reviews its collection.")
    form = CollectionReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose Approve or Request changes.")
        return redirect("champions:sponsor")
    try:
        services.collection_review(
            collection=collection,
            sponsor=_me(request),
            approve=form.cleaned_data["decision"] == "approve",
            note=form.cleaned_data["note"],
        )
    except ValidationError as error:
        messages.error(request, f"“{collection.name}” not changed: {' '.join(error.messages)}")
    else:
        messages.success(request, f"“{collection.name}”: {collection.get_approval_status_display()}.")
    return redirect("champions:sponsor")
