"""Reads for the dashboards, the All-Hands report and the exports.

Every number comes from `reports.progress` (current figures: `program_progress`, read
from the kept figures by `reports.kept.progress_read`; the rules for people:
`eligible_employees`, `employees_who_met`, `counted_completion_q`) or from the snapshots it
wrote (trend lines, change since last week, biggest movers).
Nothing here redefines a metric. Each function is a fixed number of queries whatever
the number of employees.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from django.db.models import Count
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from champions.models import ExecutiveSponsor, LearnerStory, LearningChampion, ProgressUpdate, StudyGroup
from programs.models import Collection, LearningProgram, Organization
from reports.charts import Series, trend_chart
from reports.kept import progress_read
from reports.models import ProgressSnapshot
from reports.progress import (
    CompanyProgress,
    ExecutiveCommitment,
    OrgProgress,
    ProgramProgress,
    snapshots_of_q,
    trend_projection,
    trend_projections,
)

LEADERBOARD_DEPTH = 1
CHANGE_DAYS = 7
MOVERS_DAYS = 30
MOVERS_SHOWN = 5
STORIES_SHOWN = 4
HIGHLIGHTS_SHOWN = 5
UPDATES_SHOWN = 5
NOT_MET_SHOWN = 100

# --- Small rules of presentation -------------------------------------------------------


def people_needed_for(*, eligible: int, met: int, rate: float) -> int:
    """How many more eligible people must meet the goal for `met / eligible` to reach
    `rate` (e.g. the pace or the target): ceil(rate x eligible) - met, never below 0.
    Zero when no one is eligible."""
    if eligible == 0:
        return 0
    # A hair of tolerance so 0.9 x 10 (9.000000000000002 in floating point) needs 9, not 10.
    return max(math.ceil(rate * eligible - 1e-9) - met, 0)


def rate_change(*, current: float | None, before: float | None) -> float | None:
    """Current rate minus an earlier one; None (a dash) when either is missing."""
    if current is None or before is None:
        return None
    return current - before


# --- Snapshot reads ---------------------------------------------------------------------


def snapshot_trend(
    *, program: LearningProgram, organization: Organization | None, until: dt.date
) -> list[tuple[dt.date, float]]:
    """The daily rates of one organization (None = the company) from the program start
    to `until`, from the snapshots; days without a rate are left out. One query."""
    key = organization.pk if organization is not None else None
    return snapshot_trends(program=program, organization_ids=[key], until=until)[key]


def snapshot_trends(
    *, program: LearningProgram, organization_ids: Sequence[int | None], until: dt.date
) -> dict[int | None, list[tuple[dt.date, float]]]:
    """`snapshot_trend` of each of `organization_ids` (None = the company). One query."""
    trends: dict[int | None, list[tuple[dt.date, float]]] = {pk: [] for pk in organization_ids}
    rows = (
        ProgressSnapshot.objects.filter(
            snapshots_of_q(organization_ids), program=program, day__lte=until, rate__isnull=False
        )
        .order_by("day")
        .values_list("organization_id", "day", "rate")
    )
    for organization_id, day, rate in rows:
        if rate is not None:
            trends[organization_id].append((day, rate))
    return trends


def snapshot_rates_on(*, program: LearningProgram, day: dt.date) -> dict[int | None, float | None]:
    """Every organization's snapshot rate on `day` (key None = the company); an
    organization with no snapshot that day is missing. One query."""
    return dict(ProgressSnapshot.objects.filter(program=program, day=day).values_list("organization_id", "rate"))


# --- People and appointments -------------------------------------------------------------


def champion_names_by_organization(*, program: LearningProgram) -> dict[int, list[str]]:
    """Confirmed champions' names per organization of the program. One query."""
    names: dict[int, list[str]] = defaultdict(list)
    rows = (
        LearningChampion.objects.for_program(program)
        .held(timezone.localdate())
        .order_by("organization_id", "employee__full_name", "employee__email")
        .values_list("organization_id", "employee__full_name", "employee__email")
    )
    for organization_id, full_name, email in rows:
        names[organization_id].append(full_name or email)
    return dict(names)


