"""Writes of the xAPI intake: storing the statements a provider posts, and running them
through the sync pipeline.

Storing (`xapi_statements_store`, in the request): every statement of the request in one
transaction, keyed by (connection, statement id). An id already stored with the same
canonical hash is the same statement again: nothing changes. An id stored with another
hash is a conflict: the whole request is refused and nothing of it is kept. Two requests
carrying one new statement at once insert it once (INSERT ... ON CONFLICT DO NOTHING on the
unique key, then both compare hashes with the committed row). A stored statement is
"pending" (`processed_at` empty) until a successful pipeline run has taken it in.

Processing (`xapi_statements_process`, in the Celery task
`programs.tasks.xapi_statements_process_task`, queued by name once the store commits):
the connection's pending statements, oldest first, in batches, each through `sync_run`
(source "xapi") with `XapiStatementsAdapter`, under the connection's sync lease, so two
batches of one connection never write at once. Locking contract:
- a batch is marked processed only after its run succeeded; a run that failed, or a worker
  that died, leaves it pending, and it is taken in again later (records are recomputed
  from the stored statements, so doing a batch twice changes nothing the second time);
- while another run holds the lease the task waits for it (Celery retry, as queued syncs
  do); with tasks run in process it cannot wait, but it need not: the run that holds the
  lease looks for pending statements again after releasing it, and keeps going until
  there are none, so a statement committed before a refused claim is always taken in;
- `xapi_pending_queue` (beat, every 5 minutes) queues the connections whose statements
  still wait after PENDING_GRACE: a task lost with a broker outage, or one that gave up.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from programs.connections import XAPI_SOURCE
from programs.models import Provider, ProviderConnection, SyncRun, SyncStatus, XapiStatement
from programs.sync.pipeline import sync_run
from programs.task_queue import task_queue_on_commit, task_registered
from programs.xapi.adapter import XapiStatementsAdapter
from programs.xapi.statements import VERB_VOIDED, ParsedStatement

logger = logging.getLogger(__name__)

SOURCE = XAPI_SOURCE  # SyncRun.source of the runs that take statements in
PROCESS_TASK = "programs.tasks.xapi_statements_process_task"
PROCESS_BATCH = 1000  # statements per pipeline run
PENDING_GRACE = dt.timedelta(minutes=1)  # a statement waiting longer than this has lost its task


class StatementConflictError(Exception):
    """Statements whose ids are already stored with different content (409)."""

    def __init__(self, statement_ids: list[uuid.UUID]) -> None:
        self.statement_ids = statement_ids
        shown = ", ".join(str(i) for i in statement_ids[:5]) + (" ..." if len(statement_ids) > 5 else "")
        super().__init__(
            f"A different statement is already stored under the id {shown}: a statement id names one statement "
            "for good. Nothing of this request was stored."
        )


def xapi_statements_store(
    *, connection: ProviderConnection, statements: list[ParsedStatement], received_at: dt.datetime
) -> list[str]:
    """Store the checked `statements` of one request (see the module docstring) and queue
    their processing once the transaction commits. Returns their ids, in order. Raises
    StatementConflictError, storing nothing, when an id is taken by another statement."""
    rows = [
        XapiStatement(
            connection=connection,
            statement_id=s.statement_id,
            statement=s.data,
            canonical_hash=s.canonical_hash,
            verb_id=s.verb_id,
            learner_key=s.learner_key,
            email=s.email,
            external_id=s.external_id,
            object_id=s.object_id,
            is_completion=s.is_completion,
            voids=s.voids,
            occurred_at=s.occurred_at or received_at,
            received_at=received_at,
        )
        for s in statements
    ]
    ids = [s.statement_id for s in statements]
    with transaction.atomic():
        XapiStatement.objects.bulk_create(rows, ignore_conflicts=True)
        stored = dict(
            XapiStatement.objects.filter(connection=connection, statement_id__in=ids).values_list(
                "statement_id", "canonical_hash"
            )
        )
        clashes = [s.statement_id for s in statements if stored.get(s.statement_id) != s.canonical_hash]
        if clashes:
            raise StatementConflictError(clashes)
        xapi_process_queue(connection=connection)
    return [str(i) for i in ids]


def xapi_process_queue(*, connection: ProviderConnection) -> None:
    """Queue the processing of `connection`'s pending statements once the current
    transaction commits. A failure to queue or, with tasks run in process, of the
    processing itself is logged and never undoes or fails the caller: the statements are
    stored and pending, and the next processing or the periodic sweep takes them in."""
    task = task_registered(name=PROCESS_TASK)
    transaction.on_commit(lambda: task.apply_async(args=(connection.pk,)), robust=True)


def xapi_statements_process(*, connection: ProviderConnection) -> SyncRun | None:
    """Take `connection`'s pending statements in, oldest first, PROCESS_BATCH at a time,
    until none is pending (see the module docstring). Each batch that can change an
    enrollment (it holds a completion or a voiding statement) is one `sync_run`; a batch of
    other statements is only marked processed. Returns the last run (None when no batch
    needed one). A failed run stops here, leaving its batch pending. Raises
    SyncAlreadyRunningError, writing no enrollment, when another run holds the connection."""
    last: SyncRun | None = None
    while True:
        pending = XapiStatement.objects.filter(connection=connection, processed_at__isnull=True)
        batch = list(pending.order_by("received_at", "pk").values_list("pk", flat=True)[:PROCESS_BATCH])
        if not batch:
            return last
        statements = XapiStatement.objects.filter(pk__in=batch)
        if statements.filter(Q(is_completion=True) | Q(voids__isnull=False)).exists():
            statements_void(connection=connection, statement_pks=batch)
            adapter = XapiStatementsAdapter(connection=connection, statement_pks=batch)
            last = sync_run(connection=connection, adapter=adapter, source=SOURCE)
            if last.status != SyncStatus.SUCCEEDED:
                logger.warning("xAPI statements of %s stay pending: run %s failed", connection.name, last.pk)
                return last
        statements.filter(processed_at__isnull=True).update(processed_at=timezone.now())


def statements_void(*, connection: ProviderConnection, statement_pks: list[int]) -> int:
    """Mark voided what the statements `statement_pks` void, or what voids them: the
    statements their voiding statements name, and those of them that an earlier voiding
    statement named (it may arrive before the statement it voids). A voiding statement is
    never voided itself (xAPI). Idempotent; returns how many statements it marked."""
    batch = XapiStatement.objects.filter(pk__in=statement_pks)
    voidable = XapiStatement.objects.filter(connection=connection, voided=False).exclude(verb_id=VERB_VOIDED)
    named_by_batch = batch.filter(voids__isnull=False).order_by().values("voids")
    named_by_anyone = (
        XapiStatement.objects.filter(connection=connection, voids__isnull=False).order_by().values("voids")
    )
    marked = voidable.filter(statement_id__in=named_by_batch).update(voided=True)
    return marked + voidable.filter(pk__in=statement_pks, statement_id__in=named_by_anyone).update(voided=True)


def xapi_pending_queue(*, now: dt.datetime) -> list[int]:
    """Periodic (beat): queue the processing of every xapi connection that has a
    statement pending since before `now - PENDING_GRACE`. Returns the connection ids."""
    waiting = (
        XapiStatement.objects.filter(processed_at__isnull=True, received_at__lt=now - PENDING_GRACE)
        .order_by()
        .values("connection_id")
    )
    ids = sorted(ProviderConnection.objects.filter(kind=Provider.XAPI, pk__in=waiting).values_list("pk", flat=True))
    for connection_id in ids:
        task_queue_on_commit(name=PROCESS_TASK, args=(connection_id,))
    return ids
