"""Asking for syncs: whether a connection can sync now, the queued request and its
answer, and the schedule.

- `sync_problem` is THE rule "can this connection sync now?", asked by the providers page,
  the API, `manage.py sync_provider` and the schedule: each refuses with its words.
- `sync_request` queues a sync (the page, the API, the schedule) and notes it on
  `ProviderConnection.sync_requested_at` until an API run starts. The task
  (`programs.tasks.sync_connection`) answers it with `sync_requested`: a request already
  answered by a later successful run does not sync again (`sync_request_answered`), and one
  that finds the connection held waits for that lease to end (`sync_wait_seconds`) or,
  once no run can still be holding it, is dropped (`sync_request_drop`).
- `connections_due` / `sync_due_queue`: the periodic task's choice of connections.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import shlex

from django.conf import settings
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from programs.models import ProviderConnection, SyncRun, SyncStatus
from programs.sync.lease import connection_held_until, lease_is_live, lease_seconds
from programs.sync.pipeline import api_adapter_problem, sync_api
from programs.task_queue import task_queue_on_commit, tasks_run_in_process

logger = logging.getLogger(__name__)

SYNC_RETRY_MIN_SECONDS = 2  # a queued sync that finds its connection held looks again after at least this
# The schedule queues again a request noted this long ago that no run answered (its task was lost).
SYNC_REQUEST_STALE = dt.timedelta(minutes=10)
SYNC_TASK = "programs.tasks.sync_connection"


def sync_problem(*, connection: ProviderConnection, queued: bool = True) -> str:
    """Why `connection` cannot be synced from its provider's API now, in words for an L&D
    admin; "" when it can. The providers page, the API, `manage.py sync_provider` and the
    schedule (`connections_due`) all ask this, so they refuse the same connections alike:

    1. its kind has no API adapter (`programs.sync.pipeline.api_adapter_problem`; its files
       can still be imported);
    2. it is paused (`is_active` off): the schedule skips it and nobody syncs it by hand
       either, until it is resumed;
    3. a sync is running now and this one could not wait for it. Asked for through the
       queue (the default, `queued`: the page, the API, the schedule), a sync waits on the
       worker for the running one and then runs (`programs.tasks.sync_connection`), so
       that is no reason; with tasks run in process (CELERY_TASK_ALWAYS_EAGER: no worker,
       `make run`) it would run inside the request, where it cannot wait: refused. A sync
       run at once (`queued=False`: `manage.py sync_provider`) hears of the running one
       from its own claim instead, with until when (SyncAlreadyRunningError).

    Only answer 3 reads the database (one query), and only with tasks run in process."""
    problem = api_adapter_problem(connection=connection)
    if problem:
        return problem
    if not connection.is_active:
        return _(
            "This connection is paused: resume it first (python manage.py provider_connection %(name)s --active)."
        ) % {"name": shlex.quote(connection.name)}
    if queued and tasks_run_in_process() and connection_held_until(connection=connection, now=timezone.now()):
        return _(
            "A sync of %(name)s is already running, and this server runs syncs in its own process "
            "(no Celery worker), so another cannot wait for it: try again when it ends."
        ) % {"name": connection.name}
    return ""


def sync_request(*, connection: ProviderConnection, full: bool = False) -> bool:
    """Queue a sync of `connection` on the worker once the current transaction commits,
    and note when it was asked for on `connection.sync_requested_at` (the earliest request
    still waiting; the next API run to start clears it). True when queued; False, queuing
    and noting nothing, when `sync_problem` refuses (the page and the API ask it first, for
    its words). A sync asked for while another runs waits for it on the worker."""
    if sync_problem(connection=connection):
        return False
    now = timezone.now()
    ProviderConnection.objects.filter(pk=connection.pk, sync_requested_at__isnull=True).update(sync_requested_at=now)
    task_queue_on_commit(name=SYNC_TASK, args=(connection.pk,), kwargs={"full": full, "requested_at": now.isoformat()})
    return True


def sync_request_answered(
    *, connection: ProviderConnection, requested_at: dt.datetime, full: bool = False
) -> SyncRun | None:
    """The successful API run that answers a sync asked for at `requested_at`: one that
    started at or after then (a full one when `full`); None when none has yet. A run that
    failed answers nothing: the request still gets its own try."""
    runs = SyncRun.objects.filter(
        connection=connection, source="api", status=SyncStatus.SUCCEEDED, started_at__gte=requested_at
    )
    if full:
        runs = runs.filter(full=True)
    return runs.order_by("started_at", "pk").first()


def sync_requested(
    *, connection: ProviderConnection, requested_at: dt.datetime, full: bool = False, fan_out: bool = False
) -> SyncRun:
    """Answer a sync asked for at `requested_at`: the run that already answers it
    (`sync_request_answered`: two requests, or a request and the schedule, make one sync),
    else a new `sync_api` run (with `fan_out`, one task per provider program). Raises
    SyncAlreadyRunningError, writing nothing, while another run holds the connection."""
    answered = sync_request_answered(connection=connection, requested_at=requested_at, full=full)
    if answered is not None:
        logger.info("Sync of %s requested at %s: already done by run %s", connection.name, requested_at, answered.pk)
        return answered
    return sync_api(connection=connection, full=full, fan_out=fan_out)


def sync_wait_seconds(*, held_until: dt.datetime | None, requested_at: dt.datetime, now: dt.datetime) -> int | None:
    """How long a queued sync whose connection is held waits before it looks again: until
    just after that lease would lapse, but at most a third of a lease (a live run renews
    its lease, so the sync starts soon after that run ends; a dead run's lease lapses and
    the sync takes over one second later), and at least SYNC_RETRY_MIN_SECONDS. None (give
    up) once the request is older than any run can hold a connection
    (CELERY_TASK_TIME_LIMIT plus two leases): by then only new runs keep holding it."""
    lease = lease_seconds()
    if now - requested_at > dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 2 * lease):
        return None
    beat = max(SYNC_RETRY_MIN_SECONDS, math.ceil(lease / 3))
    if held_until is None:
        return SYNC_RETRY_MIN_SECONDS
    until_lapsed = math.ceil((held_until - now).total_seconds()) + 1
    return min(max(until_lapsed, SYNC_RETRY_MIN_SECONDS), beat)


def sync_request_drop(*, connection: ProviderConnection, requested_at: dt.datetime) -> None:
    """A queued sync that will not run: the connection no longer shows it as queued (when
    it was the request noted there)."""
    ProviderConnection.objects.filter(pk=connection.pk, sync_requested_at__lte=requested_at).update(
        sync_requested_at=None
    )


def connections_due(*, now: dt.datetime) -> QuerySet[ProviderConnection]:
    """The connections the schedule syncs now: those that can sync (`sync_problem`), that no
    sync holds right now (that sync is the answer) and that are due: their interval has
    elapsed since their last API run started (any outcome, so a failing connection is
    retried at its interval, not every few minutes); or their last API run is dead (still
    marked running, lease lapsed: the next sync takes it over); or a sync requested more
    than SYNC_REQUEST_STALE ago was never answered (its task was lost)."""
    dead_run = SyncRun.objects.filter(connection=OuterRef("pk"), source="api", status=SyncStatus.RUNNING)
    candidates = ProviderConnection.objects.annotate(
        last_attempt=Max("runs__started_at", filter=Q(runs__source="api")), has_dead_run=Exists(dead_run)
    )
    due = [
        c.pk
        for c in candidates
        if (
            c.last_attempt is None
            or c.last_attempt + dt.timedelta(minutes=c.sync_interval_minutes) <= now
            or c.has_dead_run
            or (c.sync_requested_at is not None and c.sync_requested_at < now - SYNC_REQUEST_STALE)
        )
        and not lease_is_live(until=c.sync_claimed_until, now=now)
        and not sync_problem(connection=c)
    ]
    return ProviderConnection.objects.filter(pk__in=due)


def sync_due_queue(*, now: dt.datetime) -> list[int]:
    """Queue a sync (after commit) of every connection `connections_due` returns; the ids
    of those queued."""
    return [c.pk for c in connections_due(now=now) if sync_request(connection=c)]
