"""The lease a sync holds on its connection (programs/sync/lease.py, "Locking contract"), on real
PostgreSQL with committed data (transaction=True: the heartbeat writes from a thread of
its own, on a connection of its own, as in production).

The tests shorten SYNC_LEASE_SECONDS to a few seconds (production: at least 15, default
90); the rules are the same: renewed every third of a lease, never more than a lease
ahead, lost only to a run that took the connection over."""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import PIPE
from typing import Any

import pytest
from django.db import connection as db_connection
from django.db import connections, transaction
from django.utils import timezone

from programs.models import Enrollment, ProviderConnection, SyncRun
from programs.providers.base import AdapterStats, ProviderRecord
from programs.providers.coursera_sandbox import TOKEN_PATH
from programs.sync.lease import SyncAlreadyRunningError, connection_claim
from programs.sync.pipeline import sync_api, sync_run
from programs.sync.schedule import sync_wait_seconds
from tests.factories import ConnectionFactory, EmployeeFactory
from tests.sandbox_fixtures import CLIENT_ID, CLIENT_SECRET, ORG_ID, PROGRAM_ID, sandbox_connection

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["tests.sandbox_fixtures"]

UTC = dt.UTC
ROOT = Path(__file__).resolve().parent.parent


def rec(email: str, course: str) -> ProviderRecord:
    return ProviderRecord(raw={"email": email, "course": course}, email=email, provider_course_id=course)


class StepsAdapter:
    """Yields the given pages; before page N it runs `before[N]` (the "fetch" of that
    page: a slow provider, or something another process does meanwhile), once the pages
    before it are written: the run reads a page ahead while it writes (in a thread of its
    own, whose database connection is closed after each step)."""

    def __init__(self, *pages: list[ProviderRecord], before: dict[int, Callable[[], None]] | None = None) -> None:
        self._pages = pages
        self.before = before or {}
        self.stats = AdapterStats()

    def pages(self) -> Iterator[list[ProviderRecord]]:
        for number, page in enumerate(self._pages, start=1):
            if number in self.before:
                try:
                    written_before(number - 1)
                    self.before[number]()
                finally:
                    db_connection.close()
            self.stats.pages += 1
            yield page


def written_before(pages: int) -> None:
    """Wait until the running sync has committed `pages` pages."""
    deadline = time.monotonic() + 30
    while not SyncRun.objects.filter(status="running", pages__gte=pages).exists():
        assert time.monotonic() < deadline, f"no running sync wrote {pages} pages"
        time.sleep(0.02)


def claimed_until(conn: ProviderConnection) -> dt.datetime | None:
    return ProviderConnection.objects.filter(pk=conn.pk).values_list("sync_claimed_until", flat=True).get()


class Watcher:
    """Samples the connection's lease from another thread (its own database connection)
    every 0.2 s while a run goes on: (sync_claimed_until, the time just after reading it),
    and tries to claim the connection once, as a second sync would."""

    def __init__(self, conn: ProviderConnection) -> None:
        self.conn = conn
        self.samples: list[tuple[dt.datetime, dt.datetime | None]] = []
        self.second_claim: Any = "not tried"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        try:
            while not self.stop.wait(0.2):
                until = claimed_until(self.conn)
                self.samples.append((timezone.now(), until))
                if len(self.samples) == 10:
                    self.second_claim = connection_claim(connection=self.conn)
        finally:
            db_connection.close()

    def __enter__(self) -> Watcher:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


@pytest.fixture
def short_lease(settings) -> int:
    settings.SYNC_LEASE_SECONDS = 3
    return 3


def test_the_lease_is_short_and_renewed_while_a_slow_page_is_fetched(short_lease, sandbox_factory):
    person = EmployeeFactory(email="learner1@acme.example", external_id="")
    # Every answer takes 4 s: the token, then the page: 8 s of fetching, more than two leases.
    sandbox = sandbox_factory(
        records=[
            {
                "externalId": person.email,
                "email": person.email,
                "contentId": "C1",
                "contentType": "Course",
                "isCompleted": False,
            }
        ],
        slow_seconds=4.0,
    )
    conn = sandbox_connection(sandbox)

    with Watcher(conn) as watcher:
        run = sync_api(connection=conn)

    assert (run.status, run.fetched, run.created) == ("succeeded", 1, 1)
    held = [(at, until) for at, until in watcher.samples if until is not None]
    assert len(held) >= 30  # the whole 8 s
    lease = dt.timedelta(seconds=short_lease)
    # Never lapsed, never more than one lease ahead.
    assert [(at, until) for at, until in held if not at < until <= at + lease] == []
    # Renewed about every second (a third of the lease) while the answers were on their way.
    assert len({until for _, until in held}) >= 6
    assert watcher.second_claim is None  # a second sync could not take the connection meanwhile
    assert claimed_until(conn) is None  # released at the end


