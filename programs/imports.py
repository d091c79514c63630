"""Uploaded files imported by a Celery task: the roster and provider completion
exports. A large file never runs inside the web request, where gunicorn's timeout would
cut it part-way, and a bad one is refused before anything is written.

- `import_job_create` (the upload pages) checks the upload (size limit
  IMPORT_MAX_UPLOAD_MB, encoding and header) and refuses it with the reason, or stores it
  (default storage, under MEDIA_ROOT, never served) with an ImportJob, and queues
  `programs.tasks.import_job_run_task` after commit.
- `import_job_run` (the task) checks the whole file first (nothing is written when any
  line cannot be read), runs the import with its progress on the job, records what it
  did, and deletes the stored file once the job has ended.
- `provider_csv_import` is the provider file import shared by the job and the
  `import_provider_csv` command; the roster's is `programs.roster.roster_import`. The
  connection's kind says which file it reads (`PROVIDER_FILE_FORMATS`): a Coursera
  connection its CourseActivity export, an `other` connection LearnHub's completions file;
  the other kinds take no file (`provider_file_problem` says where theirs come from).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from programs.csv_files import ENCODING_LABELS, CsvCheck, CsvFileError
from programs.models import (
    Employee,
    ImportJob,
    ImportKind,
    ImportStatus,
    Provider,
    ProviderConnection,
    SyncRun,
    SyncStatus,
)
from programs.providers.base import ProviderRecord
from programs.providers.completions_csv import CompletionsCsvAdapter
from programs.providers.coursera_csv import CourseraCsvAdapter
from programs.providers.files import ProviderFileAdapter
from programs.roster import RosterImportResult, roster_file_check, roster_import
from programs.sync.lease import SyncAlreadyRunningError
from programs.sync.pipeline import sync_run, sync_run_counts
from programs.task_queue import task_queue_on_commit

logger = logging.getLogger(__name__)

# A provider job whose connection another sync holds waits for it: the task looks again
# after the hold ends (at least MIN, at most MAX seconds), up to WAIT_ATTEMPTS times.
WAIT_MIN_SECONDS = 2
WAIT_MAX_SECONDS = 60
WAIT_ATTEMPTS = 60
# A job still marked running this long after its start has no live task: a task runs at most
# CELERY_TASK_TIME_LIMIT, and a redelivered one starts the job again (a new start).
STALE_MARGIN_SECONDS = 60
ERRORS_KEPT = 500  # bad lines kept on a job and listed on its page, which says how many more there are
COUNT_FIELDS = ("fetched", "created", "updated", "unchanged", "merged", "skipped", "invalid", "unmatched")
ENDED = (ImportStatus.SUCCEEDED, ImportStatus.FAILED)


# --- The provider file import (the job and the import_provider_csv command) -------------------


@dataclass(frozen=True)
class ProviderFileFormat:
    """The file a connection of one kind imports: its name and description for people,
    and its adapter."""

    name: str | Promise
    description: str | Promise
    adapter: type[ProviderFileAdapter]

    def check(self, *, file: IO[bytes], whole: bool = True) -> CsvCheck:
        return self.adapter.check(file=file, whole=whole)


PROVIDER_FILE_FORMATS: dict[str, ProviderFileFormat] = {
    Provider.COURSERA: ProviderFileFormat(
        name=gettext_lazy("Coursera CourseActivity export"),
        description=gettext_lazy(
            'The Coursera "CourseActivity" export of this connection\'s programs (UTF-8). Columns are found by name; '
            "extra columns are ignored."
        ),
        adapter=CourseraCsvAdapter,
    ),
    Provider.OTHER: ProviderFileFormat(
        name=gettext_lazy("LearnHub completions file"),
        description=gettext_lazy(
            "One row per person and course with the columns email, external_id, course_id, course_title, "
            "completed_on (and optionally course_url, hours). completed_on is empty (not completed), a day "
            "(YYYY-MM-DD, in the company time zone) or a date and time. UTF-8 or Windows-1252 (Excel's CSV)."
        ),
        adapter=CompletionsCsvAdapter,
    ),
}
# Where the completions of a kind that takes no file come from.
NO_FILE: dict[str, Promise] = {
    Provider.XAPI: gettext_lazy(
        "xAPI statements connections take no file: the provider pushes its xAPI statements to LearnHub. Files are "
        "imported for Coursera connections (their CourseActivity export) and for Other connections (a LearnHub "
        "completions file)."
    ),
}


def provider_file_problem(*, connection: ProviderConnection) -> str:
    """Why no file can be imported for `connection` ("" when one can): files are the
    Coursera export of a Coursera connection and LearnHub's completions file of an `other`
    connection (`PROVIDER_FILE_FORMATS`). Any other kind's completions come from its API,
    or, for xAPI, from the statements the provider pushes."""
    if connection.kind in PROVIDER_FILE_FORMATS:
        return ""
    if connection.kind in NO_FILE:
        return str(NO_FILE[connection.kind])
    return _(
        "%(kind)s connections take no file: they come from the %(kind)s API: sync it. Files are imported for "
        "Coursera connections (their CourseActivity export) and for Other connections (a LearnHub completions file)."
    ) % {"kind": connection.get_kind_display()}


def provider_file_format(*, connection: ProviderConnection) -> ProviderFileFormat:
    """The file format of `connection`'s kind; raises CsvFileError with
    `provider_file_problem` when it takes no file."""
    problem = provider_file_problem(connection=connection)
    if problem:
        raise CsvFileError(problem)
    return PROVIDER_FILE_FORMATS[connection.kind]


@dataclass
class ProviderCsvImport:
    """What `provider_csv_import` did: its run, the file's data rows, the last line whose
    row is written (None when none is) and, when an unexpected error stopped the run,
    that error (the run is then failed, and its counts are what was written)."""

    run: SyncRun
    rows: int
    kept_through_line: int | None
    error: str = ""
    encoding: str = ""

    @property
    def kept(self) -> str:
        """What stays written after a failure, and how to complete it ("" when nothing does)."""
        if self.run.status != SyncStatus.FAILED or self.kept_through_line is None:
            return ""
        return _(
            "The rows up to line %(line)d are imported and kept (%(counts)s); the rows after it are not. Import the "
            "same file again to complete it: the rows already imported are counted as unchanged, nothing is doubled."
        ) % {"line": self.kept_through_line, "counts": sync_run_counts(run=self.run)}


class ImportProgress(Protocol):
    """Where an import reports its progress (an ImportJob's progress bar)."""

    def rows_found(self, rows: int) -> None:
        """The file is checked: it has `rows` data rows."""

    def rows_done(self, rows: int) -> None:
        """`rows` rows are done (read and checked, or written)."""


class _PagesWritten:
    """What `sync_run` has committed of a file, told after each page (in the writer's
    thread, once the page is committed): how many records, up to which line, and the
    progress bar moved."""

    def __init__(self, *, progress: ImportProgress | None) -> None:
        self.progress = progress
        self.records = 0
        self.last_line: int | None = None

    def __call__(self, page: list[ProviderRecord]) -> None:
        self.records += len(page)
        if page:
            self.last_line = page[-1].line or 0
        if self.progress is not None:
            self.progress.rows_done(self.records)

    def last_line_of(self, records: int) -> int | None:
        """The last line of the pages holding the first `records` records (None for 0):
        a run's committed records are those of the pages committed so far."""
        return self.last_line if records and records == self.records else None


def provider_csv_import(
    *, connection: ProviderConnection, file: IO[bytes], progress: ImportProgress | None = None
) -> ProviderCsvImport:
    """Import the file of `connection`'s kind (`provider_file_format`: a Coursera
    CourseActivity export, or LearnHub's completions file for an `other` connection, read
    in the company time zone) through the sync pipeline (source "csv"), after checking the
    whole file. A kind that takes no file raises CsvFileError, writing nothing.

    - The whole file is read first (the format's `check`): a file that cannot be read to
      its end raises CsvFileError with the line, and nothing is written, not even a run.
    - Then `sync_run` writes it page by page (raises SyncAlreadyRunningError, writing
      nothing, while another sync holds the connection). Bad rows become invalid records.
    - An unexpected error part-way (the database, a time limit) ends the run as failed;
      the pages before it stay written, and `kept_through_line` says up to which line.
      Importing the same file again completes it: the pipeline upserts, so rows already
      written are unchanged and nothing is counted twice.
    `progress` hears of the rows found by the check, then of the rows written after each
    page is committed."""
    file_format = provider_file_format(connection=connection)
    check = file_format.check(file=file)
    if progress is not None:
        progress.rows_found(check.rows)
    reader = file_format.adapter(file=file, zone=timezone.get_default_timezone())
    pages = _PagesWritten(progress=progress)
    started = timezone.now()
    try:
        run = sync_run(connection=connection, adapter=reader, source="csv", page_written=pages)
    except SyncAlreadyRunningError:
        raise
    except Exception as exc:
        failed = _csv_run_started_since(connection=connection, started=started)
        if failed is None:
            raise
        error = _("The import stopped on an unexpected error (%(error)s); see the server log.") % {
            "error": exc.__class__.__name__
        }
        return ProviderCsvImport(
            run=failed,
            rows=check.rows,
            kept_through_line=pages.last_line_of(failed.fetched),
            error=error,
            encoding=check.encoding,
        )
    run.refresh_from_db()  # a failed page added to the counts before its transaction rolled back
    return ProviderCsvImport(
        run=run, rows=check.rows, kept_through_line=pages.last_line_of(run.fetched), encoding=check.encoding
    )


def _csv_run_started_since(*, connection: ProviderConnection, started: dt.datetime) -> SyncRun | None:
    return SyncRun.objects.filter(connection=connection, source="csv", started_at__gte=started).order_by("-pk").first()


# --- Jobs ----------------------------------------------------------------------------------


def import_upload_check(*, kind: str, upload: IO[bytes], size: int, connection: ProviderConnection | None) -> str:
    """Check an upload before it is stored: its size (at most IMPORT_MAX_UPLOAD_MB), and
    that it starts as a file of `kind` (the header of a roster, or of the file format of
    the connection's kind: `provider_file_format`). Returns its encoding so far; raises
    CsvFileError with the reason. The rest of the file is checked by the job."""
    limit_mb = settings.IMPORT_MAX_UPLOAD_MB
    if size > limit_mb * 1024 * 1024:
        raise CsvFileError(
            _(
                "The file is %(size)s MB; an upload can be at most %(limit)s MB. "
                "Split it, or ask the administrator to raise IMPORT_MAX_UPLOAD_MB."
            )
            % {"size": f"{size / 1024 / 1024:,.1f}", "limit": limit_mb}
        )
    if size == 0:
        raise CsvFileError(_("The file is empty."))
    if kind == ImportKind.PROVIDER_CSV:
        if connection is None:
            raise CsvFileError(_("A provider file is imported for a connection: none was given."))
        return provider_file_format(connection=connection).check(file=upload, whole=False).encoding
    return roster_file_check(file=upload, whole=False).encoding


def import_job_create(
    *,
    kind: str,
    upload: UploadedFile,
    created_by: Employee | None,
    connection: ProviderConnection | None = None,
    options: dict[str, Any] | None = None,
) -> ImportJob:
    """Check an uploaded file (`import_upload_check`: raises CsvFileError, storing and
    writing nothing) and, when it passes, store it with a queued ImportJob and queue the
    job's task once the current transaction commits. `options` are the import's options
    (roster: dry_run, mark_missing_departed, apply_valid_rows); the job also keeps the
    language active now, the uploader's, in which its task writes the job's messages."""
    size = upload.size or 0
    encoding = import_upload_check(kind=kind, upload=upload, size=size, connection=connection)
    name = os.path.basename(upload.name or "upload.csv")
    job = ImportJob(
        kind=kind,
        connection=connection if kind == ImportKind.PROVIDER_CSV else None,
        file_name=name[:255],
        file_size=size,
        encoding=encoding,
        options={**(options or {}), "language": translation.get_language()},
        created_by=created_by,
    )
    job.file.save(name, upload, save=False)
    job.save()
    task_queue_on_commit(name="programs.tasks.import_job_run_task", args=(job.pk,))
    return job


@dataclass
class _Outcome:
    status: str
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    sync_run: SyncRun | None = None


def import_job_run(*, job: ImportJob, may_wait: bool = True) -> ImportJob:
    """Run the import of a queued job and record its outcome on it.

    Locking contract: the job is claimed with a conditional UPDATE (queued or running ->
    running). A job that has ended is returned as it is, so a task delivered twice does
    nothing the second time. A job still marked running is run again: its task was
    redelivered because its worker died (acks_late), and both imports are safe to repeat
    (the roster import writes all or nothing; the provider import holds its connection's
    lease and upserts).

    - The whole file is checked first: a line that cannot be read (encoding, an
      unterminated quote, a NUL byte in a provider file) fails the job with that line,
      and nothing is written. `rows_total` is then the file's data rows.
    - Roster: `roster_import` with the job's options (all or nothing by default: bad
      rows fail the job, listed with their lines; with apply_valid_rows the valid rows are
      written, the job succeeds and lists the bad ones). `rows_done` counts the rows read and checked.
    - Provider: `provider_csv_import`; `rows_done` counts the rows written. A failure
      part-way says which lines are kept. While another sync holds the connection the
      job goes back to queued, and the task tries again, when `may_wait`; else it fails.
    - Once the job has ended its stored file is deleted. An error that stops the process
      itself (SystemExit, KeyboardInterrupt) is not caught: the job stays running and keeps
      its file for the task's redelivery.
    """
    with translation.override(job.options.get("language")):
        return _job_run(job, may_wait=may_wait)


def _job_run(job: ImportJob, *, may_wait: bool) -> ImportJob:
    claimed = ImportJob.objects.filter(pk=job.pk, status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING]).update(
        status=ImportStatus.RUNNING, started_at=timezone.now(), finished_at=None, rows_done=0
    )
    job.refresh_from_db()
    if not claimed:
        return job
    try:
        with job.file.open("rb") as file:
            outcome = _job_import(job, file)
    except FileNotFoundError:
        outcome = _Outcome(
            ImportStatus.FAILED,
            error=_("The uploaded file is no longer stored. Nothing was imported; upload it again."),
        )
    except CsvFileError as exc:
        outcome = _Outcome(
            ImportStatus.FAILED,
            error=_("Nothing was imported: %(reason)s") % {"reason": exc},
            result={"errors": [{"line": exc.line, "message": str(exc)}]},
        )
    except SyncAlreadyRunningError as exc:
        if may_wait:
            return _job_wait(job, exc)
        outcome = _Outcome(
            ImportStatus.FAILED,
            error=_("%(reason)s It kept the connection busy, so nothing was imported: upload the file again.")
            % {"reason": exc},
        )
    except Exception as exc:
        logger.exception("Import job %s stopped on an unexpected error", job.pk)
        outcome = _Outcome(
            ImportStatus.FAILED,
            error=(
                _(
                    "The import stopped on an unexpected error (%(error)s); see the server log. Nothing was "
                    "written: a roster import writes in one transaction."
                )
                if job.kind == ImportKind.ROSTER
                else _("The import stopped on an unexpected error (%(error)s); see the server log. ")
            )
            % {"error": exc.__class__.__name__},
        )
    return _job_finish(job, outcome)


