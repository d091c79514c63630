"""Benchmark of the sync pipeline against references measured in the same run: speed,
re-sync cost and peak memory of `sync_api` reading the Coursera sandbox over HTTP, and of
`provider_csv_import` reading a CourseActivity file.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/learnhub_bench .venv/bin/python bench/sync_bench.py
    BENCH_SIZES=4000000 BENCH_PHASES=full BENCH_REPEAT=1 DATABASE_URL=... .venv/bin/python bench/sync_bench.py
    BENCH_CSV_ROWS=100000,1000000 DATABASE_URL=... .venv/bin/python bench/sync_bench.py --csv

It migrates the database and EMPTIES it first (flush), so the database name must contain
"bench". Every phase runs in a child process of its own (its peak RSS is the syncing
process's alone; a sync phase imports the task modules before its clock starts, as a worker
does when it starts), and the sandbox serves from another process (it shares no GIL with the
sync; the reference reads the same server).

Per size N (BENCH_SIZES, default "40000,400000" records): BENCH_PEOPLE learners (default
50,000; 1% of them are not on the roster), N / BENCH_PEOPLE courses each, and 1% of the
records repeating an earlier record on a later page (half of those repeats win the merge).
The phases (BENCH_PHASES, default all of them, in this order):

- reference: HTTP pages -> JSON -> COPY into a table with the enrollments' unique key, one
  transaction per page, nothing else (a repeated record is left out in Python, as COPY
  cannot update): the database's speed for this data;
- full: the first sync (everything created);
- resync: a full re-sync (`--full`), nothing changed;
- incremental: an incremental re-sync, nothing changed (Coursera cannot filter by date: the
  adapter reads everything either way);
- changed: a full re-sync with 1% of the records changed since the first sync (the sandbox
  restarted with them);
- naive: `update_or_create` per record (and a query per employee and course), once, on a
  sample of BENCH_NAIVE_SAMPLE (2,000) records, into a connection of its own.

The phases run in BENCH_REPEAT rounds (default 3), each round every phase in this order (the
naive loop in the first round only): the first sync from empty tables, then its re-syncs.
The machine may be busy, and its speed drift over a long run: each phase shows its quickest
run (the one the rest of the machine disturbed least) and the median, and each ratio (full
sync speed / reference and / naive loop, each re-sync's time / the full sync's) is shown
twice: the median of the rounds' own ratios (runs minutes apart at most), and the ratio of
the quickest runs. Then the peak RSS (the highest of the runs) of the largest size / the
smallest.

With --csv, per row count (BENCH_CSV_ROWS, default "100000,1000000"), a CourseActivity
export of that many rows (the same generator) is written to a temporary file and imported
by `provider_csv_import` in a child process: time, rows/s and peak RSS, and the ratio of
the peak RSS of the largest file to the smallest.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learnhub.settings")
# DEBUG off: Django would otherwise keep the SQL of every query in memory.
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "sync-bench-only-" + "x" * 40)
os.environ["REDIS_URL"] = ""  # the progress hook's tasks run in process
os.environ["CELERY_BROKER_URL"] = ""

if "bench" not in os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1]:
    sys.exit("Set DATABASE_URL to a database whose name contains 'bench': this script empties it.")

ORG_ID, PROGRAM_ID, CLIENT = "bench-org", "bench-program", "bench"
START = dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC)
PEOPLE = int(os.environ.get("BENCH_PEOPLE", "50000"))
NAIVE_SAMPLE = int(os.environ.get("BENCH_NAIVE_SAMPLE", "2000"))
PHASES = ("reference", "full", "resync", "incremental", "changed", "naive")
PAGE_SIZE = 500


# --- The data: deterministic, generated on demand (4,000,000 records take no memory) ------


START_MS = int(START.timestamp() * 1000)
HOUR_MS, DAY_MS = 3_600_000, 86_400_000


def is_unmatched(learner: int) -> bool:
    return learner % 100 == 99


@functools.cache
def learner_texts(learner: int) -> tuple[str, str]:
    """A learner's e-mail and name (made once: the sandbox serves each learner's many records)."""
    return f"learner{learner:06d}@bench.example", f"Learner {learner}"


@functools.cache
def course_texts(course: int) -> tuple[str, str, str]:
    """A course's id, name and slug."""
    return f"course-{course:03d}", f"Course {course}", f"course-{course}"


