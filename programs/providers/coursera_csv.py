"""Coursera admin CSV export adapter (PROVIDERS.md, section 2).

Reads the "CourseActivity" export and the older "usage report": columns are found by
name (case and surrounding spaces ignored, aliases accepted), unknown columns are
ignored, a UTF-8 byte-order mark is skipped. The file is streamed row by row, so its
size does not matter. Duplicate rows are yielded as they are: the pipeline merges them.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from typing import IO, Any

from programs.providers.base import AdapterStats, ProviderError, ProviderRecord
from programs.providers.coursera_api import (
    course_url,
    learner_external_id,
    parse_decimal,
    parse_flag,
    parse_timestamp,
)

DEFAULT_PAGE_SIZE = 1000
BOM = "\ufeff"

# field -> accepted headers (compared lower-cased, spaces collapsed); the first is the
# name shown in messages.
COLUMNS: dict[str, tuple[str, ...]] = {
    "email": ("Email", "Email Address", "Learner Email", "User Email"),
    "course_id": ("Course ID", "Course Id", "Content ID", "Content Id"),
    "external_id": ("External ID", "External Id", "ExternalId", "External User ID"),
    "full_name": ("Name", "Full Name", "Learner Name"),
    "course_title": ("Course", "Course Name", "Content Name", "Course Title"),
    "course_slug": ("Course Slug", "Content Slug"),
    "partner": ("University", "Partner", "Partner Name", "Institution"),
    "enrolled_at": ("Enrollment Time", "Enrolled Time", "Enrollment Date", "Enrolled At"),
    "last_activity_at": ("Last Course Activity Time", "Last Activity Time", "Last Activity"),
    "progress": ("Overall Progress", "Progress"),
    "course_hours": (
        "Total Estimated Learning Hours (since enrolled)",
        "Estimated Learning Hours",
        "Total Estimated Learning Hours",
    ),
    "completed": ("Completed", "Is Completed"),
    "completed_at": ("Completion Time", "Completed Time", "Completion Date", "Completed At"),
    "removed": ("Removed From Program", "Removed"),
    "content_type": ("Course Type", "Content Type"),
}
REQUIRED = ("email", "course_id")


def _header_key(name: str) -> str:
    return re.sub(r"\s+", " ", name.replace(BOM, "")).strip().lower()


def _column_positions(header: list[str]) -> dict[str, int]:
    """field -> index of its column (the first matching column wins)."""
    positions: dict[str, int] = {}
    by_name: dict[str, int] = {}
    for index, name in enumerate(header):
        by_name.setdefault(_header_key(name), index)
    for field_name, aliases in COLUMNS.items():
        for alias in aliases:
            if _header_key(alias) in by_name:
                positions[field_name] = by_name[_header_key(alias)]
                break
    return positions


class CourseraCsvAdapter:
    """Yields the rows of a Coursera CSV export as ProviderRecords, `page_size` a page.

    `file` is a binary file (decoded as UTF-8, with or without BOM) or a text file.
    Missing required columns (Email, Course ID) raise ProviderError before any record
    is yielded. A row whose values do not parse, or that says Completed = Yes without a
    Completion Time, carries the reason in `problem`; `line` is its line in the file
    (the header is line 1).
    """

    def __init__(self, *, file: IO[bytes] | IO[str], page_size: int = DEFAULT_PAGE_SIZE) -> None:
        self.file = file
        self.page_size = page_size
        self.stats = AdapterStats()

    def pages(self) -> Iterator[list[ProviderRecord]]:
        text, detach = _text_stream(self.file)
        try:
            yield from self._pages(text)
        except UnicodeDecodeError:
            raise ProviderError("The file is not UTF-8 text: save it from Coursera again as CSV (UTF-8).") from None
        except csv.Error as exc:
            raise ProviderError(f"The file is not a readable CSV file: {exc}.") from None
        finally:
            detach()

    def _pages(self, text: IO[str]) -> Iterator[list[ProviderRecord]]:
        reader = csv.reader(text)
        header = next(reader, None)
        if header is None:
            raise ProviderError("The file is empty: expected a Coursera CourseActivity export with a header row.")
        positions = _column_positions(header)
        missing = [COLUMNS[f][0] for f in REQUIRED if f not in positions]
        if missing:
            raise ProviderError(
                f"missing column(s): {', '.join(missing)}. Is this a Coursera CourseActivity export? "
                f"Columns found: {', '.join(h.replace(BOM, '').strip() for h in header)[:300]}"
            )
        names = [h.replace(BOM, "").strip() for h in header]
        page: list[ProviderRecord] = []
        previous_end = reader.line_num
        for row in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            page.append(_record_from_row(row, positions=positions, names=names, line=line))
            if len(page) >= self.page_size:
                self.stats.pages += 1
                yield page
                page = []
        if page:
            self.stats.pages += 1
            yield page


def _text_stream(file: IO[bytes] | IO[str]) -> tuple[IO[str], Any]:
    """A text view of `file` and a function that releases it without closing `file`."""
    if isinstance(file.read(0), str):
        return file, lambda: None  # type: ignore[return-value]
    try:
        wrapper = io.TextIOWrapper(file, encoding="utf-8-sig", newline="")  # type: ignore[type-var]
    except (AttributeError, TypeError, ValueError):
        return codecs.getreader("utf-8-sig")(file), lambda: None  # type: ignore[arg-type, return-value]
    return wrapper, wrapper.detach


def _record_from_row(row: list[str], *, positions: dict[str, int], names: list[str], line: int) -> ProviderRecord:
    """One CSV row as a ProviderRecord; unparseable values are named in `problem`."""
    problems: list[str] = []

    def cell(field_name: str) -> str:
        index = positions.get(field_name)
        return row[index].strip() if index is not None and index < len(row) else ""

    def label(field_name: str) -> str:
        index = positions.get(field_name)
        return names[index] if index is not None else COLUMNS[field_name][0]

    def when(field_name: str) -> Any:
        try:
            return parse_timestamp(cell(field_name))
        except ValueError:
            problems.append(f"{label(field_name)}: cannot parse '{cell(field_name)}'")
            return None

    def number(field_name: str) -> Any:
        try:
            return parse_decimal(cell(field_name))
        except ValueError:
            problems.append(f"{label(field_name)}: cannot parse '{cell(field_name)}'")
            return None

    def flag(field_name: str) -> bool:
        try:
            return parse_flag(cell(field_name))
        except ValueError as exc:
            problems.append(f"{label(field_name)}: {exc}")
            return False

    email = cell("email")
    raw = {name: (row[i] if i < len(row) else "") for i, name in enumerate(names) if name}
    enrolled_at = when("enrolled_at")
    last_activity_at = when("last_activity_at")
    completed_at = when("completed_at")
    # Without a Completed column (a trimmed export), a completion time is the completion.
    is_completed = flag("completed") if "completed" in positions else completed_at is not None
    progress = number("progress")
    hours = number("course_hours")
    is_removed = flag("removed")
    if is_completed and completed_at is None and not cell("completed_at"):
        problems.append(f"{label('completed')} is Yes but {label('completed_at')} is empty")
    if not cell("course_id"):
        problems.append(f"{label('course_id')} is empty")
    if not email and not cell("external_id"):
        problems.append(f"{label('email')} and {label('external_id')} are both empty")
    return ProviderRecord(
        raw=raw,
        email=email,
        external_id=learner_external_id(cell("external_id"), email),
        full_name=cell("full_name"),
        provider_course_id=cell("course_id"),
        content_type=cell("content_type").lower() or "course",
        course_title=cell("course_title"),
        partner=cell("partner"),
        course_url=course_url(cell("course_slug")),
        course_hours=hours,
        enrolled_at=enrolled_at,
        last_activity_at=last_activity_at,
        is_completed=is_completed,
        completed_at=completed_at,
        progress=progress,
        is_removed=is_removed,
        line=line,
        problem="; ".join(problems),
    )
