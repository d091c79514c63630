"""The sync pipeline: provider records in, enrollments out.

adapter pages -> validation -> merge of duplicates -> learner matching -> bulk upsert
of courses, enrollments and unmatched records -> counts on the SyncRun -> progress hook.

`sync_run` is the one function every sync goes through: `sync_api` (the Celery task and
`manage.py sync_provider`) builds the connection's API adapter, and the provider file import
(`programs.imports.provider_csv_import`: the upload job and `manage.py import_provider_csv`)
passes the CSV adapter.

Counting rule: every fetched record lands in exactly one count, so
fetched = created + updated + unchanged + merged + skipped + invalid + unmatched.
- invalid: the record cannot be used (adapter problem, no learner key, no course id,
  unknown content type, completed without a date, ...): kept as an InvalidRecord.
- skipped: valid provider data that is not course-level (a specialization, video,
  path, ...): the company goal counts courses only, so no enrollment is written; the
  run counts them so nothing disappears silently.
- merged: a second record for the same learner and course in the same run, folded
  into the first (see `programs.sync.records.record_better`).
- unmatched: a learner not on the roster: kept as an UnmatchedRecord (upserted by
  connection + learner key + course) and matched again when the roster gains them
  (`unmatched_rematch`).
- created / updated / unchanged: enrollments written, changed or left as they were.

A run holds its connection's lease from start to end (`programs.sync.lease`: one run per
connection at a time, a dead run taken over). Each page is committed in its own
transaction with the run's counts, so a run that fails on page 3 leaves pages 1-2 written
and counted (its error says so); the next run re-reads them (all unchanged) and completes
the rest. The unique keys make double counting impossible.
"""

from __future__ import annotations

import datetime as dt
import logging
import shlex
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from programs.models import (
    Course,
    Employee,
    Enrollment,
    InvalidRecord,
    Provider,
    ProviderConnection,
    SyncRun,
    SyncStatus,
    UnmatchedRecord,
)
from programs.providers.base import Adapter, AdapterStats, ProviderConfigurationError, ProviderError, ProviderRecord
from programs.providers.coursera_api import CourseraApiAdapter
from programs.providers.udemy_api import UdemyApiAdapter
from programs.sync.adapters import edx_adapter, linkedin_adapter
from programs.sync.lease import (
    LeaseHeartbeat,
    SyncAlreadyRunningError,
    SyncLease,
    SyncLeaseLostError,
    connection_claim,
    connection_held_until,
    heartbeat_possible,
    when_shown,
)
from programs.sync.records import (
    KeptRecord,
    learner_key,
    record_from_json,
    record_is_course,
    record_kept,
    record_normalized,
    record_problem,
    record_replaces,
    record_to_json,
)
from programs.table_upkeep import tables_upkeep
from programs.task_queue import task_queue_on_commit
from reports.hooks import progress_changed

logger = logging.getLogger(__name__)

INCREMENTAL_OVERLAP = dt.timedelta(days=1)  # providers lag live activity by up to 24 h (PROVIDERS.md)
REMATCH_BATCH_SIZE = 500
# The provider kinds LearnHub syncs from an API, each with what builds its adapter for a connection.
API_ADAPTERS: dict[str, Callable[..., Adapter]] = {
    Provider.COURSERA: CourseraApiAdapter.from_connection,
    Provider.UDEMY: UdemyApiAdapter.from_connection,
    Provider.LINKEDIN: linkedin_adapter,
    Provider.EDX: edx_adapter,
}
# The kinds whose completions never come from an API: where they come from instead.
NOT_FROM_AN_API: dict[str, str] = {
    Provider.OTHER: (
        "Their completions come from a completions file: upload it on the connection's page, "
        "or run python manage.py import_provider_csv PATH --connection {name}."
    ),
    Provider.XAPI: "The provider pushes its xAPI statements to LearnHub as they happen.",
}


# --- Writes ----------------------------------------------------------------------------