def _job_import(job: ImportJob, file: IO[bytes]) -> _Outcome:
    if job.kind == ImportKind.ROSTER:
        return _roster_job_import(job, file)
    if job.connection is None:
        raise CsvFileError(_("This provider file job names no connection. Nothing was imported."))
    return _provider_job_import(job, job.connection, file)


class _JobProgress:
    """An import's progress written on its job, each step in its own statement (outside
    the import's transactions, so the job page sees it at once)."""

    def __init__(self, job: ImportJob) -> None:
        self.job = job
        self.run_linked = False

    def rows_found(self, rows: int) -> None:
        self.job.rows_total = rows
        ImportJob.objects.filter(pk=self.job.pk).update(rows_total=rows)

    def rows_done(self, rows: int) -> None:
        changes: dict[str, Any] = {"rows_done": rows}
        if not self.run_linked and self.job.connection_id is not None:
            # The first page is written: the run exists, and the job page links to it.
            self.run_linked = True
            changes["sync_run_id"] = (
                SyncRun.objects.filter(connection_id=self.job.connection_id, source="csv", status=SyncStatus.RUNNING)
                .order_by("-pk")
                .values_list("pk", flat=True)
                .first()
            )
        ImportJob.objects.filter(pk=self.job.pk).update(**changes)


