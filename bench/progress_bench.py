"""Benchmark of the progress engine: time and query count of `program_progress` and of
one snapshot write on a large company, and of a year's backfill on a small one. On
PostgreSQL it also times one hand-written SQL aggregate of the same four numbers per home
organization (the reference), checks that it gives the engine's numbers, and prints the
engine's time as a ratio of it (median of several runs each).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/h8bench .venv/bin/python bench/progress_bench.py
    DATABASE_URL=sqlite:////tmp/h8bench.sqlite3 .venv/bin/python bench/progress_bench.py

It migrates the database and EMPTIES it first (flush), so the database name must contain
"bench". Sizes: BENCH_EMPLOYEES (100000), BENCH_ORGS (50), BENCH_ENROLLMENTS (1000000),
BENCH_REPEAT (5, the runs of each timed query).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learnhub.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("TIME_ZONE", "America/Los_Angeles")

if "bench" not in os.environ.get("DATABASE_URL", ""):
    sys.exit("Set DATABASE_URL to a database whose name contains 'bench': this script empties it.")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from champions.models import ExecutiveSponsor  # noqa: E402
from programs.models import (  # noqa: E402
    Collection,
    CollectionItem,
    Course,
    Employee,
    Enrollment,
    LearningProgram,
    ProgramStatus,
    ProviderConnection,
)
from programs.organizations import organization_ensure  # noqa: E402
from programs.table_upkeep import tables_upkeep  # noqa: E402
from reports.progress import completion_window, program_progress, progress_counts  # noqa: E402
from reports.snapshots import snapshots_backfill, snapshots_write  # noqa: E402

BATCH = 5000
rng = random.Random(8)


def build(*, prefix: str, employees: int, orgs: int, enrollments: int, year: int) -> LearningProgram:
    """A company `prefix` with `orgs` organizations over three levels, `employees`
    people (some hired late, some departed) and `enrollments` enrollments (60% completed
    during the year, a few duplicated through a second connection)."""
    program = LearningProgram.objects.create(
        name=f"{prefix} {year}",
        starts_on=dt.date(year, 1, 1),
        ends_on=dt.date(year, 12, 31),
        target_rate=Decimal("0.9"),
        status=ProgramStatus.ACTIVE,
    )
    cache: dict = {}
    divisions = max(1, orgs // 10)
    paths = [prefix] + [f"{prefix}/Division {d}" for d in range(divisions)]
    paths += [f"{prefix}/Division {t % divisions}/Team {t}" for t in range(orgs - len(paths))]
    organizations = [organization_ensure(path=p, cache=cache) for p in paths]
    people = [
        Employee(
            email=f"{prefix.lower()}{n}@bench.example",
            external_id=f"{prefix}{n}",
            organization=organizations[n % len(organizations)],
            hired_on=dt.date(year, rng.randint(1, 12), 1) if n % 10 == 0 else dt.date(2015, 1, 1),
            departed_on=dt.date(year, rng.randint(1, 12), 28) if n % 25 == 0 and n % 10 else None,
            password="!",  # noqa: S106
        )
        for n in range(employees)
    ]
    Employee.objects.bulk_create(people, batch_size=BATCH)
    people = list(Employee.objects.filter(email__endswith="@bench.example", external_id__startswith=prefix))
    courses = Course.objects.bulk_create(
        [Course(provider="coursera", provider_course_id=f"{prefix}-C{n}", title=f"Course {n}") for n in range(300)]
    )
    collection = Collection.objects.create(program=program, organization=None, name="Foundations")
    CollectionItem.objects.bulk_create([CollectionItem(collection=collection, course=c) for c in courses[:60]])
    api = ProviderConnection.objects.create(name=f"{prefix}-api")
    csv = ProviderConnection.objects.create(name=f"{prefix}-csv")
    start = dt.datetime(year, 1, 1, tzinfo=dt.UTC)
    rows = []
    for n in range(enrollments):
        person = people[n % len(people)]
        completed = rng.random() < 0.6
        rows.append(
            Enrollment(
                connection=csv if n % 20 == 0 else api,
                learner_key=person.external_id,
                employee=person,
                course=courses[(n // len(people) * 7 + n) % len(courses)],
                is_completed=completed,
                completed_at=start + dt.timedelta(minutes=rng.randint(0, 365 * 24 * 60)) if completed else None,
            )
        )
    Enrollment.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
    ExecutiveSponsor.objects.bulk_create(
        [ExecutiveSponsor(program=program, organization=o, employee=people[i]) for i, o in enumerate(organizations)]
    )
    return program


def timed(label: str, func):
    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - began
    print(f"{label}: {elapsed * 1000:.0f} ms, {len(queries)} queries", flush=True)
    return result


# The reference: what a person who knows the rules would write by hand in one statement.
REFERENCE_SQL = """
WITH eligible AS (
    SELECT e.id, e.organization_id FROM programs_employee e
    WHERE (e.hired_on IS NULL OR e.hired_on <= %(day)s)
      AND (e.departed_on IS NULL OR e.departed_on > %(day)s)
      AND NOT EXISTS (
          SELECT 1 FROM programs_programexclusion x WHERE x.program_id = %(program)s AND x.employee_id = e.id
      )
), curated AS (
    SELECT DISTINCT i.course_id FROM programs_collectionitem i
    JOIN programs_collection c ON c.id = i.collection_id WHERE c.program_id = %(program)s
), pairs AS (
    SELECT DISTINCT n.employee_id, n.course_id FROM programs_enrollment n
    WHERE n.is_completed AND n.completed_at >= %(start)s AND n.completed_at < %(end)s
), per_employee AS (
    SELECT p.employee_id, count(*) AS n, count(cu.course_id) AS n_curated
    FROM pairs p LEFT JOIN curated cu ON cu.course_id = p.course_id GROUP BY p.employee_id
)
SELECT el.organization_id, count(*), count(*) FILTER (WHERE pe.n >= %(required)s),
       coalesce(sum(pe.n), 0), coalesce(sum(pe.n_curated), 0)
