"""Benchmark of the sync pipeline over HTTP: speed, queries per page and peak memory of
`sync_api` against the Coursera sandbox (programs/providers/coursera_sandbox.py, in a thread of this
process) serving N generated learner x course records, for two sizes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h14bench .venv/bin/python bench/sync_bench.py

It migrates the database and EMPTIES it first (flush), so the database name must contain
"bench". Sizes: BENCH_SIZES (default "10000,100000" records); each size runs in its own
child process so its peak RSS is its own. Per size: a roster of N / 5 employees (plus 1%
learners not on it), 5 courses each, 1% of the records repeated on a later page (merged);
then a first sync (everything created) and a second, full one (everything unchanged).

Memory: `tracemalloc` peak is measured from the start of each sync, so it is what the
sync itself allocates (the sandbox's N records are already in memory before); maxrss is
the whole process (the sandbox's records included).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learnhub.settings")
# DEBUG off: Django would otherwise keep the SQL of every query in memory.
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "sync-bench-only-" + "x" * 40)
os.environ["REDIS_URL"] = ""  # the progress hook's tasks run in process
os.environ["CELERY_BROKER_URL"] = ""

if "bench" not in os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1]:
    sys.exit("Set DATABASE_URL to a database whose name contains 'bench': this script empties it.")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from programs.models import Employee, Enrollment, ProviderConnection, UnmatchedRecord  # noqa: E402
from programs.providers.coursera_api import DEFAULT_PAGE_SIZE  # noqa: E402
from programs.providers.coursera_sandbox import SandboxServer, sandbox_data_from_records  # noqa: E402
from programs.sync.pipeline import sync_api  # noqa: E402

COURSES_PER_LEARNER = 5
UNMATCHED_SHARE = 0.01
DUPLICATE_SHARE = 0.01
ORG_ID, PROGRAM_ID, CLIENT = "bench-org", "bench-program", "bench"
START = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)


def epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def element(learner: int, course: int) -> dict[str, Any]:
    """A Coursera enrollment element; deterministic for (learner, course)."""
    email = f"learner{learner:06d}@bench.example"
    enrolled = START + dt.timedelta(hours=learner % 2000 + course * 7)
    completed = (learner + course) % 3 != 0
    return {
        "id": f"{email}~course-{course:03d}~{PROGRAM_ID}",
        "externalId": email,
        "email": email,
        "fullName": f"Learner {learner}",
        "programId": PROGRAM_ID,
        "membershipState": "MEMBER",
        "contentId": f"course-{course:03d}",
        "contentType": "Course",
        "contentName": f"Course {course}",
        "contentSlug": f"course-{course}",
        "partnerNames": ["Bench University"],
        "enrolledAt": epoch_ms(enrolled),
        "lastActivityAt": epoch_ms(enrolled + dt.timedelta(days=20)),
        "isCompleted": completed,
        "completedAt": epoch_ms(enrolled + dt.timedelta(days=20)) if completed else None,
        "overallProgress": 100 if completed else (learner * 7 + course) % 95,
        "grade": 0.9 if completed else None,
        "approxTotalCourseHrs": 12.0,
    }


def build(size: int) -> list[dict[str, Any]]:
    """Empty the database, create the roster, return the sandbox's records."""
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    learners = size // COURSES_PER_LEARNER
    on_roster = learners - int(learners * UNMATCHED_SHARE)
    Employee.objects.bulk_create(
        [
            Employee(email=f"learner{n:06d}@bench.example", full_name=f"Learner {n}", external_id="")
            for n in range(on_roster)
        ],
        batch_size=5000,
    )
    records = [element(n, c) for n in range(learners) for c in range(COURSES_PER_LEARNER)]
    step = int(1 / DUPLICATE_SHARE)
    # Repeats of early records at the end: another page, so the run-wide merge must catch them.
    records += [dict(r, overallProgress=1, isCompleted=False, completedAt=None) for r in records[::step]]
    return records


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def timed_sync(conn: ProviderConnection, *, full: bool, traced: bool) -> dict[str, Any]:
    counter = QueryCounter()
    if traced:
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    with connection.execute_wrapper(counter):
        run = sync_api(connection=conn, full=full)
    seconds = time.perf_counter() - started
    peak = 0
    if traced:
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    assert run.status == "succeeded", run.error
    return {
        "fetched": run.fetched,
        "created": run.created,
        "unchanged": run.unchanged,
        "merged": run.merged,
        "unmatched": run.unmatched,
        "pages": run.pages,
        "seconds": round(seconds, 2),
        "records_per_second": round(run.fetched / seconds),
        "queries": counter.count,
        "queries_per_page": round(counter.count / max(run.pages, 1), 1),
        "tracemalloc_peak_mb": round(peak / 2**20, 1) if traced else None,
    }


def child(size: int) -> dict[str, Any]:
    records = build(size)
    sandbox = SandboxServer(
        data=sandbox_data_from_records(records=records, org_id=ORG_ID, program_ids=[PROGRAM_ID]),
        client_id=CLIENT,
        client_secret=CLIENT,
    ).start()
    try:
        conn = ProviderConnection.objects.create(
            name="bench",
            base_url=sandbox.base_url,
            token_url=sandbox.token_url,
            provider_org_id=ORG_ID,
            provider_program_ids=[PROGRAM_ID],
            client_id=CLIENT,
            client_secret=CLIENT,
        )
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        first = timed_sync(conn, full=True, traced=False)
        rss_first = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # before tracemalloc adds its own
        second = timed_sync(conn, full=True, traced=True)
        return {
            "size": len(records),
            "enrollments": Enrollment.objects.count(),
            "unmatched_rows": UnmatchedRecord.objects.count(),
            "first": first,
            "second": second,
            "traced_first": timed_sync_fresh(conn),
            "maxrss_before_sync_mb": round(rss_before / 1024, 1),
            "maxrss_after_first_mb": round(rss_first / 1024, 1),
            "maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }
    finally:
        sandbox.stop()


def timed_sync_fresh(conn: ProviderConnection) -> dict[str, Any]:
    """A first sync again (everything created), this time under tracemalloc."""
    Enrollment.objects.all().delete()
    UnmatchedRecord.objects.all().delete()
    return timed_sync(conn, full=True, traced=True)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(child(int(sys.argv[2]))))
        return
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "10000,100000").split(",")]
    print(f"page size {DEFAULT_PAGE_SIZE}; database {connection.settings_dict['NAME']} ({connection.vendor})")
    for size in sizes:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(size)], check=True, capture_output=True, text=True
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(
            f"\n{r['size']:,} records ({r['enrollments']:,} enrollments, {r['unmatched_rows']:,} unmatched); "
            f"process maxrss {r['maxrss_before_sync_mb']} MB before the syncs (sandbox data loaded), "
            f"{r['maxrss_after_first_mb']} MB after the first sync, {r['maxrss_mb']} MB at the end (tracemalloc on)"
        )
        for label, s in (
            ("first sync (all created)", r["first"]),
            ("second sync (all unchanged), traced", r["second"]),
            ("first sync again (all created), traced", r["traced_first"]),
        ):
            memory = f", tracemalloc peak {s['tracemalloc_peak_mb']} MB" if s["tracemalloc_peak_mb"] is not None else ""
            print(
                f"  {label:<40} {s['seconds']:>7}s  {s['records_per_second']:>6} records/s  "
                f"{s['pages']} pages, {s['queries_per_page']} queries/page{memory}  "
                f"(created {s['created']}, unchanged {s['unchanged']}, merged {s['merged']}, "
                f"unmatched {s['unmatched']})"
            )


if __name__ == "__main__":
    main()