def sponsor_names_by_organization(*, program: LearningProgram) -> dict[int, list[str]]:
    """Confirmed executive sponsors' names per organization of the program. One query."""
    names: dict[int, list[str]] = defaultdict(list)
    rows = (
        ExecutiveSponsor.objects.for_program(program)
        .held(timezone.localdate())
        .order_by("organization_id", "employee__full_name", "employee__email")
        .values_list("organization_id", "employee__full_name", "employee__email")
    )
    for organization_id, full_name, email in rows:
        names[organization_id].append(full_name or email)
    return dict(names)


# --- Dashboards ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """The goal of one organization (or the company) as of a day, as the dashboards show it."""

    name: str
    eligible: int
    met: int
    rate: float | None
    target: float
    pace: float
    on_track: bool
    needed_for_pace: int
    needed_for_target: int
    days_left: int
    projection: float | None
    completions: int
    curated_completions: int
    curated_share: float | None

    @property
    def not_met(self) -> int:
        """The eligible people who have not met the goal: as many as `people_not_met`
        lists for the same organization and day (eligible people minus those who met)."""
        return self.eligible - self.met


@dataclass(frozen=True)
class LeaderboardRow:
    rank: int
    organization_id: int
    name: str
    path: str
    eligible: int
    met: int
    rate: float | None
    change: float | None
    champions: list[str] = field(default_factory=list)


def headline(
    *,
    progress: ProgramProgress,
    block: CompanyProgress | OrgProgress,
    name: str,
    projection: float | None = None,
) -> Headline:
    """The headline of a company or organization block: rate against the program's pace
    (the same straight line for every organization) and target, the people still needed
    for each, days left to the end. The projection is the company's snapshot trend, or
    for an organization the one given (`reports.progress.trend_projection` of it)."""
    company = progress.company
    pace = company.pace
    return Headline(
        name=name,
        eligible=block.eligible,
        met=block.met,
        rate=block.rate,
        target=progress.target,
        pace=pace,
        on_track=block.rate is not None and block.rate >= pace,
        needed_for_pace=people_needed_for(eligible=block.eligible, met=block.met, rate=pace),
        needed_for_target=people_needed_for(eligible=block.eligible, met=block.met, rate=progress.target),
        days_left=max((progress.program.ends_on - progress.as_of).days, 0),
        projection=company.projection if isinstance(block, CompanyProgress) else projection,
        completions=block.completions,
        curated_completions=block.curated_completions,
        curated_share=block.curated_share,
    )


def leaderboard(
    *,
    progress: ProgramProgress,
    rates_before: dict[int | None, float | None],
    champions: dict[int, list[str]],
    depth: int = LEADERBOARD_DEPTH,
) -> list[LeaderboardRow]:
    """The organizations at `depth` (1: the top-level organizations below the company),
    ranked by rate, highest first; organizations with no rate come last (by name).
    Equal rates share a rank. `change` is the rate now minus the snapshot rate in
    `rates_before`."""
    blocks = [o for o in progress.organizations if o.depth == depth]
    blocks.sort(key=lambda o: (o.rate is None, -(o.rate or 0.0), o.name))
    rows: list[LeaderboardRow] = []
    for position, block in enumerate(blocks, start=1):
        rank = rows[-1].rank if rows and rows[-1].rate == block.rate and block.rate is not None else position
        rows.append(
            LeaderboardRow(
                rank=rank,
                organization_id=block.organization_id,
                name=block.name,
                path=block.path,
                eligible=block.eligible,
                met=block.met,
                rate=block.rate,
                change=rate_change(current=block.rate, before=rates_before.get(block.organization_id)),
                champions=champions.get(block.organization_id, []),
            )
        )
    return rows


