"""The run-wide duplicate merge keeps a compact KeptRecord per key, not the records, and
decides exactly as `record_better`. (How little memory a run takes is measured by
bench/sync_bench.py, not asserted here: a timing or memory threshold inside the suite
would fail on a busy machine and prove nothing on an idle one.)"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from programs.providers.base import ProviderRecord
from programs.sync.records import record_better, record_kept, record_replaces

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
