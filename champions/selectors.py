"""Reads for the people side of a program: an employee's own status, their home page,
study groups they can see, the "not yet completed" list, the champions' network.

Every number comes from reports/progress.py (the one metric definition); nothing here
re-implements a rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django.db.models import BooleanField, Case, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy

from champions.models import (
    APPOINTMENT_MODELS,
    ExecutiveSponsor,
    LearnerStory,
    LearningChampion,
    PracticeNote,
    ProgressUpdate,
    StudyGroup,
    StudyGroupMembership,
    StudySession,
)
from learnhub.roles import story_moderation_scope, study_groups_visible_q
from programs.models import (
    Collection,
    CollectionItem,
    Course,
    Employee,
    Enrollment,
    LearningProgram,
    Organization,
    departed_q,
    subtree_q,
)
from programs.selectors import collection_review_history, collections_visible
from reports.kept import progress_counts_read
from reports.models import ProgressSnapshot
from reports.progress import (
    OrgProgress,
    ProgramProgress,
    ProgressCounts,
    company_today,
    counted_completions,
    employee_has_met,
    progress_day,
)

if TYPE_CHECKING:
    from learnhub.roles import AnyUser

HOME_UPDATES = 5
HOME_STORIES = 3
HOME_GROUPS = 5
TREND_DAYS = 28


class CourseStatus:
    NOT_STARTED = "not started"
    IN_PROGRESS = "in progress"
    COMPLETED = "completed"


# --- My status ---------------------------------------------------------------------------


def employee_counted_course_ids(*, program: LearningProgram, employee: Employee, day: dt.date) -> set[int]:
    """The distinct courses of one employee whose completion counts for `program` as of
    `day` (the rule is `reports.progress.counted_completions`: completed, in the window,
    course-level; a course completed twice or reported twice counts once)."""
    return set(
        counted_completions(program=program, day=day)
        .filter(employee=employee)
        .order_by()
        .values_list("course_id", flat=True)
        .distinct()
    )


@dataclass(frozen=True)
class MyStatus:
    """One employee's own standing in a program as of `day`: `met` is the engine's rule
    (`reports.progress.employee_has_met`); `counted` the courses that count so far."""

    day: dt.date
    counted: int
    required: int
    met: bool
    deadline: dt.date
    days_left: int

    @property
    def shown_counted(self) -> int:
        return min(self.counted, self.required)


def employee_status(*, program: LearningProgram, employee: Employee, today: dt.date | None = None) -> MyStatus:
    """Met by the engine's rule (`employee_has_met`, the same as the org rate). Days left:
    from today (company time zone) to the last day of the program, inclusive of neither
    end, never negative."""
    real_today = today or company_today()
    day = progress_day(program=program, as_of=real_today)
    counted = len(employee_counted_course_ids(program=program, employee=employee, day=day))
    return MyStatus(
        day=day,
        counted=counted,
        required=program.required_completions,
        met=employee_has_met(program=program, employee=employee, day=day),
        deadline=program.ends_on,
        days_left=max((program.ends_on - real_today).days, 0),
    )


def course_statuses(*, program: LearningProgram, employee: Employee, course_ids: set[int]) -> dict[int, str]:
    """My status on each course: completed (a counted completion in the program window),
    in progress (enrolled with the provider, not counted yet), or not started."""
    day = progress_day(program=program)
    completed = employee_counted_course_ids(program=program, employee=employee, day=day) & course_ids
    enrolled = set(
        Enrollment.objects.filter(employee=employee, course_id__in=course_ids, is_removed=False).values_list(
            "course_id", flat=True
        )
    )
    return {
        course_id: CourseStatus.COMPLETED
        if course_id in completed
        else CourseStatus.IN_PROGRESS
        if course_id in enrolled
        else CourseStatus.NOT_STARTED
        for course_id in course_ids
    }


# --- My organization's rank ----------------------------------------------------------------


@dataclass(frozen=True)
class OrgStanding:
    """An organization's progress and its rank among the top-level organizations (the
    organizations right below the company). Rank 1 is the highest rate; equal rates share
    a rank; an organization without a rate has no rank."""

    progress: OrgProgress
    rank: int | None
    of: int


def top_level_organization(org: Organization) -> Organization | None:
    """The top-level organization (depth 1) `org` belongs to; None for the company itself."""
    if org.depth == 0:
        return None
    return Organization.objects.get(path=org.ancestor_paths()[1])


def org_standing(*, progress: ProgramProgress | ProgressCounts, organization: Organization) -> OrgStanding | None:
    mine = progress.for_organization(organization.pk)
    if mine is None:
        return None
    peers = [o for o in progress.organizations if o.depth == 1]
    rank = None if mine.rate is None else 1 + sum(1 for o in peers if o.rate is not None and o.rate > mine.rate)
    return OrgStanding(progress=mine, rank=rank, of=len(peers))


# --- Collections -----------------------------------------------------------------------------


def collections_for_person(*, program: LearningProgram, user: AnyUser, search: str = "") -> list[Collection]:
    """The collections a person browses (`programs.selectors.collections_visible`), their
    own organization's first (deepest first: team, then org), then company-wide ones.
    `search` keeps the collections whose name, needs, or a course title or partner
    contains it (ignoring case)."""
    collections = collections_visible(program=program, user=user).select_related("organization")
    search = search.strip()
    if search:
        matching = Q(name__icontains=search) | Q(needs__icontains=search)
        matching |= Q(items__course__title__icontains=search) | Q(items__course__partner__icontains=search)
        collections = collections.filter(pk__in=Collection.objects.filter(matching).values("pk"))
    return sorted(
        collections,
        key=lambda c: (c.organization is None, -(c.organization.depth if c.organization else 0), c.name),
    )


def with_my_status(collections: list[Collection], statuses: dict[int, str]) -> list[Collection]:
    """Attach my status (see `course_statuses`) to each prefetched item as `my_status`."""
    for collection in collections:
        for item in collection.items.all():
            item.my_status = statuses.get(item.course_id, CourseStatus.NOT_STARTED)  # type: ignore[attr-defined]
    return collections


def with_launch_videos(*, program: LearningProgram, collections: list[Collection]) -> list[Collection]:
    """Attach `video`: the collection's own launch video, else the launch video of a
    sponsor of the collection's organization in the program."""
    videos: dict[int | None, str] = dict(
        ExecutiveSponsor.objects.for_program(program)
        .held(timezone.localdate())
        .exclude(launch_video_url="")
        .order_by("appointed_at")
        .values_list("organization_id", "launch_video_url")
    )
    for collection in collections:
        collection.video = collection.launch_video_url or videos.get(collection.organization_id, "")  # type: ignore[attr-defined]
    return collections