def test_a_run_that_lost_its_lease_writes_nothing_more_and_stops(short_lease):
    ada = EmployeeFactory(email="ada@acme.example", external_id="")
    grace = EmployeeFactory(email="grace@acme.example", external_id="")
    conn = ConnectionFactory(name="coursera")
    taken: dict[str, Any] = {}

    def taken_over() -> None:
        # This run stalls past its lease (a long pause, a lost database) and another sync claims
        # the connection, as it may once the lease has lapsed.
        ProviderConnection.objects.filter(pk=conn.pk).update(
            sync_claimed_until=timezone.now() - dt.timedelta(seconds=1)
        )
        taken["lease"] = connection_claim(connection=conn)

    adapter = StepsAdapter(
        [rec(ada.email, "P1")], [rec(grace.email, "P2")], [rec(ada.email, "P3")], before={2: taken_over}
    )

    run = sync_run(connection=conn, adapter=adapter)

    assert run.status == "failed"
    assert run.error == (
        "This sync lost its hold on the connection: it could not renew it within its lease "
        "(SYNC_LEASE_SECONDS = 3 s), so another sync may have taken over. It stopped without writing more. "
        "Kept: page 1, written before the error (fetched 1, created 1, updated 0, unchanged 0, merged 0, "
        "skipped 0, invalid 0, unmatched 0). The next sync re-reads it and completes the rest."
    )
    assert list(Enrollment.objects.values_list("course__provider_course_id", flat=True)) == ["P1"]
    assert SyncRun.objects.get(pk=run.pk).status == "failed"
    # The run that took over keeps its lease: the loser released nothing that was not its own.
    assert claimed_until(conn) == taken["lease"].until


def test_a_dead_run_is_marked_failed_with_the_reason_when_the_next_run_takes_over():
    ada = EmployeeFactory(email="ada@acme.example", external_id="")
    conn = ConnectionFactory(name="coursera")
    dead = SyncRun.objects.create(
        connection=conn,
        status="running",
        started_at=dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        pages=2,
        fetched=4,
        created=3,
        unchanged=1,
    )
    lapsed = dt.datetime(2026, 3, 2, 9, 1, 30, 250000, tzinfo=UTC)
    ProviderConnection.objects.filter(pk=conn.pk).update(sync_claimed_until=lapsed)

    run = sync_run(connection=conn, adapter=StepsAdapter([rec(ada.email, "P1")]))

    dead.refresh_from_db()
    assert (dead.status, dead.finished_at, run.status) == ("failed", run.started_at, "succeeded")
    assert dead.error == (
        "Stopped without finishing: its hold on the connection lapsed at 2 Mar 2026, 09:01:30 UTC without being "
        "renewed (the process running it was killed, or lost the database). It was taken over by the sync started "
        f"at {run.started_at:%-d %b %Y, %H:%M:%S} UTC. Kept: pages 1-2, written before it stopped (fetched 4, "
        "created 3, updated 0, unchanged 1, merged 0, skipped 0, invalid 0, unmatched 0). The sync that took over "
        "re-reads them and completes the rest."
    )


def test_a_live_lease_is_not_taken_over_and_says_until_when():
    conn = ConnectionFactory(name="coursera")
    live = SyncRun.objects.create(connection=conn, status="running")
    lease = connection_claim(connection=conn)
    assert lease is not None

    with pytest.raises(SyncAlreadyRunningError) as busy:
        sync_run(connection=conn, adapter=StepsAdapter([]))

    assert busy.value.held_until == lease.until
    assert str(busy.value) == (
        f"A sync of coursera is already running (its hold lasts until {lease.until:%-d %b %Y, %H:%M:%S} UTC "
        "and is renewed while it runs); try again when it ends."
    )
    live.refresh_from_db()
    assert (live.status, live.error, SyncRun.objects.count()) == ("running", "", 1)