def _roster_job_import(job: ImportJob, file: IO[bytes]) -> _Outcome:
    progress = _JobProgress(job)
    check = roster_file_check(file=file)
    job.encoding = check.encoding  # the upload's check read the header only
    progress.rows_found(check.rows)
    result = roster_import(
        file=file,
        dry_run=bool(job.options.get("dry_run")),
        mark_missing_departed=bool(job.options.get("mark_missing_departed")),
        apply_valid_rows=bool(job.options.get("apply_valid_rows")),
        progress=progress.rows_done,
    )
    summary = roster_result_json(result)
    if result.errors and not result.applied:
        return _Outcome(
            ImportStatus.FAILED,
            result=summary,
            error=ngettext(
                "Nothing was imported: %(count)d error in the file, listed below. Fix them and upload the file "
                "again; nobody was changed.",
                "Nothing was imported: %(count)d errors in the file, listed below. Fix them and upload the file "
                "again; nobody was changed.",
                result.error_count,
            )
            % {"count": result.error_count},
        )
    return _Outcome(ImportStatus.SUCCEEDED, result=summary)


def roster_result_json(result: RosterImportResult) -> dict[str, Any]:
    """A roster import's result as the job keeps it (the first ERRORS_KEPT bad lines)."""
    return {
        "rows": result.rows,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "departed": result.departed,
        "error_count": result.error_count,
        "errors": [{"line": error.line, "message": error.reason} for error in result.errors[:ERRORS_KEPT]],
        "dry_run": result.dry_run,
        "applied": result.applied,
    }