def courses_ensure(*, provider: str, records: Iterable[ProviderRecord]) -> dict[str, Course]:
    """Course rows for the records' course ids, keyed by provider course id: created in
    bulk when missing, with title / partner / url / hours filled where still empty.
    Two queries (plus the writes) whatever the number of courses."""
    wanted: dict[str, ProviderRecord] = {}
    for record in records:
        wanted.setdefault(record.provider_course_id, record)
    if not wanted:
        return {}
    existing = {
        c.provider_course_id: c for c in Course.objects.filter(provider=provider, provider_course_id__in=wanted)
    }
    missing = [
        Course(
            provider=provider,
            provider_course_id=course_id,
            title=record.course_title[:300],
            partner=record.partner[:300],
            url=record.course_url[:500],
            hours=record.course_hours,
        )
        for course_id, record in wanted.items()
        if course_id not in existing
    ]
    if missing:
        Course.objects.bulk_create(missing, ignore_conflicts=True)  # a concurrent sync may add the same course
        existing = {
            c.provider_course_id: c for c in Course.objects.filter(provider=provider, provider_course_id__in=wanted)
        }
    filled: list[Course] = []
    for course_id, course in existing.items():
        record = wanted[course_id]
        changed = False
        for attr, value in (
            ("title", record.course_title[:300]),
            ("partner", record.partner[:300]),
            ("url", record.course_url[:500]),
        ):
            if value and not getattr(course, attr):
                setattr(course, attr, value)
                changed = True
        if record.course_hours is not None and course.hours is None:
            course.hours = record.course_hours
            changed = True
        if changed:
            course.updated_at = timezone.now()
            filled.append(course)
    if filled:
        Course.objects.bulk_update(filled, ["title", "partner", "url", "hours", "updated_at"])
    return existing


_ENROLLMENT_FIELDS = [
    "employee_id",
    "enrolled_at",
    "last_activity_at",
    "progress",
    "is_completed",
    "completed_at",
    "is_removed",
    "raw",
]


@dataclass
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def enrollments_upsert(
    *, connection: ProviderConnection, provider: str, matched: list[tuple[ProviderRecord, int]]
) -> UpsertCounts:
    """Upsert one enrollment per (connection, learner key, course) from (record,
    employee id) pairs: existing rows are loaded in ONE query (the page's learners' rows
    on this connection, unordered: filtering on the courses too makes the planner read
    far more) and compared in Python; only new rows are inserted and only changed rows
    updated (updated_at moves only then). Records must already be merged (one per key)."""
    counts = UpsertCounts()
    if not matched:
        return counts
    courses = courses_ensure(provider=provider, records=[r for r, _ in matched])
    keys = {learner_key(r) for r, _ in matched}
    existing = {
        (e.learner_key, e.course_id): e
        for e in Enrollment.objects.filter(connection=connection, learner_key__in=keys).order_by()
    }
    now = timezone.now()
    to_create: list[Enrollment] = []
    to_update: list[Enrollment] = []
    for record, employee_id in matched:
        course = courses[record.provider_course_id]
        values = {
            "employee_id": employee_id,
            "enrolled_at": record.enrolled_at,
            "last_activity_at": record.last_activity_at,
            "progress": record.progress,
            "is_completed": record.is_completed,
            "completed_at": record.completed_at,
            "is_removed": record.is_removed,
            "raw": record.raw,
        }
        row = existing.get((learner_key(record), course.pk))
        if row is None:
            to_create.append(
                Enrollment(connection=connection, learner_key=learner_key(record), course=course, **values)
            )
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = now
            to_update.append(row)
        else:
            counts.unchanged += 1
    Enrollment.objects.bulk_create(to_create)
    Enrollment.objects.bulk_update(to_update, [*_ENROLLMENT_FIELDS, "updated_at"])
    counts.created, counts.updated = len(to_create), len(to_update)
    return counts