def program_courses(*, program: LearningProgram) -> QuerySet[Course]:
    """Courses in any collection of the program."""
    return Course.objects.filter(collection_items__collection__program=program).distinct().order_by("title")


# --- Study groups ----------------------------------------------------------------------------


def groups_visible(*, program: LearningProgram, user: AnyUser) -> QuerySet[StudyGroup]:
    """The study groups of `program` a person sees (`learnhub.roles.study_groups_visible_q`),
    with their member counts, company-wide ones first."""
    groups = (
        StudyGroup.objects.filter(program=program)
        .select_related("organization", "course", "collection", "champion")
        .annotate(member_count=Count("memberships", distinct=True))
        .order_by(F("organization__path").asc(nulls_first=True), "name")
    )
    visible = study_groups_visible_q(user, program)
    return groups if visible is None else groups.filter(visible)


def group_sessions(*, group: StudyGroup) -> QuerySet[StudySession]:
    return group.sessions.annotate(attendee_count=Count("attendances")).order_by("starts_at")


def member_ids(*, group: StudyGroup) -> set[int]:
    return set(StudyGroupMembership.objects.filter(group=group).values_list("employee_id", flat=True))


def groups_with_next_session(*, groups: QuerySet[StudyGroup], now: dt.datetime) -> list[StudyGroup]:
    """The groups with a session still to come, soonest first, each with `next_session`."""
    upcoming = StudySession.objects.filter(starts_at__gte=now).order_by("starts_at")
    rows = list(
        groups.filter(Exists(upcoming.filter(group=OuterRef("pk")))).prefetch_related(
            Prefetch("sessions", queryset=upcoming, to_attr="upcoming_sessions")
        )
    )
    for group in rows:
        group.next_session = group.upcoming_sessions[0]  # type: ignore[attr-defined]
    return sorted(rows, key=lambda g: g.next_session.starts_at)  # type: ignore[attr-defined]


