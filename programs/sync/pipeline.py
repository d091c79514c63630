"""The sync pipeline: provider records in, enrollments out.

adapter pages (fetched ahead in a thread: `programs.sync.fetch`) -> validation, merge of
duplicates within the page, learner matching, fingerprints (in a second thread, a page
ahead) -> set-based upsert of courses, enrollments and unmatched records against the run's
merge state (`programs.sync.merge`) -> counts on the SyncRun -> progress hook.

`sync_run` is the one function every sync in a process goes through: `sync_api` (the
Celery task and `manage.py sync_provider`) builds the connection's API adapter, and the
provider file import (`programs.imports.provider_csv_import`: the upload job and
`manage.py import_provider_csv`) passes the CSV adapter. With a Celery worker, a connection
with several provider programs is read by one task per program (`sync_api(fan_out=True)`
reads the first and queues `programs.tasks.sync_run_part` for each other, `sync_part`):
one run, whose counts are the sum of its tasks', merging duplicates across programs once
(its merge state is in the database). Tasks run in process (`make run`, no broker) and the
command read the programs one after the other instead.

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
- created / updated / unchanged: enrollments written, changed or left as they were, as
  the record finally kept for the key compares with the enrollment before the run (a
  better duplicate on a later page moves its key from one count to another).

A run holds its connection's lease from start to end (`programs.sync.lease`: one run per
connection at a time, a dead run taken over; every task of the run holds it). The first
page is committed alone, then a few pages at a time (`RunWriter.page_batches`), each batch
in its own transaction with the run's counts; when reading fails, the pages read before
the error are written first, so a run that fails on page 3 leaves pages 1-2 written and
counted (its error says so); the next run re-reads them (all unchanged) and completes the
rest. The unique keys make double counting impossible.
"""

from __future__ import annotations

import datetime as dt
import logging
import shlex
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from django.db import DatabaseError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from programs.models import (
    Course,
    Employee,
    Enrollment,
    InvalidRecord,
    LearnerAlias,
    Provider,
    ProviderConnection,
    SyncRun,
    SyncStatus,
    UnmatchedRecord,
)
from programs.providers.base import (
    Adapter,
    AdapterStats,
    ProviderConfigurationError,
    ProviderError,
    ProviderRecord,
    RawPagesAdapter,
)
from programs.providers.coursera_api import CourseraApiAdapter
from programs.providers.udemy_api import UdemyApiAdapter
from programs.sync.adapters import edx_adapter, linkedin_adapter
from programs.sync.fetch import PagesAhead, collections_spaced, switches_prompt
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
from programs.sync.merge import (
    BATCH_PAGES,
    CourseCache,
    EmployeeMap,
    PageCounts,
    PreparedPage,
    RunWriter,
    enrollments_write,
    merge_state_create,
    merge_state_drop,
    merge_state_unmatched_resolved_delete,
    merge_states_drop_ended,
)
from programs.sync.records import record_from_json, record_is_course, record_normalized, record_problem
from programs.table_upkeep import tables_upkeep
from programs.task_queue import task_queue_on_commit
from reports.hooks import progress_changed

logger = logging.getLogger(__name__)

INCREMENTAL_OVERLAP = dt.timedelta(days=1)  # providers lag live activity by up to 24 h (PROVIDERS.md)
REMATCH_BATCH_SIZE = 500
PART_TASK = "programs.tasks.sync_run_part"
# The provider kinds LearnHub syncs from an API: what builds a connection's adapter (for all its
# programs, or, for a kind with programs, `program_ids`), and what lists the programs of the
# kinds that have them (one task each, with a worker).
API_ADAPTERS: dict[str, Callable[..., Adapter]] = {
    Provider.COURSERA: CourseraApiAdapter.from_connection,
    Provider.UDEMY: UdemyApiAdapter.from_connection,
    Provider.LINKEDIN: linkedin_adapter,
    Provider.EDX: edx_adapter,
}
API_PROGRAM_IDS: dict[str, Callable[[ProviderConnection], list[str]]] = {
    Provider.COURSERA: CourseraApiAdapter.connection_program_ids
}
# The kinds whose completions never come from an API: where they come from instead.
NOT_FROM_AN_API: dict[str, Promise] = {
    Provider.OTHER: gettext_lazy(
        "Their completions come from a completions file: upload it on the connection's page, "
        "or run python manage.py import_provider_csv PATH --connection %(name)s."
    ),
    Provider.XAPI: gettext_lazy("The provider pushes its xAPI statements to LearnHub as they happen."),
}
# The tables a sync writes: the planner's statistics of each are refreshed after a large sync.
SYNC_TABLES = (Enrollment, UnmatchedRecord, InvalidRecord, Course)
# A page written: the records of the page, told in the writer's thread once it is committed.
PageWritten = Callable[[list[ProviderRecord]], None]