def employees_match(*, records: Iterable[ProviderRecord]) -> dict[str, int]:
    """Employee ids by learner key. Matching: the external id first (trimmed, exact),
    then the e-mail (trimmed, case-insensitive). Coursera's external id defaults to the
    e-mail, so an external id that matches no one falls through to the e-mail.
    One query whatever the number of records."""
    records = list(records)
    external_ids = {r.external_id for r in records if r.external_id}
    emails = {r.email for r in records if r.email}
    if not external_ids and not emails:
        return {}
    by_external: dict[str, int] = {}
    by_email: dict[str, int] = {}
    people = (
        Employee.objects.annotate(email_ci=Lower("email"))
        .filter(Q(external_id__in=external_ids) | Q(email_ci__in=emails))
        .order_by()
        .values_list("pk", "external_id", "email_ci")
    )
    for pk, external_id, email_ci in people:
        if external_id:
            by_external[external_id] = pk
        by_email[email_ci] = pk
    matches: dict[str, int] = {}
    for record in records:
        employee_id = by_external.get(record.external_id) if record.external_id else None
        if employee_id is None and record.email:
            employee_id = by_email.get(record.email)
        if employee_id is not None:
            matches[learner_key(record)] = employee_id
    return matches


def unmatched_reason(record: ProviderRecord) -> str:
    who = " or ".join(
        part
        for part in (
            f"external id {record.external_id!r}" if record.external_id else "",
            f"e-mail {record.email!r}" if record.email else "",
        )
        if part
    )
    return f"no employee on the roster with {who}"


def unmatched_resolved_delete(*, connection: ProviderConnection, records: list[ProviderRecord]) -> None:
    """Drop kept unmatched rows of records that now matched (the person joined the
    roster without the roster hook, e.g. through the Django admin)."""
    if not records:
        return
    pairs = {(learner_key(r), r.provider_course_id) for r in records}
    stale = [
        pk
        for pk, key, course_id in UnmatchedRecord.objects.filter(
            connection=connection, learner_key__in={k for k, _ in pairs}
        ).values_list("pk", "learner_key", "provider_course_id")
        if (key, course_id) in pairs
    ]
    if stale:
        UnmatchedRecord.objects.filter(pk__in=stale).delete()


_UNMATCHED_FIELDS = ["email", "external_id", "reason", "record", "raw", "last_run", "last_seen_at"]


def unmatched_upsert(*, connection: ProviderConnection, run: SyncRun | None, records: list[ProviderRecord]) -> None:
    """Keep records of people not on the roster, one row per (connection, learner key,
    course): new rows inserted, changed rows updated, identical rows left alone."""
    if not records:
        return
    keys = {learner_key(r) for r in records}
    existing = {
        (u.learner_key, u.provider_course_id): u
        for u in UnmatchedRecord.objects.filter(
            connection=connection, learner_key__in=keys, provider_course_id__in={r.provider_course_id for r in records}
        )
    }
    now = timezone.now()
    to_create: list[UnmatchedRecord] = []
    to_update: list[UnmatchedRecord] = []
    for record in records:
        values = {
            "email": record.email[:254],
            "external_id": record.external_id[:200],
            "reason": unmatched_reason(record)[:500],
            "record": record_to_json(record),
            "raw": record.raw,
        }
        row = existing.get((learner_key(record), record.provider_course_id))
        if row is None:
            to_create.append(
                UnmatchedRecord(
                    connection=connection,
                    learner_key=learner_key(record),
                    provider_course_id=record.provider_course_id,
                    last_run=run,
                    **values,
                )
            )
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.last_run, row.last_seen_at = run, now
            to_update.append(row)
    UnmatchedRecord.objects.bulk_create(to_create)
    UnmatchedRecord.objects.bulk_update(to_update, _UNMATCHED_FIELDS)


# --- The pipeline ---------------------------------------------------------------------

_COUNT_FIELDS = [
    "fetched",
    "created",
    "updated",
    "unchanged",
    "merged",
    "skipped",
    "invalid",
    "unmatched",
    "pages",
    "retries",
]


