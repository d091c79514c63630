"""The roster: importing the HR file of everyone in the company, and listing it.

One function, `roster_rows_import`, has the rules: it checks and writes rows keyed by the
roster columns. `roster_import` reads a file into such rows (decoding and the header by
programs.csv_files) for the `import_roster` command and the upload page's import job
(programs/imports.py); the API's bulk push hands its JSON rows to `roster_rows_import`
directly. So the file and the API can never disagree.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from programs.access import employee_access_end
from programs.csv_files import (
    NUL_PROBLEM,
    CsvCheck,
    CsvFileError,
    CsvHeader,
    CsvReader,
    csv_file_check,
    csv_header,
    unknown_columns_also,
    unknown_columns_message,
)
from programs.models import PATH_SEPARATOR, Employee, Organization
from programs.organizations import organization_ensure, organization_path_split
from programs.sync.pipeline import unmatched_rematch_queue
from reports.hooks import progress_changed

ROSTER_COLUMNS = (
    "email",
    "full_name",
    "external_id",
    "organization",
    "title",
    "manager_email",
    "hired_on",
    "departed_on",
)
# A file without one of the other columns leaves that field of existing people as it is.
REQUIRED_COLUMNS = ("email", "full_name", "organization")
OPTIONAL_FIELDS = {  # column -> Employee field
    "external_id": "external_id",
    "title": "title",
    "manager_email": "manager",
    "hired_on": "hired_on",
    "departed_on": "departed_on",
}
CREATE_BATCH_SIZE = 1000
UPDATE_BATCH_SIZE = 500
PROGRESS_EVERY = 1000  # rows read between two calls of roster_import's `progress`


def _max_length(model: type[models.Model], name: str) -> int:
    length: int = getattr(model._meta.get_field(name), "max_length", 0)
    return length


MAX_LENGTHS = {name: _max_length(Employee, name) for name in ("email", "full_name", "external_id", "title")}
ORG_NAME_MAX_LENGTH = _max_length(Organization, "name")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class RosterFileError(CsvFileError):
    """The file as a whole cannot be read as a roster (encoding, header, an unterminated
    quote); nothing was written."""


@dataclass(frozen=True)
class RosterRowError:
    line: int  # physical line of the file where the row starts; the header is line 1
    reason: str


@dataclass(frozen=True)
class RosterRow:
    """One row for `roster_rows_import`: its value for each roster column (a column it
    lacks reads as ""), and the `line` its errors name: the file's line where the row
    starts (the header is line 1), or the row's index in an API push. `problems` are what
    its source found that stops it being read at all (a NUL byte in the file, a JSON row
    that is not an object of strings): the row is reported with them and nothing else."""

    line: int
    values: Mapping[str, str]
    problems: tuple[str, ...] = ()


@dataclass
class RosterImportResult:
    """What an import did, or (dry run, or any bad row) would have done.

    `applied` is True only when the changes were written."""

    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    departed: int = 0
    errors: list[RosterRowError] = field(default_factory=list)
    dry_run: bool = False
    applied: bool = False

    @property
    def error_count(self) -> int:
        return len(self.errors)


@dataclass
class _Row:
    line: int
    email: str
    full_name: str = ""
    external_id: str = ""
    org_path: str = ""
    title: str = ""
    manager_email: str = ""
    hired_on: dt.date | None = None
    departed_on: dt.date | None = None


@dataclass
class _ParsedFile:
    rows: list[_Row]  # the rows without errors so far
    errors: list[RosterRowError]
    columns: set[str]  # the roster columns the header names
    emails: dict[str, int]  # every valid e-mail of the file, good row or not, with its line
    row_count: int


def roster_import(
    *,
    file: IO[bytes],
    dry_run: bool = False,
    mark_missing_departed: bool = False,
    apply_valid_rows: bool = False,
    progress: Callable[[int], None] | None = None,
) -> RosterImportResult:
    """Bring the employees in line with a roster CSV file (UTF-8 with or without BOM,
    UTF-16 with its BOM, or Windows-1252 as Excel on Windows saves it; see CsvReader):
    each row of the file is a row of `roster_rows_import`, which has the rules, reported
    with the line it starts on (the header is line 1).

    Columns are found by header name (case and surrounding spaces ignored): email,
    full_name and organization are required; external_id, title, manager_email,
    hired_on and departed_on are optional (a missing column leaves that field as it is;
    an empty cell empties it). Any other column refuses the file, naming it: a typo such
    as "departed on" must not leave every departure unchanged. A row with a NUL byte is
    bad, reported on the line of the byte.

    The file is read row by row while `roster_rows_import` checks them (`progress` as
    there), never whole. Raises RosterFileError when the file as a whole cannot be read
    (encoding, header, a quote that is never closed).
    """
    reader = CsvReader(file, windows_1252=True)
    try:
        header = roster_header(reader)
    except RosterFileError:
        raise
    except CsvFileError as exc:
        raise RosterFileError(str(exc), line=exc.line) from None
    return roster_rows_import(
        columns=header.positions,
        rows=_file_rows(reader, header),
        dry_run=dry_run,
        mark_missing_departed=mark_missing_departed,
        apply_valid_rows=apply_valid_rows,
        progress=progress,
    )


def roster_rows_import(
    *,
    columns: Iterable[str],
    rows: Iterable[RosterRow],
    dry_run: bool = False,
    mark_missing_departed: bool = False,
    apply_valid_rows: bool = False,
    progress: Callable[[int], None] | None = None,
) -> RosterImportResult:
    """Bring the employees in line with the roster `rows` (the whole company), whose
    values are those of `columns`: email, full_name and organization, and any of
    external_id, title, manager_email, hired_on and departed_on (a column left out leaves
    that field of existing people as it is; an empty value empties it). Values are read
    without surrounding spaces. A person is identified by e-mail, compared ignoring case
    and stored lower-case.

    Rules:
    - A row is bad, and reported with its `line`, when its source found problems in it
      (RosterRow.problems), it has no e-mail or an invalid one, a date that is not
      YYYY-MM-DD, a departure before the hire date, an empty organization, the e-mail or
      external id of an earlier row, an external id another employee holds in LearnHub,
      its own e-mail as manager, or a manager who is neither in the rows (before or after
      the row) nor an employee. Errors come ordered by line.
    - Any bad row means nothing is written (all or nothing, the default), unless
      `apply_valid_rows` is chosen: then the good rows are written and the bad ones are
      only reported. A dry run writes nothing either. All count what the good rows would
      do. Applying the valid rows departs nobody missing from the file: a bad row's
      person may be in it under a mistyped e-mail, and must not lose access for a typo.
    - Otherwise, in one transaction: missing organizations are created, new people are
      created with an unusable password (they claim the account by signing up), changed
      people are updated, and a row equal to the stored person writes nothing.
    - With `mark_missing_departed`, every employee not in the rows who has no departure
      date departs today (company time zone), except people hired after today.
    - After the commit, the numbers may have changed (`reports.hooks.progress_changed`),
      `programs.sync.pipeline.unmatched_rematch_queue` gets the created and
      updated employees, and everyone whose departure date is now today or earlier
      loses access at once (`programs.access.employee_access_end`: sessions and API
      tokens end); later dates are ended by the daily departures task.

    `progress`, when given, is called with the number of rows read so far every
    PROGRESS_EVERY rows while the rows are read and checked, outside any transaction.

    Raises ValueError for `columns` that are not roster columns or lack a required one
    (the caller's mistake: a file's header is checked by `roster_header`), and
    RosterFileError when people changed in LearnHub while the rows were written.
    """
    parsed = _read_rows(rows, columns=_roster_columns(columns), progress=progress)
    org_cache = {org.path: org for org in Organization.objects.all()}
    org_path_by_id: dict[int | None, str] = {org.pk: path for path, org in org_cache.items()}
    known = {
        employee.email.lower(): employee
        for employee in Employee.objects.only(
            "email", "full_name", "organization", *OPTIONAL_FIELDS.values()
        ).order_by()
    }
    email_by_id: dict[int | None, str] = {employee.pk: email for email, employee in known.items()}
    good_rows = _check_against_employees(parsed, known)
    if apply_valid_rows:
        good_rows = _without_bad_managers(good_rows, parsed=parsed, known=known)

    new_rows = [row for row in good_rows if row.email not in known]
    changed: list[tuple[Employee, dict[str, Any]]] = []
    for row in good_rows:
        if row.email in known:
            changes = _changes(row, known[row.email], parsed.columns, org_path_by_id, email_by_id)
            if changes:
                changed.append((known[row.email], changes))
    today = timezone.localdate()
    leaving = [
        employee.pk
        for email, employee in known.items()
        if mark_missing_departed
        and not (parsed.errors and apply_valid_rows)
        and email not in parsed.emails
        and employee.departed_on is None
        and (employee.hired_on is None or employee.hired_on <= today)
    ]
    result = RosterImportResult(
        rows=parsed.row_count,
        created=len(new_rows),
        updated=len(changed),
        unchanged=len(good_rows) - len(new_rows) - len(changed),
        departed=len(leaving),
        errors=sorted(parsed.errors, key=lambda error: error.line),
        dry_run=dry_run,
    )
    if dry_run or (result.errors and not apply_valid_rows):
        return result
    if new_rows or changed or leaving:
        try:
            with transaction.atomic():
                created_ids, result.departed = _apply(
                    new_rows=new_rows,
                    changed=changed,
                    leaving=leaving,
                    known=known,
                    org_cache=org_cache,
                    today=today,
                )
                touched = created_ids + [employee.pk for employee, _changes in changed]
                gone = leaving + [
                    employee.pk
                    for employee, changes in changed
                    if changes.get("departed_on") is not None and changes["departed_on"] <= today
                ]
                transaction.on_commit(lambda: _roster_changed(touched=touched, gone=gone))
        except IntegrityError as exc:
            raise RosterFileError(
                _(
                    "People changed in LearnHub while this file was being imported (another import or an edit at "
                    "the same time). Nothing was written; import the file again."
                )
            ) from exc
    result.applied = True
    return result


def _roster_changed(*, touched: list[int], gone: list[int]) -> None:
    """After an import's commit: the numbers may have changed (`progress_changed`), the
    kept unmatched records are matched again for the people created or updated, and the
    people who left lose access at once."""
    progress_changed()
    if touched:
        unmatched_rematch_queue(employee_ids=touched)
    if gone:
        employee_access_end(
            employee_ids=gone, reason="Its creator left the company (departure recorded on the roster)."
        )


def roster_person_save(*, values: Mapping[str, str], employee: Employee | None = None) -> RosterImportResult:
    """Create or change one person: `roster_rows_import` of a single row (its rules, its
    after-commit effects, departures included) whose columns are the keys of `values`;
    the people not in the row are left as they are. Used by SCIM provisioning.

    The roster finds people by e-mail: to give `employee` a new address (an identity
    provider's new userName), the row's e-mail replaces theirs in the same transaction,
    unless another person holds it (then nothing is written and the row is reported)."""
    email = values.get("email", "").strip().lower()
    if employee is None or email == employee.email or not _is_email(email):
        return roster_rows_import(columns=values.keys(), rows=[RosterRow(line=1, values=values)])
    if Employee.objects.filter(email__iexact=email).exists():
        return RosterImportResult(
            rows=1, errors=[RosterRowError(line=1, reason=_("duplicate e-mail %(email)s") % {"email": email})]
        )
    with transaction.atomic():
        Employee.objects.filter(pk=employee.pk).update(email=email)
        result = roster_rows_import(columns=values.keys(), rows=[RosterRow(line=1, values=values)])
        if not result.applied:
            transaction.set_rollback(True)
    return result


def roster_person_remove(*, employee: Employee) -> RosterImportResult:
    """Take `employee` off the roster for good (an identity provider's delete): they
    depart today, with every effect of a departure (`roster_person_save`), unless they had
    already left, and their account is deactivated, so only a new account brings them back."""
    result = RosterImportResult(applied=True)
    if employee.departed_on is None or employee.departed_on > timezone.localdate():
        result = roster_person_save(
            values={
                "email": employee.email,
                "full_name": employee.full_name,
                "organization": employee.organization.path if employee.organization else "",
                "departed_on": timezone.localdate().isoformat(),
            }
        )
    if result.applied:
        Employee.objects.filter(pk=employee.pk).update(is_active=False)
    return result


def roster_employees(*, search: str = "", organization: Organization | None = None) -> QuerySet[Employee]:
    """The roster page's people: name or e-mail containing `search` (ignoring case), in
    `organization` or any organization below it, ordered by e-mail."""
    employees = Employee.objects.select_related("organization", "manager").order_by("email")
    search = search.strip()
    if search:
        employees = employees.filter(Q(full_name__icontains=search) | Q(email__icontains=search))
    if organization is not None:
        employees = employees.filter(organization__in=Organization.objects.subtree(organization))
    return employees


def roster_header(reader: CsvReader) -> CsvHeader:
    """The columns of a roster file; raises RosterFileError for an empty file, a column
    named twice, a missing required column or a column that is not a roster column."""
    row = reader.header()
    if row is None:
        raise RosterFileError(
            _("The file is empty. Its first line must name the columns: %(columns)s.")
            % {"columns": ", ".join(ROSTER_COLUMNS)},
            line=1,
        )
    header = csv_header(row, columns={name: (name,) for name in ROSTER_COLUMNS})
    missing = header.missing(REQUIRED_COLUMNS)
    if missing:
        message = _(
            "The header (line %(line)d) has no %(missing)s column. "
            "The columns are: %(columns)s (the first three are required)."
        ) % {"line": header.line, "missing": " / ".join(missing), "columns": ", ".join(ROSTER_COLUMNS)}
        raise RosterFileError(message + unknown_columns_also(header, known=ROSTER_COLUMNS), line=header.line)
    if header.unknown:
        raise RosterFileError(unknown_columns_message(header, known=ROSTER_COLUMNS), line=header.line)
    return header


def roster_file_check(*, file: IO[bytes], whole: bool = True) -> CsvCheck:
    """Check that `file` can be read as a roster before it is imported: the header (see
    `roster_header`) and, with `whole`, every row to the end of the file (encoding,
    quotes). Returns the number of data rows (0 without `whole`) and the encoding, and
    puts `file` back at its start. The rows' values are checked by `roster_import`."""
    try:
        reader = CsvReader(file, windows_1252=True)
        roster_header(reader)
        if not whole:
            return CsvCheck(rows=0, encoding=reader.encoding, nul_lines=[])
        return csv_file_check(reader)
    except RosterFileError:
        raise
    except CsvFileError as exc:
        raise RosterFileError(str(exc), line=exc.line) from None
    finally:
        file.seek(0)


def _file_rows(reader: CsvReader, header: CsvHeader) -> Iterator[RosterRow]:
    """The rows of the file after `header`, read as they are asked for."""
    try:
        for csv_row in reader.rows():
            if csv_row.nul_line is not None:
                yield RosterRow(line=csv_row.nul_line, values={}, problems=(str(NUL_PROBLEM),))
                continue
            cells = csv_row.cells
            values = {name: cells[index] if index < len(cells) else "" for name, index in header.positions.items()}
            yield RosterRow(line=csv_row.line, values=values)
    except RosterFileError:
        raise
    except CsvFileError as exc:
        raise RosterFileError(str(exc), line=exc.line) from None


def _roster_columns(columns: Iterable[str]) -> set[str]:
    chosen = set(columns)
    unknown = sorted(chosen - set(ROSTER_COLUMNS))
    missing = [name for name in REQUIRED_COLUMNS if name not in chosen]
    if unknown or missing:
        raise ValueError(f"Roster columns: unknown {unknown}, missing {missing}.")
    return chosen


def _read_rows(rows: Iterable[RosterRow], *, columns: set[str], progress: Callable[[int], None] | None) -> _ParsedFile:
    """Check each row on its own, and against the rows before it."""
    parsed = _ParsedFile(rows=[], errors=[], columns=columns, emails={}, row_count=0)
    line_of_email: dict[str, int] = {}
    line_of_external_id: dict[str, int] = {}
    for roster_row in rows:
        parsed.row_count += 1
        if progress is not None and parsed.row_count % PROGRESS_EVERY == 0:
            progress(parsed.row_count)
        line = roster_row.line
        if roster_row.problems:
            parsed.errors.extend(RosterRowError(line=line, reason=reason) for reason in roster_row.problems)
            continue
        values = {name: roster_row.values.get(name, "").strip() for name in columns}
        row, problems = _parse_row(line, values)
        if row.email:
            if row.email in line_of_email:
                problems.append(
                    _("duplicate e-mail %(email)s (also on line %(line)d)")
                    % {"email": row.email, "line": line_of_email[row.email]}
                )
            else:
                line_of_email[row.email] = line
        if row.external_id:
            if row.external_id in line_of_external_id:
                problems.append(
                    _("duplicate external id %(external_id)s (also on line %(line)d)")
                    % {"external_id": row.external_id, "line": line_of_external_id[row.external_id]}
                )
            else:
                line_of_external_id[row.external_id] = line
        parsed.errors.extend(RosterRowError(line=line, reason=reason) for reason in problems)
        if not problems:
            parsed.rows.append(row)
    if progress is not None:
        progress(parsed.row_count)
    parsed.emails = line_of_email
    return parsed


def _parse_row(line: int, values: dict[str, str]) -> tuple[_Row, list[str]]:
    """One row on its own. An invalid e-mail is reported and left out of the row."""
    problems: list[str] = []
    email = values.get("email", "").lower()
    if not email:
        problems.append(_("no e-mail"))
    elif not _is_email(email):
        problems.append(_("invalid e-mail '%(email)s'") % {"email": values["email"]})
        email = ""
    org_parts = organization_path_split(values.get("organization", ""))
    if not org_parts:
        problems.append(_("empty organization"))
    elif any(len(part) > ORG_NAME_MAX_LENGTH for part in org_parts):
        problems.append(_("an organization name is longer than %(max)d characters") % {"max": ORG_NAME_MAX_LENGTH})
    for name, limit in MAX_LENGTHS.items():
        if len(values.get(name, "")) > limit:
            problems.append(_("%(column)s is longer than %(max)d characters") % {"column": name, "max": limit})
    dates: dict[str, dt.date | None] = {}
    for name in ("hired_on", "departed_on"):
        value = values.get(name, "")
        dates[name] = _parse_date(value)
        if value and dates[name] is None:
            problems.append(
                _("bad date in %(column)s: '%(value)s' (expected YYYY-MM-DD)") % {"column": name, "value": value}
            )
    hired_on, departed_on = dates["hired_on"], dates["departed_on"]
    if hired_on and departed_on and departed_on < hired_on:
        problems.append(_departed_before_hired(departed_on=departed_on, hired_on=hired_on))
    manager_email = values.get("manager_email", "").lower()
    if email and manager_email == email:
        problems.append(_("own manager (manager_email is the person's own e-mail)"))
    row = _Row(
        line=line,
        email=email,
        full_name=values.get("full_name", ""),
        external_id=values.get("external_id", ""),
        org_path=PATH_SEPARATOR.join(org_parts),
        title=values.get("title", ""),
        manager_email=manager_email,
        hired_on=hired_on,
        departed_on=departed_on,
    )
    return row, problems


def _departed_before_hired(*, departed_on: dt.date, hired_on: dt.date) -> str:
    return _("departed before hired (departed_on %(departed_on)s is before hired_on %(hired_on)s)") % {
        "departed_on": departed_on,
        "hired_on": hired_on,
    }


def _check_against_employees(parsed: _ParsedFile, known: dict[str, Employee]) -> list[_Row]:
    """The checks that need the stored employees: external ids held by someone else,
    managers on the roster, and (when the file lacks a date column) the departure against
    the stored hire date or the reverse. Returns the rows that pass."""
    holder_of_external_id = {employee.external_id: email for email, employee in known.items() if employee.external_id}
    good: list[_Row] = []
    for row in parsed.rows:
        problems: list[str] = []
        holder = holder_of_external_id.get(row.external_id) if row.external_id else None
        if holder is not None and holder != row.email:
            problems.append(
                _("duplicate external id %(external_id)s: it belongs to another employee (%(holder)s)")
                % {"external_id": row.external_id, "holder": holder}
            )
        if row.manager_email and row.manager_email not in parsed.emails and row.manager_email not in known:
            problems.append(_("manager %(email)s is not on the roster") % {"email": row.manager_email})
        stored = known.get(row.email)
        if stored is not None and not {"hired_on", "departed_on"} <= parsed.columns:
            hired_on = row.hired_on if "hired_on" in parsed.columns else stored.hired_on
            departed_on = row.departed_on if "departed_on" in parsed.columns else stored.departed_on
            if hired_on and departed_on and departed_on < hired_on:
                problems.append(_departed_before_hired(departed_on=departed_on, hired_on=hired_on))
        parsed.errors.extend(RosterRowError(line=row.line, reason=reason) for reason in problems)
        if not problems:
            good.append(row)
    return good


def _without_bad_managers(rows: list[_Row], *, parsed: _ParsedFile, known: dict[str, Employee]) -> list[_Row]:
    """The rows whose manager is an employee or on a row that is written (applying the
    valid rows): a manager whose own row is bad cannot be named, and neither, in turn, can
    the people of that manager's reports who are new. Each row left out is reported."""
    while True:
        named = {row.email for row in rows} | known.keys()
        orphans = [row for row in rows if row.manager_email and row.manager_email not in named]
        if not orphans:
            return rows
        for row in orphans:
            reason = _("manager %(email)s is on a bad line (line %(line)d)") % {
                "email": row.manager_email,
                "line": parsed.emails[row.manager_email],
            }
            parsed.errors.append(RosterRowError(line=row.line, reason=reason))
        orphan_lines = {row.line for row in orphans}
        rows = [row for row in rows if row.line not in orphan_lines]


def _changes(
    row: _Row,
    employee: Employee,
    columns: set[str],
    org_path_by_id: dict[int | None, str],
    email_by_id: dict[int | None, str],
) -> dict[str, Any]:
    """The fields writing `row` would change on the stored `employee`, with the wanted
    values; the organization as a path and the manager as an e-mail ("" for none)."""
    wanted: dict[str, Any] = {"email": row.email, "full_name": row.full_name}
    stored: dict[str, Any] = {"email": employee.email, "full_name": employee.full_name}
    wanted["organization_id"], stored["organization_id"] = row.org_path, org_path_by_id.get(employee.organization_id)
    for column in ("external_id", "title", "hired_on", "departed_on"):
        if column in columns:
            wanted[column], stored[column] = getattr(row, column), getattr(employee, column)
    if "manager_email" in columns:
        wanted["manager_id"] = row.manager_email
        stored["manager_id"] = email_by_id.get(employee.manager_id, "")
    return {name: value for name, value in wanted.items() if stored[name] != value}


def _apply(
    *,
    new_rows: list[_Row],
    changed: list[tuple[Employee, dict[str, Any]]],
    leaving: list[int],
    known: dict[str, Employee],
    org_cache: dict[str, Organization],
    today: dt.date,
) -> tuple[list[int], int]:
    """Write the import: organizations, new people, then every change (a manager may be
    new too) and departures. Returns the new ids and the number departed.

    Updates are grouped by identical changes, one UPDATE for each group: an organization
    move, a new manager or a new title of many people costs one query, and fields that a
    constraint ties together (hired_on, departed_on) always change in the same statement.
    """
    created: list[Employee] = []
    for row in new_rows:
        manager = known.get(row.manager_email)
        created.append(
            Employee(
                email=row.email,
                full_name=row.full_name,
                external_id=row.external_id,
                organization=organization_ensure(path=row.org_path, cache=org_cache),
                title=row.title,
                manager=manager,
                hired_on=row.hired_on,
                departed_on=row.departed_on,
                # What set_unusable_password() stores, without its slower random string.
                password=UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30),
            )
        )
    Employee.objects.bulk_create(created, batch_size=CREATE_BATCH_SIZE)
    by_email = {**known, **{employee.email: employee for employee in created}}

    groups: dict[tuple[tuple[str, Any], ...], list[int]] = defaultdict(list)
    for row, employee in zip(new_rows, created, strict=True):
        if row.manager_email and employee.manager is None:  # the manager is new too
            groups[(("manager_id", by_email[row.manager_email].pk),)].append(employee.pk)
    for employee, changes in changed:
        values = dict(changes)
        if "organization_id" in values:
            values["organization_id"] = organization_ensure(path=values["organization_id"], cache=org_cache).pk
        if "manager_id" in values:
            values["manager_id"] = by_email[values["manager_id"]].pk if values["manager_id"] else None
        groups[tuple(sorted(values.items()))].append(employee.pk)
    for group, ids in groups.items():
        for start in range(0, len(ids), UPDATE_BATCH_SIZE):
            Employee.objects.filter(pk__in=ids[start : start + UPDATE_BATCH_SIZE]).update(**dict(group))

    departed = 0
    for start in range(0, len(leaving), UPDATE_BATCH_SIZE):
        departed += Employee.objects.filter(
            pk__in=leaving[start : start + UPDATE_BATCH_SIZE], departed_on__isnull=True
        ).update(departed_on=today)
    return [employee.pk for employee in created], departed


def _parse_date(value: str) -> dt.date | None:
    if not _DATE.fullmatch(value):
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def _is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True