# --- Messages ---------------------------------------------------------------------------


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


def _run_start(*, connection: ProviderConnection, lease: SyncLease, source: str, full: bool, parts: int = 1) -> SyncRun:
    """The new run and its merge state; every other run of the connection still marked
    running is dead (we hold its lease now): marked failed with the reason, and the merge
    state of ended runs is dropped."""
    run = SyncRun.objects.create(
        connection=connection, source=source, full=full, status=SyncStatus.RUNNING, parts=parts
    )
    for dead in SyncRun.objects.filter(connection=connection, status=SyncStatus.RUNNING).exclude(pk=run.pk):
        reason = sync_takeover_reason(dead=dead, lapsed=lease.lapsed, successor=run)
        SyncRun.objects.filter(pk=dead.pk, status=SyncStatus.RUNNING).update(
            status=SyncStatus.FAILED, finished_at=run.started_at, error=reason
        )
        logger.warning("Sync of %s (run %s) taken over by run %s: %s", connection.name, dead.pk, run.pk, reason)
    merge_states_drop_ended()
    merge_state_create(run_id=run.pk)
    return run


def _claim(*, connection: ProviderConnection, source: str) -> SyncLease:
    """The connection's lease for a new run; SyncAlreadyRunningError (nothing written)
    while another run holds it."""
    lease = connection_claim(connection=connection, source=source)
    if lease is None:
        held_until = connection_held_until(connection=connection, now=timezone.now())
        message = (
            _(
                "A sync of %(name)s is already running (its hold lasts until %(until)s and is renewed while it "
                "runs); try again when it ends."
            )
            if held_until
            else _("A sync of %(name)s is already running; try again when it ends.")
        )
        values = {"name": connection.name, "until": when_shown(held_until) if held_until else ""}
        raise SyncAlreadyRunningError(message % values, held_until=held_until)
    return lease


def _heartbeat(lease: SyncLease, *, name: str) -> AbstractContextManager[Any]:
    return LeaseHeartbeat(lease, name=name) if heartbeat_possible() else nullcontext()


def sync_run(
    *,
    connection: ProviderConnection,
    adapter: Adapter,
    source: str = "api",
    full: bool = False,
    page_written: PageWritten | None = None,
) -> SyncRun:
    """Run the pipeline over everything `adapter` yields and return the finished run.

    Holds the connection's lease for the whole run (raises SyncAlreadyRunningError, writing
    nothing, when another run holds it), renewed by a heartbeat and by each page
    transaction (the locking contract: `programs.sync.lease`). The adapter is read a page
    ahead in a thread, and its pages prepared in another (`programs.sync.fetch`: neither
    touches the database; a re-sync looks records up in a third, on a connection of its
    own: `_pages_prepared`), while they are written and counted in this thread, the first
    page alone and then a few at a time, each batch in its own transaction
    (`RunWriter.page_batches`); `page_written` hears of each batch's records once it is
    committed. A ProviderError (configuration or unavailability) ends the run as failed
    with the adapter's admin-friendly message, and a lost lease with its own; any other
    error ends it as failed and is re-raised. A failed run's message ends with what it kept
    (`run_kept`). After a success, a large write refreshes the planner's view of the tables
    it wrote (`tables_upkeep`), `reports.hooks.progress_changed()` is called, and an API
    run also stamps `connection.last_synced_at` (the schedule's clock)."""
    lease = _claim(connection=connection, source=source)
    try:
        with _heartbeat(lease, name=connection.name):
            run = _run_start(connection=connection, lease=lease, source=source, full=full)
            _part_run(connection=connection, run=run, lease=lease, adapter=adapter, part=0, page_written=page_written)
    finally:
        _lease_released(lease, connection=connection)
    return _run_ended(connection=connection, run=run)