def _page_process(
    *,
    connection: ProviderConnection,
    run: SyncRun,
    page: list[ProviderRecord],
    seen: dict[tuple[str, str], KeptRecord],
) -> None:
    """Validate, merge, match and write one page; add its counts to `run` (unsaved).

    `seen` holds what the run kept per (learner key, course id) across pages (a compact
    KeptRecord, not the record: memory stays small as the data grows). A duplicate counts
    as `merged` only; when it wins (`record_better`, via `record_replaces`) the row
    written for the first one is rewritten, without counting it a second time."""
    run.fetched += len(page)
    invalid: list[InvalidRecord] = []
    fresh: dict[tuple[str, str], ProviderRecord] = {}  # first seen on this page: counted by the write
    rewrites: dict[tuple[str, str], ProviderRecord] = {}  # first seen on an earlier page: not counted again
    for original in page:
        record = record_normalized(original)
        problem = record_problem(record)
        if problem:
            invalid.append(
                InvalidRecord(connection=connection, run=run, line=record.line, reason=problem[:500], raw=record.raw)
            )
            continue
        if not record_is_course(record):
            run.skipped += 1
            continue
        key = (learner_key(record), record.provider_course_id)
        previous = seen.get(key)
        if previous is not None:
            run.merged += 1
            if not record_replaces(previous, record):
                continue
        seen[key] = record_kept(record)
        if key in fresh or previous is None:
            fresh[key] = record
        else:
            rewrites[key] = record
    run.invalid += len(invalid)
    InvalidRecord.objects.bulk_create(invalid)

    for records, counted in ((list(fresh.values()), True), (list(rewrites.values()), False)):
        if not records:
            continue
        matches = employees_match(records=records)
        matched = [(r, matches[learner_key(r)]) for r in records if learner_key(r) in matches]
        unmatched = [r for r in records if learner_key(r) not in matches]
        counts = enrollments_upsert(connection=connection, provider=connection.kind, matched=matched)
        unmatched_upsert(connection=connection, run=run, records=unmatched)
        unmatched_resolved_delete(connection=connection, records=[r for r, _ in matched])
        if counted:
            run.created += counts.created
            run.updated += counts.updated
            run.unchanged += counts.unchanged
            run.unmatched += len(unmatched)


def _secret_scrubbed(message: str, *, connection: ProviderConnection) -> str:
    """Belt and braces: an error message never carries the client secret."""
    if connection.client_secret:
        message = message.replace(connection.client_secret, "[secret]")
    return message[:2000]


def run_kept(*, run: SyncRun, pages: int, cause: str = "the error", by: str = "The next sync") -> str:
    """The sentence a failed run's error ends with when it had written pages: what is
    kept (its committed counts) and how the rest gets done. "" when nothing was written."""
    if pages <= 0:
        return ""
    which = "page 1" if pages == 1 else f"pages 1-{pages}"
    them = "it" if pages == 1 else "them"
    rest = (
        f"{by} re-reads {them} and completes the rest."
        if run.source == "api"
        else "Importing the same file again completes it; rows already written stay as they are."
    )
    return f"Kept: {which}, written before {cause} ({sync_run_counts(run=run)}). {rest}"


def _with_kept(message: str, *, run: SyncRun, pages: int) -> str:
    kept = run_kept(run=run, pages=pages)
    return f"{message} {kept}" if kept else message


def sync_takeover_reason(*, dead: SyncRun, lapsed: dt.datetime | None, successor: SyncRun) -> str:
    """Why `dead` (still marked running when `successor` claimed its connection) failed."""
    if lapsed is not None:
        why = (
            f"its hold on the connection lapsed at {when_shown(lapsed)} without being renewed "
            "(the process running it was killed, or lost the database)"
        )
    else:
        why = "the process running it stopped before recording the end"
    message = (
        f"Stopped without finishing: {why}. It was taken over by the sync started at "
        f"{when_shown(successor.started_at)}."
    )
    kept = run_kept(run=dead, pages=dead.pages, cause="it stopped", by="The sync that took over")
    return f"{message} {kept}" if kept else message