def attendance_candidates(*, group: StudyGroup, search: str) -> QuerySet[Employee]:
    """People of the group's organization (and below) matching `search` by name or
    e-mail, who are not members yet: added to the attendance list on demand."""
    if group.organization is None or not search.strip():
        return Employee.objects.none()
    return (
        Employee.objects.filter(organization__in=Organization.objects.subtree(group.organization), is_active=True)
        .filter(Q(full_name__icontains=search.strip()) | Q(email__icontains=search.strip()))
        .exclude(pk__in=member_ids(group=group))
        .order_by("full_name", "email")[:20]
    )


def attendance_allowed(*, group: StudyGroup, session: StudySession, ids: set[int]) -> list[Employee] | None:
    """The people with these ids, when every one of them may be recorded at the session:
    a member of the group, already recorded, or (for an organization's group) someone of
    that organization or below. None when any id is not allowed (nothing is saved)."""
    allowed = Q(pk__in=member_ids(group=group)) | Q(attendances__session=session)
    if group.organization is not None:
        allowed |= Q(organization__in=Organization.objects.subtree(group.organization))
    people = list(Employee.objects.filter(allowed, pk__in=ids).distinct())
    return people if len(people) == len(ids) else None


# --- Updates and stories ---------------------------------------------------------------------


def updates_for_person(*, program: LearningProgram, user: AnyUser, limit: int = HOME_UPDATES) -> list[ProgressUpdate]:
    """The latest updates of my organization (and those above it) and company-wide ones."""
    visible = Q(organization__isnull=True)
    own = getattr(user, "organization", None)
    if own is not None:
        visible |= Q(organization__path__in=own.ancestor_paths())
    return list(
        ProgressUpdate.objects.filter(visible, program=program)
        .select_related("organization", "author")
        .order_by("-created_at")[:limit]
    )


def updates_feed(*, program: LearningProgram, organization: Organization | None = None) -> QuerySet[ProgressUpdate]:
    """The updates of `program`, newest first: every update (company-wide feed) or those of
    `organization` and the teams below it. Updates are read by everyone signed in."""
    updates = ProgressUpdate.objects.filter(program=program)
    if organization is not None:
        updates = updates.filter(subtree_q(organization, prefix="organization__"))
    return updates.select_related("organization", "author").order_by("-created_at", "-id")


def stories_to_moderate(*, program: LearningProgram, user: AnyUser, moderation: str) -> QuerySet[LearnerStory]:
    """The consented, not withdrawn stories of `program` in `moderation` state that `user`
    moderates (`story_moderation_scope`; never their own), oldest first so none waits long."""
    scope = story_moderation_scope(user, program)
    stories = LearnerStory.objects.filter(
        program=program, consent_to_share=True, withdrawn_at__isnull=True, moderation=moderation
    ).exclude(employee_id=user.pk)
    if scope is not None:
        stories = stories.filter(scope)
    return stories.select_related("employee__organization", "course", "moderated_by").order_by("created_at", "id")


def stories_shared(*, program: LearningProgram, limit: int = HOME_STORIES) -> list[LearnerStory]:
    """Stories shown beyond their author (`LearnerStoryQuerySet.shown`)."""
    return list(
        LearnerStory.objects.shown()
        .filter(program=program)
        .select_related("employee", "course")
        .order_by("-created_at")[:limit]
    )


# --- Network ------------------------------------------------------------------------------------


@dataclass
class NetworkEntry:
    organization: Organization
    champions: list[Employee] = field(default_factory=list)
    progress: OrgProgress | None = None
    trend: float | None = None
    groups: list[StudyGroup] = field(default_factory=list)