def biggest_movers(
    *, progress: ProgramProgress, rates_before: dict[int | None, float | None], limit: int = MOVERS_SHOWN
) -> list[LeaderboardRow]:
    """The organizations and teams (below the company) whose rate rose most since the
    snapshot in `rates_before`; only rises, largest first."""
    rows = [
        LeaderboardRow(
            rank=0,
            organization_id=o.organization_id,
            name=o.name,
            path=o.path,
            eligible=o.eligible,
            met=o.met,
            rate=o.rate,
            change=rate_change(current=o.rate, before=rates_before.get(o.organization_id)),
        )
        for o in progress.organizations
        if o.depth >= LEADERBOARD_DEPTH
    ]
    rising = sorted(
        (r for r in rows if r.change is not None and r.change > 0), key=lambda r: (-(r.change or 0), r.path)
    )
    return [replace(row, rank=i) for i, row in enumerate(rising[:limit], start=1)]


def progress_chart(
    *, progress: ProgramProgress, points: list[tuple[dt.date, float]], title: str, projection: float | None
) -> SafeString:
    """The trend chart: actual rates from the snapshots, the target, the pace line (0 at
    the start to the target at the end) and, when there is one, the projection dashed
    from the latest rate to the end."""
    program = progress.program
    series = [
        Series(name=_("Actual"), points=points, css_class="actual"),
        Series(
            name=_("Pace"),
            points=[(program.starts_on, 0.0), (program.ends_on, progress.target)],
            css_class="pace",
        ),
    ]
    if projection is not None and points:
        last_day, last_rate = points[-1]
        series.append(
            Series(
                name=_("Projection"),
                points=[(last_day, last_rate), (program.ends_on, projection)],
                css_class="projection",
                dashed=True,
            )
        )
    return trend_chart(title=title, series=series, start=program.starts_on, end=program.ends_on, target=progress.target)


@dataclass(frozen=True)
class CompanyDashboard:
    progress: ProgramProgress
    headline: Headline
    chart: SafeString
    leaderboard: list[LeaderboardRow]
    executives: list[ExecutiveCommitment]
    executives_met: int


def company_dashboard(*, program: LearningProgram, as_of: dt.date | None = None) -> CompanyDashboard:
    """Everything on the company dashboard, as of `as_of` (default today): the current
    numbers of `program_progress` (`progress_read`: kept for today), the trend and last
    week's rates from the snapshots."""
    progress = progress_read(program=program, as_of=as_of)
    points = snapshot_trend(program=program, organization=None, until=progress.as_of)
    return CompanyDashboard(
        progress=progress,
        headline=headline(progress=progress, block=progress.company, name=_("Company")),
        chart=progress_chart(
            progress=progress, points=points, title=_("Company completion rate"), projection=progress.company.projection
        ),
        leaderboard=leaderboard(
            progress=progress,
            rates_before=snapshot_rates_on(program=program, day=progress.as_of - dt.timedelta(days=CHANGE_DAYS)),
            champions=champion_names_by_organization(program=program),
        ),
        executives=progress.executives,
        executives_met=sum(1 for e in progress.executives if e.met),
    )


@dataclass(frozen=True)
class TeamRow:
    organization_id: int
    name: str
    eligible: int
    met: int
    rate: float | None
    change: float | None


@dataclass(frozen=True)
class OrganizationDashboard:
    progress: ProgramProgress
    organization: Organization
    ancestors: list[OrgProgress]
    headline: Headline
    chart: SafeString
    teams: list[TeamRow]
    collections: Sequence[Collection]
    study_groups: Sequence[StudyGroup]
    updates: list[ProgressUpdate]
    champions: list[str]
    sponsors: list[str]


