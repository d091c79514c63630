"""A REAL Celery worker (subprocess, Redis broker, the test database) runs the sync task
against the Coursera sandbox; crash tests SIGKILL it mid-sync. Needs Redis at REDIS_URL:
outside CI a missing Redis skips these tests with the reason; under CI=true it fails them.

The workers run with SYNC_LEASE_SECONDS=15 (the smallest allowed), so a dead run's lease
lapses within 15 s instead of the default 90 s; everything else is as in production."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from programs.models import Enrollment, ProviderConnection, SyncRun
from programs.sync.lease import connection_claim
from programs.sync.schedule import sync_request
from programs.tasks import sync_connection
from tests.factories import ConnectionFactory, EmployeeFactory
from tests.sandbox_fixtures import CLIENT_ID, CLIENT_SECRET, ORG_ID, coursera_element, sandbox_connection
from tests.worker_support import Worker, celery_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
pytest_plugins = ["tests.sandbox_fixtures"]

LEASE = 15
WORKER_ENV = {"SYNC_LEASE_SECONDS": str(LEASE)}
SUCCEEDED = r"programs\.tasks\.sync_connection\[[^\]]+\] succeeded in [0-9.]+s: (\S+)"


@pytest.fixture
def worker(tmp_path) -> Iterator[Worker]:
    """`celery -A learnhub worker` on a queue of its own, against the test database."""
    with celery_worker(tmp_path, concurrency=2, env=WORKER_ENV) as running:
        yield running


def test_a_queued_sync_runs_on_the_worker(worker, sandbox_factory):
    people = [EmployeeFactory(email=f"learner{n}@acme.example", external_id="") for n in range(5)]
    sandbox = sandbox_factory(records=[coursera_element(n, p.email) for n, p in enumerate(people)])
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
    sandbox = sandbox_factory(records=[coursera_element(n, p.email) for n, p in enumerate(people)], slow_seconds=1.0)
    conn = sandbox_connection(sandbox)

    assert sync_request(connection=conn) is True
    assert sync_request(connection=conn) is True

    finished = worker.wait_for(SUCCEEDED, count=2)
    run = SyncRun.objects.get()
    # The second request waited for the first run (it started after both were made) and is answered by it.
    assert finished == [str(run.pk), str(run.pk)]
    assert (run.status, run.fetched, run.created, run.updated, run.unchanged) == ("succeeded", 8, 8, 0, 0)
    assert Enrollment.objects.filter(connection=conn).count() == 8
    assert "waits for the sync holding it: next try in" in worker.log()
    assert f"already done by run {run.pk}" in worker.log()
    conn.refresh_from_db()
    assert (conn.sync_claimed_until, conn.sync_requested_at) == (None, None)


def test_a_sync_queued_while_another_holds_the_connection_runs_when_that_one_ends(worker, sandbox_factory, settings):
    settings.SYNC_LEASE_SECONDS = LEASE
    person = EmployeeFactory(email="learner0@acme.example", external_id="")
    conn = sandbox_connection(sandbox_factory(records=[coursera_element(0, person.email)]))
    holder = connection_claim(connection=conn)  # a live sync elsewhere (here: this test) holds the connection
    assert holder is not None

    assert sync_request(connection=conn) is True

    worker.wait_for(r"Sync of connection \d+ waits for the sync holding it: next try in 5 s")
    assert SyncRun.objects.count() == 0  # not dropped, not run: waiting
    conn.refresh_from_db()
    assert conn.sync_requested_at is not None
    released_at = timezone.now()
    holder.release()

    (finished,) = worker.wait_for(SUCCEEDED)
    run = SyncRun.objects.get()
    assert finished == str(run.pk)
    assert (run.status, run.fetched, run.created) == ("succeeded", 1, 1)
    assert released_at < run.started_at < released_at + dt.timedelta(seconds=LEASE / 3 + 3)
    conn.refresh_from_db()
    assert (conn.sync_claimed_until, conn.sync_requested_at) == (None, None)


def test_a_connection_with_two_programs_is_synced_by_two_tasks_side_by_side(worker, sandbox_factory):
    people = [EmployeeFactory(email=f"learner{n}@acme.example", external_id="") for n in range(6)]
    records = [coursera_element(n, people[n].email, programId="P1") for n in range(3)]
    records += [coursera_element(n, people[n].email, programId="P2") for n in range(3, 6)]
    records += [
        coursera_element(1, people[1].email, programId="P2", completedAt=1705312800000),  # also in P1: merged once
        coursera_element(9, "stranger@elsewhere.example", programId="P2"),
    ]
    # Pages of two records, answered in 0.5 s each: both programs are read at once, by two processes.
    sandbox = sandbox_factory(records=records, program_ids=("P1", "P2"), slow_seconds=0.5, max_limit=2)
    conn = ConnectionFactory(
        name="sandbox",
        base_url=sandbox.base_url,
        token_url=sandbox.token_url,
        provider_org_id=ORG_ID,
        provider_program_ids=["P1", "P2"],
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )

    sync_connection.delay(conn.pk)

    worker.wait_for(r"programs\.tasks\.sync_run_part\[[^\]]+\] succeeded")
    run = SyncRun.objects.get()
    assert (run.status, run.error, run.parts, run.parts_done) == ("succeeded", "", 2, 2)
    assert (run.fetched, run.created, run.updated, run.unchanged, run.merged, run.unmatched, run.pages) == (
        8,
        6,
        0,
        0,
        1,
        1,
        5,
    )
    assert Enrollment.objects.filter(connection=conn).count() == 6
    completed = Enrollment.objects.get(connection=conn, course__provider_course_id="C1").completed_at
    assert completed == dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC)  # the earlier completion, read in P2
    read = re.findall(rf"/(\S+)\] Sync of sandbox \(run {run.pk}\): program (P\d) read", worker.log())
    assert sorted(program for _, program in read) == ["P1", "P2"]
    assert len({process for process, _ in read}) == 2  # two tasks, in two worker processes
    conn.refresh_from_db()
    assert (conn.sync_claimed_until, conn.sync_claim_token, conn.last_synced_at) == (None, "", run.started_at)

    # Again, nothing changed: both tasks look their records up unparsed, writing one page at a time.
    sync_connection.delay(conn.pk)
    again = wait_for_ended_runs(conn, 2)[0]
    assert (again.status, again.error, again.parts_done) == ("succeeded", "", 2)
    assert (
        again.fetched,
        again.created,
        again.updated,
        again.unchanged,
        again.merged,
        again.unmatched,
        again.pages,
    ) == (
        8,
        0,
        0,
        6,
        1,
        1,
        5,
    )
    assert Enrollment.objects.get(connection=conn, course__provider_course_id="C1").completed_at == completed


def wait_for_ended_runs(conn: ProviderConnection, count: int) -> list[SyncRun]:
    """The connection's runs, newest first, once `count` of them have ended."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        runs = list(SyncRun.objects.filter(connection=conn).exclude(status="running").order_by("-pk"))
        if len(runs) >= count:
            return runs
        time.sleep(0.1)
    pytest.fail(f"{conn} has not had {count} runs end")