def _run_start(*, connection: ProviderConnection, lease: SyncLease, source: str, full: bool) -> SyncRun:
    """The new run; every other run of the connection still marked running is dead (we
    hold its lease now): marked failed with the reason."""
    run = SyncRun.objects.create(connection=connection, source=source, full=full, status=SyncStatus.RUNNING)
    for dead in SyncRun.objects.filter(connection=connection, status=SyncStatus.RUNNING).exclude(pk=run.pk):
        reason = sync_takeover_reason(dead=dead, lapsed=lease.lapsed, successor=run)
        SyncRun.objects.filter(pk=dead.pk, status=SyncStatus.RUNNING).update(
            status=SyncStatus.FAILED, finished_at=run.started_at, error=reason
        )
        logger.warning("Sync of %s (run %s) taken over by run %s: %s", connection.name, dead.pk, run.pk, reason)
    return run


def sync_run(*, connection: ProviderConnection, adapter: Adapter, source: str = "api", full: bool = False) -> SyncRun:
    """Run the pipeline over everything `adapter` yields and return the finished run.

    Holds the connection's lease for the whole run (raises SyncAlreadyRunningError, writing
    nothing, when another run holds it), renewed by a heartbeat and by each page
    transaction (the locking contract: `programs.sync.lease`). Each page is written and counted in its
    own transaction. A ProviderError (configuration or unavailability) ends the run as
    failed with the adapter's admin-friendly message, and a lost lease with its own; any
    other error ends it as failed and is re-raised. A failed run's message ends with what
    it kept (`run_kept`). After a success, a large write refreshes the planner's view of
    the enrollments (`tables_upkeep`), `reports.hooks.progress_changed()` is called, and an
    API run also stamps `connection.last_synced_at` (the schedule's clock)."""
    lease = connection_claim(connection=connection, source=source)
    if lease is None:
        held_until = connection_held_until(connection=connection, now=timezone.now())
        shown = f" (its hold lasts until {when_shown(held_until)} and is renewed while it runs)" if held_until else ""
        raise SyncAlreadyRunningError(
            f"A sync of {connection.name} is already running{shown}; try again when it ends.", held_until=held_until
        )
    run = None
    written = 0
    stats: AdapterStats = getattr(adapter, "stats", AdapterStats())
    heartbeat: AbstractContextManager[Any] = (
        LeaseHeartbeat(lease, name=connection.name) if heartbeat_possible() else nullcontext()
    )
    try:
        with heartbeat:
            run = _run_start(connection=connection, lease=lease, source=source, full=full)
            seen: dict[tuple[str, str], KeptRecord] = {}
            for page in adapter.pages():
                with lease.held():
                    _page_process(connection=connection, run=run, page=list(page), seen=seen)
                    run.pages, run.retries = max(stats.pages, written + 1), stats.retries
                    run.save(update_fields=_COUNT_FIELDS)
                written += 1
            with lease.held():
                _run_finish(run, status=SyncStatus.SUCCEEDED, error="", stats=stats)
                if source == "api":
                    ProviderConnection.objects.filter(pk=connection.pk).update(last_synced_at=run.started_at)
                    connection.last_synced_at = run.started_at
    except (ProviderError, SyncLeaseLostError) as exc:
        if run is None:
            raise
        error = _with_kept(_secret_scrubbed(str(exc), connection=connection), run=_counted(run), pages=written)
        _run_fail(run, error=error, stats=stats)
        logger.warning("Sync of %s (run %s) failed: %s", connection.name, run.pk, run.error)
        return run
    except BaseException as exc:
        if run is not None:
            logger.exception("Sync of %s (run %s) stopped on an unexpected error", connection.name, run.pk)
            message = f"The sync stopped on an unexpected error ({exc.__class__.__name__}); see the server log."
            try:
                _run_fail(run, error=_with_kept(message, run=_counted(run), pages=written), stats=stats)
            except DatabaseError:  # the database itself may be what failed; the lease lapses, a takeover says so
                logger.exception("Sync of %s (run %s): the failure could not be recorded", connection.name, run.pk)
        raise
    finally:
        try:
            lease.release()
        except DatabaseError:  # the lease lapses by itself within SYNC_LEASE_SECONDS
            logger.warning("Sync of %s could not release its lease; it lapses by itself", connection.name)
    logger.info("Sync of %s (run %s, %s) succeeded: %s", connection.name, run.pk, source, sync_run_summary(run=run))
    tables_upkeep(Enrollment, rows_written=run.created + run.updated)
    progress_changed(program_ids=None)
    return run


