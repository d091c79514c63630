"""Kept figures: today's numbers, computed once after each change and then read by the
dashboards, the employee home, the people lists, the messages, the exports, the API and
the `progress` command, instead of running the engine on every request.

What is kept, per program, for its day D (`reports.progress.progress_day`: today, or the
program's end once it is over):
- the counts: the snapshot rows of day D (`reports.snapshots`), one per organization and
  one for the company: exactly `progress_counts` of D;
- the people: one `PersonProgress` row per eligible person, exactly `people_status` of D
  (counted courses, met, last provider activity) and the person's place in the lists'
  order, written by one INSERT ... SELECT.
Executive commitments and the projection stay live reads (a few rows each).

Freshness. Every write that changes an input of the numbers calls
`reports.hooks.progress_changed`, which bumps the change counter (`ProgressChange`) as
the writer's transaction commits, before the write returns. A keep records
(`KeptFigures`) its day and the counter's value read before it computed. A read finds the
figures fresh when both still hold and uses them; otherwise it computes with the engine,
keeps the result and returns it, so a read after a change is exact even before the
queued keep task has run (the task only makes the next read cheap). Keeps of the same
figures wait for each other (their KeptFigures row is locked), so readers of stale figures
compute them once, not once each; a program's counts and people are kept independently.

Only today's numbers are kept: an explicit `as_of` (a page's ?as_of or ?date, the API,
the command, a message for a given time), and the counts of a program that has not
started (no snapshot before the start), come from the engine directly.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import Exists, F, FilteredRelation, Q, QuerySet, Subquery, Value, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from programs.models import Employee, LearningProgram, Organization
from programs.table_upkeep import tables_upkeep
from reports.models import KeptFigures, KeptKind, PersonProgress, ProgressChange, ProgressSnapshot
from reports.people import PEOPLE_ORDER, Stage, people_not_met, people_ranked, people_status
from reports.progress import (
    Counts,
    OrgProgress,
    ProgramProgress,
    ProgressCounts,
    program_progress_from,
    progress_counts,
    progress_day,
)
from reports.snapshots import snapshots_store

# --- The change counter ----------------------------------------------------------------------


def _change_count_now() -> Coalesce:
    """The counter's committed value as an expression (0 before the first change)."""
    row = ProgressChange.objects.filter(pk=ProgressChange.ROW).values("count")[:1]
    return Coalesce(Subquery(row), Value(0))


def change_count() -> int:
    """The change counter's value (0 before the first change). One query."""
    return ProgressChange.objects.filter(pk=ProgressChange.ROW).values_list("count", flat=True).first() or 0


def progress_change_record() -> None:
    """Bump the change counter: every kept figure computed before is stale. Called by
    `reports.hooks.progress_changed` once the writes are committed (a bump before them
    could be read by a keep that does not see them yet)."""
    bump = ProgressChange.objects.filter(pk=ProgressChange.ROW)
    if not bump.update(count=F("count") + 1):
        ProgressChange.objects.get_or_create(pk=ProgressChange.ROW)  # gone after a flush
        bump.update(count=F("count") + 1)


def _fresh(*, program: LearningProgram, kind: str, day: dt.date) -> QuerySet[KeptFigures]:
    """The program's kept figures of `kind`, if they were computed for `day` from the
    counter's current value."""
    return KeptFigures.objects.filter(program=program, kind=kind, day=day, change=_change_count_now())


def _kept_lock(*, program: LearningProgram, kind: str) -> None:
    """Lock the program's KeptFigures row of `kind` (made first, never fresh, if missing)
    until the end of the transaction: keeps of the same figures wait for each other, while
    the counts and the people of a program are kept independently."""
    KeptFigures.objects.get_or_create(program=program, kind=kind, defaults={"day": dt.date.min, "change": -1})
    KeptFigures.objects.select_for_update().filter(program=program, kind=kind).values_list("pk", flat=True).first()


def _kept_record(*, program: LearningProgram, kind: str, day: dt.date, change: int) -> None:
    KeptFigures.objects.filter(program=program, kind=kind).update(day=day, change=change, computed_at=timezone.now())


# --- Counts: the snapshot rows of day D ----------------------------------------------------


