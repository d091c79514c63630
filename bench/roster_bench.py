"""Benchmark of the roster import: rows per second of `roster_import` (what `manage.py
import_roster` and the roster upload job run) on a generated HR file, and the peak memory
of the importing process.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/roster_bench .venv/bin/python bench/roster_bench.py

It migrates the database and EMPTIES it first (flush), so the database name must contain
"bench". BENCH_PEOPLE (default 50000) people in BENCH_ORGS (default 200) organizations
over three levels, each with a manager (the previous level), 1% departed. Three imports
of the same size, each in a fresh child process so its peak RSS is its own:
- first: an empty database, every person created;
- again: the same file, every person unchanged;
- changed: 1% of the people with a new title and 1% moved to another organization.
The goal is at least 5,000 rows/s for the first import of 50,000 people.
"""

from __future__ import annotations

import io
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learnhub.settings")
os.environ["DEBUG"] = "false"  # Django would otherwise keep the SQL of every query in memory
os.environ.setdefault("SECRET_KEY", "roster-bench-only-" + "x" * 40)
os.environ["REDIS_URL"] = ""  # the re-match task runs in process
os.environ["CELERY_BROKER_URL"] = ""

if "bench" not in os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1]:
    sys.exit("Set DATABASE_URL to a database whose name contains 'bench': this script empties it.")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from programs.models import Employee  # noqa: E402
from programs.roster import roster_import  # noqa: E402

GOAL_ROWS_PER_SECOND = 5000
HEADER = "email,full_name,external_id,organization,title,manager_email,hired_on,departed_on\n"


def roster_file(*, people: int, orgs: int, changed: bool) -> bytes:
    """The HR file: deterministic for its arguments; `changed` gives 1% of the people a
    new title and moves another 1% to the next organization."""
    rng = random.Random(12)
    divisions = max(1, orgs // 10)
    paths = ["Acme"] + [f"Acme/Division {d}" for d in range(divisions)]
    paths += [f"Acme/Division {t % divisions}/Team {t}" for t in range(orgs - len(paths))]
    lines = [HEADER]
    for n in range(people):
        org = n % len(paths)
        title = "Engineer"
        if changed and n % 100 == 1:
            title = "Senior engineer"
        if changed and n % 100 == 2:
            org = (org + 1) % len(paths)
        manager = f"p{n // 10:06d}@acme.example" if n >= 10 else ""
        departed = f"2026-0{rng.randint(1, 9)}-15" if n % 100 == 3 else ""
        lines.append(
            f"p{n:06d}@acme.example,Person {n},E{n:06d},{paths[org]},{title},{manager},"
            f"20{10 + n % 15}-0{1 + n % 9}-{1 + n % 28:02d},{departed}\n"
        )
    return "".join(lines).encode()


def child(step: str, people: int, orgs: int) -> dict[str, object]:
    data = roster_file(people=people, orgs=orgs, changed=step == "changed")
    if step == "first":
        call_command("migrate", verbosity=0)
        call_command("flush", interactive=False, verbosity=0)
    started = time.perf_counter()
    result = roster_import(file=io.BytesIO(data))
    seconds = time.perf_counter() - started
    assert not result.errors, result.errors[:3]
    return {
        "step": step,
        "rows": people,
        "created": result.created,
        "updated": result.updated,
        "unchanged": result.unchanged,
        "employees": Employee.objects.count(),
        "seconds": round(seconds, 2),
        "rows_per_second": round(people / seconds),
        "maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        print(json.dumps(child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
        return
    people = int(os.environ.get("BENCH_PEOPLE", "50000"))
    orgs = int(os.environ.get("BENCH_ORGS", "200"))
    print(f"roster import of {people:,} people in {orgs} organizations; database {connection.vendor}")
    results = {}
    for step in ("first", "again", "changed"):
        out = subprocess.run(
            [sys.executable, __file__, "--child", step, str(people), str(orgs)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        r = json.loads(out.strip().splitlines()[-1])
        results[step] = r
        print(
            f"  {step:<8} {r['seconds']:>6}s  {r['rows_per_second']:>6} rows/s  peak RSS {r['maxrss_mb']} MB  "
            f"(created {r['created']}, updated {r['updated']}, unchanged {r['unchanged']}; "
            f"{r['employees']} employees)"
        )
    first = results["first"]["rows_per_second"]
    verdict = "met" if first >= GOAL_ROWS_PER_SECOND else "NOT met"
    print(
        f"first import: {first} rows/s, {first / GOAL_ROWS_PER_SECOND:.2f}x the goal "
        f"of {GOAL_ROWS_PER_SECOND}: {verdict}"
    )


if __name__ == "__main__":
    main()
