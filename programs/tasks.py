"""Celery tasks of the programs app: thin, idempotent, taking ids (STYLE.md). Each loads
what its ids name and calls one service function: `programs.sync.schedule` and
`programs.sync.pipeline` (provider syncs), `programs.imports` (upload jobs),
`programs.access` (departures), `programs.xapi.services` (pushed xAPI statements).

Imports go one way: this module imports the services, and the services queue these tasks
by name after commit (`programs.task_queue.task_queue_on_commit`), never importing this
module, so no circle of imports runs through it.
"""

from __future__ import annotations

import datetime as dt
import logging

from celery import Task, shared_task
from django.conf import settings
from django.utils import timezone

from programs.access import departures_apply as departures_apply_service
from programs.imports import WAIT_ATTEMPTS, WAIT_MAX_SECONDS, import_job_run
from programs.models import ImportJob, ImportStatus, Provider, ProviderConnection
from programs.sync.lease import SyncAlreadyRunningError
from programs.sync.pipeline import sync_part, unmatched_rematch
from programs.sync.schedule import sync_due_queue, sync_request_drop, sync_requested, sync_wait_seconds
from programs.xapi.services import xapi_pending_queue, xapi_statements_process

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # bounded by time instead: sync_wait_seconds
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def sync_connection(self: Task, connection_id: int, full: bool = False, requested_at: str | None = None) -> int | None:
    """Sync one connection from its provider's API, as asked for at `requested_at` (ISO
    time; absent: this first attempt); returns the SyncRun id that answers the request. A
    connection with several provider programs is read by one task per program: this one
    reads the first and queues `sync_run_part` for the others (its run may still be running
    when this task returns); in eager mode the programs are read here, one after the other.

    Safe to run twice or at once, and redelivered after a worker died: a request already
    answered by a later successful run returns that run (`sync_requested`). While another
    run holds the connection the task retries when that lease would lapse, so it runs
    after a live sync ends and takes over from a dead one (`sync_wait_seconds`). In eager
    mode (tasks in process, no broker) a retry would run at once, in the caller's request:
    the task returns None instead, logs why and the connection no longer shows it queued."""
    connection = ProviderConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return None
    asked = dt.datetime.fromisoformat(requested_at) if requested_at else timezone.now()
    try:
        return sync_requested(
            connection=connection, requested_at=asked, full=full, fan_out=not self.request.is_eager
        ).pk
    except SyncAlreadyRunningError as busy:
        if self.request.is_eager:
            wait = None
            why = "tasks run in process (CELERY_TASK_ALWAYS_EAGER), so nothing can retry it later"
        else:
            wait = sync_wait_seconds(held_until=busy.held_until, requested_at=asked, now=timezone.now())
            why = "the connection has been held for longer than any sync runs"
        if wait is None:
            sync_request_drop(connection=connection, requested_at=asked)
            logger.warning("Sync of connection %s not run: another sync holds it and %s", connection_id, why)
            return None
        logger.info("Sync of connection %s waits for the sync holding it: next try in %s s", connection_id, wait)
        raise self.retry(
            args=(connection_id,), kwargs={"full": full, "requested_at": asked.isoformat()}, countdown=wait
        ) from None


@shared_task(
    acks_late=False,  # never read a program twice in one run: a lost task leaves its run to be taken over
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def sync_run_part(run_id: int, part: int, token: str) -> int | None:
    """Read one provider program of a run that `sync_connection` fanned out (program
    number `part`), under the run's lease (`token`); the task that completes the last
    program ends the run. Returns the run id, or None when the run had ended or lost its
    connection. Acknowledged on receipt: a task whose worker dies is not redelivered (its
    program would be read twice in one run); its run stops being renewed once its other
    tasks end, and the next sync takes it over (the schedule sees it dead)."""
    run = sync_part(run_id=run_id, part=part, token=token)
    return None if run is None else run.pk


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def sync_due_connections() -> list[int]:
    """Periodic (Celery beat, every 5 minutes): queue a sync of every connection that is
    due (`connections_due`: its interval has elapsed, its last run died, or a requested
    sync was lost). Returns the queued connection ids."""
    return sync_due_queue(now=timezone.now())


@shared_task(
    acks_late=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def unmatched_rematch_task(employee_ids: list[int] | None = None) -> int:
    """Match kept unmatched provider records again after a roster change."""
    return unmatched_rematch(employee_ids=employee_ids)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def departures_apply() -> dict[str, int]:
    """Periodic (Celery beat, daily just after midnight, company time zone): end the
    sessions and API tokens of everyone whose departure day has come."""
    ended = departures_apply_service()
    return {"sessions": ended.sessions, "tokens": ended.tokens}


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # WAIT_ATTEMPTS bounds the waiting
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def import_job_run_task(self: Task, job_id: int) -> str | None:
    """Run an uploaded file's import job (programs.imports.import_job_run); returns its
    status. Safe to run twice and after a worker crash: a job that has ended is left as
    it is, and a redelivered one runs again. A provider job whose connection another sync
    holds goes back to queued and is tried again once that hold ends; in eager mode
    (tasks in process) nothing could try it later, so it fails at once, saying why."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        return None
    may_wait = not self.request.is_eager and self.request.retries < WAIT_ATTEMPTS
    job = import_job_run(job=job, may_wait=may_wait)
    if job.status == ImportStatus.QUEUED:
        raise self.retry(countdown=job.result.get("retry_in", WAIT_MAX_SECONDS))
    return job.status


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,  # bounded by time instead: sync_wait_seconds
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def xapi_statements_process_task(self: Task, connection_id: int, first_try_at: str | None = None) -> int | None:
    """Take an xapi connection's pending statements in through the pipeline
    (`programs.xapi.services.xapi_statements_process`); returns the last SyncRun id.

    Queued after each accepted request. Safe to run twice or at once, and redelivered after
    a worker died: statements stay pending until a successful run took them in, and a run
    recomputes each learner x course from the stored statements. While another run holds
    the connection the task retries when that lease would lapse (`sync_wait_seconds`,
    counted from `first_try_at`); in eager mode (tasks in process) it returns at once: the
    run holding the connection takes these statements in before it lets go. A task that
    gives up leaves them to the periodic `xapi_pending_sweep`."""
    connection = ProviderConnection.objects.filter(pk=connection_id, kind=Provider.XAPI).first()
    if connection is None:
        return None
    asked = dt.datetime.fromisoformat(first_try_at) if first_try_at else timezone.now()
    try:
        run = xapi_statements_process(connection=connection)
    except SyncAlreadyRunningError as busy:
        if self.request.is_eager:
            logger.info("xAPI statements of connection %s: the run holding it takes them in", connection_id)
            return None
        wait = sync_wait_seconds(held_until=busy.held_until, requested_at=asked, now=timezone.now())
        if wait is None:
            logger.warning("xAPI statements of connection %s left to the periodic sweep: held too long", connection_id)
            return None
        logger.info(
            "xAPI statements of connection %s wait for the run holding it: next try in %s s", connection_id, wait
        )
        raise self.retry(args=(connection_id,), kwargs={"first_try_at": asked.isoformat()}, countdown=wait) from None
    return None if run is None else run.pk


@shared_task(acks_late=True, time_limit=60, soft_time_limit=50)
def xapi_pending_sweep() -> list[int]:
    """Periodic (Celery beat, every 5 minutes): queue the processing of every xapi
    connection whose statements have been waiting for over a minute (their task was lost
    or gave up). Returns the connection ids."""
    return xapi_pending_queue(now=timezone.now())
