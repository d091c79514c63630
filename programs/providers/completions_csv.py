"""LearnHub's completions file: completions of a connection of kind `other` (in-person
workshops, an internal academy, a provider without an adapter).

One row per learner x course, columns found by name (any order, case and spaces ignored):

- `email`, `external_id`: the learner (at least one on each row), matched by external id,
  then e-mail, like every provider record;
- `course_id` (required on each row): the course, with the provider `other`;
- `course_title`: its title;
- `completed_on`: empty, not completed; `YYYY-MM-DD`, that day in the company time zone
  (recorded at noon); a date and time (ISO-8601, e.g. `2024-12-05T17:00:00+01:00`), with
  its zone, or else in the company time zone;
- optional: `course_url` (http or https) and `hours` (0 to 10,000).

The first five columns must be in the header, the last two may be left out. The file is
UTF-8 (with or without BOM) or Windows-1252 (what Excel on Windows saves), its lines end
with LF or CRLF. A column LearnHub does not know (a typo such as `completed on`) refuses
the file: its data would be ignored. A row with a bad value is kept as invalid, with its
line and reason; importing the same file again changes nothing.
"""

from __future__ import annotations

from typing import IO

from programs.csv_files import (
    CsvCheck,
    CsvFileError,
    CsvHeader,
    CsvReader,
    CsvRow,
    csv_header,
    unknown_columns_message,
)
from programs.providers.base import ProviderRecord
from programs.providers.files import ProviderFileAdapter
from programs.providers.formats import csv_row_fields

COLUMNS: dict[str, tuple[str, ...]] = {
    name: (name,)
    for name in ("email", "external_id", "course_id", "course_title", "completed_on", "course_url", "hours")
}
REQUIRED = ("email", "external_id", "course_id", "course_title", "completed_on")
URL_SCHEMES = ("http://", "https://")
MAX_HOURS = 10_000


def completions_csv_header(reader: CsvReader) -> CsvHeader:
    """The columns of a completions file; raises CsvFileError for an empty file, a column
    named twice, a required column missing (REQUIRED) or a column LearnHub does not know."""
    row = reader.header()
    if row is None:
        raise CsvFileError(
            f"The file is empty: expected a LearnHub completions file with the header {', '.join(COLUMNS)}.", line=1
        )
    header = csv_header(row, columns=COLUMNS)
    missing = header.missing(REQUIRED)
    if missing:
        raise CsvFileError(
            f"missing column(s): {', '.join(missing)}. A LearnHub completions file has the columns "
            f"{', '.join(COLUMNS)} (course_url and hours may be left out). "
            f"Columns found: {', '.join(header.names)[:300]}",
            line=header.line,
        )
    if header.unknown:
        raise CsvFileError(unknown_columns_message(header, known=list(COLUMNS)), line=header.line)
    return header


def completions_csv_check(*, file: IO[bytes] | IO[str], whole: bool = True) -> CsvCheck:
    """Check a completions file before importing it (`ProviderFileAdapter.check` with
    `completions_csv_header`); the zone does not matter to the check."""
    return CompletionsCsvAdapter.check(file=file, whole=whole)


class CompletionsCsvAdapter(ProviderFileAdapter):
    """Yields the rows of a completions file as ProviderRecords (`ProviderFileAdapter`,
    Windows-1252 too); `zone` is the company time zone, in which a day or a date and time
    without a zone is read."""

    windows_1252 = True

    @classmethod
    def read_header(cls, reader: CsvReader) -> CsvHeader:
        return completions_csv_header(reader)

    def record(self, row: CsvRow, *, header: CsvHeader) -> ProviderRecord:
        """One row: completed when `completed_on` is set, at that time (a day: noon of it
        in `zone`); every value that does not parse is named in `problem`."""
        fields, raw = csv_row_fields(row, header=header, columns=COLUMNS)
        text = fields.text
        completed_at = fields.local_time("completed_on", zone=self.zone)
        hours = fields.number("hours")
        if hours is not None and not 0 <= hours <= MAX_HOURS:
            fields.problems.append(f"{fields.label('hours')}: {text('hours')} is not between 0 and {MAX_HOURS:,}")
        if text("course_url") and not text("course_url").lower().startswith(URL_SCHEMES):
            fields.problems.append(f"{fields.label('course_url')}: '{text('course_url')}' is not an http(s) address")
        if not text("course_id"):
            fields.problems.append(f"{fields.label('course_id')} is empty")
        if not text("email") and not text("external_id"):
            fields.problems.append(f"{fields.label('email')} and {fields.label('external_id')} are both empty")
        return ProviderRecord(
            raw=raw,
            email=text("email"),
            external_id=text("external_id"),
            provider_course_id=text("course_id"),
            course_title=text("course_title"),
            course_url=text("course_url"),
            course_hours=hours,
            last_activity_at=completed_at,
            is_completed=bool(text("completed_on")),
            completed_at=completed_at,
            line=row.line,
            problem=fields.problem(),
        )
