"""Benchmark of the dashboards and the employee home on a large company: the time and
query count of each page as a signed-in person through Django's test client (middleware,
view, templates), read from the kept figures (reports/kept.py), against the same page
computed by the engine on the request (?as_of=today, which the pages compute directly),
and what keeping the figures costs after a change.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/wtdash_bench .venv/bin/python bench/dashboard_bench.py

It migrates the database and EMPTIES it first (flush), so the database name must contain
"bench". Sizes: BENCH_EMPLOYEES (100000), BENCH_ORGS (50: a company, 5 divisions, 44
teams), BENCH_ENROLLMENTS (1000000), the company of bench/progress_bench.py, with this
year's program requiring BENCH_REQUIRED (6) courses, so that about half the people have
not met the goal (long "not yet" lists); BENCH_TREND_DAYS (60) days of snapshot history;
BENCH_REPEAT (7) runs of each page (median). Pages: the company dashboard, a division and
a team (as an L&D admin, who also sees the first 100 people not yet done and their
count), and the employee home.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learnhub.settings")
# Production settings: DEBUG off (Django would otherwise keep every query's SQL).
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "dashboard-bench-only-" + "x" * 40)
os.environ["ALLOWED_HOSTS"] = "testserver"
os.environ["SECURE_SSL_REDIRECT"] = "false"
os.environ["REDIS_URL"] = ""  # the keep task runs in process
os.environ["CELERY_BROKER_URL"] = ""
os.environ.setdefault("TIME_ZONE", "America/Los_Angeles")
os.environ.setdefault("LOG_LEVEL", "WARNING")

if "bench" not in os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1]:
    sys.exit("Set DATABASE_URL to a database whose name contains 'bench': this script empties it.")

import warnings

import django

warnings.filterwarnings("ignore", message="No directory at")  # no collected static files: none is asked
django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from progress_bench import build  # noqa: E402  (bench/, beside this script)

from learnhub.roles import ld_admin_grant  # noqa: E402
from programs.models import Employee, Enrollment, Organization  # noqa: E402
from programs.table_upkeep import tables_upkeep  # noqa: E402
from reports.kept import counts_keep, people_keep, progress_change_record, progress_read  # noqa: E402
from reports.progress import company_today, progress_day  # noqa: E402
from reports.snapshots import snapshots_backfill  # noqa: E402

GOAL_MS = 100


def request_timed(client: Client, url: str) -> tuple[float, int, int]:
    """One GET: (milliseconds, queries, status)."""
    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - began
    return elapsed * 1000, len(queries), response.status_code


def page_timed(client: Client, url: str, repeat: int) -> tuple[float, int]:
    """The median of `repeat` GETs (after one warm-up) and the queries of one."""
    request_timed(client, url)
    runs = [request_timed(client, url) for _ in range(repeat)]
    statuses = {status for _, _, status in runs}
    assert statuses == {200}, f"{url}: {statuses}"
    return statistics.median(ms for ms, _, _ in runs), runs[0][1]


def main() -> None:
    employees = int(os.environ.get("BENCH_EMPLOYEES", 100000))
    orgs = int(os.environ.get("BENCH_ORGS", 50))
    enrollments = int(os.environ.get("BENCH_ENROLLMENTS", 1000000))
    trend_days = int(os.environ.get("BENCH_TREND_DAYS", 60))
    repeat = int(os.environ.get("BENCH_REPEAT", 7))
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)

    began = time.perf_counter()
    today = company_today()
    program = build(prefix="Big", employees=employees, orgs=orgs, enrollments=enrollments, year=today.year)
    program.required_completions = int(os.environ.get("BENCH_REQUIRED", 6))
    program.save(update_fields=["required_completions"])
    tables_upkeep(Employee, Enrollment, rows_written=enrollments)
    print(
        f"built {Employee.objects.count()} employees, {Organization.objects.count()} organizations, "
        f"{Enrollment.objects.count()} enrollments in {time.perf_counter() - began:.0f} s"
    )
    day = progress_day(program=program)
    began = time.perf_counter()
    snapshots_backfill(program=program, start=day - dt.timedelta(days=trend_days - 1), end=day - dt.timedelta(days=1))
    print(f"snapshot history: {trend_days - 1} days in {time.perf_counter() - began:.0f} s")

    division = Organization.objects.filter(depth=1).order_by("path").first()
    team = Organization.objects.filter(depth=2).order_by("path").first()
    assert division is not None and team is not None
    admin = Employee.objects.filter(organization__depth=0).order_by("pk").first()
    person = Employee.objects.filter(organization=team, departed_on__isnull=True).order_by("pk").first()
    assert admin is not None and person is not None
    ld_admin_grant(employee=admin)
    admin_client, person_client = Client(), Client()
    admin_client.force_login(admin)
    person_client.force_login(person)
    for organization in (division, team):
        numbers = progress_read(program=program).for_organization(organization.pk)
        assert numbers is not None
        print(
            f"{organization.path}: {numbers.eligible} eligible, {numbers.eligible - numbers.met} not yet met "
            f"(required: {program.required_completions} courses)"
        )

    # What a change costs: the first read after it keeps the figures (or the task does).
    progress_change_record()
    began = time.perf_counter()
    counts_keep(program=program)
    counts_s = time.perf_counter() - began
    began = time.perf_counter()
    rows = people_keep(program=program)
    people_s = time.perf_counter() - began
    print(f"keep after a change: counts {counts_s * 1000:.0f} ms, people {people_s * 1000:.0f} ms ({rows} rows)")

    pages = [
        ("company dashboard", admin_client, "/reports/"),
        ("division dashboard", admin_client, f"/reports/org/{division.pk}/"),
        ("team dashboard", admin_client, f"/reports/org/{team.pk}/"),
        ("employee home", person_client, "/"),
    ]
    print(f"\npage (median of {repeat})        kept figures         engine on the request   engine / kept")
    worst = 0.0
    for label, client, url in pages:
        kept_ms, kept_queries = page_timed(client, url, repeat)
        worst = max(worst, kept_ms)
        if url == "/":  # the home has no ?as_of: its engine read is the read after a change
            progress_change_record()
            engine_ms, engine_queries, _ = request_timed(client, url)
            engine_note = "(first read after a change)"
        else:
            engine_url = f"{url}?as_of={day.isoformat()}"
            engine_ms, engine_queries = page_timed(client, engine_url, max(1, repeat // 2))
            engine_note = ""
        print(
            f"{label:<28} {kept_ms:7.1f} ms {kept_queries:3d} queries  {engine_ms:8.1f} ms {engine_queries:3d} queries"
            f"  {engine_ms / kept_ms:6.1f}x {engine_note}"
        )
        if url == "/reports/":  # its figures' body is cached: once more without it
            cache.clear()
            body_ms, body_queries, _ = request_timed(client, url)
            worst = max(worst, body_ms)
            print(f"{'  (body rendered, not cached)':<28} {body_ms:7.1f} ms {body_queries:3d} queries")
    print(f"\nslowest kept page: {worst:.1f} ms (goal <= {GOAL_MS} ms): {'met' if worst <= GOAL_MS else 'NOT met'}")


if __name__ == "__main__":
    main()
