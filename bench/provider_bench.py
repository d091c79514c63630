"""Benchmark of each provider adapter over HTTP: records per second of `sync_api` for a
Coursera, a Udemy Business, a LinkedIn Learning and an edX connection, each reading its own
sandbox (`manage.py run_sandbox_provider --kind K`, in its own process) serving the same
generated activity of a roster.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/learnhub_bench .venv/bin/python bench/provider_bench.py

It migrates the database and EMPTIES it first (flush), so the database name must contain
"bench". BENCH_PEOPLE (default 20000) people on the roster and an active program of the
last 180 days; the sandboxes generate 0 to 3 courses a person in it (the same records for
every kind, each in its provider's shape). Per kind: a full sync (every record written)
and a second full sync (every record unchanged), with their time, pages and records per
second. The adapters use their default page sizes (Coursera 500, Udemy 1000, LinkedIn 100
a page in 14-day slices, edX 1000); the sandboxes answer at once, so the figures are
LearnHub's own cost: parsing, the pipeline and the database.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "learnhub.settings")
os.environ["DEBUG"] = "false"  # Django would otherwise keep the SQL of every query in memory
os.environ.setdefault("SECRET_KEY", "provider-bench-only-" + "x" * 40)
os.environ["REDIS_URL"] = ""  # the progress hook's tasks run in process
os.environ["CELERY_BROKER_URL"] = ""
os.environ.setdefault("LOG_LEVEL", "WARNING")  # the figures, not every run's log line

if "bench" not in os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1]:
    sys.exit("Set DATABASE_URL to a database whose name contains 'bench': this script empties it.")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from programs.connections import provider_connection_save  # noqa: E402
from programs.models import Employee, LearningProgram, ProgramStatus, ProviderConnection  # noqa: E402
from programs.sync.pipeline import sync_api  # noqa: E402

KINDS = ("coursera", "udemy", "linkedin", "edx")
ORG_ID, PROGRAM_ID, CLIENT, SECRET = "bench-org", "bench-program", "bench", "bench-secret"
SEED = 7


def build(people: int) -> None:
    """Empty the database, create the roster and the program the sandboxes generate for."""
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    Employee.objects.bulk_create(
        [
            Employee(email=f"learner{n:06d}@bench.example", full_name=f"Learner {n}", external_id=f"B{n:06d}")
            for n in range(people)
        ],
        batch_size=5000,
    )
    today = timezone.localdate()
    LearningProgram.objects.create(
        name="Bench program",
        starts_on=today - dt.timedelta(days=180),
        ends_on=today + dt.timedelta(days=180),
        target_rate="0.9",
        status=ProgramStatus.ACTIVE,
    )


def sandbox_start(kind: str) -> tuple[subprocess.Popen[str], str, str]:
    """`run_sandbox_provider --kind KIND` on a free port; its base URL and token URL."""
    command = [sys.executable, str(ROOT / "manage.py"), "run_sandbox_provider", "--kind", kind, "--port", "0"]
    command += ["--seed", str(SEED), "--org-id", ORG_ID, "--program-id", PROGRAM_ID, "--timestamps", "as-is"]
    command += ["--client-id", CLIENT, "--client-secret", SECRET, "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    banner = [process.stdout.readline() for _ in range(3)]  # type: ignore[union-attr]
    if not banner[1]:
        process.kill()
        sys.exit(f"The {kind} sandbox did not start.")
    base_url = banner[1].split("base URL:")[1].strip()
    token_url = banner[2].split("token URL:")[1].strip()
    return process, base_url, "" if token_url.startswith("none") else token_url


def connect(kind: str, *, base_url: str, token_url: str) -> ProviderConnection:
    connection, _ = provider_connection_save(
        name=f"bench {kind}",
        kind=kind,
        base_url=base_url,
        token_url=token_url or None,
        org_id=ORG_ID,
        program_ids=[PROGRAM_ID],
        client_id=CLIENT,
        client_secret=SECRET,
    )
    return connection


def timed(conn: ProviderConnection) -> dict[str, Any]:
    started = time.perf_counter()
    run = sync_api(connection=conn, full=True)
    seconds = time.perf_counter() - started
    if run.status != "succeeded":
        sys.exit(f"{conn.name}: {run.error}")
    return {
        "fetched": run.fetched,
        "created": run.created,
        "unchanged": run.unchanged,
        "pages": run.pages,
        "seconds": seconds,
        "per_second": run.fetched / seconds,
    }


def main() -> None:
    people = int(os.environ.get("BENCH_PEOPLE", "20000"))
    build(people)
    print(
        f"{people:,} people, one active program of the last 180 days; database "
        f"{connection.settings_dict['NAME']} ({connection.vendor}); each sandbox in its own process"
    )
    # Every sandbox generates its records when it starts: all start before any sync, so they
    # serve the same activity (a Coursera catalog in the database would change what they make).
    sandboxes = {kind: sandbox_start(kind) for kind in KINDS}
    print(f"{'kind':<10} {'sync':<28} {'records':>8} {'pages':>6} {'seconds':>8} {'records/s':>10}")
    try:
        for kind, (_, base_url, token_url) in sandboxes.items():
            conn = connect(kind, base_url=base_url, token_url=token_url)
            for label, result in (("full (all written)", timed(conn)), ("full again (all unchanged)", timed(conn))):
                print(
                    f"{kind:<10} {label:<28} {result['fetched']:>8,} {result['pages']:>6} "
                    f"{result['seconds']:>8.2f} {result['per_second']:>10,.0f}"
                )
    finally:
        for process, _, _ in sandboxes.values():
            process.terminate()
            process.wait(timeout=10)


if __name__ == "__main__":
    main()