# --- Crashes: a worker SIGKILLed mid-sync --------------------------------------------------

RECORDS = 18
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LAPSED = re.compile(
    r"Stopped without finishing: its hold on the connection lapsed at (\d+ \w+ \d{4}, \d\d:\d\d:\d\d) UTC "
    r"without being renewed \(the process running it was killed, or lost the database\)\. "
    r"It was taken over by the sync started at (.+)\. "
    r"Kept: pages 1-(\d+), written before it stopped \((.+)\)\. "
    r"The sync that took over re-reads them and completes the rest\."
)


@pytest.fixture
def crash_world(sandbox_factory) -> tuple[ProviderConnection, set[tuple[Any, ...]]]:
    """A connection whose sync takes about 10 s (9 pages of 2 records, 1 s per answer,
    written as page 1, then pages 2-5, then 6-9) and the enrollment rows a clean run of it
    leaves."""
    people = [EmployeeFactory(email=f"learner{n}@acme.example", external_id="") for n in range(RECORDS)]
    records = [
        coursera_element(n, p.email, isCompleted=n % 2 == 0, completedAt=1706781600000 + n if n % 2 == 0 else None)
        for n, p in enumerate(people)
    ]
    sandbox = sandbox_factory(records=records, slow_seconds=1.0, max_limit=2)
    clean = {
        (
            p.email,
            f"C{n}",
            n % 2 == 0,
            EPOCH + dt.timedelta(milliseconds=1706781600000 + n) if n % 2 == 0 else None,
        )
        for n, p in enumerate(people)
    }
    return sandbox_connection(sandbox), clean


def rows(conn: ProviderConnection) -> set[tuple[Any, ...]]:
    return set(
        Enrollment.objects.filter(connection=conn).values_list(
            "learner_key", "course__provider_course_id", "is_completed", "completed_at"
        )
    )