def _provider_job_import(job: ImportJob, connection: ProviderConnection, file: IO[bytes]) -> _Outcome:
    imported = provider_csv_import(connection=connection, file=file, progress=_JobProgress(job))
    job.encoding = imported.encoding or job.encoding  # the upload's check read the header only
    run = imported.run
    result: dict[str, Any] = {
        "rows": imported.rows,
        "counts": {name: getattr(run, name) for name in COUNT_FIELDS},
        "kept_through_line": imported.kept_through_line,
    }
    if run.status == SyncStatus.SUCCEEDED:
        return _Outcome(ImportStatus.SUCCEEDED, result=result, sync_run=run)
    result["kept"] = imported.kept
    return _Outcome(ImportStatus.FAILED, result=result, error=run.error or imported.error, sync_run=run)


def _job_wait(job: ImportJob, exc: SyncAlreadyRunningError) -> ImportJob:
    """Back to queued: the task tries again when the connection's hold has ended."""
    job.status = ImportStatus.QUEUED
    job.result = {"waiting": str(exc), "retry_in": import_job_wait_seconds(held_until=exc.held_until)}
    job.save(update_fields=["status", "result"])
    return job


def import_job_wait_seconds(*, held_until: dt.datetime | None) -> int:
    """How long a waiting job's task waits before it tries again: until the hold ends."""
    if held_until is None:
        return WAIT_MAX_SECONDS
    seconds = int((held_until - timezone.now()).total_seconds()) + 1
    return max(WAIT_MIN_SECONDS, min(WAIT_MAX_SECONDS, seconds))