def element(learner: int, course: int, *, variant: int = 0) -> dict[str, Any]:
    """A Coursera enrollment element for (learner, course); `variant` 1 is a repeat that
    wins the merge when the record is not completed (later activity) and loses otherwise,
    2 is the record changed since the last sync. Integer arithmetic only: the sandbox makes
    each page as it is asked for, and must not be the slow end of the line."""
    email, full_name = learner_texts(learner)
    content_id, content_name, content_slug = course_texts(course)
    enrolled = START_MS + (learner % 2000 + course * 7) * HOUR_MS
    activity = enrolled + 20 * DAY_MS
    completed = (learner + course) % 3 != 0
    progress = 100 if completed else (learner * 7 + course) % 95
    if variant == 1:
        completed, activity, progress = False, activity + DAY_MS, 1
    elif variant == 2:
        activity, progress = activity + 2 * DAY_MS, (progress + 1 if progress < 100 else progress)
    return {
        "id": f"{email}~{content_id}~{PROGRAM_ID}",
        "externalId": email,
        "email": email,
        "fullName": full_name,
        "programId": PROGRAM_ID,
        "membershipState": "MEMBER",
        "contentId": content_id,
        "contentType": "Course",
        "contentName": content_name,
        "contentSlug": content_slug,
        "partnerNames": ["Bench University"],
        "enrolledAt": enrolled,
        "lastActivityAt": activity,
        "isCompleted": completed,
        "completedAt": activity if completed else None,
        "overallProgress": progress,
        "grade": 0.9 if completed else None,
        "approxTotalCourseHrs": 12.0,
    }


