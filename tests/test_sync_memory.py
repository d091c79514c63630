"""The run-wide duplicate merge keeps a compact KeptRecord per key, not the records: it
decides exactly as `record_better`, and a run's memory grows by far less than a record
per record (bench/sync_bench.py measures it at 10,000 and 100,000 records)."""

from __future__ import annotations

import datetime as dt
import itertools
import tracemalloc
from decimal import Decimal

import pytest

from programs.models import Employee, Enrollment, ProviderConnection
from programs.providers.base import ProviderRecord
from programs.sync.pipeline import sync_api
from programs.sync.records import record_better, record_kept, record_normalized, record_replaces

pytest_plugins = ["tests.sandbox_fixtures"]

T = dt.datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=dt.UTC)
VARIANTS = [
    {"is_completed": True, "completed_at": T},
    {"is_completed": True, "completed_at": T + dt.timedelta(microseconds=1)},
    {"is_completed": True, "completed_at": T - dt.timedelta(days=3)},
    {"is_completed": False, "last_activity_at": T, "progress": Decimal("40.00")},
    {"is_completed": False, "last_activity_at": T, "progress": Decimal("40.01")},
    {"is_completed": False, "last_activity_at": T + dt.timedelta(microseconds=1), "progress": Decimal("1.00")},
    {"is_completed": False, "last_activity_at": None, "progress": None},
    {"is_completed": False, "last_activity_at": T, "progress": None},
]


@pytest.mark.parametrize(("first", "second"), list(itertools.product(range(len(VARIANTS)), repeat=2)))
def test_record_replaces_agrees_with_record_better(first, second):
    previous = ProviderRecord(raw={"n": 1}, email="a@acme.example", provider_course_id="c1", **VARIANTS[first])
    record = ProviderRecord(raw={"n": 2}, email="a@acme.example", provider_course_id="c1", **VARIANTS[second])

    assert record_replaces(record_kept(previous), record) is (record_better(previous, record) is record)


def element(n: int) -> dict:
    return {
        "externalId": f"learner{n:05d}@acme.example",
        "email": f"learner{n:05d}@acme.example",
        "contentId": f"course-{n % 7}",
        "contentType": "Course",
        "contentName": "A course with a fairly long title, as real ones have",
        "partnerNames": ["University of Somewhere"],
        "enrolledAt": 1767600000000 + n,
        "lastActivityAt": 1768600000000 + n,
        "isCompleted": True,
        "completedAt": 1768600000000 + n,
        "overallProgress": 100,
        "grade": 0.9,
    }


def traced_sync_peak(sandbox_factory, *, size: int, name: str) -> int:
    sandbox = sandbox_factory(records=[element(n) for n in range(size)])
    connection = ProviderConnection.objects.create(
        name=name,
        base_url=sandbox.base_url,
        token_url=sandbox.token_url,
        provider_org_id="demo-org",
        provider_program_ids=["demo-program"],
        client_id="demo",
        client_secret="demo-secret",
    )
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        run = sync_api(connection=connection)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert (run.status, run.fetched, run.unmatched) == ("succeeded", size, size)
    return peak


@pytest.mark.django_db
def test_a_runs_memory_grows_by_well_under_a_record_per_record(sandbox_factory):
    """Unmatched learners (no roster) so the writes are the same small kind per page;
    pages of 500, so 500 and 2,500 records differ only in how many pages and keys."""
    traced_sync_peak(sandbox_factory, size=500, name="warm-up")
    small = traced_sync_peak(sandbox_factory, size=500, name="small")
    large = traced_sync_peak(sandbox_factory, size=2500, name="large")

    per_record = (large - small) / 2000
    one_record = len(repr(record_normalized(ProviderRecord(raw=element(1)))))  # ~1 KB as text, more as objects
    assert per_record < 600, f"{per_record:.0f} bytes per record (a record is ~{one_record} bytes as text)"
    assert Enrollment.objects.count() == 0
    assert Employee.objects.count() == 0