def _counts_kept(*, program: LearningProgram, day: dt.date) -> ProgressCounts | None:
    """The kept counts of `day`, or None when they are not fresh. One query: the
    snapshot rows of the day, with their organizations, if the kept figures are fresh."""
    rows = list(
        ProgressSnapshot.objects.filter(program=program, day=day)
        .filter(Exists(_fresh(program=program, kind=KeptKind.COUNTS, day=day)))
        .order_by(F("organization__path").asc(nulls_first=True))
        .values_list(
            "organization_id",
            "organization__path",
            "organization__name",
            "organization__depth",
            "organization__parent_id",
            "eligible",
            "met",
            "completions",
            "curated_completions",
        )
    )
    if not rows or rows[0][0] is not None:  # no company row: not kept (or deleted since)
        return None
    (_, _, _, _, _, *company), *organizations = rows
    organizations_progress = []
    for organization_id, path, name, depth, parent_id, *numbers in organizations:
        counts = Counts(*numbers)
        organizations_progress.append(
            OrgProgress(
                organization_id=organization_id,
                path=path,
                name=name,
                depth=depth,
                parent_id=parent_id,
                eligible=counts.eligible,
                met=counts.met,
                rate=counts.rate,
                completions=counts.completions,
                curated_completions=counts.curated_completions,
                curated_share=counts.curated_share,
            )
        )
    return ProgressCounts(as_of=day, company=Counts(*company), organizations=organizations_progress)


def counts_keep(*, program: LearningProgram, day: dt.date | None = None) -> ProgressCounts | None:
    """Keep the counts of `program` for `day` (default its day D), unless fresh ones are
    kept already: `progress_counts` stored as the snapshot rows of the day
    (`snapshots_store`), with the counter value read before computing them. Returns the
    counts; None before the program starts (nothing is recorded then)."""
    day = day or progress_day(program=program)
    if day < program.starts_on:
        return None
    return _counts_keep(program=program, day=day)


def _counts_keep(*, program: LearningProgram, day: dt.date) -> ProgressCounts:
    with transaction.atomic():
        _kept_lock(program=program, kind=KeptKind.COUNTS)
        kept = _counts_kept(program=program, day=day)
        if kept is not None:  # kept by another reader while this one waited
            return kept
        change = change_count()
        counts = progress_counts(program=program, as_of=day)
        snapshots_store(program=program, progress=counts)
        _kept_record(program=program, kind=KeptKind.COUNTS, day=day, change=change)
    return counts


def progress_counts_read(*, program: LearningProgram, as_of: dt.date | None = None) -> ProgressCounts:
    """`reports.progress.progress_counts` as of `as_of`. Without `as_of` (today's numbers):
    the kept counts of the program's day D when they are fresh (one query), else kept now
    (`counts_keep`). An explicit `as_of`, or a program that has not started, from the
    engine."""
    day = progress_day(program=program, as_of=as_of)
    if as_of is not None or day < program.starts_on:
        return progress_counts(program=program, as_of=day)
    return _counts_kept(program=program, day=day) or _counts_keep(program=program, day=day)


def kept_counts_stamp(*, program: LearningProgram, as_of: dt.date | None = None) -> str | None:
    """A name for the state of today's kept counts of `program` while they are fresh:
    another change, or another day, gives another name (or None). None when they are
    not fresh, and for an explicit `as_of` (not kept). What is rendered from figures read
    after this name was read may be cached under it: those figures are at least as new,
    and the name stops being given as soon as they change. One query."""
    if as_of is not None:
        return None
    day = progress_day(program=program)
    kept = _fresh(program=program, kind=KeptKind.COUNTS, day=day).values_list("pk", "computed_at").first()
    return None if kept is None else f"{kept[0]}-{kept[1].isoformat()}"


def progress_read(*, program: LearningProgram, as_of: dt.date | None = None) -> ProgramProgress:
    """`reports.progress.program_progress` as of `as_of` (default today), its counts from
    `progress_counts_read`: the same numbers, read from the kept figures for today. Three
    queries then (kept counts, projection, sponsors)."""
    return program_progress_from(program=program, counts=progress_counts_read(program=program, as_of=as_of))


# --- People: one row per eligible person ----------------------------------------------------

# Each kept column and the column of `people_status` it is copied from.
KEPT_COLUMNS = {
    "employee_id": "id",
    "organization_id": "organization_id",
    "counted_courses": "counted_courses",
    "met": "has_met",
    "last_activity_at": "last_activity_at",
}


