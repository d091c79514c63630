"""The sync pipeline (programs/sync/) on real PostgreSQL, fed by a small in-test
adapter: a real implementation of the adapter interface that yields given pages."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.db import DataError
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from programs.models import Course, Enrollment, InvalidRecord, ProviderConnection, SyncRun, UnmatchedRecord
from programs.providers.base import AdapterStats, ProviderError, ProviderRecord, ProviderUnavailableError
from programs.sync.lease import SyncAlreadyRunningError, connection_claim
from programs.sync.pipeline import sync_api, sync_run, sync_since, unmatched_rematch, unmatched_rematch_queue
from programs.sync.schedule import connections_due, sync_request, sync_request_answered
from tests.factories import ConnectionFactory, CourseFactory, EmployeeFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def at(day: int, month: int = 3, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=UTC)


def rec(email: str = "", course: str = "ML101", **fields) -> ProviderRecord:
    fields.setdefault("raw", {"email": email, "course": course, **{k: str(v) for k, v in fields.items()}})
    return ProviderRecord(email=email, provider_course_id=course, **fields)


class PagesAdapter:
    """Yields the given pages; raises `error` instead of page number `fail_on` (1-based)."""

    def __init__(self, *pages: list[ProviderRecord], fail_on: int | None = None, error: Exception | None = None):
        self._pages = pages
        self.fail_on = fail_on
        self.error = error
        self.stats = AdapterStats()

    def pages(self) -> Iterator[list[ProviderRecord]]:
        for number, page in enumerate(self._pages, start=1):
            if number == self.fail_on:
                assert self.error is not None
                raise self.error
            self.stats.pages += 1
            yield page


@pytest.fixture
def conn() -> ProviderConnection:
    return ConnectionFactory(name="coursera", kind="coursera", client_secret="top-secret-value")


@pytest.fixture
def ada():
    return EmployeeFactory(email="ada@contoso.example", external_id="C001", full_name="Ada Lovelace")


@pytest.fixture
def grace():
    return EmployeeFactory(email="grace@contoso.example", external_id="C002", full_name="Grace Hopper")


def counts(run: SyncRun) -> dict[str, int]:
    return {
        k: getattr(run, k)
        for k in ("fetched", "created", "updated", "unchanged", "merged", "skipped", "invalid", "unmatched", "pages")
    }


def test_first_run_counts_every_record_once(conn, ada, grace):
    page = [
        rec("ada@contoso.example", "ML101", external_id="C001", is_completed=True, completed_at=at(3)),
        rec("grace@contoso.example", "ML101", progress=Decimal("37.5"), last_activity_at=at(2)),
        rec("grace@contoso.example", "ML101", is_completed=True, completed_at=at(5), progress=Decimal("40")),
        rec("vendor@elsewhere.example", "ML101", external_id="V1", is_completed=True, completed_at=at(4)),
        rec("ada@contoso.example", "", line=7),
        rec("ada@contoso.example", "S12N", content_type="specialization", is_completed=True, completed_at=at(1)),
    ]

    run = sync_run(connection=conn, adapter=PagesAdapter(page), source="api")

    assert run.status == "succeeded" and run.error == ""
    assert counts(run) == {
        "fetched": 6,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "merged": 1,
        "skipped": 1,
        "invalid": 1,
        "unmatched": 1,
        "pages": 1,
    }
    assert run.finished_at is not None
    rows = {e.employee.email: e for e in Enrollment.objects.select_related("employee", "course")}
    assert set(rows) == {"ada@contoso.example", "grace@contoso.example"}
    assert rows["ada@contoso.example"].learner_key == "C001"
    assert rows["ada@contoso.example"].completed_at == at(3)
    assert rows["grace@contoso.example"].learner_key == "grace@contoso.example"
    assert rows["grace@contoso.example"].is_completed is True
    assert rows["grace@contoso.example"].completed_at == at(5)
    assert rows["grace@contoso.example"].progress == Decimal("40.00")
    assert list(Course.objects.values_list("provider", "provider_course_id")) == [("coursera", "ML101")]
    invalid = InvalidRecord.objects.get()
    assert (invalid.run_id, invalid.line, invalid.reason) == (run.pk, 7, "missing course id")
    unmatched = UnmatchedRecord.objects.get()
    assert (unmatched.learner_key, unmatched.email, unmatched.external_id, unmatched.provider_course_id) == (
        "V1",
        "vendor@elsewhere.example",
        "V1",
        "ML101",
    )
    assert unmatched.reason == "no employee on the roster with external id 'V1' or e-mail 'vendor@elsewhere.example'"
    conn.refresh_from_db()
    assert conn.last_synced_at == run.started_at
    assert conn.sync_claimed_until is None


def test_same_sync_twice_leaves_the_database_unchanged(conn, ada, grace):
    def page():
        return [
            rec("ada@contoso.example", "ML101", external_id="C001", is_completed=True, completed_at=at(3)),
            rec("grace@contoso.example", "ST200", progress=Decimal("12.345"), enrolled_at=at(1, hour=8)),
            rec("vendor@elsewhere.example", "ML101", is_completed=True, completed_at=at(4)),
        ]

    sync_run(connection=conn, adapter=PagesAdapter(page()))
    before = list(Enrollment.objects.order_by("pk").values())
    unmatched_before = list(UnmatchedRecord.objects.values())
    courses_before = list(Course.objects.order_by("pk").values())

    again = sync_run(connection=conn, adapter=PagesAdapter(page()))

    assert counts(again) == {
        "fetched": 3,
        "created": 0,
        "updated": 0,
        "unchanged": 2,
        "merged": 0,
        "skipped": 0,
        "invalid": 0,
        "unmatched": 1,
        "pages": 1,
    }
    assert list(Enrollment.objects.order_by("pk").values()) == before  # updated_at included
    assert list(UnmatchedRecord.objects.values()) == unmatched_before
    assert list(Course.objects.order_by("pk").values()) == courses_before


def test_a_changed_record_updates_only_its_row(conn, ada, grace):
    sync_run(
        connection=conn,
        adapter=PagesAdapter(
            [rec("ada@contoso.example", "ML101", progress=Decimal("10")), rec("grace@contoso.example", "ML101")]
        ),
    )
    grace_row = Enrollment.objects.get(employee=grace)

    run = sync_run(
        connection=conn,
        adapter=PagesAdapter(
            [
                rec("ada@contoso.example", "ML101", progress=Decimal("100"), is_completed=True, completed_at=at(9)),
                rec("grace@contoso.example", "ML101"),
            ]
        ),
    )

    assert (run.created, run.updated, run.unchanged) == (0, 1, 1)
    ada_row = Enrollment.objects.get(employee=ada)
    assert (ada_row.is_completed, ada_row.completed_at, ada_row.progress) == (True, at(9), Decimal("100.00"))
    assert Enrollment.objects.get(employee=grace).updated_at == grace_row.updated_at


@pytest.mark.parametrize("completed_first", [True, False])
def test_duplicates_merge_completed_beats_not_completed(conn, grace, completed_first):
    done = rec("grace@contoso.example", "ML101", is_completed=True, completed_at=at(5), progress=Decimal("37"))
    not_done = rec("grace@contoso.example", "ML101", progress=Decimal("90"), last_activity_at=at(20))
    page = [done, not_done] if completed_first else [not_done, done]

    run = sync_run(connection=conn, adapter=PagesAdapter(page))

    assert (run.fetched, run.created, run.merged) == (2, 1, 1)
    row = Enrollment.objects.get()
    assert (row.is_completed, row.completed_at, row.progress) == (True, at(5), Decimal("37.00"))


def test_duplicates_across_pages_keep_the_earliest_completion_and_count_once(conn, grace):
    later = rec("grace@contoso.example", "ML101", is_completed=True, completed_at=at(9))
    earlier = rec("grace@contoso.example", "ML101", is_completed=True, completed_at=at(2))

    run = sync_run(connection=conn, adapter=PagesAdapter([later], [earlier], [later]))

    assert counts(run) == {
        "fetched": 3,
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "merged": 2,
        "skipped": 0,
        "invalid": 0,
        "unmatched": 0,
        "pages": 3,
    }
    assert Enrollment.objects.get().completed_at == at(2)


def test_matching_external_id_first_then_email_trimmed_and_case_insensitive(conn, ada, grace):
    page = [
        # external id wins over an e-mail that belongs to someone else
        rec("ada@contoso.example", "A1", external_id=" C002 "),
        # Coursera's default external id is the e-mail: it matches no external id, so the e-mail decides
        rec("  GRACE@Contoso.example ", "A2", external_id="Grace@Contoso.Example"),
        # no external id at all
        rec("Ada@CONTOSO.example", "A3"),
    ]

    run = sync_run(connection=conn, adapter=PagesAdapter(page))

    assert (run.created, run.unmatched) == (3, 0)
    got = {
        (e.course.provider_course_id, e.learner_key, e.employee.email)
        for e in Enrollment.objects.select_related("course", "employee")
    }
    assert got == {
        ("A1", "C002", "grace@contoso.example"),
        ("A2", "grace@contoso.example", "grace@contoso.example"),
        ("A3", "ada@contoso.example", "ada@contoso.example"),
    }


def test_unknown_learner_kept_then_matched_when_the_roster_gains_them(conn, ada, django_capture_on_commit_callbacks):
    vendor = rec(
        "Vendor@Elsewhere.example",
        "LEAD1",
        full_name="Vendor Person",
        course_title="Leading People",
        is_completed=True,
        completed_at=at(20, month=2),
        progress=Decimal("100"),
    )
    run = sync_run(connection=conn, adapter=PagesAdapter([vendor]))
    assert (run.created, run.unmatched) == (0, 1)
    assert Enrollment.objects.count() == 0
    kept = UnmatchedRecord.objects.get()
    assert kept.record["full_name"] == "Vendor Person"

    person = EmployeeFactory(email="vendor@elsewhere.example", external_id="V1")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        unmatched_rematch_queue(employee_ids=[person.pk])

    assert len(callbacks) >= 1
    assert UnmatchedRecord.objects.count() == 0
    row = Enrollment.objects.select_related("course").get()
    assert (row.employee_id, row.learner_key, row.connection_id) == (person.pk, "vendor@elsewhere.example", conn.pk)
    assert (row.is_completed, row.completed_at, row.progress) == (True, at(20, month=2), Decimal("100.00"))
    assert (row.course.provider_course_id, row.course.title) == ("LEAD1", "Leading People")
    assert row.raw == kept.raw

    # The next sync of the same data finds the enrollment unchanged and nothing unmatched.
    again = sync_run(connection=conn, adapter=PagesAdapter([vendor]))
    assert (again.created, again.updated, again.unchanged, again.unmatched) == (0, 0, 1, 0)


def test_rematch_leaves_records_of_other_people_alone(conn, ada):
    sync_run(
        connection=conn,
        adapter=PagesAdapter([rec("x@elsewhere.example", "A1"), rec("y@elsewhere.example", "A1")]),
    )
    person = EmployeeFactory(email="X@elsewhere.example", external_id="")

    assert unmatched_rematch(employee_ids=[person.pk]) == 1

    assert list(UnmatchedRecord.objects.values_list("email", flat=True)) == ["y@elsewhere.example"]
    assert list(Enrollment.objects.values_list("employee_id", flat=True)) == [person.pk]
    assert unmatched_rematch(employee_ids=None) == 0


def test_failure_on_page_three_keeps_pages_one_and_two_and_the_next_run_completes(conn, ada, grace):
    pages = [
        [rec("ada@contoso.example", "P1"), rec("grace@contoso.example", "P1")],
        [rec("ada@contoso.example", "P2", is_completed=True, completed_at=at(4))],
        [rec("grace@contoso.example", "P3")],
        [rec("ada@contoso.example", "P4")],
    ]
    failing = PagesAdapter(
        *pages, fail_on=3, error=ProviderUnavailableError("Coursera is not answering; the next sync will try again.")
    )

    run = sync_run(connection=conn, adapter=failing)

    assert run.status == "failed"
    assert run.error == (
        "Coursera is not answering; the next sync will try again. Kept: pages 1-2, written before the error "
        "(fetched 3, created 3, updated 0, unchanged 0, merged 0, skipped 0, invalid 0, unmatched 0). "
        "The next sync re-reads them and completes the rest."
    )
    assert (run.fetched, run.created, run.pages) == (3, 3, 2)
    assert sorted(Enrollment.objects.values_list("course__provider_course_id", flat=True)) == ["P1", "P1", "P2"]
    conn.refresh_from_db()
    assert conn.last_synced_at is None and conn.sync_claimed_until is None
    assert sync_since(connection=conn) is None  # a failed run does not move the window

    after = sync_run(connection=conn, adapter=PagesAdapter(*pages))

    assert after.status == "succeeded"
    assert (after.fetched, after.created, after.updated, after.unchanged) == (5, 2, 0, 3)
    assert Enrollment.objects.count() == 5


def test_an_unexpected_error_fails_the_run_and_propagates(conn, ada):
    adapter = PagesAdapter([rec("ada@contoso.example", "P1")], [], fail_on=2, error=RuntimeError("boom"))

    with pytest.raises(RuntimeError):
        sync_run(connection=conn, adapter=adapter)

    run = SyncRun.objects.get()
    assert run.status == "failed"
    assert run.error == (
        "The sync stopped on an unexpected error (RuntimeError); see the server log. Kept: page 1, written before "
        "the error (fetched 1, created 1, updated 0, unchanged 0, merged 0, skipped 0, invalid 0, unmatched 0). "
        "The next sync re-reads it and completes the rest."
    )
    assert Enrollment.objects.count() == 1
    conn.refresh_from_db()
    assert conn.sync_claimed_until is None


def test_provider_error_never_carries_the_secret(conn):
    adapter = PagesAdapter([], fail_on=1, error=ProviderError("token call sent top-secret-value and got 401"))

    run = sync_run(connection=conn, adapter=adapter)

    assert run.error == "token call sent [secret] and got 401"


def test_invalid_records_are_kept_with_their_reason_and_line(conn, ada):
    page = [
        rec("", "A1", line=2),
        rec("ada@contoso.example", "A1", content_type="webinar", line=3),
        rec("ada@contoso.example", "A1", problem="Completion Time: cannot parse 'soon'", line=4),
        rec("ada@contoso.example", "A1", is_completed=True, line=5),
        rec("not-an-email", "A1", line=6),
        rec("ada@contoso.example", "A1", content_type="", line=7),
        rec("ada@contoso.example", "A1", line=8),
    ]

    run = sync_run(connection=conn, adapter=PagesAdapter(page), source="csv")

    assert (run.fetched, run.invalid, run.created) == (7, 6, 1)
    assert list(InvalidRecord.objects.order_by("line").values_list("line", "reason")) == [
        (2, "missing learner e-mail and external id"),
        (3, "unknown content type 'webinar'"),
        (4, "Completion Time: cannot parse 'soon'"),
        (5, "completed without a completion date"),
        (6, "learner e-mail 'not-an-email' is not an e-mail address"),
        (7, "missing content type"),
    ]
    assert InvalidRecord.objects.get(line=3).raw == {
        "email": "ada@contoso.example",
        "course": "A1",
        "content_type": "webinar",
        "line": "3",
    }
    conn.refresh_from_db()
    assert conn.last_synced_at is None  # a file import does not move the API schedule


def test_specializations_and_videos_are_skipped_not_enrollments(conn, ada):
    page = [
        rec("ada@contoso.example", "S12N", content_type="Specialization", is_completed=True, completed_at=at(2)),
        rec("ada@contoso.example", "VID", content_type="video"),
        rec("ada@contoso.example", "C1", content_type="Course"),
    ]

    run = sync_run(connection=conn, adapter=PagesAdapter(page))

    assert (run.fetched, run.skipped, run.created, run.invalid) == (3, 2, 1, 0)
    assert list(Course.objects.values_list("provider_course_id", flat=True)) == ["C1"]
    assert list(Enrollment.objects.values_list("course__provider_course_id", flat=True)) == ["C1"]


def test_removed_rows_are_stored_with_the_flag(conn, ada):
    run = sync_run(connection=conn, adapter=PagesAdapter([rec("ada@contoso.example", "NG300", is_removed=True)]))

    assert run.created == 1
    row = Enrollment.objects.get()
    assert (row.is_removed, row.is_completed, row.completed_at) == (True, False, None)


def test_course_rows_are_filled_when_empty_and_never_overwritten(conn, ada):
    CourseFactory(provider="coursera", provider_course_id="ML101", title="", partner="")
    CourseFactory(provider="coursera", provider_course_id="ST200", title="Curated title")
    page = [
        rec(
            "ada@contoso.example",
            "ML101",
            course_title="Machine Learning",
            partner="Stanford",
            course_hours=Decimal("60"),
        ),
        rec("ada@contoso.example", "ST200", course_title="Statistics", partner="Duke"),
        rec("ada@contoso.example", "NEW1", course_title="Brand new", course_url="https://www.coursera.org/learn/new"),
    ]

    sync_run(connection=conn, adapter=PagesAdapter(page))

    got = {c.provider_course_id: (c.title, c.partner, c.url, c.hours) for c in Course.objects.all()}
    assert got == {
        "ML101": ("Machine Learning", "Stanford", "", Decimal("60.0")),
        "ST200": ("Curated title", "Duke", "", None),
        "NEW1": ("Brand new", "", "https://www.coursera.org/learn/new", None),
    }


def test_queries_per_page_do_not_grow_with_the_page(conn):
    def run_with(n: int, prefix: str) -> int:
        for i in range(n):
            EmployeeFactory(email=f"{prefix}{i}@acme.example", external_id=f"{prefix}{i}")
        page = [rec(f"{prefix}{i}@acme.example", f"{prefix}C{i % 3}") for i in range(n)]
        page += [rec(f"{prefix}-stranger{i}@elsewhere.example", f"{prefix}C0") for i in range(n)]
        with CaptureQueriesContext(db_connection) as ctx:
            run = sync_run(connection=conn, adapter=PagesAdapter(page))
        assert (run.created, run.unmatched) == (n, n)
        return len(ctx.captured_queries)

    assert run_with(3, "a") == run_with(30, "b")


def test_a_second_sync_of_a_held_connection_writes_nothing(conn, ada):
    assert connection_claim(connection=conn) is not None

    with pytest.raises(SyncAlreadyRunningError):
        sync_run(connection=conn, adapter=PagesAdapter([rec("ada@contoso.example", "A1")]))

    assert SyncRun.objects.count() == 0 and Enrollment.objects.count() == 0


def test_an_expired_claim_does_not_block(conn, ada):
    ProviderConnection.objects.filter(pk=conn.pk).update(sync_claimed_until=timezone.now() - dt.timedelta(seconds=1))

    run = sync_run(connection=conn, adapter=PagesAdapter([rec("ada@contoso.example", "A1")]))

    assert run.status == "succeeded"


def test_incremental_window_starts_a_day_before_the_last_successful_api_run(conn):
    assert sync_since(connection=conn) is None
    SyncRun.objects.create(connection=conn, source="api", status="succeeded", started_at=at(10))
    SyncRun.objects.create(connection=conn, source="api", status="failed", started_at=at(12))
    SyncRun.objects.create(connection=conn, source="csv", status="succeeded", started_at=at(13))

    assert sync_since(connection=conn) == at(9)


def test_api_sync_of_a_kind_without_an_api_fails_with_a_clear_message():
    statements = ConnectionFactory(name="statements", kind="xapi", client_secret="lrs-s3cr3t")

    run = sync_api(connection=statements)

    assert run.status == "failed"
    assert run.error == (
        "xAPI statements connections are not synced from an API. "
        "The provider pushes its xAPI statements to LearnHub as they happen."
    )


def test_api_sync_of_a_connection_missing_settings_names_them_without_the_secret():
    udemy = ConnectionFactory(name="udemy", kind="udemy", base_url="", client_id="", client_secret="s3cr3t")

    run = sync_api(connection=udemy)

    assert (run.status, run.fetched) == ("failed", 0)
    assert run.error == "The Udemy Business connection is missing: base URL, organization id, client id."


def test_connections_due(conn):
    now = timezone.now()
    paused = ConnectionFactory(name="paused", is_active=False)
    recent = ConnectionFactory(name="recent", sync_interval_minutes=60)
    SyncRun.objects.create(connection=recent, source="api", status="failed", started_at=now - dt.timedelta(minutes=30))
    old = ConnectionFactory(name="old", sync_interval_minutes=60)
    SyncRun.objects.create(connection=old, source="api", status="succeeded", started_at=now - dt.timedelta(minutes=61))
    SyncRun.objects.create(connection=old, source="csv", status="succeeded", started_at=now - dt.timedelta(minutes=1))
    busy = ConnectionFactory(name="busy")
    connection_claim(connection=busy)
    ConnectionFactory(name="workshops", kind="other")

    assert sorted(c.name for c in connections_due(now=now)) == ["coursera", "old"]
    assert paused.pk not in {c.pk for c in connections_due(now=now)}


def test_a_roster_import_matches_kept_records_of_new_people(conn, tmp_path, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    sync_run(
        connection=conn,
        adapter=PagesAdapter([rec("newbie@acme.example", "LEAD1", is_completed=True, completed_at=at(2))]),
    )
    assert UnmatchedRecord.objects.count() == 1
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "email,full_name,external_id,organization,title,manager_email,hired_on,departed_on\n"
        "Newbie@Acme.example,New Person,N001,Acme/Engineering,Engineer,,2026-01-01,\n",
        encoding="utf-8",
    )

    with django_capture_on_commit_callbacks(execute=True):
        call_command("import_roster", str(roster), stdout=io.StringIO())

    assert UnmatchedRecord.objects.count() == 0
    row = Enrollment.objects.select_related("employee").get()
    assert (row.employee.email, row.completed_at) == ("newbie@acme.example", at(2))


def test_the_periodic_task_queues_the_due_connections(conn, django_capture_on_commit_callbacks):
    from programs.tasks import sync_due_connections

    ConnectionFactory(name="paused", is_active=False)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued = sync_due_connections()

    assert queued == [conn.pk]
    assert len(callbacks) == 1


def test_a_record_that_matches_now_leaves_the_unmatched_list(conn):
    sync_run(connection=conn, adapter=PagesAdapter([rec("late@acme.example", "A1"), rec("late@acme.example", "A2")]))
    assert UnmatchedRecord.objects.count() == 2
    EmployeeFactory(email="late@acme.example", external_id="")  # added without the roster hook

    run = sync_run(connection=conn, adapter=PagesAdapter([rec("late@acme.example", "A1")]))

    assert (run.created, run.unmatched) == (1, 0)
    assert list(UnmatchedRecord.objects.values_list("provider_course_id", flat=True)) == ["A2"]


def test_a_run_cut_short_by_a_dead_worker_is_closed_by_the_next_run(conn, ada):
    stale = SyncRun.objects.create(connection=conn, status="running", started_at=at(1))

    run = sync_run(connection=conn, adapter=PagesAdapter([rec("ada@contoso.example", "A1")]))

    stale.refresh_from_db()
    assert (stale.status, run.status) == ("failed", "succeeded")
    assert stale.error == (
        "Stopped without finishing: the process running it stopped before recording the end. "
        f"It was taken over by the sync started at {run.started_at:%-d %b %Y, %H:%M:%S} UTC."
    )


def test_a_failed_page_write_keeps_only_the_committed_counts(conn, ada, grace):
    # Page 2 fails half-way through its write (PostgreSQL's jsonb refuses a NUL character in
    # the raw record): its transaction rolls back, so the run's counts and "kept" say page 1.
    refused = rec("grace@contoso.example", "P2", raw={"note": "bad\x00byte"})
    adapter = PagesAdapter([rec("ada@contoso.example", "P1")], [rec("ada@contoso.example", "P1b"), refused])

    with pytest.raises(DataError):
        sync_run(connection=conn, adapter=adapter)

    run = SyncRun.objects.get()
    assert (run.status, run.fetched, run.created, run.pages) == ("failed", 1, 1, 2)
    assert run.error == (
        "The sync stopped on an unexpected error (DataError); see the server log. Kept: page 1, written before "
        "the error (fetched 1, created 1, updated 0, unchanged 0, merged 0, skipped 0, invalid 0, unmatched 0). "
        "The next sync re-reads it and completes the rest."
    )
    assert list(Enrollment.objects.values_list("course__provider_course_id", flat=True)) == ["P1"]


# --- Requests: queued syncs, eager mode, the schedule ------------------------------------------


def test_a_request_is_noted_on_the_connection_and_queued_after_commit(conn, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert sync_request(connection=conn) is True
        first = ProviderConnection.objects.get(pk=conn.pk).sync_requested_at
        assert sync_request(connection=conn) is True  # a second request keeps the earliest time

    assert first is not None
    assert ProviderConnection.objects.get(pk=conn.pk).sync_requested_at == first
    assert len(callbacks) == 2


def test_an_api_run_starting_clears_the_request_and_a_file_import_does_not(conn, ada):
    asked = timezone.now() - dt.timedelta(minutes=3)
    ProviderConnection.objects.filter(pk=conn.pk).update(sync_requested_at=asked)

    sync_run(connection=conn, adapter=PagesAdapter([rec("ada@contoso.example", "A1")]), source="csv")
    assert ProviderConnection.objects.get(pk=conn.pk).sync_requested_at == asked

    sync_run(connection=conn, adapter=PagesAdapter([rec("ada@contoso.example", "A1")]), source="api")
    assert ProviderConnection.objects.get(pk=conn.pk).sync_requested_at is None


def test_a_request_already_answered_by_a_later_successful_run_does_not_sync_again(conn):
    from programs.tasks import sync_connection

    asked = timezone.now() - dt.timedelta(minutes=10)
    SyncRun.objects.create(
        connection=conn, source="api", status="succeeded", started_at=asked - dt.timedelta(seconds=1)
    )
    SyncRun.objects.create(connection=conn, source="api", status="failed", started_at=asked + dt.timedelta(minutes=1))
    SyncRun.objects.create(
        connection=conn, source="csv", status="succeeded", started_at=asked + dt.timedelta(minutes=2)
    )
    answer = SyncRun.objects.create(
        connection=conn, source="api", status="succeeded", started_at=asked + dt.timedelta(minutes=3)
    )

    assert sync_request_answered(connection=conn, requested_at=asked) == answer
    assert sync_request_answered(connection=conn, requested_at=asked, full=True) is None  # that run was not full
    assert sync_connection.delay(conn.pk, requested_at=asked.isoformat()).get() == answer.pk
    assert SyncRun.objects.count() == 4  # nothing new


def test_in_eager_mode_a_sync_that_cannot_start_is_not_queued_and_says_so(
    conn, caplog, django_capture_on_commit_callbacks
):
    from programs.tasks import sync_connection

    assert connection_claim(connection=conn) is not None
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert sync_request(connection=conn) is False
    assert callbacks == []
    assert ProviderConnection.objects.get(pk=conn.pk).sync_requested_at is None

    # The task itself, run in process while the connection is held (it was queued just before
    # the other sync claimed it): it returns at once instead of retrying in this request.
    asked = timezone.now()
    ProviderConnection.objects.filter(pk=conn.pk).update(sync_requested_at=asked)
    started = time.monotonic()
    assert sync_connection.delay(conn.pk, requested_at=asked.isoformat()).get() is None
    assert time.monotonic() - started < 1
    assert SyncRun.objects.count() == 0
    assert ProviderConnection.objects.get(pk=conn.pk).sync_requested_at is None
    assert (
        f"Sync of connection {conn.pk} not run: another sync holds it and tasks run in process "
        "(CELERY_TASK_ALWAYS_EAGER), so nothing can retry it later"
    ) in caplog.text


def test_the_schedule_takes_over_a_dead_run_and_requeues_a_lost_request(conn):
    now = timezone.now()
    for name in ("dead", "asked-long-ago", "asked-just-now", "dead-but-held"):
        ConnectionFactory(name=name, sync_interval_minutes=60)
        SyncRun.objects.create(
            connection=ProviderConnection.objects.get(name=name),
            source="api",
            status="succeeded",
            started_at=now - dt.timedelta(minutes=10),
        )
    SyncRun.objects.create(
        connection=ProviderConnection.objects.get(name="dead"),
        source="api",
        status="running",
        started_at=now - dt.timedelta(minutes=5),
    )
    ProviderConnection.objects.filter(name="dead").update(sync_claimed_until=now - dt.timedelta(minutes=4))
    SyncRun.objects.create(
        connection=ProviderConnection.objects.get(name="dead-but-held"),
        source="api",
        status="running",
        started_at=now - dt.timedelta(minutes=1),
    )
    ProviderConnection.objects.filter(name="dead-but-held").update(sync_claimed_until=now + dt.timedelta(seconds=30))
    ProviderConnection.objects.filter(name="asked-long-ago").update(sync_requested_at=now - dt.timedelta(minutes=11))
    ProviderConnection.objects.filter(name="asked-just-now").update(sync_requested_at=now - dt.timedelta(minutes=1))

    assert sorted(c.name for c in connections_due(now=now)) == ["asked-long-ago", "coursera", "dead"]


# --- Re-syncs cost a fingerprint comparison ------------------------------------------------------


def test_a_duplicate_that_wins_on_a_later_page_is_unchanged_on_the_next_sync(conn, grace):
    def pages() -> PagesAdapter:
        return PagesAdapter(
            [rec("grace@contoso.example", "ML101", progress=Decimal("10"), last_activity_at=at(2))],
            [rec("grace@contoso.example", "ST200")],
            [rec("grace@contoso.example", "ML101", progress=Decimal("60"), last_activity_at=at(9))],
        )

    first = sync_run(connection=conn, adapter=pages())
    row = Enrollment.objects.get(course__provider_course_id="ML101")
    before = list(Enrollment.objects.order_by("pk").values())

    again = sync_run(connection=conn, adapter=pages())

    assert (first.created, first.updated, first.unchanged, first.merged) == (2, 0, 0, 1)
    assert (row.progress, row.last_activity_at) == (Decimal("60.00"), at(9))
    # The key is counted by the record finally kept for it, which is what the row already held.
    assert (again.created, again.updated, again.unchanged, again.merged) == (0, 0, 2, 1)
    assert list(Enrollment.objects.order_by("pk").values()) == before  # updated_at included


def test_a_record_changed_since_the_last_sync_is_the_only_row_written(conn, ada, grace):
    def page(progress: str) -> PagesAdapter:
        return PagesAdapter(
            [
                rec("ada@contoso.example", "ML101", external_id="C001", progress=Decimal(progress)),
                rec("grace@contoso.example", "ML101"),
                rec("vendor@elsewhere.example", "ML101"),
            ]
        )

    sync_run(connection=conn, adapter=page("10"))
    with CaptureQueriesContext(db_connection) as unchanged:
        same = sync_run(connection=conn, adapter=page("10"))
    with CaptureQueriesContext(db_connection) as changed:
        other = sync_run(connection=conn, adapter=page("11"))

    assert (same.updated, same.unchanged, same.unmatched) == (0, 2, 1)
    assert (other.updated, other.unchanged, other.unmatched) == (1, 1, 1)
    writes = [q["sql"] for q in unchanged.captured_queries if 'INSERT INTO "programs_enrollment"' in q["sql"]]
    assert writes == []  # nothing changed: a fingerprint comparison, no write
    assert [q for q in unchanged.captured_queries if 'INTO "programs_unmatchedrecord"' in q["sql"]] == []
    assert len([q for q in changed.captured_queries if 'INSERT INTO "programs_enrollment"' in q["sql"]]) == 1


def test_the_migration_fills_the_fingerprints_a_sync_computes(conn, ada, grace):
    """Rows written before fingerprints existed get theirs from the migration, so the first
    sync after it counts them unchanged and writes nothing."""
    from django.apps import apps

    migration = importlib.import_module("programs.migrations.0010_sync_at_database_speed")

    def page() -> PagesAdapter:
        return PagesAdapter(
            [
                rec("ada@contoso.example", "ML101", external_id="C001", is_completed=True, completed_at=at(3)),
                rec("grace@contoso.example", "ST200", progress=Decimal("12.345"), enrolled_at=at(1, hour=8)),
                rec("vendor@elsewhere.example", "ML101", is_completed=True, completed_at=at(4)),
            ]
        )

    sync_run(connection=conn, adapter=page())
    stored = list(Enrollment.objects.order_by("pk").values())
    unmatched = list(UnmatchedRecord.objects.values())
    Enrollment.objects.update(fingerprint="")
    UnmatchedRecord.objects.update(fingerprint="")

    migration.enrollment_fingerprints_fill(apps, None)
    migration.unmatched_fingerprints_fill(apps, None)
    again = sync_run(connection=conn, adapter=page())

    assert list(Enrollment.objects.order_by("pk").values()) == stored
    assert list(UnmatchedRecord.objects.values()) == unmatched
    assert (again.created, again.updated, again.unchanged, again.unmatched) == (0, 0, 2, 1)
