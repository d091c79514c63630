"""A sync stopped after any page (an adapter that raises after page k, for every k, or a
process that died and left its run to be taken over) and run again ends with the rows of
one clean run and the same counts: fetched, merged, skipped, invalid and unmatched equal,
and created + updated + unchanged equal to the clean run's created. On PostgreSQL, and on
SQLite in a child process (`make run`'s database), which gives the very same rows and
counts. The scenario is tests/sync_scenario.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.sync_scenario import scenario_outcomes

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
CLEAN = {
    "fetched": 20,
    "created": 9,
    "updated": 0,
    "unchanged": 0,
    "merged": 6,
    "skipped": 1,
    "invalid": 1,
    "unmatched": 3,
    "pages": 6,
}
ENROLLED = [
    # learner key, course, employee, completed, completion, progress
    ["C001", "A1", "ada@contoso.example", True, "2026-03-03T12:00:00+00:00", None],
    ["C001", "A3", "ada@contoso.example", False, None, "5.00"],
    ["C001", "A4", "ada@contoso.example", False, None, None],
    ["C001", "A6", "ada@contoso.example", True, "2026-03-06T12:00:00+00:00", None],
    ["grace@contoso.example", "A1", "grace@contoso.example", False, None, "50.00"],
    ["grace@contoso.example", "A2", "grace@contoso.example", True, "2026-03-04T12:00:00+00:00", "100.00"],
    ["grace@contoso.example", "A3", "grace@contoso.example", False, None, "99.99"],
    ["linus@contoso.example", "A2", "linus@contoso.example", True, "2026-03-08T12:00:00+00:00", None],
    ["linus@contoso.example", "A5", "linus@contoso.example", False, None, None],
]


def enrolled(rows: dict[str, Any]) -> list[list[Any]]:
    return [[r[0], r[1], r[2], r[6], r[7], r[5]] for r in rows["enrollments"]]


def assert_resumed_like_the_clean_run(outcomes: dict[str, Any]) -> None:
    clean = outcomes["clean"]
    assert clean["counts"] == CLEAN
    assert enrolled(clean["rows"]) == ENROLLED
    assert [(r[0], r[1], r[2]) for r in clean["rows"]["unmatched"]] == [
        ("V1", "A1", "vendor@elsewhere.example"),
        ("V1", "A2", "vendor@elsewhere.example"),
        ("V1", "A3", "vendor@elsewhere.example"),
    ]
    assert outcomes["again"]["counts"] == {**CLEAN, "created": 0, "unchanged": 9}
    assert outcomes["again"]["rows"] == clean["rows"]
    resumed = outcomes["resumed"]
    assert [(r["after"], r["stop"]) for r in resumed] == [
        (after, stop) for after in range(1, 7) for stop in ("provider error", "unexpected error", "killed")
    ]
    for outcome in resumed:
        where = f"stopped after page {outcome['after']} ({outcome['stop']})"
        assert outcome["stopped"] == {"status": "failed", "pages": outcome["after"]}, where
        assert outcome["status"] == "succeeded", where
        assert outcome["rows"] == clean["rows"], where
        counts = dict(outcome["counts"])
        written = counts.pop("created") + counts.pop("updated") + counts.pop("unchanged")
        assert (counts, written) == (
            {k: v for k, v in CLEAN.items() if k not in ("created", "updated", "unchanged")},
            9,
        ), where


def without_fingerprints(outcomes: dict[str, Any]) -> dict[str, Any]:
    def rows(found: dict[str, Any]) -> dict[str, Any]:
        return {table: [row[:-1] for row in found[table]] for table in ("enrollments", "unmatched")}

    return {
        "clean": {**outcomes["clean"], "rows": rows(outcomes["clean"]["rows"])},
        "again": {**outcomes["again"], "rows": rows(outcomes["again"]["rows"])},
        "resumed": [{**outcome, "rows": rows(outcome["rows"])} for outcome in outcomes["resumed"]],
    }


def test_a_sync_stopped_after_any_page_and_run_again_ends_as_one_clean_run_on_postgresql():
    assert_resumed_like_the_clean_run(scenario_outcomes())


@pytest.mark.slow
def test_on_sqlite_the_same_scenario_gives_the_same_rows_fingerprints_and_counts(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "learnhub.settings",
        "DEBUG": "true",
        "DATABASE_URL": f"sqlite:///{tmp_path}/scenario.sqlite3",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "",
    }
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    script = "import django; django.setup(); from tests.sync_scenario import scenario_json_print; scenario_json_print()"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    on_sqlite = json.loads(done.stdout.strip().splitlines()[-1])

    assert_resumed_like_the_clean_run(on_sqlite)
    # The same as PostgreSQL's, in this test's database (whose employee ids, and so fingerprints, differ).
    assert without_fingerprints(on_sqlite) == without_fingerprints(scenario_outcomes())