@dataclass
class _PartTally:
    """What one task has read and written of its part, for the run's pages and retries:
    `taken` pages reached the writer, `written` were committed."""

    stats: AdapterStats
    taken: int = 0
    written: int = 0
    retries_counted: int = 0

    @property
    def retries_new(self) -> int:
        return self.stats.retries - self.retries_counted


_COUNT_NAMES = ("fetched", "created", "updated", "unchanged", "merged", "skipped", "invalid", "unmatched")


def _counts_add(*, run: SyncRun, counts: PageCounts | None = None, **more: int) -> None:
    """Add to the run's counts (an UPDATE of increments: the tasks of a run add side by side)."""
    deltas = {name: getattr(counts, name) for name in _COUNT_NAMES} if counts is not None else {}
    deltas.update(more)
    changes = {name: F(name) + value for name, value in deltas.items() if value}
    if changes:
        SyncRun.objects.filter(pk=run.pk).update(**changes)


def _part_run(
    *,
    connection: ProviderConnection,
    run: SyncRun,
    lease: SyncLease,
    adapter: Adapter,
    part: int,
    page_written: PageWritten | None = None,
) -> None:
    """Read and write one part of `run` (everything `adapter` yields) under `lease`, then
    count it done: the task that completes the last part marks the run succeeded. A
    failure marks the run failed (the first reason stays); a ProviderError or a lost lease
    is logged as a warning, anything else is logged and re-raised."""
    tally = _PartTally(stats=getattr(adapter, "stats", AdapterStats()))
    try:
        # A page written is told its records: only an adapter's parsed pages have them all.
        raw = hasattr(adapter, "raw_pages") and page_written is None
        writer_made = partial(
            RunWriter,
            connection=connection,
            run=run,
            part=part,
            keeps_stored=not getattr(adapter, "may_uncomplete", False),
            raw_reader=adapter if raw else None,
        )
        with _pages_prepared(adapter=adapter, raw=raw, writer_made=writer_made, name=connection.name) as (
            writer,
            prepared,
        ):
            for page, ready in prepared:
                tally.taken += ready.pages
                retries = tally.retries_new
                with lease.held():
                    _counts_add(run=run, counts=writer.prepared_write(ready), pages=ready.pages, retries=retries)
                tally.written += ready.pages
                tally.retries_counted += retries
                if page_written is not None:
                    page_written(page)
        _part_done(connection=connection, run=run, lease=lease, tally=tally)
    except (ProviderError, SyncLeaseLostError) as exc:
        message = _secret_scrubbed(str(exc), connection=connection)
        _run_fail(run, error=_with_kept(message, run=_counted(run)), tally=tally)
        logger.warning("Sync of %s (run %s) failed: %s", connection.name, run.pk, run.error)
    except BaseException as exc:
        logger.exception("Sync of %s (run %s) stopped on an unexpected error", connection.name, run.pk)
        message = _("The sync stopped on an unexpected error (%(error)s); see the server log.") % {
            "error": exc.__class__.__name__
        }
        try:
            _run_fail(run, error=_with_kept(message, run=_counted(run)), tally=tally)
        except DatabaseError:  # the database itself may be what failed; the lease lapses, a takeover says so
            logger.exception("Sync of %s (run %s): the failure could not be recorded", connection.name, run.pk)
        raise


