"""The run-wide duplicate merge lives in the database (programs/sync/merge.py): the SQL
rule that decides whether a duplicate replaces the record a run kept agrees with
`record_better`, whichever of the two is read first (the tasks of a run read its programs
side by side, so the later record may arrive first). How little memory a run takes is
measured by bench/sync_bench.py, not asserted here: a timing or memory threshold inside
the suite would fail on a busy machine and prove nothing on an idle one."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import psycopg2
import pytest
from django.db import connection as db_connection
from django.db import transaction

from programs.models import Course, Enrollment, SyncRun
from programs.providers.base import ProviderRecord
from programs.sync.merge import EmployeeMap, RunWriter, merge_state_create
from programs.sync.pipeline import sync_run
from programs.sync.records import record_better, record_normalized
from tests.factories import ConnectionFactory, EmployeeFactory
from tests.test_sync_pipeline import PagesAdapter

pytestmark = pytest.mark.django_db

T = dt.datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=dt.UTC)
VARIANTS = [
    {"is_completed": True, "completed_at": T},
    {"is_completed": True, "completed_at": T + dt.timedelta(microseconds=1)},
    {"is_completed": True, "completed_at": T - dt.timedelta(days=3)},
    {"is_completed": True, "completed_at": T, "progress": Decimal("12.00")},
    {"is_completed": False, "last_activity_at": T, "progress": Decimal("40.00")},
    {"is_completed": False, "last_activity_at": T, "progress": Decimal("40.01")},
    {"is_completed": False, "last_activity_at": T + dt.timedelta(microseconds=1), "progress": Decimal("1.00")},
    {"is_completed": False, "last_activity_at": None, "progress": None},
    {"is_completed": False, "last_activity_at": T, "progress": None},
    {"is_completed": False, "last_activity_at": T, "progress": Decimal("40.00"), "enrolled_at": T},
]


def record(n: int, variant: int) -> ProviderRecord:
    return ProviderRecord(raw={"n": n}, email="a@acme.example", provider_course_id="c1", **VARIANTS[variant])


@pytest.mark.parametrize(("first", "second"), list(itertools.product(range(len(VARIANTS)), repeat=2)))
@pytest.mark.parametrize("arrival", ["in order", "second first"])
def test_the_database_keeps_what_record_better_keeps_in_any_order(first, second, arrival):
    EmployeeFactory(email="a@acme.example", external_id="")
    conn = ConnectionFactory(name="coursera")
    run = SyncRun.objects.create(connection=conn, status="running", parts=2)
    merge_state_create(run_id=run.pk)
    employees = EmployeeMap.load()
    # Two tasks of one run: part 0 reads `first`, part 1 reads `second` (later in the run).
    early = RunWriter(connection=conn, run=run, part=0, employees=employees)
    late = RunWriter(connection=conn, run=run, part=1, employees=employees)
    writes = [(early, record(1, first)), (late, record(2, second))]
    if arrival == "second first":
        writes.reverse()

    counts = []
    for writer, rec in writes:
        with transaction.atomic():  # each page in its own transaction, as a run writes it
            counts.append(writer.page_write([rec]))

    kept = record_better(record_normalized(record(1, first)), record_normalized(record(2, second)))
    row = Enrollment.objects.get()
    assert row.raw == kept.raw
    assert (row.is_completed, row.completed_at, row.last_activity_at, row.progress) == (
        kept.is_completed,
        kept.completed_at,
        kept.last_activity_at,
        kept.progress,
    )
    assert sum(c.created for c in counts) == 1 and sum(c.merged for c in counts) == 1
    assert sum(c.updated + c.unchanged + c.unmatched for c in counts) == 0


def _run_written(conn, writer_options, page):
    run = SyncRun.objects.create(connection=conn, status="running")
    merge_state_create(run_id=run.pk)
    with transaction.atomic():
        return RunWriter(connection=conn, run=run, **writer_options).page_write(page)


@pytest.mark.parametrize(("stored", "new"), list(itertools.product(range(len(VARIANTS)), repeat=2)))
def test_a_later_run_keeps_the_better_of_the_stored_row_and_its_record(stored, new):
    EmployeeFactory(email="a@acme.example", external_id="")
    conn = ConnectionFactory(name="coursera")
    _run_written(conn, {}, [record(1, stored)])
    before = Enrollment.objects.values().get()

    counts = _run_written(conn, {}, [record(2, new)])

    old, kept = record_normalized(record(1, stored)), record_normalized(record(2, new))
    row = Enrollment.objects.values().get()
    if record_better(old, kept) is old and record_better(kept, old) is old:  # stored is better: left, unchanged
        assert row == before
        assert (counts.created, counts.updated, counts.unchanged, counts.merged) == (0, 0, 1, 0)
    else:
        assert (row["raw"], row["is_completed"], row["completed_at"], row["last_activity_at"], row["progress"]) == (
            kept.raw,
            kept.is_completed,
            kept.completed_at,
            kept.last_activity_at,
            kept.progress,
        )
        assert (counts.created, counts.updated, counts.unchanged, counts.merged) == (0, 1, 0, 0)


def test_a_source_that_may_undo_a_completion_writes_its_record_over_a_better_stored_row():
    EmployeeFactory(email="a@acme.example", external_id="")
    conn = ConnectionFactory(name="coursera")
    _run_written(conn, {}, [record(1, 0)])

    counts = _run_written(conn, {"keeps_stored": False}, [record(2, 4)])

    assert Enrollment.objects.values_list("raw", "is_completed", "completed_at").get() == ({"n": 2}, False, None)
    assert (counts.created, counts.updated, counts.unchanged) == (0, 1, 0)


@pytest.mark.django_db(transaction=True)
def test_a_new_row_another_writer_added_meanwhile_is_upserted_instead_of_copied():
    """A key with no row before the run is COPYed into the table; should another writer (the
    re-match of unmatched records) add its row between the run's lookup and its COPY, the
    COPY is undone and the row upserted, and the run goes on."""
    if db_connection.vendor != "postgresql":
        pytest.skip("the COPY is PostgreSQL's")
    ada = EmployeeFactory(email="ada@acme.example", external_id="")
    conn = ConnectionFactory(name="coursera")
    course = Course.objects.create(provider=conn.kind, provider_course_id="C1", title="C1")
    added: list[str] = []

    def other_writer(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith("SAVEPOINT") and not added:  # the COPY's savepoint, inside the page transaction
            with psycopg2.connect(**db_connection.get_connection_params()) as other, other.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO programs_enrollment (connection_id, learner_key, course_id, employee_id, "
                    "progress, is_completed, is_removed, raw, fingerprint, raw_digest, first_seen_at, updated_at) "
                    "VALUES (%s, 'ada@acme.example', %s, %s, 5, false, false, '{}', 'other', '', now(), now())",
                    [conn.pk, course.pk, ada.pk],
                )
            added.append(sql)
        return execute(sql, params, many, context)

    record = ProviderRecord(
        raw={"n": 1}, email="ada@acme.example", provider_course_id="C1", progress=Decimal("60.00"), last_activity_at=T
    )
    with db_connection.execute_wrapper(other_writer):
        run = sync_run(connection=conn, adapter=PagesAdapter([record]))

    assert len(added) == 1
    assert (run.status, run.fetched, run.created, run.updated) == ("succeeded", 1, 1, 0)
    assert list(Enrollment.objects.values_list("learner_key", "progress", "last_activity_at", "raw")) == [
        ("ada@acme.example", Decimal("60.00"), T, {"n": 1})
    ]
