"""A connection with several Coursera programs: one run whose counts are the sum of its
programs', a record of one learner and course in two programs merged once. With tasks run
in process (no worker) the programs are read one after the other; fanned out, one task per
program (here the part tasks run as the test's transaction would queue them; the real
worker test is in test_sync_worker.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from programs.models import Enrollment, ProviderConnection, SyncRun, UnmatchedRecord
from programs.sync.pipeline import sync_api
from programs.tasks import sync_connection
from tests.factories import ConnectionFactory, EmployeeFactory
from tests.sandbox_fixtures import CLIENT_ID, CLIENT_SECRET, ORG_ID, coursera_element

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.sandbox_fixtures"]

EARLIER = 1705312800000  # 2024-01-15T10:00Z, before coursera_element's 2024-02-01


@pytest.fixture
def two_programs(sandbox_factory) -> ProviderConnection:
    people = [EmployeeFactory(email=f"learner{n}@acme.example", external_id="") for n in range(5)]
    records = [coursera_element(n, people[n].email, programId="P1") for n in range(3)]
    records += [coursera_element(n, people[n].email, programId="P2") for n in (3, 4)]
    records += [
        coursera_element(0, people[0].email, programId="P2", completedAt=EARLIER),  # also in P1: merged once
        coursera_element(5, "stranger@elsewhere.example", programId="P2"),
    ]
    sandbox = sandbox_factory(records=records, program_ids=("P1", "P2"))
    return ConnectionFactory(
        name="sandbox",
        base_url=sandbox.base_url,
        token_url=sandbox.token_url,
        provider_org_id=ORG_ID,
        provider_program_ids=["P1", "P2"],
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )


def counts(run: SyncRun) -> tuple[int, ...]:
    return (run.fetched, run.created, run.updated, run.unchanged, run.merged, run.unmatched, run.pages)


def assert_synced_once(conn: ProviderConnection, run: SyncRun) -> None:
    assert (run.status, run.error) == ("succeeded", "")
    assert counts(run) == (7, 5, 0, 0, 1, 1, 2)
    assert SyncRun.objects.filter(connection=conn).count() == 1
    rows = dict(Enrollment.objects.values_list("course__provider_course_id", "completed_at"))
    assert rows == {
        "C0": dt.datetime(2024, 1, 15, 10, tzinfo=dt.UTC),  # the earlier completion, from P2
        **{f"C{n}": dt.datetime(2024, 2, 1, 10, tzinfo=dt.UTC) for n in range(1, 5)},
    }
    assert list(UnmatchedRecord.objects.values_list("learner_key", flat=True)) == ["stranger@elsewhere.example"]
    conn.refresh_from_db()
    assert (conn.sync_claimed_until, conn.sync_claim_token, conn.last_synced_at) == (None, "", run.started_at)


def test_in_process_the_programs_are_read_one_after_the_other_in_one_run(two_programs):
    run = SyncRun.objects.get(pk=sync_connection.delay(two_programs.pk).get())

    assert (run.parts, run.parts_done) == (1, 1)
    assert_synced_once(two_programs, run)


def test_fanned_out_each_program_is_a_task_of_one_run_and_the_last_ends_it(
    two_programs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as queued:
        run = sync_api(connection=two_programs, fan_out=True)
        # The first program is read; the second one's task is queued: the run goes on.
        assert (run.status, run.parts, run.parts_done, run.fetched) == ("running", 2, 1, 3)
        assert ProviderConnection.objects.get(pk=two_programs.pk).sync_claimed_until is not None

    assert [c.__qualname__ for c in queued][:1] == ["task_queue_on_commit.<locals>.<lambda>"]
    run.refresh_from_db()
    assert run.parts_done == 2
    assert_synced_once(two_programs, run)


def test_a_part_task_of_a_run_that_has_ended_does_nothing(two_programs):
    from programs.tasks import sync_run_part

    run = SyncRun.objects.get(pk=sync_connection.delay(two_programs.pk).get())

    assert sync_run_part.delay(run.pk, 1, "no-longer-held").get() is None
    run.refresh_from_db()
    assert counts(run) == (7, 5, 0, 0, 1, 1, 2)