@contextmanager
def _pages_prepared(
    *, adapter: Adapter, raw: bool, writer_made: Callable[[], RunWriter], name: str
) -> Iterator[tuple[RunWriter, Iterable[tuple[list[Any], PreparedPage]]]]:
    """The writer `writer_made` makes, and the adapter's pages in batches
    (`RunWriter.page_batches`), each with what the writer prepared of it (with `raw`, of
    the adapter's `raw_pages`: `RunWriter.raw_page_prepared`). Read and prepared
    ahead in two threads (HTTP and JSON, then pure Python), so they overlap the writes
    (meanwhile the GIL is handed over promptly, `switches_prompt`, and cycles are collected
    less often, `collections_spaced`); the first pages are on their way while the writer
    is made (it reads the roster). While the run looks records up, a third thread
    looks them up on a database connection of its own (`RunWriter.looked_up_ahead`). An
    adapter that reads the database (`reads_database`, e.g. the stored xAPI statements) is
    read page by page in the writer's thread instead, under the lease and in its
    transactions."""
    if getattr(adapter, "reads_database", False):
        writer = writer_made()
        yield writer, ((page, writer.page_prepared(page)) for page in map(list, adapter.pages()))
        return

    def prepare(fetched: Iterable[list[Any]]) -> Iterator[tuple[list[Any], PreparedPage]]:
        made = writer.raw_page_prepared if raw else writer.page_prepared
        for batch, taken in writer.page_batches(fetched):
            yield batch, made(batch, pages=taken)

    pages = cast(RawPagesAdapter, adapter).raw_pages if raw else adapter.pages
    with (
        switches_prompt(),
        collections_spaced(),
        # Up to a batch read ahead: the pages of the next batch come while the current one is prepared.
        PagesAhead[list[Any]](lambda: map(list, pages()), name=f"sync-fetch {name}", ahead=BATCH_PAGES) as fetched,
    ):
        writer = writer_made()
        with PagesAhead(lambda: prepare(fetched), name=f"sync-prepare {name}") as prepared:
            # Inside a caller's transaction (a test's) the lookups run in the writer's, which alone sees its rows.
            if not writer.lookups or transaction.get_connection().in_atomic_block:
                yield writer, prepared
                return
            with PagesAhead(lambda: writer.looked_up_ahead(prepared), name=f"sync-lookup {name}") as looked_up:
                yield writer, looked_up


def _part_done(*, connection: ProviderConnection, run: SyncRun, lease: SyncLease, tally: _PartTally) -> None:
    """Count the part done; when it was the last, the run succeeds: kept unmatched records
    its keys now match are dropped, and an API run stamps the connection's clock."""
    with lease.held():
        _counts_add(run=run, parts_done=1, retries=tally.retries_new)
        finished = SyncRun.objects.filter(pk=run.pk, status=SyncStatus.RUNNING, parts_done=F("parts")).update(
            status=SyncStatus.SUCCEEDED, finished_at=timezone.now(), error=""
        )
        if finished:
            merge_state_unmatched_resolved_delete(connection=connection, run_id=run.pk)
            if run.source == "api":
                ProviderConnection.objects.filter(pk=connection.pk).update(last_synced_at=run.started_at)
                connection.last_synced_at = run.started_at
    tally.retries_counted = tally.stats.retries
    run.refresh_from_db()


def _lease_released(lease: SyncLease, *, connection: ProviderConnection) -> None:
    try:
        lease.release()
    except DatabaseError:  # the lease lapses by itself within SYNC_LEASE_SECONDS
        logger.warning("Sync of %s could not release its lease; it lapses by itself", connection.name)


def _run_ended(*, connection: ProviderConnection, run: SyncRun) -> SyncRun:
    """What follows the end of a run, once its lease is released: a succeeded run drops its
    merge state, keeps the planner informed and tells the progress engine."""
    run.refresh_from_db()
    if run.status != SyncStatus.SUCCEEDED:
        return run
    try:
        merge_state_drop(run_id=run.pk)
    except DatabaseError:  # the next run's start drops it
        logger.warning("Sync of %s (run %s) could not drop its merge state", connection.name, run.pk)
    logger.info("Sync of %s (run %s, %s) succeeded: %s", connection.name, run.pk, run.source, sync_run_summary(run=run))
    tables_upkeep(*SYNC_TABLES, rows_written=run.created + run.updated + run.unmatched + run.invalid)
    progress_changed(program_ids=None)
    return run


def _counted(run: SyncRun) -> SyncRun:
    """`run` with the counts that were committed (a page that failed half-way is not in
    them; its transaction rolled back)."""
    run.refresh_from_db(fields=_COUNT_FIELDS)
    return run


_COUNT_FIELDS = [*_COUNT_NAMES, "pages", "retries"]


def _with_kept(message: str, *, run: SyncRun) -> str:
    kept = run_kept(run=run, pages=run.pages)
    return f"{message} {kept}" if kept else message