class BenchElements(Sequence[dict[str, Any]]):
    """The `size` records of the sandbox: the first 99% are (learner, course) pairs, learner
    first; the last 1% repeat every 100th of them. `changes` is how many times 1% of the
    records changed (a different 1% each time: every 100th record from offset 50 on)."""

    def __init__(self, size: int, *, changes: int = 0) -> None:
        self.size = size
        self.repeats = size // 100
        self.base = size - self.repeats
        self.changes = changes

    def __len__(self) -> int:
        return self.size

    def _one(self, index: int) -> dict[str, Any]:
        if index >= self.base:
            original = (index - self.base) * 100
            return element(original % PEOPLE, original // PEOPLE, variant=1)
        variant = 2 if 50 <= index % 100 < 50 + self.changes else 0
        return element(index % PEOPLE, index // PEOPLE, variant=variant)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return [self._one(i) for i in range(*index.indices(self.size))]
        if not 0 <= index < self.size:
            raise IndexError(index)
        return self._one(index)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (self._one(i) for i in range(self.size))


# --- The sandbox, in a process of its own -------------------------------------------------------


def serve(size: int, *, changes: int) -> None:
    """Serve the bench data until killed; print the port first."""
    from programs.providers.coursera_sandbox import SandboxData, SandboxServer

    class Data(SandboxData):
        def program_elements(self, program_id: str) -> Sequence[dict[str, Any]]:
            return elements if program_id == PROGRAM_ID else []

    elements = BenchElements(size, changes=changes)
    data = Data(org_id=ORG_ID, programs=[{"id": PROGRAM_ID, "name": "Bench", "slug": "bench"}])
    server = SandboxServer(data=data, client_id=CLIENT, client_secret=CLIENT, port=0)
    print(server.port, flush=True)
    server.serve_forever()


class Sandbox:
    """`python bench/sync_bench.py --serve N CHANGES`, stopped on exit."""

    def __init__(self, size: int, *, changes: int = 0) -> None:
        command = [sys.executable, __file__, "--serve", str(size), str(changes)]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# --- Phases (each in a child process) -------------------------------------------------------


def django_setup() -> None:
    import django

    django.setup()


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def setup(size: int) -> dict[str, Any]:
    """Empty the database; the roster; the bench connections."""
    from django.core.management import call_command

    from programs.models import Employee, ProviderConnection

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    learners = min(PEOPLE, size)
    Employee.objects.bulk_create(
        [
            Employee(email=f"learner{n:06d}@bench.example", full_name=f"Learner {n}", external_id="")
            for n in range(learners)
            if not is_unmatched(n)
        ],
        batch_size=5000,
    )
    for name in ("bench", "naive"):
        ProviderConnection.objects.create(
            name=name,
            base_url="http://127.0.0.1:9/api/",
            token_url="http://127.0.0.1:9/oauth2/client_credentials/token",  # noqa: S106 (a URL, not a secret)
            provider_org_id=ORG_ID,
            provider_program_ids=[PROGRAM_ID],
            client_id=CLIENT,
            client_secret=CLIENT,
        )
    with_tables_analyzed()
    return {"people": Employee.objects.count()}


def with_tables_analyzed() -> None:
    """After loading the roster: the planner's view, as after any large write."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")


def bench_connection(port: int, name: str = "bench") -> Any:
    from programs.models import ProviderConnection

    base = f"http://127.0.0.1:{port}"
    ProviderConnection.objects.filter(name=name).update(
        base_url=f"{base}/api/", token_url=f"{base}/oauth2/client_credentials/token"
    )
    return ProviderConnection.objects.get(name=name)


def phase_sync(port: int, *, full: bool) -> dict[str, Any]:
    from django.db import connection

    from programs.sync.pipeline import sync_api

    conn = bench_connection(port)
    statements = 0
    # As a worker does when it starts: the task modules (the progress hook's) are imported and the
    # Celery app finalized before the clock.
    from learnhub.celery import app

    app.loader.import_default_modules()
    app.finalize()

    def counted(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    started = time.perf_counter()
    with connection.execute_wrapper(counted):
        run = sync_api(connection=conn, full=full)
    seconds = time.perf_counter() - started
    assert run.status == "succeeded", run.error
    counts = {k: getattr(run, k) for k in ("fetched", "created", "updated", "unchanged", "merged", "unmatched")}
    return {
        "seconds": seconds,
        "records": run.fetched,
        "counts": counts,
        "pages": run.pages,
        "statements_per_page": round(statements / max(run.pages, 1), 1),
        "peak_rss_mb": peak_rss_mb(),
    }


def phase_reference(port: int) -> dict[str, Any]:
    """HTTP pages -> JSON -> COPY into a table with the enrollments' unique key."""
    import requests
    from django.db import connection, transaction

    from programs.models import ProviderConnection

    conn = ProviderConnection.objects.get(name="bench")
    base = f"http://127.0.0.1:{port}"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_reference")
        cursor.execute(
            "CREATE TABLE bench_reference (connection_id integer NOT NULL, learner_key varchar(254) NOT NULL, "
            "course_id varchar(200) NOT NULL, is_completed boolean NOT NULL, completed_at timestamptz, "
            "progress numeric(5, 2), raw jsonb NOT NULL, UNIQUE (connection_id, learner_key, course_id))"
        )
    started = time.perf_counter()
    session = requests.Session()
    token = session.post(
        f"{base}/oauth2/client_credentials/token", auth=(CLIENT, CLIENT), data={"grant_type": "client_credentials"}
    ).json()["access_token"]
    url = f"{base}/api/businesses.v1/{ORG_ID}/enrollmentReports"
    start, records = "0", 0
    seen: set[tuple[str, str]] = set()
    while True:
        body = session.get(
            url,
            params={"q": "byProgramId", "programId": PROGRAM_ID, "start": start, "limit": str(PAGE_SIZE)},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
        lines = []
        for e in body["elements"]:
            key = (e["externalId"] or e["email"]).lower()
            if (key, e["contentId"]) in seen:  # COPY has no ON CONFLICT: a repeat is left out
                continue
            seen.add((key, e["contentId"]))
            completed_at = (
                dt.datetime.fromtimestamp(e["completedAt"] / 1000, dt.UTC).isoformat() if e["completedAt"] else r"\N"
            )
            raw = json.dumps(e).replace("\\", "\\\\")
            lines.append(
                f"{conn.pk}\t{key}\t{e['contentId']}\t{'t' if e['isCompleted'] else 'f'}\t{completed_at}\t"
                f"{e['overallProgress']}\t{raw}\n"
            )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.cursor.copy_expert("COPY bench_reference FROM STDIN", io.StringIO("".join(lines)))
        records += len(body["elements"])
        following = body.get("paging", {}).get("next")
        if not following:
            break
        start = following
    return {"seconds": time.perf_counter() - started, "records": records, "peak_rss_mb": peak_rss_mb()}


def phase_naive(port: int) -> dict[str, Any]:
    """update_or_create per record, on a sample."""
    from django.db.models import Q

    from programs.models import Course, Employee, Enrollment
    from programs.providers.coursera_api import CourseraApiAdapter
    from programs.sync.records import learner_key, record_normalized

    conn = bench_connection(port, name="naive")
    adapter = CourseraApiAdapter.from_connection(conn)
    started = time.perf_counter()
    done = 0
    for page in adapter.pages():
        for original in page:
            record = record_normalized(original)
            employee = Employee.objects.filter(
                Q(external_id=record.external_id) if record.external_id else Q(email__iexact=record.email)
            ).first()
            if employee is None:
                continue
            course, _ = Course.objects.get_or_create(
                provider=conn.kind,
                provider_course_id=record.provider_course_id,
                defaults={"title": record.course_title},
            )
            Enrollment.objects.update_or_create(
                connection=conn,
                learner_key=learner_key(record),
                course=course,
                defaults={
                    "employee": employee,
                    "enrolled_at": record.enrolled_at,
                    "last_activity_at": record.last_activity_at,
                    "progress": record.progress,
                    "is_completed": record.is_completed,
                    "completed_at": record.completed_at,
                    "is_removed": record.is_removed,
                    "raw": record.raw,
                },
            )
            done += 1
            if done >= NAIVE_SAMPLE:
                return {"seconds": time.perf_counter() - started, "records": done, "peak_rss_mb": peak_rss_mb()}
    return {"seconds": time.perf_counter() - started, "records": done, "peak_rss_mb": peak_rss_mb()}


# --- CSV import -------------------------------------------------------------------------------

CSV_HEADER = [
    "Name",
    "Email",
    "External ID",
    "Course",
    "Course ID",
    "Course Slug",
    "University",
    "Enrollment Time",
    "Last Course Activity Time",
    "Overall Progress",
    "Completed",
    "Removed From Program",
    "Completion Time",
    "Course Type",
]


def csv_write(path: Path, rows: int) -> None:
    def iso(ms: int | None) -> str:
        return "" if ms is None else dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_HEADER)
        for e in BenchElements(rows):
            writer.writerow(
                [
                    e["fullName"],
                    e["email"],
                    e["externalId"],
                    e["contentName"],
                    e["contentId"],
                    e["contentSlug"],
                    "Bench University",
                    iso(e["enrolledAt"]),
                    iso(e["lastActivityAt"]),
                    e["overallProgress"],
                    "Yes" if e["isCompleted"] else "No",
                    "No",
                    iso(e["completedAt"]),
                    "Course",
                ]
            )


def phase_csv(path: str) -> dict[str, Any]:
    from programs.imports import provider_csv_import
    from programs.models import ProviderConnection

    conn = ProviderConnection.objects.get(name="bench")
    started = time.perf_counter()
    with open(path, "rb") as file:
        imported = provider_csv_import(connection=conn, file=file)
    seconds = time.perf_counter() - started
    run = imported.run
    assert run.status == "succeeded", run.error
    return {"seconds": seconds, "records": run.fetched, "created": run.created, "peak_rss_mb": peak_rss_mb()}


# --- Driving the phases ------------------------------------------------------------------------


def child(*args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def child_main(args: list[str]) -> None:
    django_setup()
    what = args[0]
    if what == "setup":
        result = setup(int(args[1]))
    elif what == "csv":
        result = phase_csv(args[1])
    elif what == "reference":
        result = phase_reference(int(args[1]))
    elif what == "naive":
        result = phase_naive(int(args[1]))
    else:
        if what == "full":
            sync_tables_empty()
        result = phase_sync(int(args[1]), full=what != "incremental")
    print(json.dumps(result))


def sync_tables_empty() -> None:
    """Before a first sync again: no enrollment, unmatched or invalid record, nor run."""
    from django.db import connection

    from programs.models import Enrollment, InvalidRecord, SyncRun, UnmatchedRecord

    tables = ", ".join(model._meta.db_table for model in (Enrollment, UnmatchedRecord, InvalidRecord, SyncRun))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} CASCADE")


def rate(result: dict[str, Any]) -> float:
    return result["records"] / result["seconds"]


def best(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The quickest of a phase's runs (the one the rest of the machine disturbed least),
    with the median time and the highest peak RSS of them all."""
    quickest = min(results, key=lambda result: result["seconds"])
    times = sorted(result["seconds"] for result in results)
    return {
        **quickest,
        "median": times[len(times) // 2],
        "runs": len(results),
        "peak_rss_mb": max(result["peak_rss_mb"] for result in results),
    }


def shown(label: str, result: dict[str, Any]) -> str:
    counts = result.get("counts")
    extra = f"\n      {counts}, {result['statements_per_page']} statements/page" if counts else ""
    return (
        f"  {label:<12} {result['seconds']:7.2f} s (median of {result['runs']}: {result['median']:6.2f} s) "
        f"{rate(result):9,.0f} records/s  peak RSS {result['peak_rss_mb']:6.1f} MB{extra}"
    )


RESYNCS = {
    "resync": "re-sync, nothing changed (--full)",
    "incremental": "re-sync, nothing changed (incremental)",
    "changed": "re-sync, 1% changed (--full)",
}


def size_run(size: int, phases: list[str], repeat: int) -> dict[str, list[dict[str, Any]]]:
    """`repeat` rounds, each of the phases in order (the naive loop in the first only): the
    first sync from empty tables, then its re-syncs, the 1% change against what it wrote. So
    the runs a ratio compares ran minutes apart at most, however the machine's speed drifts
    over the whole run. Returns each phase's runs, one a round."""
    if "full" not in phases:
        phases = [phase for phase in phases if phase not in RESYNCS]
    runs: dict[str, list[dict[str, Any]]] = {phase: [] for phase in phases}
    for number in range(repeat):
        for phase in phases:
            if phase == "naive" and number:
                continue
            with Sandbox(size, changes=1 if phase == "changed" else 0) as sandbox:
                runs[phase].append(child(phase, str(sandbox.port)))
    for phase in phases:
        print(shown(phase, best(runs[phase])), flush=True)
    return runs


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def ratios_shown(runs: dict[str, list[dict[str, Any]]]) -> None:
    """Each ratio as the median of the rounds' own ratios (each round's runs side by side in
    time), and as the ratio of the quickest runs."""
    full = runs["full"]
    quickest = {phase: best(phase_runs) for phase, phase_runs in runs.items()}
    print(f"  ratios {'(median of rounds; quickest runs)':>58}")

    def shown_ratio(label: str, per_round: list[float], of_quickest: float, digits: int = 2) -> None:
        print(f"    {label:<56} {median(per_round):6.{digits}f}x {of_quickest:6.{digits}f}x")

    if "reference" in runs:
        shown_ratio(
            "full sync speed / reference pipeline",
            [rate(f) / rate(r) for f, r in zip(full, runs["reference"], strict=True)],
            rate(quickest["full"]) / rate(quickest["reference"]),
        )
    if "naive" in runs:
        naive = rate(quickest["naive"])
        shown_ratio(
            "full sync speed / update_or_create loop",
            [rate(f) / naive for f in full],
            rate(quickest["full"]) / naive,
            1,
        )
    for phase, label in RESYNCS.items():
        if phase in runs:
            shown_ratio(
                f"{label} / full sync time",
                [r["seconds"] / f["seconds"] for r, f in zip(runs[phase], full, strict=True)],
                quickest[phase]["seconds"] / quickest["full"]["seconds"],
            )


def sizes_main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "40000,400000").split(",")]
    phases = [p for p in os.environ.get("BENCH_PHASES", ",".join(PHASES)).split(",") if p]
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    unknown = set(phases) - set(PHASES)
    if unknown:
        sys.exit(f"Unknown BENCH_PHASES {sorted(unknown)}: choose from {', '.join(PHASES)}")
    database = os.environ["DATABASE_URL"].rsplit("/", 1)[-1]
    print(f"page size {PAGE_SIZE}; {PEOPLE:,} learners; {repeat} rounds; database {database}")
    peaks: dict[int, float] = {}
    for size in sizes:
        people = child("setup", str(size))["people"]
        print(f"\n{size:,} records ({people:,} people on the roster)", flush=True)
        runs = size_run(size, phases, repeat)
        if "full" in runs:
            peaks[size] = best(runs["full"])["peak_rss_mb"]
            ratios_shown(runs)
    if len(peaks) > 1:
        small, large = min(peaks), max(peaks)
        print(
            f"\npeak RSS of the full sync: {large:,} records / {small:,} records = {peaks[large] / peaks[small]:.2f}x"
        )


def csv_main() -> None:
    rows_list = [int(s) for s in os.environ.get("BENCH_CSV_ROWS", "100000,1000000").split(",")]
    peaks: dict[int, float] = {}
    print(f"CSV import; {PEOPLE:,} learners; database {os.environ['DATABASE_URL'].rsplit('/', 1)[-1]}")
    for rows in rows_list:
        child("setup", str(rows))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "CourseActivity.csv"
            csv_write(path, rows)
            size_mb = path.stat().st_size / 2**20
            result = child("csv", str(path))
        peaks[rows] = result["peak_rss_mb"]
        print(
            f"  {rows:>9,} rows ({size_mb:,.0f} MB file): {result['seconds']:8.2f} s {rate(result):8,.0f} rows/s  "
            f"peak RSS {result['peak_rss_mb']:6.1f} MB  (created {result['created']:,})",
            flush=True,
        )
    if len(peaks) > 1:
        small, large = min(peaks), max(peaks)
        print(f"peak RSS: {large:,} rows / {small:,} rows = {peaks[large] / peaks[small]:.2f}x")


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "--serve":
        django_setup()
        serve(int(sys.argv[2]), changes=int(sys.argv[3]))
    elif len(sys.argv) >= 3 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
    elif sys.argv[1:] == ["--csv"]:
        csv_main()
    else:
        sizes_main()


if __name__ == "__main__":
    main()