def wait_for_pages(conn: ProviderConnection, pages: int) -> SyncRun:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = SyncRun.objects.filter(connection=conn, status="running", pages__gte=pages).first()
        if run is not None:
            return run
        time.sleep(0.1)
    pytest.fail(f"no run of {conn} reached {pages} pages")


def assert_taken_over(dead: SyncRun, successor: SyncRun, *, killed_at: dt.datetime) -> None:
    """`dead` failed with the takeover reason and what it kept; `successor` completed it."""
    dead.refresh_from_db()
    match = LAPSED.fullmatch(dead.error)
    assert match is not None, dead.error
    lapsed_at, taken_by, kept_pages, kept_counts = match.groups()
    assert dead.status == "failed" and dead.finished_at == successor.started_at
    assert taken_by == f"{successor.started_at:%-d %b %Y, %H:%M:%S} UTC"
    lapsed = dt.datetime.strptime(lapsed_at, "%d %b %Y, %H:%M:%S").replace(tzinfo=dt.UTC)  # a run at midnight too
    # The lease lapsed at most one lease after the kill (its last renewal was before it)...
    assert killed_at - dt.timedelta(seconds=1) <= lapsed <= killed_at + dt.timedelta(seconds=LEASE)
    # ...and the next sync started right after: well within two minutes of the crash.
    assert lapsed <= successor.started_at <= killed_at + dt.timedelta(seconds=LEASE + 10)
    assert int(kept_pages) == dead.pages >= 2
    assert kept_counts == (
        f"fetched {dead.fetched}, created {dead.created}, updated 0, unchanged 0, merged 0, skipped 0, "
        "invalid 0, unmatched 0"
    )
    assert dead.created == dead.fetched == 2 * dead.pages
    successor.refresh_from_db()
    assert (successor.status, successor.error, successor.fetched) == ("succeeded", "", RECORDS)
    # What the dead run wrote is re-read unchanged; the rest is created; nothing twice.
    assert (successor.created, successor.updated, successor.unchanged) == (RECORDS - dead.created, 0, dead.created)


def test_a_worker_killed_mid_sync_is_taken_over_by_the_sync_queued_meanwhile(tmp_path, crash_world):
    conn, clean = crash_world
    with celery_worker(tmp_path, concurrency=1, env=WORKER_ENV, name="first") as first:
        assert sync_request(connection=conn) is True
        dead = wait_for_pages(conn, 2)
        first.kill()  # the whole worker, SIGKILL: its task stays unacknowledged until Redis's visibility timeout
        killed_at = timezone.now()
        conn.refresh_from_db()
        assert conn.sync_claimed_until is not None and conn.sync_claimed_until > killed_at  # the dead run's lease

        assert sync_request(connection=conn) is True  # "Sync now" while the dead run still looks alive
        conn.refresh_from_db()
        assert conn.sync_requested_at is not None

        with celery_worker(tmp_path, concurrency=1, env=WORKER_ENV, name="second", queue=first.queue) as second:
            (finished,) = second.wait_for(SUCCEEDED, seconds=LEASE + 45)

    successor = SyncRun.objects.exclude(pk=dead.pk).get()
    assert finished == str(successor.pk)  # the queued sync was not lost: it waited, then took over
    assert "waits for the sync holding it: next try in" in second.log()
    assert_taken_over(dead, successor, killed_at=killed_at)
    assert rows(conn) == clean
    conn.refresh_from_db()
    assert (conn.sync_claimed_until, conn.sync_requested_at, conn.last_synced_at) == (
        None,
        None,
        successor.started_at,
    )


def test_a_task_redelivered_after_its_process_died_takes_over_and_completes(tmp_path, crash_world):
    conn, clean = crash_world
    with celery_worker(tmp_path, concurrency=1, env=WORKER_ENV) as worker:
        assert sync_request(connection=conn) is True
        dead = wait_for_pages(conn, 2)
        worker.kill_pool_child()  # the task's process dies; Celery requeues it (reject_on_worker_lost)
        killed_at = timezone.now()

        (finished,) = worker.wait_for(SUCCEEDED, seconds=LEASE + 45)

    assert "WorkerLostError" in worker.log()
    assert "waits for the sync holding it: next try in" in worker.log()
    successor = SyncRun.objects.exclude(pk=dead.pk).get()
    assert finished == str(successor.pk)
    assert_taken_over(dead, successor, killed_at=killed_at)
    assert rows(conn) == clean
    conn.refresh_from_db()
    assert (conn.sync_claimed_until, conn.sync_requested_at) == (None, None)