def organization_dashboard(
    *, program: LearningProgram, organization: Organization, as_of: dt.date | None = None
) -> OrganizationDashboard:
    """Everything on an organization's dashboard: its headline (rolled up over its
    subtree), its teams (direct children) with their change since last week, its
    collections in the program, study groups, latest updates, champions and sponsors.
    The "not yet met" list is separate (`people_not_met_read`): only some viewers see it."""
    progress = progress_read(program=program, as_of=as_of)
    block = progress.for_organization(organization.pk)
    if block is None:  # created after the tree was read: nothing to show yet
        block = OrgProgress(
            organization_id=organization.pk,
            path=organization.path,
            name=organization.name,
            depth=organization.depth,
            parent_id=organization.parent_id,
            eligible=0,
            met=0,
            rate=None,
            completions=0,
            curated_completions=0,
            curated_share=None,
        )
    by_id = {o.organization_id: o for o in progress.organizations}
    ancestors: list[OrgProgress] = []
    parent_id = block.parent_id
    while parent_id is not None and parent_id in by_id:
        ancestors.insert(0, by_id[parent_id])
        parent_id = by_id[parent_id].parent_id
    before = snapshot_rates_on(program=program, day=progress.as_of - dt.timedelta(days=CHANGE_DAYS))
    teams = [
        TeamRow(
            organization_id=o.organization_id,
            name=o.name,
            eligible=o.eligible,
            met=o.met,
            rate=o.rate,
            change=rate_change(current=o.rate, before=before.get(o.organization_id)),
        )
        for o in sorted(progress.organizations, key=lambda o: o.name)
        if o.parent_id == organization.pk
    ]
    points = snapshot_trend(program=program, organization=organization, until=progress.as_of)
    projection = trend_projection(program=program, day=progress.as_of, organization=organization)
    collections = list(
        Collection.objects.filter(program=program, organization=organization)
        .annotate(n_courses=Count("items"))
        .order_by("name")
    )
    study_groups = list(
        StudyGroup.objects.filter(program=program, organization=organization)
        .select_related("champion", "course", "collection")
        .annotate(n_members=Count("memberships"))
        .order_by("name")
    )
    updates = list(
        ProgressUpdate.objects.filter(program=program, organization=organization)
        .select_related("author")
        .order_by("-created_at")[:UPDATES_SHOWN]
    )
    champions = champion_names_by_organization(program=program)
    sponsors = sponsor_names_by_organization(program=program)
    return OrganizationDashboard(
        progress=progress,
        organization=organization,
        ancestors=ancestors,
        headline=headline(progress=progress, block=block, name=organization.name, projection=projection),
        chart=progress_chart(
            progress=progress, points=points, title=f"{organization.name} completion rate", projection=projection
        ),
        teams=teams,
        collections=collections,
        study_groups=study_groups,
        updates=updates,
        champions=champions.get(organization.pk, []),
        sponsors=sponsors.get(organization.pk, []),
    )


@dataclass(frozen=True)
class StoryCard:
    first_name: str
    organization: str
    title: str
    body: str
    course: str


@dataclass(frozen=True)
class AllHandsReport:
    dashboard: CompanyDashboard
    movers: list[LeaderboardRow]
    stories: list[StoryCard]
    highlights: list[ProgressUpdate]


def shareable_stories(*, program: LearningProgram, limit: int = STORIES_SHOWN) -> list[StoryCard]:
    """Learner stories shown beyond their author (`LearnerStoryQuerySet.shown`), newest
    first, reduced to what may be shown: first name and organization only. One query."""
    stories = (
        LearnerStory.objects.shown()
        .filter(program=program)
        .select_related("employee__organization", "course")
        .order_by("-created_at")[:limit]
    )
    return [
        StoryCard(
            first_name=(s.employee.full_name.split() or ["A colleague"])[0],
            organization=s.employee.organization.name if s.employee.organization else "",
            title=s.title,
            body=s.body,
            course=str(s.course) if s.course else "",
        )
        for s in stories
    ]


