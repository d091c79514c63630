"""The progress engine: the one definition of LearnHub's numbers (README, "The numbers,
exactly"). Pages, the API, tasks, snapshots and the `progress` command all call
`program_progress`; nothing else computes a rate.

The database does the counting: a fixed number of queries (pinned by the tests) whatever
the number of employees, organizations or enrollments. Only the organization tree, which
is small, is rolled up in Python.

Decisions those rules leave open:
- Employees with no organization are on the roster, so they are in the company's
  numbers, and in no organization's.
- A completion counts whatever the enrollment's `is_removed` flag (completed, then
  removed from the provider program, is still completed); `Employee.is_active` (sign-in)
  plays no part: the roster dates decide.
- Pace counts whole days from the start: 0 on the first day, the target on the last.
- A sponsor appointed for two organizations is listed once per appointment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from champions.models import ExecutiveSponsor
from programs.models import (
    CollectionItem,
    Employee,
    Enrollment,
    LearningProgram,
    Organization,
    ProgramExclusion,
)
from reports.models import ProgressSnapshot

PROJECTION_WINDOW_DAYS = 28


@dataclass(frozen=True)
class Counts:
    """Raw counts of one organization's subtree (or the company)."""

    eligible: int = 0
    met: int = 0
    completions: int = 0
    curated_completions: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            eligible=self.eligible + other.eligible,
            met=self.met + other.met,
            completions=self.completions + other.completions,
            curated_completions=self.curated_completions + other.curated_completions,
        )

    @property
    def rate(self) -> float | None:
        """Met / eligible; None (shown as a dash) when no one is eligible."""
        return self.met / self.eligible if self.eligible else None

    @property
    def curated_share(self) -> float | None:
        """Curated completions / completions; None when there are no completions."""
        return self.curated_completions / self.completions if self.completions else None


@dataclass(frozen=True)
class OrgProgress:
    """Progress of an organization: its own people and everyone below it."""

    organization_id: int
    path: str
    name: str
    depth: int
    parent_id: int | None
    eligible: int
    met: int
    rate: float | None
    completions: int
    curated_completions: int
    curated_share: float | None


@dataclass(frozen=True)
class CompanyProgress:
    """The whole company: every organization, plus roster employees with no organization."""

    eligible: int
    met: int
    rate: float | None
    completions: int
    curated_completions: int
    curated_share: float | None
    pace: float
    on_track: bool
    projection: float | None


@dataclass(frozen=True)
class ExecutiveCommitment:
    """A confirmed sponsor of the program and whether they met the goal themselves."""

    employee_id: int
    email: str
    full_name: str
    organization_id: int
    organization_path: str
    completed_courses: int
    met: bool


@dataclass(frozen=True)
class ProgramProgress:
    program: LearningProgram
    as_of: dt.date
    target: float
    required: int
    company: CompanyProgress
    organizations: list[OrgProgress]
    executives: list[ExecutiveCommitment]

    @property
    def goal_reached(self) -> bool:
        return self.company.rate is not None and self.company.rate >= self.target

    def for_organization(self, organization_id: int) -> OrgProgress | None:
        return next((o for o in self.organizations if o.organization_id == organization_id), None)


# --- The rules, one function each -------------------------------------------------------


def company_time_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def company_today() -> dt.date:
    """Today's date in the company time zone (settings.TIME_ZONE)."""
    return timezone.now().astimezone(company_time_zone()).date()


def progress_day(*, program: LearningProgram, as_of: dt.date | None = None) -> dt.date:
    """The day the numbers are computed for: D = min(as_of or today in the company time
    zone, program end)."""
    return min(as_of or company_today(), program.ends_on)