def _run_fail(run: SyncRun, *, error: str, tally: _PartTally) -> None:
    """Mark `run` failed unless it is no longer running (a run that took over its
    connection, or another task of the run, has already recorded why): the first reason
    stays. The pages this task read but did not write, and its retries, are added."""
    updated = SyncRun.objects.filter(pk=run.pk, status=SyncStatus.RUNNING).update(
        status=SyncStatus.FAILED,
        error=error,
        finished_at=timezone.now(),
        pages=F("pages") + (tally.taken - tally.written),
        retries=F("retries") + tally.retries_new,
    )
    if updated:
        tally.retries_counted = tally.stats.retries
    run.refresh_from_db()


RUN_COUNTS = ("fetched", "created", "updated", "unchanged", "merged", "skipped", "invalid", "unmatched")


def sync_run_counts(*, run: SyncRun) -> str:
    """The record counts of a run on one line."""
    return _(
        "fetched %(fetched)d, created %(created)d, updated %(updated)d, unchanged %(unchanged)d, "
        "merged %(merged)d, skipped %(skipped)d, invalid %(invalid)d, unmatched %(unmatched)d"
    ) % {name: getattr(run, name) for name in RUN_COUNTS}


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
    instead = NOT_FROM_AN_API.get(connection.kind, gettext_lazy("LearnHub has no adapter for its API."))
    return (
        _("%(kind)s connections are not synced from an API.") % {"kind": connection.get_kind_display()}
        + " "
        + str(instead).replace("%(name)s", shlex.quote(connection.name))
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


def _api_adapter(*, connection: ProviderConnection, full: bool, program_ids: list[str] | None = None) -> Adapter:
    """The connection's API adapter (for all its programs, or `program_ids`), or one that
    fails the run with the reason it cannot be built."""
    try:
        problem = api_adapter_problem(connection=connection)
        if problem:
            raise ProviderConfigurationError(problem)
        since = None if full else sync_since(connection=connection)
        chosen = {} if program_ids is None else {"program_ids": program_ids}
        return API_ADAPTERS[connection.kind](connection, since=since, **chosen)
    except ProviderError as exc:
        return _Refused(exc)


def sync_api(*, connection: ProviderConnection, full: bool = False, fan_out: bool = False) -> SyncRun:
    """Sync `connection` from the provider's API: incremental from `sync_since`, or
    everything with `full`. A kind without an API adapter, or an adapter that cannot be
    built from the connection's settings, gives a failed run with the reason.

    With `fan_out` (a Celery worker runs it: `programs.tasks.sync_connection`) and several
    provider programs, the run has one part per program: this process reads the first, and
    `programs.tasks.sync_run_part` is queued for each other (`sync_part`), so as many
    workers as there are read them side by side; the run that is returned may still be
    running (its last task to finish ends it). Otherwise the programs are read one after
    the other, here."""
    program_ids = API_PROGRAM_IDS[connection.kind](connection) if connection.kind in API_PROGRAM_IDS else []
    if not fan_out or len(program_ids) < 2:
        return sync_run(connection=connection, adapter=_api_adapter(connection=connection, full=full), full=full)
    lease = _claim(connection=connection, source="api")
    ended = True
    try:
        with _heartbeat(lease, name=connection.name):
            run = _run_start(connection=connection, lease=lease, source="api", full=full, parts=len(program_ids))
            for part in range(1, len(program_ids)):
                task_queue_on_commit(name=PART_TASK, kwargs={"run_id": run.pk, "part": part, "token": lease.token})
            adapter = _api_adapter(connection=connection, full=full, program_ids=program_ids[:1])
            _part_run(connection=connection, run=run, lease=lease, adapter=adapter, part=0)
            logger.info("Sync of %s (run %s): program %s read", connection.name, run.pk, program_ids[0])
            ended = _run_has_ended(run)
    finally:
        if ended:
            _lease_released(lease, connection=connection)
    return _run_ended(connection=connection, run=run) if ended else run


def sync_part(*, run_id: int, part: int, token: str) -> SyncRun | None:
    """Read program number `part` (0-based, in the connection's order) of a fanned-out API
    run (`sync_api(fan_out=True)`), as one of its tasks: under the run's lease (`token`),
    writing into its merge state, adding to its counts; the task that completes the last
    part ends the run. Does nothing (None) when the run has ended or lost its connection
    meanwhile: a run is never read twice, so a task is never retried."""
    run = SyncRun.objects.select_related("connection").filter(pk=run_id, status=SyncStatus.RUNNING).first()
    if run is None:
        return None
    connection = run.connection
    lease = SyncLease.joined(connection_id=connection.pk, token=token)
    program_ids = API_PROGRAM_IDS[connection.kind](connection) if connection.kind in API_PROGRAM_IDS else []
    if lease is None or part >= len(program_ids):
        return None
    ended = False
    try:
        with _heartbeat(lease, name=connection.name):
            adapter = _api_adapter(connection=connection, full=run.full, program_ids=program_ids[part : part + 1])
            _part_run(connection=connection, run=run, lease=lease, adapter=adapter, part=part)
            logger.info("Sync of %s (run %s): program %s read", connection.name, run.pk, program_ids[part])
            ended = _run_has_ended(run)
    except BaseException:
        ended = True  # _part_run recorded the failure: the run is over for every task
        raise
    finally:
        if ended:
            _lease_released(lease, connection=connection)
    return _run_ended(connection=connection, run=run) if ended else run


def _run_has_ended(run: SyncRun) -> bool:
    run.refresh_from_db(fields=["status"])
    return run.status != SyncStatus.RUNNING


# --- Re-matching unmatched records -----------------------------------------------------


def unmatched_rematch(*, employee_ids: Iterable[int] | None = None) -> int:
    """Match kept unmatched records again, e.g. after a roster import added people or
    an L&D admin linked a learner: each record whose learner now matches an employee (an
    alias, then external id, then e-mail, as in a sync) becomes an enrollment (upserted
    by connection + learner key + course) and leaves the unmatched list. With
    `employee_ids`, only records that could match those employees are read. Returns how many records were matched. Calls
    `reports.hooks.progress_changed()` when any was."""
    candidates = UnmatchedRecord.objects.select_related("connection").order_by("pk")
    if employee_ids is not None:
        employee_ids = list(employee_ids)
        people = list(
            Employee.objects.filter(pk__in=employee_ids)
            .annotate(email_ci=Lower("email"))
            .values_list("external_id", "email_ci")
        )
        if not people:
            return 0
        external_ids = {x for x, _ in people if x}
        emails = {e for _, e in people if e}
        aliased = LearnerAlias.objects.filter(
            employee_id__in=employee_ids,
            provider=OuterRef("connection__kind"),
            learner_key=OuterRef("learner_key"),
        )
        candidates = candidates.annotate(email_ci=Lower("email")).filter(
            Q(external_id__in=external_ids) | Q(email_ci__in=emails) | Exists(aliased)
        )
    employees: EmployeeMap | None = None
    matched_total = 0
    last_pk = 0
    while True:
        batch = list(candidates.filter(pk__gt=last_pk)[:REMATCH_BATCH_SIZE])
        if not batch:
            break
        last_pk = batch[-1].pk
        employees = employees or EmployeeMap.load()
        with transaction.atomic():
            matched_total += _rematch_batch(batch, employees=employees)
    if matched_total:
        progress_changed(program_ids=None)
    return matched_total


def _rematch_batch(batch: list[UnmatchedRecord], *, employees: EmployeeMap) -> int:
    by_connection: dict[int, list[tuple[ProviderRecord, int]]] = {}
    connections: dict[int, ProviderConnection] = {}
    done: list[int] = []
    for unmatched in batch:
        record = record_normalized(record_from_json(unmatched.record, raw=unmatched.raw))
        if record_problem(record) or not record_is_course(record):
            continue
        employee_id = employees.employee_id(record, provider=unmatched.connection.kind)
        if employee_id is None:
            continue
        connections[unmatched.connection_id] = unmatched.connection
        by_connection.setdefault(unmatched.connection_id, []).append((record, employee_id))
        done.append(unmatched.pk)
    for connection_id, matched in by_connection.items():
        connection = connections[connection_id]
        enrollments_write(connection=connection, matched=matched, courses=CourseCache(provider=connection.kind))
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