def all_hands_report(*, program: LearningProgram, day: dt.date | None = None) -> AllHandsReport:
    """The All-Hands page as of `day`: the company dashboard, the biggest movers over the
    previous 30 days (snapshots), shareable learner stories and the champions' updates
    marked for the All Hands."""
    dashboard = company_dashboard(program=program, as_of=day)
    progress = dashboard.progress
    highlights = list(
        ProgressUpdate.objects.filter(program=program, for_all_hands=True)
        .select_related("author", "organization")
        .order_by("-created_at")[:HIGHLIGHTS_SHOWN]
    )
    return AllHandsReport(
        dashboard=dashboard,
        movers=biggest_movers(
            progress=progress,
            rates_before=snapshot_rates_on(program=program, day=progress.as_of - dt.timedelta(days=MOVERS_DAYS)),
        ),
        stories=shareable_stories(program=program),
        highlights=highlights,
    )


# --- The All-Hands deck -------------------------------------------------------------------

DECK_STORIES = 2


@dataclass(frozen=True)
class OrganizationSlide:
    """One organization's slide: its headline (with its own projection), its trend and
    who sponsors and champions it."""

    headline: Headline
    chart: SafeString
    change: float | None
    sponsors: list[str]
    champions: list[str]


@dataclass(frozen=True)
class AllHandsDeck:
    progress: ProgramProgress
    headline: Headline
    chart: SafeString
    since: dt.date
    change: float | None
    leaderboard: list[LeaderboardRow]
    organizations: list[OrganizationSlide]
    executives_met: int
    stories: list[StoryCard]

    @property
    def executives_rate(self) -> float | None:
        """The share of the executive sponsors who met the goal (None: no sponsor)."""
        executives = self.progress.executives
        return self.executives_met / len(executives) if executives else None


def all_hands_deck(
    *, program: LearningProgram, day: dt.date | None = None, since: dt.date | None = None
) -> AllHandsDeck:
    """The All-Hands deck as of `day` (default today): the company's headline, trend and
    change since `since` (the last All Hands; default 30 days before), the leaderboard
    with each organization's change since then, one slide per top-level organization
    (rate, trend, projection, sponsors, champions), the executive commitment, the curated
    share and the two newest shareable stories. Every figure from `progress_read`, the
    snapshots and `trend_projections`: six queries beyond `progress_read`, whatever the
    number of organizations."""
    progress = progress_read(program=program, as_of=day)
    since = since or progress.as_of - dt.timedelta(days=MOVERS_DAYS)
    blocks = [o for o in progress.organizations if o.depth == LEADERBOARD_DEPTH]
    block_ids = [o.organization_id for o in blocks]
    trends = snapshot_trends(program=program, organization_ids=[None, *block_ids], until=progress.as_of)
    projections = trend_projections(program=program, day=progress.as_of, organization_ids=block_ids)
    rates_before = snapshot_rates_on(program=program, day=since)
    champions = champion_names_by_organization(program=program)
    sponsors = sponsor_names_by_organization(program=program)
    slides = [
        OrganizationSlide(
            headline=headline(progress=progress, block=o, name=o.name, projection=projections[o.organization_id]),
            chart=progress_chart(
                progress=progress,
                points=trends[o.organization_id],
                title=_("%(organization)s completion rate") % {"organization": o.name},
                projection=projections[o.organization_id],
            ),
            change=rate_change(current=o.rate, before=rates_before.get(o.organization_id)),
            sponsors=sponsors.get(o.organization_id, []),
            champions=champions.get(o.organization_id, []),
        )
        for o in blocks
    ]
    return AllHandsDeck(
        progress=progress,
        headline=headline(progress=progress, block=progress.company, name=_("Company")),
        chart=progress_chart(
            progress=progress,
            points=trends[None],
            title=_("Company completion rate"),
            projection=progress.company.projection,
        ),
        since=since,
        change=rate_change(current=progress.company.rate, before=rates_before.get(None)),
        leaderboard=leaderboard(progress=progress, rates_before=rates_before, champions=champions),
        organizations=slides,
        executives_met=sum(1 for e in progress.executives if e.met),
        stories=shareable_stories(program=program, limit=DECK_STORIES),
    )
