"""xAPI statements taken in by a REAL Celery worker (subprocess, Redis broker, the test
database): a statement that arrives while another run holds its connection waits on the
worker and is taken in once the connection is free, and statements whose task died with
its worker are taken in by the periodic sweep on another worker. Needs Redis at REDIS_URL
(outside CI a missing Redis skips these tests with the reason; under CI=true it fails)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.utils import timezone

from programs.models import Enrollment, SyncRun, XapiStatement
from programs.sync.lease import connection_claim
from programs.xapi.services import xapi_pending_queue, xapi_statements_store
from programs.xapi.statements import statement_parsed
from tests.worker_support import Worker, celery_worker
from tests.xapi_support import PRIVACY, SAFETY, team_create

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LEASE = 15
WORKER_ENV = {"SYNC_LEASE_SECONDS": str(LEASE)}
PROCESSED = r"programs\.tasks\.xapi_statements_process_task\[[^\]]+\] succeeded in [0-9.]+s: (\S+)"
WAITS = r"xAPI statements of connection \d+ wait for the run holding it: next try in (\d+) s"


@pytest.fixture
def worker(tmp_path) -> Iterator[Worker]:
    with celery_worker(tmp_path, concurrency=2, env=WORKER_ENV) as running:
        yield running


def store(connection, *statements) -> None:
    xapi_statements_store(
        connection=connection, statements=[statement_parsed(s) for s in statements], received_at=timezone.now()
    )


def pending() -> int:
    return XapiStatement.objects.filter(processed_at__isnull=True).count()


def test_a_statement_that_arrives_while_the_connection_is_held_is_taken_in_when_it_is_free(worker, settings):
    settings.SYNC_LEASE_SECONDS = LEASE
    team = team_create()
    holder = connection_claim(connection=team.connection, source="xapi")  # a run elsewhere holds it
    assert holder is not None

    store(team.connection, SAFETY)

    assert worker.wait_for(WAITS) == ["5"]  # a third of the lease
    assert (pending(), SyncRun.objects.count()) == (1, 0)  # not lost, not processed: waiting
    holder.release()

    (finished,) = worker.wait_for(PROCESSED)
    run = SyncRun.objects.get()
    assert finished == str(run.pk)
    assert (run.source, run.status, run.fetched, run.created) == ("xapi", "succeeded", 1, 1)
    assert pending() == 0
    assert Enrollment.objects.get().employee == team.sade


def test_statements_whose_task_died_with_its_worker_are_taken_in_by_the_sweep(tmp_path, settings):
    settings.SYNC_LEASE_SECONDS = LEASE
    team = team_create()
    holder = connection_claim(connection=team.connection, source="xapi")
    assert holder is not None
    with celery_worker(tmp_path, concurrency=1, env=WORKER_ENV, name="first") as first:
        store(team.connection, SAFETY, PRIVACY)
        first.wait_for(WAITS)  # its retry is now held by this worker, unacknowledged
        first.kill()  # SIGKILL: the retry goes with it (Redis would redeliver it only after an hour)
    holder.release()
    XapiStatement.objects.update(received_at=timezone.now() - dt.timedelta(minutes=2))
    assert pending() == 2

    with celery_worker(tmp_path, concurrency=1, env=WORKER_ENV, name="second") as second:
        # What the periodic xapi_pending_sweep does, here in this process: tasks a worker queues go to
        # the default queue, which this test's worker does not read.
        assert xapi_pending_queue(now=timezone.now()) == [team.connection.pk]
        second.wait_for(PROCESSED)

    assert pending() == 0
    assert sorted(Enrollment.objects.values_list("employee__email", flat=True)) == [
        "rui@acme.example",
        "sade@acme.example",
    ]