def org_trends(*, program: LearningProgram, organization_ids: list[int], day: dt.date) -> dict[int, float | None]:
    """Change of each organization's rate over the last 28 days of snapshots: the latest
    snapshot's rate minus the oldest one in the window; None with fewer than two rates.
    One query for all the organizations."""
    rates: dict[int, list[float]] = {pk: [] for pk in organization_ids}
    rows = (
        ProgressSnapshot.objects.filter(
            program=program,
            organization_id__in=organization_ids,
            day__lte=day,
            day__gt=day - dt.timedelta(days=TREND_DAYS),
            rate__isnull=False,
        )
        .order_by("organization_id", "day")
        .values_list("organization_id", "rate")
    )
    for organization_id, rate in rows:
        if rate is not None:  # filtered in SQL; the column is nullable
            rates[organization_id].append(rate)
    return {pk: (r[-1] - r[0] if len(r) >= 2 else None) for pk, r in rates.items()}


def champions_network(*, program: LearningProgram, progress: ProgramProgress, user: AnyUser) -> list[NetworkEntry]:
    """Every organization with a confirmed champion in the program: its champions, rate
    (`program_progress`), 28-day trend (snapshots) and the study groups `user` may open
    (`study_groups_visible_q`: a closed group of another organization is not listed)."""
    entries: dict[int, NetworkEntry] = {}
    appointments = (
        LearningChampion.objects.for_program(program)
        .held(timezone.localdate())
        .select_related("organization", "employee")
        .order_by("organization__path", "employee__full_name")
    )
    for appointment in appointments:
        entry = entries.setdefault(appointment.organization_id, NetworkEntry(organization=appointment.organization))
        entry.champions.append(appointment.employee)
    groups = StudyGroup.objects.filter(program=program, organization_id__in=entries).order_by("name")
    visible = study_groups_visible_q(user, program)
    for group in groups if visible is None else groups.filter(visible):
        if group.organization_id is not None:
            entries[group.organization_id].groups.append(group)
    trends = org_trends(program=program, organization_ids=list(entries), day=progress.as_of)
    for entry in entries.values():
        entry.progress = progress.for_organization(entry.organization.pk)
        entry.trend = trends[entry.organization.pk]
    return list(entries.values())


def practice_notes(*, program: LearningProgram) -> QuerySet[PracticeNote]:
    return PracticeNote.objects.filter(program=program).select_related("author").order_by("-created_at")


# --- Sponsor -------------------------------------------------------------------------------------


def sponsor_completed_courses(*, program: LearningProgram, employee: Employee) -> list[Course]:
    """The distinct courses the sponsor completed in the program window (counted rule)."""
    day = progress_day(program=program)
    ids = employee_counted_course_ids(program=program, employee=employee, day=day)
    return list(Course.objects.filter(pk__in=ids).order_by("title"))


def organization_collections(*, program: LearningProgram, organization: Organization) -> QuerySet[Collection]:
    """The collections of the organization and of the teams below it."""
    return (
        Collection.objects.filter(program=program, organization__in=Organization.objects.subtree(organization))
        .select_related("organization", "approved_by")
        .prefetch_related(
            Prefetch("items", queryset=_items()), Prefetch("review_steps", queryset=collection_review_history())
        )
        .order_by("organization__path", "name")
    )


def _items() -> QuerySet[CollectionItem]:
    return CollectionItem.objects.select_related("course").order_by("position", "id")


def now() -> dt.datetime:
    return timezone.now()


# --- Employee home -----------------------------------------------------------------------------


@dataclass(frozen=True)
class HomePage:
    """Everything the employee home shows, in one read."""

    status: MyStatus
    standing: OrgStanding | None
    company_rate: float | None
    target: float
    collections: list[Collection]
    groups: list[StudyGroup]
    updates: list[ProgressUpdate]
    stories: list[LearnerStory]