def _counted(run: SyncRun) -> SyncRun:
    """`run` with the counts that were committed (a page that failed half-way added to
    the unsaved counts before its transaction rolled back)."""
    run.refresh_from_db(fields=_COUNT_FIELDS)
    return run


def _run_finish(run: SyncRun, *, status: str, error: str, stats: AdapterStats) -> None:
    run.status, run.error, run.finished_at = status, error, timezone.now()
    run.pages, run.retries = max(stats.pages, run.pages), stats.retries
    run.save(update_fields=["status", "error", "finished_at", "pages", "retries"])


def _run_fail(run: SyncRun, *, error: str, stats: AdapterStats) -> None:
    """Mark `run` failed unless it is no longer running (a run that took over its
    connection has already recorded why): the first reason stays."""
    finished_at = timezone.now()
    pages, retries = max(stats.pages, run.pages), stats.retries
    updated = SyncRun.objects.filter(pk=run.pk, status=SyncStatus.RUNNING).update(
        status=SyncStatus.FAILED, error=error, finished_at=finished_at, pages=pages, retries=retries
    )
    if updated:
        run.status, run.error, run.finished_at, run.pages, run.retries = (
            SyncStatus.FAILED,
            error,
            finished_at,
            pages,
            retries,
        )
    else:
        run.refresh_from_db()


def sync_run_counts(*, run: SyncRun) -> str:
    """The record counts of a run on one line."""
    return (
        f"fetched {run.fetched}, created {run.created}, updated {run.updated}, unchanged {run.unchanged}, "
        f"merged {run.merged}, skipped {run.skipped}, invalid {run.invalid}, unmatched {run.unmatched}"
    )


def sync_run_summary(*, run: SyncRun) -> str:
    """The counts of a run on one line, as the commands print them."""
    return f"{sync_run_counts(run=run)} (pages {run.pages}, retries {run.retries})"


class _Refused:
    """An adapter that could not be built: its only page raises the reason, so the run
    is recorded as failed with that message like any other provider error."""

    def __init__(self, error: ProviderError) -> None:
        self.error = error
        self.stats = AdapterStats()

    def pages(self) -> Iterator[list[ProviderRecord]]:
        raise self.error


def api_adapter_problem(*, connection: ProviderConnection) -> str:
    """Why no API adapter reads `connection`'s kind (`API_ADAPTERS`), or "" when one does:
    `other` and `xapi` connections are never synced from an API, and the answer says
    where their completions come from instead (`NOT_FROM_AN_API`). Part of
    `programs.sync.schedule.sync_problem`, the rule the pages, the API, the command and the
    schedule ask; here because `sync_api` records it on its run too."""
    if connection.kind in API_ADAPTERS:
        return ""
    instead = NOT_FROM_AN_API.get(connection.kind, "LearnHub has no adapter for its API.")
    return f"{connection.get_kind_display()} connections are not synced from an API. " + instead.format(
        name=shlex.quote(connection.name)
    )


