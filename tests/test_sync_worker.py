"""A REAL Celery worker (subprocess, Redis broker, the test database) runs the sync task
against the Coursera sandbox. Needs Redis at REDIS_URL: outside CI a missing Redis skips
these tests with the reason; under CI=true it fails them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from programs.models import Enrollment, ProviderConnection, SyncRun
from programs.tasks import sync_connection
from tests.factories import ConnectionFactory, EmployeeFactory
from tests.sandbox_fixtures import CLIENT_ID, CLIENT_SECRET, ORG_ID, PROGRAM_ID
from tests.worker_support import Worker, celery_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
pytest_plugins = ["tests.sandbox_fixtures"]


@pytest.fixture
def worker(tmp_path) -> Iterator[Worker]:
    """`celery -A learnhub worker` on a queue of its own, against the test database."""
    with celery_worker(tmp_path, concurrency=2) as running:
        yield running


def element(n: int, email: str, **overrides: Any) -> dict[str, Any]:
    record = {
        "id": f"{email}~C{n}~{PROGRAM_ID}",
        "externalId": email,
        "email": email,
        "fullName": f"Learner {n}",
        "programId": PROGRAM_ID,
        "contentId": f"C{n}",
        "contentType": "Course",
        "contentName": f"Course {n}",
        "enrolledAt": 1704103200000,
        "isCompleted": True,
        "completedAt": 1706781600000,
        "overallProgress": 100,
    }
    record.update(overrides)
    return record


def sandbox_connection(sandbox) -> ProviderConnection:
    return ConnectionFactory(
        name="sandbox",
        base_url=sandbox.base_url,
        token_url=sandbox.token_url,
        provider_org_id=ORG_ID,
        provider_program_ids=[PROGRAM_ID],
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )


def test_a_queued_sync_runs_on_the_worker(worker, sandbox_factory):
    people = [EmployeeFactory(email=f"learner{n}@acme.example", external_id="") for n in range(5)]
    sandbox = sandbox_factory(records=[element(n, p.email) for n, p in enumerate(people)])
    conn = sandbox_connection(sandbox)

    sync_connection.delay(conn.pk)

    worker.wait_for(r"programs\.tasks\.sync_connection\[[^\]]+\] succeeded")
    run = SyncRun.objects.get()
    assert (run.status, run.source, run.fetched, run.created, run.unmatched, run.error) == (
        "succeeded",
        "api",
        5,
        5,
        0,
        "",
    )
    assert Enrollment.objects.filter(connection=conn, is_completed=True).count() == 5
    conn.refresh_from_db()
    assert conn.last_synced_at == run.started_at and conn.sync_claimed_until is None
    assert CLIENT_SECRET not in worker.log()


def test_two_syncs_of_one_connection_at_once_leave_the_rows_of_one(worker, sandbox_factory):
    people = [EmployeeFactory(email=f"learner{n}@acme.example", external_id="") for n in range(8)]
    # Slow answers keep the first sync busy while the second one starts on the other worker process.
    sandbox = sandbox_factory(records=[element(n, p.email) for n, p in enumerate(people)], slow_seconds=1.0)
    conn = sandbox_connection(sandbox)

    sync_connection.delay(conn.pk)
    sync_connection.delay(conn.pk)

    finished = worker.wait_for(r"programs\.tasks\.sync_connection\[[^\]]+\] succeeded in [0-9.]+s: (\S+)", count=2)
    assert sorted(finished) == sorted([str(SyncRun.objects.get().pk), "None"])
    run = SyncRun.objects.get()
    assert (run.status, run.fetched, run.created, run.updated, run.unchanged) == ("succeeded", 8, 8, 0, 0)
    assert Enrollment.objects.filter(connection=conn).count() == 8
    assert "skipped: another sync holds it" in worker.log()
    conn.refresh_from_db()
    assert conn.sync_claimed_until is None
