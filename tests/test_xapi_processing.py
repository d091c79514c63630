"""Storing and processing xAPI statements (programs/xapi/services.py) where robustness is
the point: many posts at once over real HTTP, a run that died, a batch taken in twice,
statements whose task was lost, a connection held by another run, and the query counts."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from programs.models import Enrollment, SyncRun, SyncStatus, XapiStatement
from programs.sync.lease import SyncAlreadyRunningError, connection_claim
from programs.xapi import services
from programs.xapi.services import (
    StatementConflictError,
    xapi_pending_queue,
    xapi_statements_process,
    xapi_statements_store,
)
from programs.xapi.statements import statement_parsed
from tests.factories import EmployeeFactory, org
from tests.xapi_support import CONFLICT, ETHICS, PRIVACY, SAFETY, VOID_ETHICS, Lrs, statement, team_create

RECEIVED = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)


def store(team_connection, *statements, received_at=RECEIVED) -> list[str]:
    return xapi_statements_store(
        connection=team_connection, statements=[statement_parsed(s) for s in statements], received_at=received_at
    )


def pending() -> int:
    return XapiStatement.objects.filter(processed_at__isnull=True).count()


@pytest.mark.django_db(transaction=True)
def test_many_posts_at_once_are_all_taken_in_and_the_same_statement_is_stored_once(live_server):
    team = team_create()
    support = org("Acme/Support")
    people = [EmployeeFactory(email=f"p{n}@acme.example", organization=support) for n in range(8)]
    posts = [statement(20 + n, f"p{n}", "completed", "safety", "Safety", "2024-05-01T10:00:00Z") for n in range(8)]
    posts += [SAFETY] * 4  # the same statement four times at once
    lrs = Lrs(live_server.url)

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda body: lrs.send(team.connection, body), posts))

    assert [a.status_code for a in answers] == [200] * 12
    assert XapiStatement.objects.count() == 9
    # Each post was taken in, by its own request or by the run that held the connection when it came.
    assert pending() == 0
    completed = Enrollment.objects.filter(connection=team.connection, is_completed=True)
    assert sorted(completed.values_list("employee__email", flat=True)) == sorted(
        [p.email for p in people] + ["sade@acme.example"]
    )
    assert sum(SyncRun.objects.values_list("created", flat=True)) == 9
    assert set(SyncRun.objects.values_list("status", flat=True)) == {"succeeded"}


@pytest.mark.django_db(transaction=True)
def test_two_different_statements_under_one_new_id_at_once_keep_the_first(live_server):
    team = team_create()
    lrs = Lrs(live_server.url)

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda body: lrs.send(team.connection, body), [SAFETY, CONFLICT]))

    assert sorted(a.status_code for a in answers) == [200, 409]
    kept = SAFETY if answers[0].status_code == 200 else CONFLICT
    assert XapiStatement.objects.get().statement == kept


@pytest.mark.django_db
def test_statements_that_came_while_a_run_held_the_connection_are_taken_in_by_the_next_processing(
    django_capture_on_commit_callbacks,
):
    team = team_create()
    holder = connection_claim(connection=team.connection, source="xapi")  # a run elsewhere holds it
    assert holder is not None

    with django_capture_on_commit_callbacks(execute=True) as queued:
        assert store(team.connection, SAFETY) == [SAFETY["id"]]

    # The task ran in process, found the connection held and left the statement pending: not lost.
    assert len(queued) == 1
    assert (pending(), Enrollment.objects.count(), SyncRun.objects.count()) == (1, 0, 0)
    with pytest.raises(SyncAlreadyRunningError):
        xapi_statements_process(connection=team.connection)

    holder.release()
    run = xapi_statements_process(connection=team.connection)

    assert run is not None and (run.status, run.fetched, run.created) == ("succeeded", 1, 1)
    assert (pending(), Enrollment.objects.filter(is_completed=True).count()) == (0, 1)


@pytest.mark.django_db
def test_processing_goes_on_until_nothing_is_pending(monkeypatch):
    team = team_create()
    monkeypatch.setattr(services, "PROCESS_BATCH", 2)
    store(team.connection, SAFETY, ETHICS, PRIVACY, VOID_ETHICS)

    last = xapi_statements_process(connection=team.connection)

    # Batches of 2 in the order received: Safety and Ethics, then Privacy and the voiding statement. That
    # one was stored before the first batch ran, so Ethics never counted: written as not completed at
    # once, and unchanged when the second batch looks at it again.
    runs = list(SyncRun.objects.order_by("pk").values_list("fetched", "created", "updated", "unchanged"))
    assert runs == [(2, 2, 0, 0), (2, 1, 0, 1)]
    assert last is not None and last.pk == SyncRun.objects.order_by("pk").last().pk
    assert pending() == 0
    assert Enrollment.objects.get(employee=team.wen).is_completed is False


@pytest.mark.django_db
def test_a_batch_taken_in_twice_changes_nothing_the_second_time():
    team = team_create()
    store(team.connection, SAFETY, PRIVACY, ETHICS, VOID_ETHICS)
    xapi_statements_process(connection=team.connection)
    before = sorted(Enrollment.objects.values_list("learner_key", "is_completed", "completed_at", "updated_at"))
    # A worker that died after the run but before marking the batch processed.
    XapiStatement.objects.update(processed_at=None)

    run = xapi_statements_process(connection=team.connection)

    assert run is not None
    assert (run.status, run.fetched, run.created, run.updated, run.unchanged) == ("succeeded", 3, 0, 0, 3)
    after = sorted(Enrollment.objects.values_list("learner_key", "is_completed", "completed_at", "updated_at"))
    assert after == before
    assert pending() == 0


@pytest.mark.django_db
def test_a_run_whose_worker_died_is_taken_over_and_its_statements_taken_in():
    team = team_create()
    store(team.connection, SAFETY)
    lapsed = timezone.now() - dt.timedelta(seconds=5)
    dead = SyncRun.objects.create(connection=team.connection, source="xapi", status=SyncStatus.RUNNING)
    type(team.connection).objects.filter(pk=team.connection.pk).update(sync_claimed_until=lapsed)

    run = xapi_statements_process(connection=team.connection)

    dead.refresh_from_db()
    assert dead.status == "failed" and dead.error.startswith("Stopped without finishing: its hold on the connection")
    assert run is not None and (run.status, run.created) == ("succeeded", 1)
    assert pending() == 0


@pytest.mark.django_db
def test_other_statements_are_marked_processed_without_a_run():
    team = team_create()
    store(team.connection, statement(9, "hana", "attempted", "safety", "Safety", None))

    assert xapi_statements_process(connection=team.connection) is None

    assert (pending(), SyncRun.objects.count(), Enrollment.objects.count()) == (0, 0, 0)


@pytest.mark.django_db
def test_the_sweep_queues_connections_whose_statements_wait_over_a_minute(django_capture_on_commit_callbacks):
    team = team_create()
    now = timezone.now()
    from tests.xapi_support import xapi_connection

    fresh = xapi_connection(name="fresh", client_id="a", client_secret="b")
    done = xapi_connection(name="done", client_id="c", client_secret="d")
    store(team.connection, SAFETY, received_at=now - dt.timedelta(minutes=2))
    store(fresh, SAFETY, received_at=now - dt.timedelta(seconds=30))
    store(done, SAFETY, received_at=now - dt.timedelta(minutes=10))
    XapiStatement.objects.filter(connection=done).update(processed_at=now)

    with django_capture_on_commit_callbacks(execute=True):
        assert xapi_pending_queue(now=now) == [team.connection.pk]

    assert list(XapiStatement.objects.filter(processed_at__isnull=True).values_list("connection__name", flat=True)) == [
        "fresh"
    ]
    assert Enrollment.objects.get(connection=team.connection).employee == team.sade


@pytest.mark.django_db
def test_a_conflict_stores_nothing_and_queues_nothing(django_capture_on_commit_callbacks):
    team = team_create()
    store(team.connection, SAFETY)

    with django_capture_on_commit_callbacks() as queued, pytest.raises(StatementConflictError):
        store(team.connection, PRIVACY, CONFLICT)

    assert queued == []
    assert list(XapiStatement.objects.values_list("statement_id", flat=True).order_by("pk")) == [
        XapiStatement.objects.get().statement_id
    ]


@pytest.mark.django_db
def test_storing_a_batch_takes_the_same_queries_whatever_its_size():
    team = team_create()
    one = [statement(200, "sade", "attempted", "c", "C", None)]
    many = [statement(300 + n, "sade", "attempted", f"c{n}", "C", None) for n in range(50)]

    counts = []
    for batch in (one, many):
        with CaptureQueriesContext(db_connection) as queries:
            store(team.connection, *batch)
        counts.append(len(queries))

    # The insert (ON CONFLICT DO NOTHING) and the hashes read back, in a savepoint (the test's transaction).
    assert counts == [4, 4]