def test_a_heartbeat_that_meets_a_locked_database_does_not_break_the_run(settings, caplog):
    """On SQLite (`make run`) a heartbeat can meet "database is locked"; on PostgreSQL its
    wait for a row lock is bounded (lock_timeout) and fails the same way. Either is logged
    and tried again at the next beat; the run goes on."""
    settings.SYNC_LEASE_SECONDS = 6  # a beat every 2 s, each waiting at most 2 s for a lock
    ada = EmployeeFactory(email="ada@acme.example", external_id="")
    grace = EmployeeFactory(email="grace@acme.example", external_id="")
    conn = ConnectionFactory(name="coursera")

    def row_locked_meanwhile() -> None:
        # Another process holds the connection's row for 4.5 s: at least one beat waits its
        # whole 2 s and fails.
        def hold() -> None:
            try:
                with transaction.atomic():
                    list(ProviderConnection.objects.select_for_update().filter(pk=conn.pk))
                    time.sleep(4.5)
            finally:
                connections["default"].close()

        holder = threading.Thread(target=hold)
        holder.start()
        holder.join()

    adapter = StepsAdapter([rec(ada.email, "P1")], [rec(grace.email, "P2")], before={2: row_locked_meanwhile})
    with caplog.at_level(logging.WARNING, logger="programs.sync"):
        run = sync_run(connection=conn, adapter=adapter)

    assert (run.status, run.error, run.created) == ("succeeded", "", 2)
    not_renewed = [r.getMessage() for r in caplog.records if "not renewed this time" in r.getMessage()]
    assert not_renewed, caplog.text
    assert all("canceling statement due to lock timeout" in m for m in not_renewed)
    assert claimed_until(conn) is None


@pytest.mark.slow
def test_on_sqlite_a_heartbeat_that_meets_database_is_locked_does_not_break_the_run(tmp_path, sandbox_factory):
    """The embedded mode (`make run`): a SQLite file, the sync in the foreground. Another
    process holds SQLite's write lock for 11 s while the answers are on their way, so a
    heartbeat meets "database is locked" (after SQLite's 5 s busy timeout); the sync
    still succeeds."""
    database = tmp_path / "embedded.sqlite3"
    env = {
        **os.environ,
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{database}",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
        "SYNC_LEASE_SECONDS": "15",
        "PROVIDER_CLIENT_SECRET": CLIENT_SECRET,
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    # Two answers (the token, then the page), 6 s each: 12 s of fetching.
    record = {"externalId": "x@acme.example", "email": "x@acme.example", "contentId": "C1", "contentType": "Course"}
    sandbox = sandbox_factory(records=[record], slow_seconds=6.0)
    connection_args = ["--kind", "coursera", "--base-url", sandbox.base_url, "--token-url", sandbox.token_url]
    connection_args += ["--org-id", ORG_ID, "--program-id", PROGRAM_ID, "--client-id", CLIENT_ID]
    subprocess.run(
        [*manage, "provider_connection", "sandbox", *connection_args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )

    sync = subprocess.Popen(
        [*manage, "sync_provider", "sandbox"], cwd=ROOT, env=env, stdout=PIPE, stderr=PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while sandbox.counts[TOKEN_PATH] == 0 and time.monotonic() < deadline:  # the run has started
        time.sleep(0.05)
    locker = sqlite3.connect(database, isolation_level=None)
    try:
        locker.execute("BEGIN IMMEDIATE")  # the write lock, as another request's transaction holds it
        time.sleep(11)
        locker.execute("ROLLBACK")
    finally:
        locker.close()
    out, err = sync.communicate(timeout=60)

    assert sync.returncode == 0, err
    assert out.strip() == (
        "sandbox run 1: succeeded. fetched 1, created 0, updated 0, unchanged 0, merged 0, skipped 0, invalid 0, "
        "unmatched 1 (pages 1, retries 0)"
    )
    assert "Sync lease of connection 1 not renewed this time (next try in 5 s): database is locked" in err


def test_how_long_a_queued_sync_waits_for_a_held_connection(settings):
    settings.SYNC_LEASE_SECONDS = 90
    settings.CELERY_TASK_TIME_LIMIT = 1800
    now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    asked = now - dt.timedelta(minutes=1)

    def wait(seconds: float | None, *, requested_at: dt.datetime = asked) -> int | None:
        held_until = None if seconds is None else now + dt.timedelta(seconds=seconds)
        return sync_wait_seconds(held_until=held_until, requested_at=requested_at, now=now)

    assert wait(10) == 11  # just after the lease would lapse: a dead run's is taken over then
    assert wait(89.5) == 30  # a live run renews: look again every third of a lease
    assert wait(0.2) == 2  # at least 2 s
    assert wait(-5) == 2  # lapsed meanwhile: claim it soon
    assert wait(None) == 2
    # Older than any run can hold a connection (time limit + two leases): give up.
    assert wait(10, requested_at=now - dt.timedelta(seconds=1800 + 180)) == 11
    assert wait(10, requested_at=now - dt.timedelta(seconds=1800 + 181)) is None