def people_keep(*, program: LearningProgram, day: dt.date | None = None) -> int:
    """Keep the people of `program` for `day` (default its day D), unless fresh ones are
    kept already: every row of `people_status` for the whole company (eligible people,
    counted courses, met, last activity), numbered in the lists' order (`PEOPLE_ORDER`),
    replacing the program's rows in one INSERT ... SELECT. Returns the rows written. A
    large write is followed by VACUUM (ANALYZE) (`tables_upkeep`): the reads' plans
    depend on the table's statistics."""
    day = day or progress_day(program=program)
    with transaction.atomic():
        _kept_lock(program=program, kind=KeptKind.PEOPLE)
        if _fresh(program=program, kind=KeptKind.PEOPLE, day=day).exists():
            return 0
        change = change_count()
        people = (
            people_status(program=program, day=day, organizations=None)
            .order_by()
            .annotate(position=Window(RowNumber(), order_by=[F(field).asc() for field in PEOPLE_ORDER]))
            .values("id", "organization_id", "counted_courses", "has_met", "last_activity_at", "position")
        )
        select_sql, select_params = people.query.sql_with_params()
        quote = connection.ops.quote_name
        columns = ", ".join(map(quote, [*KEPT_COLUMNS, "position"]))
        sources = ", ".join(f"s.{quote(source)}" for source in [*KEPT_COLUMNS.values(), "position"])
        insert = f"""
            INSERT INTO {quote(PersonProgress._meta.db_table)} ({quote("program_id")}, {columns})
            SELECT %s, {sources} FROM ({select_sql}) s
        """  # noqa: S608 (the SQL of our own queryset, its values as parameters)
        PersonProgress.objects.filter(program=program).delete()
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # a subquery per person is costed high: compiling costs more
                cursor.execute("SET LOCAL jit = off")
            cursor.execute(insert, [program.pk, *select_params])
            written = cursor.rowcount
        _kept_record(program=program, kind=KeptKind.PEOPLE, day=day, change=change)
    tables_upkeep(PersonProgress, rows_written=written)
    return written


def _people_kept(
    *,
    program: LearningProgram,
    organizations: list[Organization] | None,
    not_met_only: bool = False,
    first: int | None = None,
) -> QuerySet[Employee]:
    """The kept people of the subtrees of `organizations` (None: everyone), all or only
    those who have not met the goal, or only the `first` of them, shaped like
    `people_status`: Employees with `counted_courses`, `has_met` and `last_activity_at`,
    in the lists' order. The first ones are picked among the kept rows alone (an
    index-only read in the lists' order), before any person is read."""
    rows = PersonProgress.objects.filter(program=program)
    if not_met_only:
        rows = rows.filter(met=False)
    if organizations is not None:
        subtree = Q(pk__in=[])
        for organization in organizations:
            subtree |= Q(organization__in=Organization.objects.subtree(organization))
        rows = rows.filter(subtree)
    if first is not None:
        rows = rows.order_by("position")[:first]
    people = Employee.objects.annotate(
        kept=FilteredRelation("kept_progress", condition=Q(kept_progress__program=program))
    ).filter(kept__isnull=False, pk__in=rows.values("employee_id"))
    return (
        people.annotate(
            counted_courses=F("kept__counted_courses"),
            has_met=F("kept__met"),
            last_activity_at=F("kept__last_activity_at"),
        )
        .select_related("organization")
        .order_by("kept__position")
    )


def people_status_read(
    *, program: LearningProgram, as_of: dt.date | None, organizations: list[Organization] | None
) -> QuerySet[Employee]:
    """`reports.people.people_status` as of `as_of` (the same people, numbers and order).
    Without `as_of` (today): the kept rows of the program's day D, kept first when they
    are not fresh (`people_keep`); an explicit `as_of` from the engine's rules directly."""
    day = progress_day(program=program, as_of=as_of)
    if as_of is not None:
        return people_status(program=program, day=day, organizations=organizations)
    _people_fresh_ensure(program=program, day=day)
    return _people_kept(program=program, organizations=organizations)


def _people_fresh_ensure(*, program: LearningProgram, day: dt.date) -> None:
    if not _fresh(program=program, kind=KeptKind.PEOPLE, day=day).exists():
        people_keep(program=program, day=day)


def people_not_met_read(
    *, program: LearningProgram, as_of: dt.date | None, organization: Organization, first: int | None = None
) -> QuerySet[Employee]:
    """`reports.people.people_not_met` as of `as_of`: the eligible people of
    `organization`'s subtree who have not met the goal (only the `first` of them when
    given), from the kept rows for today like `people_status_read`."""
    day = progress_day(program=program, as_of=as_of)
    if as_of is not None:
        people = people_not_met(program=program, day=day, organization=organization)
        return people if first is None else people[:first]
    _people_fresh_ensure(program=program, day=day)
    return _people_kept(program=program, organizations=[organization], not_met_only=True, first=first)


def people_to_nudge_read(
    *, program: LearningProgram, as_of: dt.date | None, organization: Organization, stage: Stage | None = None
) -> QuerySet[Employee]:
    """Who to nudge first: `people_not_met_read` ranked closest to the goal first
    (`reports.people.people_ranked`), only those at `stage` when given. The champion's
    page, its CSV, the weekly digest and the API read this one list. One query."""
    people = people_ranked(
        people_not_met_read(program=program, as_of=as_of, organization=organization), program=program
    )
    return people if stage is None else people.filter(Q(stage=stage))


# --- After a change -----------------------------------------------------------------------------


def figures_keep(*, program: LearningProgram) -> None:
    """Keep the counts and the people of `program` for its day D (each unless fresh), so
    the next reads are cheap. Idempotent; concurrent runs wait for each other."""
    counts_keep(program=program)
    people_keep(program=program)