def sync_since(*, connection: ProviderConnection) -> dt.datetime | None:
    """Where an incremental API sync starts: the start of the last successful API run
    minus one day (providers lag up to 24 h), or None (everything) when there is none."""
    last = (
        SyncRun.objects.filter(connection=connection, source="api", status=SyncStatus.SUCCEEDED)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return None if last is None else last - INCREMENTAL_OVERLAP


def sync_api(*, connection: ProviderConnection, full: bool = False) -> SyncRun:
    """Sync `connection` from the provider's API: incremental from `sync_since`, or
    everything with `full`. A kind without an API adapter, or an adapter that cannot be
    built from the connection's settings, gives a failed run with the reason."""
    adapter: Adapter
    try:
        problem = api_adapter_problem(connection=connection)
        if problem:
            raise ProviderConfigurationError(problem)
        since = None if full else sync_since(connection=connection)
        adapter = API_ADAPTERS[connection.kind](connection, since=since)
    except ProviderError as exc:
        adapter = _Refused(exc)
    return sync_run(connection=connection, adapter=adapter, source="api", full=full)


# --- Re-matching unmatched records -----------------------------------------------------


def unmatched_rematch(*, employee_ids: Iterable[int] | None = None) -> int:
    """Match kept unmatched records again, e.g. after a roster import added people:
    each record whose learner now matches an employee (external id, then e-mail, as in
    a sync) becomes an enrollment (upserted by connection + learner key + course) and
    leaves the unmatched list. With `employee_ids`, only records that could match those
    employees are read. Returns how many records were matched. Calls
    `reports.hooks.progress_changed()` when any was."""
    candidates = UnmatchedRecord.objects.select_related("connection").order_by("pk")
    if employee_ids is not None:
        people = list(
            Employee.objects.filter(pk__in=list(employee_ids))
            .annotate(email_ci=Lower("email"))
            .values_list("external_id", "email_ci")
        )
        if not people:
            return 0
        external_ids = {x for x, _ in people if x}
        emails = {e for _, e in people if e}
        candidates = candidates.annotate(email_ci=Lower("email")).filter(
            Q(external_id__in=external_ids) | Q(email_ci__in=emails)
        )
    matched_total = 0
    last_pk = 0
    while True:
        batch = list(candidates.filter(pk__gt=last_pk)[:REMATCH_BATCH_SIZE])
        if not batch:
            break
        last_pk = batch[-1].pk
        with transaction.atomic():
            matched_total += _rematch_batch(batch)
    if matched_total:
        progress_changed(program_ids=None)
    return matched_total


def _rematch_batch(batch: list[UnmatchedRecord]) -> int:
    records = {u.pk: record_normalized(record_from_json(u.record, raw=u.raw)) for u in batch}
    records = {pk: r for pk, r in records.items() if not record_problem(r) and record_is_course(r)}
    matches = employees_match(records=records.values())
    by_connection: dict[int, list[tuple[ProviderRecord, int]]] = {}
    done: list[int] = []
    connections: dict[int, ProviderConnection] = {}
    for unmatched in batch:
        record = records.get(unmatched.pk)
        employee_id = None if record is None else matches.get(learner_key(record))
        if record is None or employee_id is None:
            continue
        connections[unmatched.connection_id] = unmatched.connection
        by_connection.setdefault(unmatched.connection_id, []).append((record, employee_id))
        done.append(unmatched.pk)
    for connection_id, matched in by_connection.items():
        connection = connections[connection_id]
        enrollments_upsert(connection=connection, provider=connection.kind, matched=matched)
    UnmatchedRecord.objects.filter(pk__in=done).delete()
    return len(done)


def unmatched_rematch_queue(*, employee_ids: Iterable[int] | None) -> None:
    """Queue `unmatched_rematch` (`programs.tasks.unmatched_rematch_task`) once the current
    transaction commits: for the records these employees could explain (a roster import
    passes the people it created or updated; none: nothing is queued), or for every kept
    record with None (the providers page's "match again" button)."""
    ids = None if employee_ids is None else sorted({int(pk) for pk in employee_ids})
    if ids == []:
        return
    task_queue_on_commit(name="programs.tasks.unmatched_rematch_task", kwargs={"employee_ids": ids})