def home_page(*, program: LearningProgram, employee: Employee) -> HomePage:
    """My status, my top-level organization's bar and rank (the counts of
    `program_progress`, kept for today: `progress_counts_read`), my collections (mine
    first, then company-wide) with my status on each course, upcoming study groups I can
    join (not yet a member, not full), the latest updates and a few shareable stories."""
    progress = progress_counts_read(program=program)
    top = top_level_organization(employee.organization) if employee.organization else None
    collections = collections_for_person(program=program, user=employee)
    course_ids = {item.course_id for c in collections for item in c.items.all()}
    statuses = course_statuses(program=program, employee=employee, course_ids=course_ids)
    mine = StudyGroupMembership.objects.filter(employee=employee).values("group_id")
    joinable = groups_visible(program=program, user=employee).exclude(pk__in=mine)
    upcoming = [
        g
        for g in groups_with_next_session(groups=joinable, now=now())
        if g.capacity is None or g.member_count < g.capacity  # type: ignore[attr-defined]
    ][:HOME_GROUPS]
    return HomePage(
        status=employee_status(program=program, employee=employee),
        standing=org_standing(progress=progress, organization=top) if top else None,
        company_rate=progress.company.rate,
        target=float(program.target_rate),
        collections=with_launch_videos(program=program, collections=with_my_status(collections, statuses)),
        groups=upcoming,
        updates=updates_for_person(program=program, user=employee),
        stories=stories_shared(program=program),
    )


# --- Appointments (the L&D admin pages) ----------------------------------------------------

# How an L&D admin reads a vacant appointment, by role.
VACANCY_LABELS = {
    "sponsor": gettext_lazy("Executive sponsor %(name)s left on %(day)s"),
    "champion": gettext_lazy("Learning champion %(name)s left on %(day)s"),
}
APPOINTMENT_ORG_DEPTH = 1  # company (0) > organization (1) > team (2): appointments are per organization


@dataclass(frozen=True)
class OrgGaps:
    organization: Organization
    has_sponsor: bool
    has_champion: bool
    vacated: tuple[str, ...] = ()  # "Executive sponsor Sam Sponsor left on 2026-11-30", ...


def organizations_without_appointments(*, program: LearningProgram) -> list[OrgGaps]:
    """Organizations (the level below the company) with no sponsor or no champion holding
    the appointment today in `program`. An appointment for the organization or for one
    above it (the company) covers it; proposals not yet confirmed do not, and neither
    does the appointment of someone who left (it is vacant)."""
    today = timezone.localdate()
    orgs = list(Organization.objects.filter(depth=APPOINTMENT_ORG_DEPTH).order_by("path"))
    sponsor_paths = set(
        ExecutiveSponsor.objects.for_program(program).held(today).values_list("organization__path", flat=True)
    )
    champion_paths = set(
        LearningChampion.objects.for_program(program).held(today).values_list("organization__path", flat=True)
    )

    def covered(org: Organization, paths: set[str]) -> bool:
        return not paths.isdisjoint(org.ancestor_paths())

    vacated: dict[int, list[str]] = {}
    for role, model in APPOINTMENT_MODELS.items():
        for appointment in model.objects.for_program(program).vacated(today).select_related("employee"):
            names = {"name": appointment.employee, "day": f"{appointment.employee.departed_on:%Y-%m-%d}"}
            vacated.setdefault(appointment.organization_id, []).append(str(VACANCY_LABELS[role]) % names)
    gaps = [
        OrgGaps(
            org,
            has_sponsor=covered(org, sponsor_paths),
            has_champion=covered(org, champion_paths),
            vacated=tuple(vacated.get(org.pk, ())),
        )
        for org in orgs
    ]
    return [gap for gap in gaps if not (gap.has_sponsor and gap.has_champion)]


def appointments_of(*, program: LearningProgram) -> dict[str, QuerySet]:
    """The sponsors and champions of `program`, proposals first, then vacant ones (the
    employee left: `vacant` is True), then by organization."""
    left = departed_q(timezone.localdate(), prefix="employee__")
    return {
        role: model.objects.for_program(program)
        .select_related("organization", "employee")
        .annotate(vacant=Case(When(left, then=Value(True)), default=Value(False), output_field=BooleanField()))
        .order_by("is_confirmed", "-vacant", "organization__path", "employee__email")
        for role, model in APPOINTMENT_MODELS.items()
    }