FROM eligible el LEFT JOIN per_employee pe ON pe.employee_id = el.id
GROUP BY el.organization_id
"""


def median_seconds(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        func()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def reference_rows(program: LearningProgram, day: dt.date) -> list[tuple]:
    start, end = completion_window(program=program, day=day)
    params = {
        "program": program.pk,
        "day": day,
        "start": start,
        "end": end,
        "required": program.required_completions,
    }
    with connection.cursor() as cursor:
        cursor.execute(REFERENCE_SQL, params)
        return cursor.fetchall()


def compare_with_reference(program: LearningProgram, day: dt.date, repeat: int) -> None:
    counts = progress_counts(program=program, as_of=day)
    reference = reference_rows(program, day)
    company = [sum(int(row[i]) for row in reference) for i in range(1, 5)]
    engine = [counts.company.eligible, counts.company.met, counts.company.completions]
    engine.append(counts.company.curated_completions)
    assert company == engine, f"the reference {company} and the engine {engine} disagree"
    reference_s = median_seconds(lambda: reference_rows(program, day), repeat)
    engine_s = median_seconds(lambda: progress_counts(program=program, as_of=day), repeat)
    full_s = median_seconds(lambda: program_progress(program=program, as_of=day), repeat)
    print(f"reference SQL (hand-written, one statement): {reference_s * 1000:.0f} ms (median of {repeat})")
    print(f"engine counts (progress_counts): {engine_s * 1000:.0f} ms, {engine_s / reference_s:.2f}x the reference")
    print(f"program_progress (counts, pace, projection, sponsors): {full_s * 1000:.0f} ms")
    print(f"  same numbers as the reference: {company}")


def main() -> None:
    employees = int(os.environ.get("BENCH_EMPLOYEES", 100000))
    orgs = int(os.environ.get("BENCH_ORGS", 50))
    enrollments = int(os.environ.get("BENCH_ENROLLMENTS", 1000000))
    repeat = int(os.environ.get("BENCH_REPEAT", 5))
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)

    small = build(prefix="Small", employees=400, orgs=12, enrollments=1200, year=2025)
    days = timed("backfill a year, 400 employees", lambda: snapshots_backfill(program=small))
    print(f"  {days} days", flush=True)
    call_command("flush", interactive=False, verbosity=0)

    began = time.perf_counter()
    big = build(prefix="Big", employees=employees, orgs=orgs, enrollments=enrollments, year=2024)
    print(
        f"built {Employee.objects.count()} employees, {big.collections.count()} collection, "
        f"{Enrollment.objects.count()} enrollments in {time.perf_counter() - began:.1f} s"
    )
    # What a sync does after a large write (autovacuum may be off, as on these machines).
    tables_upkeep(Employee, Enrollment, rows_written=enrollments)
    progress = timed("program_progress (warm-up)", lambda: program_progress(program=big, as_of=dt.date(2024, 9, 30)))
    progress = timed("program_progress", lambda: program_progress(program=big, as_of=dt.date(2024, 9, 30)))
    print(
        f"  company: eligible {progress.company.eligible}, met {progress.company.met}, "
        f"rate {progress.company.rate:.3f}, completions {progress.company.completions}, "
        f"curated {progress.company.curated_completions}, organizations {len(progress.organizations)}"
    )
    rows = timed("snapshots_write (one day)", lambda: snapshots_write(program=big, day=dt.date(2024, 9, 30)))
    print(f"  {len(rows)} snapshot rows")
    if connection.vendor == "postgresql":
        compare_with_reference(big, dt.date(2024, 9, 30), repeat)


if __name__ == "__main__":
    main()
