"""A re-sync from an adapter that hands its records over unparsed (Coursera's elements:
`programs.providers.base.RawPagesAdapter`) takes a record whose enrollment holds the same
raw JSON for the same employee as it is, without parsing it, and leaves the very rows and
counts a sync that parses every record leaves (PostgreSQL, where the lookups run)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection as db
from django.utils import timezone

from programs.models import Course, Employee, Enrollment, SyncRun
from programs.providers.base import AdapterStats, ProviderRecord
from programs.sync.merge import BATCH_PAGES, RunWriter
from programs.sync.pipeline import API_ADAPTERS, sync_api, sync_run
from programs.sync.records import raw_digest, raw_json
from tests.factories import ConnectionFactory, CourseFactory, EmployeeFactory
from tests.sandbox_fixtures import coursera_element, sandbox_connection
from tests.sync_scenario import StoppedAdapter, scenario_connection, scenario_counts, scenario_pages, scenario_rows

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.sandbox_fixtures"]


class RawScenarioAdapter:
    """The scenario's pages (tests/sync_scenario.py), handed over as raw JSON objects: each
    is read back into its record by its JSON (the scenario's equal objects are equal
    records). Notes the objects it parsed."""

    def __init__(self) -> None:
        self.stats = AdapterStats()
        self.records: dict[str, ProviderRecord] = {}
        for page in scenario_pages():
            for record in page:
                known = self.records.setdefault(raw_json(record.raw), record)
                assert known == record
        self.parsed: list[dict[str, Any]] = []

    def pages(self) -> Iterator[list[ProviderRecord]]:
        for page in self.raw_pages():
            yield [self.record_from_raw(raw) for raw in page]

    def raw_pages(self) -> Iterator[list[dict[str, Any]]]:
        for page in scenario_pages():
            self.stats.pages += 1
            yield [dict(record.raw) for record in page]

    def record_from_raw(self, raw: dict[str, Any]) -> ProviderRecord:
        self.parsed.append(raw)
        return self.records[raw_json(raw)]

    def learner_from_raw(self, raw: dict[str, Any]) -> tuple[str, str, str]:
        record = self.records[raw_json(raw)]
        return record.email, record.external_id, record.provider_course_id


def parsed_keys(adapter: RawScenarioAdapter) -> list[tuple[str, str]]:
    return sorted((raw["email"], raw["course"]) for raw in adapter.parsed)


def test_unparsed_records_leave_the_rows_and_counts_of_a_sync_that_parses_them_all():
    """Inside the test's transaction: each batch is looked up in the writer's transaction."""
    unparsed_and_parsed_compared()


def sessions_started_since(moment: dt.datetime) -> int:
    """Database sessions on the test database opened since `moment` and still open, but
    for this one (which may have been opened since, too)."""
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND backend_start > %s "
            "AND pid <> pg_backend_pid()",
            [moment],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_re_sync_looks_records_up_ahead_on_a_connection_of_its_own_and_closes_it():
    """As a worker runs it: the lookups run a batch ahead, in a thread with a connection of
    its own (none of them on the writer's), with the same rows, counts and parsed records."""
    started = timezone.now()
    statements: list[str] = []

    def noted(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with db.execute_wrapper(noted):
        unparsed_and_parsed_compared()
    assert statements and not [sql for sql in statements if "WITH k AS MATERIALIZED" in sql]
    assert sessions_started_since(started) == 0  # the lookup thread's connection is closed


def unparsed_and_parsed_compared() -> None:
    connection = scenario_connection()
    parsing_first = sync_run(connection=connection, adapter=StoppedAdapter())
    parsing_again = sync_run(connection=connection, adapter=StoppedAdapter())
    rows = scenario_rows(connection)
    Enrollment.objects.filter(connection=connection).delete()
    connection.unmatched_records.all().delete()

    first = RawScenarioAdapter()
    run = sync_run(connection=connection, adapter=first)
    assert scenario_counts(run) == scenario_counts(parsing_first)
    assert len(first.parsed) == 20  # a first sync parses every record
    written = dict(Enrollment.objects.filter(connection=connection).values_list("pk", "updated_at"))

    again = RawScenarioAdapter()
    run = sync_run(connection=connection, adapter=again)

    assert (
        scenario_counts(run)
        == scenario_counts(parsing_again)
        == {
            "fetched": 20,
            "created": 0,
            "updated": 0,
            "unchanged": 9,
            "merged": 6,
            "skipped": 1,
            "invalid": 1,
            "unmatched": 3,
            "pages": 6,
        }
    )
    assert scenario_rows(connection) == rows
    assert dict(Enrollment.objects.filter(connection=connection).values_list("pk", "updated_at")) == written
    # Page 1 is written alone, then pages 2-5 together, then page 6 (BATCH_PAGES). Parsed:
    # the records of no one on the roster (V1), the invalid one and the specialization (no
    # enrollment to find), the keys read twice in their batch (grace A1 and A2, linus A2), and two
    # records whose key the run read before: ada A1 on page 2 (not equal to its row) and grace A1 on
    # page 5 (equal to it). Not parsed: the six records read once and equal to their row (ada A1 on
    # page 1, A3, A4, A6, grace A3, linus A5).
    assert BATCH_PAGES == 4
    assert parsed_keys(again) == sorted(
        [("vendor@elsewhere.example", course) for course in ("A1", "A2", "A1", "A3")]
        + [("ada@contoso.example", ""), ("ada@contoso.example", "S12N")]
        + [("grace@contoso.example", "A1")] * 3
        + [("grace@contoso.example", "A2")] * 2
        + [("ada@contoso.example", "A1")]
        + [("linus@contoso.example", "A2")] * 2
    )


def test_rows_kept_before_raw_digests_get_theirs_on_the_next_sync_and_are_not_parsed_after():
    connection = scenario_connection()
    sync_run(connection=connection, adapter=RawScenarioAdapter())
    Enrollment.objects.filter(connection=connection).update(raw_digest="")
    written = dict(Enrollment.objects.filter(connection=connection).values_list("pk", "updated_at"))

    refreshing = RawScenarioAdapter()
    run = sync_run(connection=connection, adapter=refreshing)

    assert (run.created, run.updated, run.unchanged) == (0, 0, 9)
    assert len(refreshing.parsed) == 20  # nothing found: every record parsed
    for raw, digest in Enrollment.objects.filter(connection=connection).values_list("raw", "raw_digest"):
        assert digest == raw_digest(raw_json(raw))
    assert dict(Enrollment.objects.filter(connection=connection).values_list("pk", "updated_at")) == written

    after = RawScenarioAdapter()
    run = sync_run(connection=connection, adapter=after)
    assert (run.created, run.updated, run.unchanged, run.merged) == (0, 0, 9, 6)
    assert len(after.parsed) == 14  # as in the test above: the six unchanged records are not parsed


def test_a_record_read_again_for_someone_else_on_the_roster_moves_to_them(sandbox_factory):
    """The same raw record, but the roster changed: its e-mail now belongs to another
    employee. The lookup finds no row of that employee, so the record is parsed and its
    enrollment moves."""
    old = EmployeeFactory(email="sam@acme.example", external_id="")
    other = EmployeeFactory(email="kim@acme.example", external_id="")
    records = [coursera_element(n, email) for n in range(1, 4) for email in ("sam@acme.example", "kim@acme.example")]
    sandbox = sandbox_factory(records=records)
    connection = sandbox_connection(sandbox, name="coursera")
    first = sync_api(connection=connection, full=True)
    assert (first.status, first.created) == ("succeeded", 6)

    Employee.objects.filter(pk=old.pk).update(email="sam.old@acme.example")  # sam's address is given to someone new
    new = EmployeeFactory(email="sam@acme.example", external_id="")
    again = sync_api(connection=connection, full=True)

    assert (again.status, again.created, again.updated, again.unchanged) == ("succeeded", 0, 3, 3)
    by_employee = sorted(
        Enrollment.objects.filter(connection=connection).values_list("employee_id", "course__provider_course_id")
    )
    assert by_employee == sorted([(new.pk, f"C{n}") for n in range(1, 4)] + [(other.pk, f"C{n}") for n in range(1, 4)])
    assert not Enrollment.objects.filter(employee=old).exists()
    assert SyncRun.objects.filter(connection=connection).count() == 2


def test_a_completion_reported_later_is_written_and_the_rest_stays_as_it_was(sandbox_factory):
    EmployeeFactory(email="sam@acme.example", external_id="")
    records = [coursera_element(n, "sam@acme.example", isCompleted=False, completedAt=None) for n in range(1, 6)]
    sandbox = sandbox_factory(records=records)
    connection = sandbox_connection(sandbox, name="coursera")
    sync_api(connection=connection, full=True)
    before = dict(
        Enrollment.objects.filter(connection=connection).values_list("course__provider_course_id", "updated_at")
    )
    c3_element = sandbox.data.elements[2]
    c3_element.update(isCompleted=True, completedAt=1717236000000)  # C3, completed on 2024-06-01 10:00 UTC

    run = sync_api(connection=connection, full=True)

    assert (run.created, run.updated, run.unchanged) == (0, 1, 4)
    c3 = Enrollment.objects.get(connection=connection, course__provider_course_id="C3")
    assert (c3.is_completed, c3.completed_at) == (True, dt.datetime(2024, 6, 1, 10, tzinfo=dt.UTC))
    assert c3.raw_digest == raw_digest(raw_json(c3_element))
    after = dict(
        Enrollment.objects.filter(connection=connection).values_list("course__provider_course_id", "updated_at")
    )
    assert {course: when for course, when in after.items() if course != "C3"} == {
        course: when for course, when in before.items() if course != "C3"
    }


def test_a_record_of_a_course_with_no_row_yet_is_parsed_without_a_lookup_and_created(sandbox_factory):
    EmployeeFactory(email="sam@acme.example", external_id="")
    sandbox = sandbox_factory(records=[coursera_element(n, "sam@acme.example") for n in range(1, 5)])
    connection = sandbox_connection(sandbox, name="coursera")
    sync_api(connection=connection, full=True)
    Enrollment.objects.filter(course__provider_course_id="C4").delete()
    Course.objects.filter(provider_course_id="C4").delete()  # a course no enrollment can hold yet

    run = SyncRun.objects.create(connection=connection, status="running")
    writer = RunWriter(connection=connection, run=run, raw_reader=API_ADAPTERS[connection.kind](connection, since=None))
    prepared = writer.raw_page_prepared(sandbox.data.elements)
    assert writer.lookups
    assert [item.course_id for item in prepared.unparsed] == ["C1", "C2", "C3"]  # looked up by the writer
    assert [item.record.provider_course_id for item in prepared.kept.values()] == ["C4"]  # parsed here
    assert prepared.unparsed_lines.count("\n") == 2
    SyncRun.objects.filter(pk=run.pk).delete()

    again = sync_api(connection=connection, full=True)
    assert (again.status, again.created, again.updated, again.unchanged) == ("succeeded", 1, 0, 3)
    courses = Enrollment.objects.filter(connection=connection).values_list("course__provider_course_id", flat=True)
    assert sorted(courses) == ["C1", "C2", "C3", "C4"]


def test_the_tasks_of_a_run_write_one_page_at_a_time_only_when_they_look_records_up():
    connection = scenario_connection()
    adapter = RawScenarioAdapter()

    def writer(*, parts: int) -> RunWriter:
        run = SyncRun.objects.create(connection=connection, status="running", parts=parts)
        return RunWriter(connection=connection, run=run, raw_reader=adapter)

    first = writer(parts=2)
    assert (first.lookups, first.pages_one_at_a_time) == (False, False)  # a first sync: side by side
    SyncRun.objects.filter(pk=first.run.pk).update(status="succeeded", created=9)
    again = writer(parts=2)
    assert (again.lookups, again.pages_one_at_a_time) == (True, True)
    assert (writer(parts=1).lookups, writer(parts=1).pages_one_at_a_time) == (True, False)
    assert RunWriter(connection=connection, run=again.run).lookups is False  # an adapter that parses its pages


def test_a_process_still_running_the_code_before_raw_digests_can_insert_enrollments():
    """During a deploy, a worker with the code before the column inserts rows without it."""
    connection, employee, course = ConnectionFactory(), EmployeeFactory(), CourseFactory()
    with db.cursor() as cursor:
        cursor.execute(
            "INSERT INTO programs_enrollment (connection_id, learner_key, employee_id, course_id, is_completed, "
            "is_removed, raw, fingerprint, first_seen_at, updated_at) VALUES (%s, %s, %s, %s, false, false, '{}', '', "
            "%s, %s)",
            [connection.pk, employee.email, employee.pk, course.pk, timezone.now(), timezone.now()],
        )
    assert Enrollment.objects.values_list("raw_digest", flat=True).get() == ""
