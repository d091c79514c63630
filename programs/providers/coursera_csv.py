"""Coursera admin CSV export adapter.

Reads the "CourseActivity" export and the older "usage report" through
`programs.csv_files` (UTF-8 with or without BOM, physical line numbers): columns are found
by name (case and surrounding spaces ignored, aliases accepted) and the many columns
LearnHub does not use are allowed, but a column named twice (or by two of its names) is
refused. The file is streamed row by row, so its size does not matter. Duplicate rows are
yielded as they are: the pipeline merges them.

`coursera_csv_check` reads a whole file before an import writes anything: a
file that cannot be read to its end (encoding, an unterminated quote, a NUL byte) is
refused with the line, instead of being imported up to that line.
"""

from __future__ import annotations

from typing import IO

from programs.csv_files import CsvCheck, CsvFileError, CsvHeader, CsvReader, CsvRow, csv_header
from programs.providers.base import ProviderRecord
from programs.providers.coursera_api import course_url, learner_external_id
from programs.providers.files import ProviderFileAdapter
from programs.providers.formats import csv_row_fields

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


def coursera_csv_header(reader: CsvReader) -> CsvHeader:
    """The columns of a CourseActivity export; raises CsvFileError for an empty file, a
    column named twice or a missing required column (Email, Course ID)."""
    row = reader.header()
    if row is None:
        raise CsvFileError("The file is empty: expected a Coursera CourseActivity export with a header row.", line=1)
    header = csv_header(row, columns=COLUMNS)
    missing = [COLUMNS[f][0] for f in header.missing(REQUIRED)]
    if missing:
        raise CsvFileError(
            f"missing column(s): {', '.join(missing)}. Is this a Coursera CourseActivity export? "
            f"Columns found: {', '.join(header.names)[:300]}",
            line=header.line,
        )
    return header


def coursera_csv_check(*, file: IO[bytes] | IO[str], whole: bool = True) -> CsvCheck:
    """Check a CourseActivity export before importing it (`ProviderFileAdapter.check`
    with `coursera_csv_header`)."""
    return CourseraCsvAdapter.check(file=file, whole=whole)


class CourseraCsvAdapter(ProviderFileAdapter):
    """Yields the rows of a Coursera CSV export as ProviderRecords (`ProviderFileAdapter`:
    UTF-8 with or without BOM). The header is `coursera_csv_header`; a row that says
    Completed = Yes without a Completion Time carries that in `problem`."""

    @classmethod
    def read_header(cls, reader: CsvReader) -> CsvHeader:
        return coursera_csv_header(reader)

    def record(self, row: CsvRow, *, header: CsvHeader) -> ProviderRecord:
        return _record_from_row(row, header=header)


def _record_from_row(csv_row: CsvRow, *, header: CsvHeader) -> ProviderRecord:
    """One CSV row as a ProviderRecord; unparseable values are named in `problem`."""
    fields, raw = csv_row_fields(csv_row, header=header, columns=COLUMNS)
    text, label = fields.text, fields.label
    email = text("email")
    enrolled_at = fields.time("enrolled_at")
    last_activity_at = fields.time("last_activity_at")
    completed_at = fields.time("completed_at")
    # Without a Completed column (a trimmed export), a completion time is the completion.
    is_completed = fields.flag("completed") if "completed" in header.positions else completed_at is not None
    progress = fields.number("progress")
    hours = fields.number("course_hours")
    is_removed = fields.flag("removed")
    if is_completed and completed_at is None and not text("completed_at"):
        fields.problems.append(f"{label('completed')} is Yes but {label('completed_at')} is empty")
    if not text("course_id"):
        fields.problems.append(f"{label('course_id')} is empty")
    if not email and not text("external_id"):
        fields.problems.append(f"{label('email')} and {label('external_id')} are both empty")
    return ProviderRecord(
        raw=raw,
        email=email,
        external_id=learner_external_id(text("external_id"), email),
        full_name=text("full_name"),
        provider_course_id=text("course_id"),
        content_type=text("content_type").lower() or "course",
        course_title=text("course_title"),
        partner=text("partner"),
        course_url=course_url(text("course_slug")),
        course_hours=hours,
        enrolled_at=enrolled_at,
        last_activity_at=last_activity_at,
        is_completed=is_completed,
        completed_at=completed_at,
        progress=progress,
        is_removed=is_removed,
        line=csv_row.line,
        problem=fields.problem(),
    )