def _job_finish(job: ImportJob, outcome: _Outcome) -> ImportJob:
    job.status, job.result, job.error = outcome.status, outcome.result, outcome.error
    job.finished_at = timezone.now()
    if outcome.sync_run is not None:
        job.sync_run = outcome.sync_run
    if outcome.status == ImportStatus.SUCCEEDED and job.rows_total is not None:
        job.rows_done = job.rows_total
    else:
        job.rows_done = ImportJob.objects.filter(pk=job.pk).values_list("rows_done", flat=True).get()
    if job.file:
        job.file.delete(save=False)
    job.file = ""  # type: ignore[assignment]
    job.save(update_fields=["status", "result", "error", "finished_at", "sync_run", "rows_done", "file", "encoding"])
    return job


# --- Reading jobs (the job page and the upload pages) ----------------------------------------


def import_jobs_recent(*, kind: str, connection: ProviderConnection | None = None, limit: int = 10) -> list[ImportJob]:
    """The latest jobs of `kind` (of `connection`, for provider files), newest first."""
    jobs = ImportJob.objects.filter(kind=kind).select_related("created_by").order_by("-created_at", "-pk")
    if connection is not None:
        jobs = jobs.filter(connection=connection)
    return list(jobs[:limit])


@dataclass(frozen=True)
class ImportJobPage:
    """What the job page shows, worked out from the job (the template only displays it)."""

    job: ImportJob
    is_active: bool  # queued or running: the page refreshes itself
    is_stale: bool  # marked running, but no task can still be running it
    percent: int | None  # of rows_total done; None while the total is unknown
    phase: str
    counts: list[tuple[str, int]]
    errors: list[dict[str, Any]]
    error_count: int
    kept: str
    waiting: str
    encoding: str
    written: bool  # the import wrote its changes (a provider file: any row)