def completion_window(*, program: LearningProgram, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Completions count when completed_at lies in [start 00:00, D+1 00:00) in the
    company time zone, i.e. the completion's local date is in [P.start, D]. Aware
    datetimes so the comparison is on the indexed column and every database agrees."""
    tz = company_time_zone()
    start = dt.datetime.combine(program.starts_on, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, max(start, end)


def eligible_employees(*, program: LearningProgram, day: dt.date) -> QuerySet[Employee]:
    """Employees in the denominator on `day`: hired on or before the day (or no hire
    date), not departed on or before the day, not excluded from the program. Restrict to
    an organization's subtree with `organization__in=Organization.objects.subtree(org)`."""
    excluded = ProgramExclusion.objects.filter(program=program, employee=OuterRef("pk"))
    return Employee.objects.on_roster(day).filter(~Exists(excluded))


def counted_completion_q(*, program: LearningProgram, day: dt.date, prefix: str = "") -> Q:
    """The enrollments whose completion counts for the program as of `day`: completed,
    with a completion time in the window (see `completion_window`). Only course-level
    content counts: Enrollment rows are course-level by construction (the sync pipeline
    skips specializations, videos and paths and counts them in SyncRun.skipped); should
    Course ever gain a content type, this is the one place to filter on it.
    `prefix` is the path from the queried model to Enrollment (e.g. "enrollments__").
    Several rows may name the same employee x course (completed twice, two connections):
    count DISTINCT course per employee."""
    start, end = completion_window(program=program, day=day)
    return Q(**{f"{prefix}is_completed": True, f"{prefix}completed_at__gte": start, f"{prefix}completed_at__lt": end})


def counted_completions(*, program: LearningProgram, day: dt.date) -> QuerySet[Enrollment]:
    """Enrollments whose completion counts for the program as of `day`."""
    return Enrollment.objects.filter(counted_completion_q(program=program, day=day))


def curated_course_ids(*, program: LearningProgram) -> QuerySet[CollectionItem, Any]:
    """Courses in any collection of the program (company-wide or an organization's)."""
    return CollectionItem.objects.filter(collection__program=program).order_by().values("course_id")


def employees_who_met(*, program: LearningProgram, day: dt.date) -> QuerySet[Enrollment, Any]:
    """Ids of the employees with at least `required_completions` distinct counted
    courses as of `day` (whatever their eligibility): one GROUP BY ... HAVING."""
    return (
        counted_completions(program=program, day=day)
        .order_by()
        .values("employee_id")
        .annotate(n_courses=Count("course_id", distinct=True))
        .filter(n_courses__gte=program.required_completions)
        .values("employee_id")
    )


def employee_has_met(*, program: LearningProgram, employee: Employee, day: dt.date) -> bool:
    """Whether one employee met the goal as of `day` (`employees_who_met`)."""
    return employees_who_met(program=program, day=day).filter(employee_id=employee.pk).exists()


def distinct_counted_courses(*, program: LearningProgram, day: dt.date, employee_ref: str) -> Coalesce:
    """Correlated subquery: the number of distinct counted courses (`counted_completions`)
    of the employee at `employee_ref` (0 without any), read from the employee's own
    enrollments."""
    per_employee = (
        counted_completions(program=program, day=day)
        .filter(employee=OuterRef(employee_ref))
        .order_by()
        .values("employee")
        .annotate(n=Count("course", distinct=True))
        .values("n")
    )
    return Coalesce(Subquery(per_employee, output_field=IntegerField()), Value(0))


def _counted_pairs(*, program: LearningProgram, day: dt.date) -> QuerySet[Enrollment, Any]:
    """The distinct (employee, course) pairs of counted completions by eligible employees:
    one row per pair however often the completion was reported."""
    return (
        counted_completions(program=program, day=day)
        .filter(employee__in=eligible_employees(program=program, day=day).values("pk"))
        .order_by()
        .values("employee_id", "course_id")
        .distinct()
    )


def _counts_by_home_organization(*, program: LearningProgram, day: dt.date) -> dict[int | None, Counts]:
    """One aggregate query: per home organization (None = no organization), eligible
    employees, those who met the goal, and their counted and curated completions.

    The rules stay in the querysets (`eligible_employees`, `counted_completions`,
    `curated_course_ids`); this only counts their rows: the distinct pairs per employee
    (read in order from the `enrollment_completed_pairs` index, so nothing is sorted or
    hashed to disk), then the employees per organization. Integer keys, plain COUNT and
    SUM; met is `employees_who_met`'s rule on the same pairs (at least `required` courses)."""
    eligible_sql, eligible_params = (
        eligible_employees(program=program, day=day).order_by().values("id", "organization_id").query.sql_with_params()
    )
    pairs_sql, pairs_params = _counted_pairs(program=program, day=day).query.sql_with_params()
    curated_sql, curated_params = curated_course_ids(program=program).query.sql_with_params()
    sql = f"""
        SELECT e.organization_id, COUNT(*), SUM(CASE WHEN c.n >= %s THEN 1 ELSE 0 END),
               COALESCE(SUM(c.n), 0), COALESCE(SUM(c.n_curated), 0)
        FROM ({eligible_sql}) e
        LEFT JOIN (
            SELECT p.employee_id, COUNT(*) AS n,
                   SUM(CASE WHEN p.course_id IN ({curated_sql}) THEN 1 ELSE 0 END) AS n_curated
            FROM ({pairs_sql}) p
            GROUP BY p.employee_id
        ) c ON c.employee_id = e.id
        GROUP BY e.organization_id
    """  # noqa: S608 (the SQL of our own querysets, their values as parameters)
    params = [program.required_completions, *eligible_params, *curated_params, *pairs_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        organization_id: Counts(
            eligible=eligible, met=met, completions=int(completions), curated_completions=int(curated)
        )
        for organization_id, eligible, met, completions, curated in rows
    }


def _roll_up(*, organizations: list[Organization], own: dict[int | None, Counts]) -> list[OrgProgress]:
    """Each organization's counts are its own people's plus those of every organization
    below it (path prefix). The tree is small; employees never reach Python."""
    by_id = {o.pk: o for o in organizations}
    totals: dict[int, Counts] = {o.pk: Counts() for o in organizations}
    for org_id, counts in own.items():
        node = by_id.get(org_id) if org_id is not None else None
        while node is not None:
            totals[node.pk] = totals[node.pk] + counts
            node = by_id.get(node.parent_id) if node.parent_id is not None else None
    return [
        OrgProgress(
            organization_id=o.pk,
            path=o.path,
            name=o.name,
            depth=o.depth,
            parent_id=o.parent_id,
            eligible=totals[o.pk].eligible,
            met=totals[o.pk].met,
            rate=totals[o.pk].rate,
            completions=totals[o.pk].completions,
            curated_completions=totals[o.pk].curated_completions,
            curated_share=totals[o.pk].curated_share,
        )
        for o in organizations
    ]


def program_pace(*, program: LearningProgram, day: dt.date) -> float:
    """The rate expected on `day` on a straight line from 0 on the start day to the
    target on the end day: target x (day - start) / (end - start), in whole days (so 0 on
    the first day, the full target on the last), clamped to [0, target]."""
    target = float(program.target_rate)
    span = (program.ends_on - program.starts_on).days
    elapsed = (day - program.starts_on).days
    return target * min(max(elapsed, 0), span) / span


def snapshots_of_q(organization_ids: Sequence[int | None]) -> Q:
    """The snapshots of `organization_ids` (None: the company's)."""
    which = Q(organization_id__in=[pk for pk in organization_ids if pk is not None])
    if None in organization_ids:
        which |= Q(organization__isnull=True)
    return which


def trend_projection(
    *, program: LearningProgram, day: dt.date, organization: Organization | None = None
) -> float | None:
    """The least-squares line through the snapshots of the last 28 days up to `day` of
    `organization` (None: the company), carried to the program's end and capped to
    [0, 1]. None with fewer than two snapshots that have a rate. One query."""
    key = organization.pk if organization is not None else None
    return trend_projections(program=program, day=day, organization_ids=[key])[key]


def trend_projections(
    *, program: LearningProgram, day: dt.date, organization_ids: Sequence[int | None]
) -> dict[int | None, float | None]:
    """`trend_projection` of each of `organization_ids` (None: the company), in one query
    whatever their number."""
    window = min(dt.timedelta(days=PROJECTION_WINDOW_DAYS), day - dt.date.min)  # no day before 1 January of year 1
    rows = ProgressSnapshot.objects.filter(
        snapshots_of_q(organization_ids), program=program, day__lte=day, day__gt=day - window, rate__isnull=False
    ).values_list("organization_id", "day", "rate")
    points: dict[int | None, list[tuple[dt.date, float]]] = {pk: [] for pk in organization_ids}
    for organization_id, snapshot_day, rate in rows:
        if rate is not None:
            points[organization_id].append((snapshot_day, float(rate)))
    return {pk: _projection(program=program, day=day, points=points[pk]) for pk in organization_ids}


def _projection(*, program: LearningProgram, day: dt.date, points: list[tuple[dt.date, float]]) -> float | None:
    if len(points) < 2:
        return None
    xs = [float((d - day).days) for d, _ in points]
    ys = [r for _, r in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    projected = mean_y + slope * ((program.ends_on - day).days - mean_x)
    return min(max(projected, 0.0), 1.0)


def executive_commitments(*, program: LearningProgram, day: dt.date) -> list[ExecutiveCommitment]:
    """Each confirmed sponsor of the program, with whether they met the goal by the
    same rule as everyone (>= required distinct counted courses), whatever their own
    eligibility. One query."""
    sponsors = (
        ExecutiveSponsor.objects.for_program(program)
        .confirmed()
        .annotate(n_courses=distinct_counted_courses(program=program, day=day, employee_ref="employee_id"))
        .order_by("organization__path", "employee__email")
        .values_list(
            "employee_id",
            "employee__email",
            "employee__full_name",
            "organization_id",
            "organization__path",
            "n_courses",
        )
    )
    return [
        ExecutiveCommitment(
            employee_id=employee_id,
            email=email,
            full_name=full_name,
            organization_id=organization_id,
            organization_path=path,
            completed_courses=n,
            met=n >= program.required_completions,
        )
        for employee_id, email, full_name, organization_id, path, n in sponsors
    ]


@dataclass(frozen=True)
class ProgressCounts:
    """The counts of `program_progress` alone (what a snapshot stores)."""

    as_of: dt.date
    company: Counts
    organizations: list[OrgProgress]

    def for_organization(self, organization_id: int) -> OrgProgress | None:
        return next((o for o in self.organizations if o.organization_id == organization_id), None)


def progress_counts(*, program: LearningProgram, as_of: dt.date | None = None) -> ProgressCounts:
    """The counts of the company and of every organization as of D (see
    `program_progress` for the rules). Two queries: the organizations, one aggregate."""
    day = progress_day(program=program, as_of=as_of)
    organizations = list(Organization.objects.order_by("path").only("id", "path", "name", "depth", "parent_id"))
    own = _counts_by_home_organization(program=program, day=day)
    return ProgressCounts(
        as_of=day,
        company=sum(own.values(), Counts()),
        organizations=_roll_up(organizations=organizations, own=own),
    )


def program_progress(*, program: LearningProgram, as_of: dt.date | None = None) -> ProgramProgress:
    """Progress of `program` as of day D = min(as_of or today in the company time zone,
    program end), for the company, every organization of the tree (rolled up through the
    tree) and each executive sponsor.

    - Eligible (org O): home organization O or below; hired on or before D (or no hire
      date); not departed on or before D; not excluded from the program. Employees with no
      organization are on the roster: they count in the company only.
    - A completion counts when completed with a completion time whose local date (company
      time zone) is in [P.start, D]; one per employee x course, however often reported.
    - Met: at least `required_completions` distinct counted courses. Rate: met/eligible.
    - Completions: counted completions of the eligible people; curated: those of courses
      in any collection of the program.
    - Pace, on track (company rate at or above pace) and projection (snapshot trend).

    Four queries, whatever the size of the company.
    """
    return program_progress_from(program=program, counts=progress_counts(program=program, as_of=as_of))


def program_progress_from(*, program: LearningProgram, counts: ProgressCounts) -> ProgramProgress:
    """`program_progress` from its counts (`progress_counts`, or the same counts kept in
    the snapshots of their day): adds the pace, on track, the projection and the executive
    commitments of that day. Two queries (projection, sponsors)."""
    day, company = counts.as_of, counts.company
    pace = program_pace(program=program, day=day)
    return ProgramProgress(
        program=program,
        as_of=day,
        target=float(program.target_rate),
        required=program.required_completions,
        company=CompanyProgress(
            eligible=company.eligible,
            met=company.met,
            rate=company.rate,
            completions=company.completions,
            curated_completions=company.curated_completions,
            curated_share=company.curated_share,
            pace=pace,
            on_track=company.rate is not None and company.rate >= pace,
            projection=trend_projection(program=program, day=day),
        ),
        organizations=counts.organizations,
        executives=executive_commitments(program=program, day=day),
    )


def progress_as_dict(progress: ProgramProgress) -> dict:
    """The JSON shape of `manage.py progress --format json` (and the API)."""

    def numbers(block: OrgProgress | CompanyProgress) -> dict:
        return {
            "eligible": block.eligible,
            "met": block.met,
            "rate": block.rate,
            "completions": block.completions,
            "curated_completions": block.curated_completions,
            "curated_share": block.curated_share,
        }

    company = progress.company
    return {
        "program": progress.program.name,
        "as_of": progress.as_of.isoformat(),
        "target": progress.target,
        "required": progress.required,
        "company": {
            **numbers(company),
            "pace": company.pace,
            "on_track": company.on_track,
            "projection": company.projection,
        },
        "organizations": [{"path": o.path, **numbers(o)} for o in progress.organizations],
        "executives": [
            {"email": e.email, "organization": e.organization_path, "met": e.met} for e in progress.executives
        ],
    }
