"""CSV exports: organization progress (everyone signed in) and person-level status
(L&D admins, and sponsors and champions for their own organizations).

Every cell goes through `spreadsheet_safe`, so a name such as "=HYPERLINK(...)" opens in a
spreadsheet as text, never as a formula.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol

from django.db.models import QuerySet
from django.utils.text import slugify

from programs.models import Employee, LearningProgram, Organization
from reports.kept import people_status_read
from reports.progress import ProgramProgress, progress_day
from reports.selectors import CHANGE_DAYS, rate_change, snapshot_rates_on

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float | None


class Writable(Protocol):
    def write(self, s: str, /) -> object: ...


def spreadsheet_safe(value: Cell) -> str:
    """The cell as text; text a spreadsheet would run as a formula (starting with =, +,
    -, @, a tab or a carriage return) gets a leading single quote. Numbers are written
    as numbers (a negative change is a number, not a formula); None is an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def _rate_cell(rate: float | None) -> Cell:
    return None if rate is None else round(rate, 4)


def write_csv(*, out: Writable, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> None:
    """Write `header` and `rows` as CSV to `out`, every cell through `spreadsheet_safe`."""
    writer = csv.writer(out)
    writer.writerow([spreadsheet_safe(h) for h in header])
    for row in rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])


def export_filename(
    *, program: LearningProgram, what: str, day: dt.date, organization: Organization | None = None
) -> str:
    """e.g. "learning-program-2026-acme-engineering-people-2026-06-30.csv"."""
    parts = [slugify(program.name)]
    if organization is not None:
        parts.append(slugify(organization.path.replace("/", " ")))
    parts += [what, day.isoformat()]
    return "-".join(parts) + ".csv"


ORGANIZATION_HEADER = (
    "organization",
    "path",
    "depth",
    "eligible",
    "met",
    "rate",
    "target",
    "change_7_days",
    "completions",
    "curated_completions",
    "curated_share",
    "as_of",
)


def organization_rows(*, progress: ProgramProgress) -> Iterator[Sequence[Cell]]:
    """The company, then every organization by path: the numbers of `program_progress`
    and the change of rate since the snapshot a week before (empty when none)."""
    before = snapshot_rates_on(program=progress.program, day=progress.as_of - dt.timedelta(days=CHANGE_DAYS))
    company = progress.company
    as_of = progress.as_of.isoformat()
    yield (
        "(company)",
        "",
        "",
        company.eligible,
        company.met,
        _rate_cell(company.rate),
        progress.target,
        _rate_cell(rate_change(current=company.rate, before=before.get(None))),
        company.completions,
        company.curated_completions,
        _rate_cell(company.curated_share),
        as_of,
    )
    for o in progress.organizations:
        yield (
            o.name,
            o.path,
            o.depth,
            o.eligible,
            o.met,
            _rate_cell(o.rate),
            progress.target,
            _rate_cell(rate_change(current=o.rate, before=before.get(o.organization_id))),
            o.completions,
            o.curated_completions,
            _rate_cell(o.curated_share),
            as_of,
        )


PEOPLE_HEADER = (
    "full_name",
    "email",
    "external_id",
    "organization",
    "title",
    "counted_courses",
    "met_goal",
    "last_activity_at",
    "as_of",
)


def people_rows(
    *, program: LearningProgram, as_of: dt.date | None, organizations: list[Organization] | None
) -> Iterator[Sequence[Cell]]:
    """One row per eligible person of the organizations (None: the whole company) as of
    `as_of` (None: today, from the kept figures) with their counted courses, whether they
    met the goal and their last provider activity (`people_status_read`). One query,
    streamed."""
    day = progress_day(program=program, as_of=as_of)
    people = people_status_read(program=program, as_of=as_of, organizations=organizations)
    for person in people.iterator(chunk_size=2000):
        yield (
            person.full_name,
            person.email,
            person.external_id,
            person.organization.path if person.organization else "",
            person.title,
            person.counted_courses,  # type: ignore[attr-defined]
            bool(person.has_met),  # type: ignore[attr-defined]
            person.last_activity_at.isoformat() if person.last_activity_at else None,  # type: ignore[attr-defined]
            day.isoformat(),
        )


RANKED_HEADER = (
    "rank",
    "full_name",
    "email",
    "team",
    "status",
    "course_in_progress",
    "course_progress",
    "counted_courses",
    "last_activity_at",
    "last_nudged_at",
    "last_nudged_by",
    "unsubscribed",
    "as_of",
)


def ranked_rows(*, people: QuerySet[Employee], day: dt.date) -> Iterator[Sequence[Cell]]:
    """The ranked list (`reports.kept.people_to_nudge_read`), one row per person in its
    order, as the champion's page shows it. One query, streamed."""
    for rank, person in enumerate(people.iterator(chunk_size=2000), start=1):
        yield (
            rank,
            person.full_name,
            person.email,
            person.organization.path if person.organization else "",
            person.stage_label,  # type: ignore[attr-defined]
            person.course_title,  # type: ignore[attr-defined]
            None if person.course_progress is None else float(person.course_progress),  # type: ignore[attr-defined]
            person.counted_courses,  # type: ignore[attr-defined]
            person.last_activity_at.isoformat() if person.last_activity_at else None,  # type: ignore[attr-defined]
            person.last_nudged_at.isoformat() if person.last_nudged_at else None,  # type: ignore[attr-defined]
            person.last_nudged_by,  # type: ignore[attr-defined]
            bool(person.unsubscribed),  # type: ignore[attr-defined]
            day.isoformat(),
        )