def import_job_page(*, job: ImportJob, now: dt.datetime | None = None) -> ImportJobPage:
    """The job page's content: status, progress, the counts and the bad lines. A job marked
    running for longer than a task may run (`import_job_is_stale`) is shown as stopped."""
    is_stale = import_job_is_stale(job=job, now=now or timezone.now())
    is_active = job.status not in ENDED and not is_stale
    total, done = job.rows_total, job.rows_done
    percent = min(100, done * 100 // total) if total else (100 if total == 0 else None)
    result = job.result or {}
    counts: list[tuple[str, int]] = []
    if job.kind == ImportKind.ROSTER and "rows" in result:
        counts = [
            (_("Rows read"), result["rows"]),
            (_("Created"), result["created"]),
            (_("Updated"), result["updated"]),
            (_("Unchanged"), result["unchanged"]),
            (_("Departed"), result["departed"]),
            (_("Errors"), result["error_count"]),
        ]
    elif "counts" in result:
        labels = {
            "fetched": _("Rows read"),
            "created": _("Enrollments created"),
            "updated": _("Enrollments updated"),
            "unchanged": _("Enrollments unchanged"),
            "merged": _("Duplicates merged"),
            "skipped": _("Skipped (not a course)"),
            "invalid": _("Invalid lines"),
            "unmatched": _("People not on the roster"),
        }
        counts = [(labels[name], result["counts"][name]) for name in COUNT_FIELDS]
    errors = list(result.get("errors", []))
    return ImportJobPage(
        job=job,
        is_active=is_active,
        is_stale=is_stale,
        percent=percent,
        phase=import_job_stale_reason(job=job) if is_stale else _phase(job),
        counts=counts,
        errors=errors,
        error_count=int(result.get("error_count", len(errors))),
        kept=str(result.get("kept", "")),
        waiting=str(result.get("waiting", "")) if job.status == ImportStatus.QUEUED else "",
        encoding=str(ENCODING_LABELS.get(job.encoding, job.encoding)),
        written=bool(result.get("applied")) if job.kind == ImportKind.ROSTER else bool(job.rows_done),
    )


ERRORS_CSV_HEADER = ("line", "reason")


def import_job_errors_rows(*, job: ImportJob) -> list[tuple[int | None, str]]:
    """The bad lines a job kept (the first ERRORS_KEPT), as rows of its errors CSV."""
    return [(error.get("line"), error["message"]) for error in (job.result or {}).get("errors", [])]


def import_job_is_stale(*, job: ImportJob, now: dt.datetime) -> bool:
    """True when `job` is marked running but its task cannot be running any more: it
    started longer ago than CELERY_TASK_TIME_LIMIT (plus a margin), so its worker was
    killed at the hard time limit, or died and the task was never redelivered."""
    if job.status != ImportStatus.RUNNING or job.started_at is None:
        return False
    limit = dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + STALE_MARGIN_SECONDS)
    return now - job.started_at > limit


def import_job_stale_reason(*, job: ImportJob) -> str:
    """What a stale job's page says instead of its progress."""
    minutes = settings.CELERY_TASK_TIME_LIMIT // 60
    if job.kind == ImportKind.ROSTER:
        return _(
            "This import stopped without finishing: it has been running for longer than a task may run "
            "(%(minutes)d minutes), so its worker was stopped. Nothing was written: a roster import writes in one "
            "transaction."
        ) % {"minutes": minutes}
    return _(
        "This import stopped without finishing: it has been running for longer than a task may run "
        "(%(minutes)d minutes), so its worker was stopped. The rows written before it stopped (%(rows)s) are kept. "
        "Import the same file again to complete it: the rows already imported are counted as unchanged, nothing is "
        "doubled."
    ) % {"minutes": minutes, "rows": f"{job.rows_done:,}"}


def _phase(job: ImportJob) -> str:
    if job.status == ImportStatus.QUEUED:
        return _("Waiting for a worker to start the import.")
    if job.status != ImportStatus.RUNNING:
        return ""
    if job.rows_total is None:
        return _("Checking the whole file before anything is written.")
    if job.kind == ImportKind.ROSTER:
        if job.rows_done >= job.rows_total:
            return _("Writing the changes (in one transaction).")
        return _("Checking the rows: %(done)s of %(total)s.") % {
            "done": f"{job.rows_done:,}",
            "total": f"{job.rows_total:,}",
        }
    return _("Importing: %(done)s of %(total)s rows written.") % {
        "done": f"{job.rows_done:,}",
        "total": f"{job.rows_total:,}",
    }
