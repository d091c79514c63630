"""The demo through the real pipeline: seed_demo + the Coursera sandbox (over HTTP, on a
free port) + sync_api give exactly the designed history, and a second sync changes nothing."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from learnhub.demo.company import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_CONNECTION_NAME, DEMO_ORG_ID, LD_ADMIN
from learnhub.demo.history import (
    CONTRACTORS,
    DEMO_INVALID,
    DEMO_SKIPPED,
    DEMO_UNMATCHED,
    demo_programs_served,
    demo_seeded_records,
)
from learnhub.demo.sandbox_data import demo_sandbox_data, sandbox_data_from_database
from learnhub.demo.seed import demo_connection_point
from programs.models import Employee, Enrollment, InvalidRecord, ProviderConnection, SyncRun, UnmatchedRecord
from programs.providers.coursera_sandbox import SandboxServer
from programs.sync.pipeline import sync_api

INVALID_REASONS = [
    "completedAt: cannot parse '2026-13-45T25:00'",
    "contentId: missing",
    "no learner: email and externalId are both empty",
    "unknown content type 'hologram'",
]


def seed(**options: object) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


@contextmanager
def demo_sandbox(*, seed: int = 42) -> Iterator[SandboxServer]:
    """The sandbox serving the loaded demo (as `run_sandbox_provider --org-id acme-demo`
    does), on a free port the demo connection is pointed at; stopped afterwards."""
    data = demo_sandbox_data(org_id=DEMO_ORG_ID, seed=seed)
    assert data is not None
    server = SandboxServer(data=data, client_id=DEMO_CLIENT_ID, client_secret=DEMO_CLIENT_SECRET).start()
    try:
        demo_connection_point(port=server.port)
        yield server
    finally:
        server.stop()


def demo_synced(*, seed: int = 42, employees: int = 420) -> SyncRun:
    """seed_demo, then one sync of the demo connection from the sandbox."""
    call_command("seed_demo", seed=seed, employees=employees, stdout=StringIO())
    with demo_sandbox(seed=seed):
        return sync_api(connection=ProviderConnection.objects.get(name=DEMO_CONNECTION_NAME))


def counts(run: SyncRun) -> dict[str, object]:
    return {
        name: getattr(run, name)
        for name in (
            "status",
            "fetched",
            "created",
            "updated",
            "unchanged",
            "merged",
            "skipped",
            "invalid",
            "unmatched",
        )
    }


@pytest.mark.django_db
def test_seed_demo_writes_no_enrollments_and_points_at_the_sandbox():
    output = seed(sandbox_port=8775)

    connection = ProviderConnection.objects.get(name=DEMO_CONNECTION_NAME)
    assert Enrollment.objects.count() == 0
    assert SyncRun.objects.count() == 0
    assert (connection.kind, connection.base_url, connection.token_url) == (
        "coursera",
        "http://127.0.0.1:8775/api/",
        "http://127.0.0.1:8775/oauth2/client_credentials/token",
    )
    assert (connection.provider_org_id, connection.client_id, connection.client_secret) == ("acme-demo", "demo", "demo")
    assert connection.last_synced_at is None
    assert [p.status for p in demo_programs_served(connection=connection)] == ["closed", "active"]
    assert (
        "  python manage.py run_sandbox_provider --port 8775 --org-id acme-demo --seed 42 --timestamps as-is &\n"
        '  python manage.py sync_provider "Coursera (demo)"\n' in output
    )


@pytest.mark.django_db
def test_sync_gives_the_designed_history_exactly_and_a_second_sync_changes_nothing():
    first = demo_synced()
    connection = first.connection
    programs = demo_programs_served(connection=connection)
    designed = demo_seeded_records(seed=42, programs=programs, as_of=timezone.localdate())
    extras = DEMO_UNMATCHED + DEMO_INVALID + DEMO_SKIPPED

    assert counts(first) == {
        "status": "succeeded",
        "fetched": len(designed) + extras,
        "created": len(designed),
        "updated": 0,
        "unchanged": 0,
        "merged": 0,
        "skipped": DEMO_SKIPPED,
        "invalid": DEMO_INVALID,
        "unmatched": DEMO_UNMATCHED,
    }
    # Every designed record became exactly one enrollment, raw record as served.
    rows = {e.raw["id"]: e for e in Enrollment.objects.select_related("employee", "course")}
    assert sorted(rows) == sorted(r["id"] for r in designed)
    for record in designed:
        row = rows[record["id"]]
        assert row.raw == record
        assert (row.employee.external_id, row.course.provider_course_id, row.is_completed) == (
            record["externalId"],
            record["contentId"],
            record["isCompleted"],
        )
        assert (int(row.completed_at.timestamp() * 1000) if row.completed_at else None) == record["completedAt"]
    # Contractors are kept as unmatched, malformed records as invalid, with reasons.
    assert sorted(UnmatchedRecord.objects.values_list("email", flat=True)) == sorted(
        [email for _, email in CONTRACTORS] + [CONTRACTORS[0][1]]
    )
    assert set(UnmatchedRecord.objects.values_list("reason", flat=True)) == {
        f"no employee on the roster with e-mail {email!r}" for _, email in CONTRACTORS
    }
    assert sorted(InvalidRecord.objects.values_list("reason", flat=True)) == INVALID_REASONS
    assert not Employee.objects.filter(email__in=[email for _, email in CONTRACTORS]).exists()

    before = sorted(Enrollment.objects.values_list("pk", "updated_at"))
    with demo_sandbox():
        second = sync_api(connection=ProviderConnection.objects.get(pk=connection.pk))

    assert counts(second) == {
        "status": "succeeded",
        "fetched": len(designed) + extras,
        "created": 0,
        "updated": 0,
        "unchanged": len(designed),
        "merged": 0,
        "skipped": DEMO_SKIPPED,
        "invalid": DEMO_INVALID,
        "unmatched": DEMO_UNMATCHED,
    }
    assert sorted(Enrollment.objects.values_list("pk", "updated_at")) == before
    assert UnmatchedRecord.objects.count() == DEMO_UNMATCHED


@pytest.mark.django_db
def test_run_sandbox_provider_data_is_the_demo_for_the_demo_org_only():
    seed()
    connection = ProviderConnection.objects.get(name=DEMO_CONNECTION_NAME)
    today = timezone.localdate()

    demo = sandbox_data_from_database(seed=42, org_id="acme-demo", today=today)
    expected = demo_sandbox_data(org_id="acme-demo", seed=42, as_of=today)
    other = sandbox_data_from_database(seed=42, org_id="demo-org", today=today)

    assert expected is not None
    assert demo.elements == expected.elements
    assert demo.program_ids == connection.provider_program_ids
    assert len(demo.elements) == len(
        demo_seeded_records(seed=42, programs=demo_programs_served(connection=connection), as_of=today)
    ) + (DEMO_UNMATCHED + DEMO_INVALID + DEMO_SKIPPED)
    assert other.program_ids == ["demo-program"]
    assert demo_sandbox_data(org_id="demo-org", seed=42) is None


@pytest.mark.django_db
def test_seed_again_on_another_port_moves_only_the_connection():
    seed()
    output = seed(sandbox_port=8775)

    connection = ProviderConnection.objects.get(name=DEMO_CONNECTION_NAME)
    assert "The demo data is already loaded; nothing changed." in output
    assert "The Coursera (demo) connection now reads the sandbox at http://127.0.0.1:8775/api/" in output
    assert connection.base_url == "http://127.0.0.1:8775/api/"
    assert "now reads" not in seed(sandbox_port=8775)


@pytest.mark.django_db
def test_demo_providers_pages_show_unmatched_and_invalid_records(client):
    demo_synced()
    client.force_login(Employee.objects.get(email=LD_ADMIN.email))

    unmatched = client.get(reverse("programs:providers:unmatched"))
    invalid = client.get(reverse("programs:providers:invalid"))

    assert unmatched.status_code == 200
    for _, email in CONTRACTORS:
        assert email in unmatched.content.decode()
    assert invalid.status_code == 200
    page = invalid.content.decode()
    for reason in ("contentId: missing", "no learner: email and externalId are both empty"):
        assert reason in page


def test_no_app_imports_the_demo():
    """The demo sits above every app: it may import them, none of them imports it."""
    root = Path(__file__).resolve().parent.parent
    importers = []
    for package in ("learnhub", "programs", "champions", "reports"):
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if relative.parts[:2] == ("learnhub", "demo") or "migrations" in relative.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.module:
                    names = [node.module]
                if any(name == "learnhub.demo" or name.startswith("learnhub.demo.") for name in names):
                    importers.append(str(relative))
    assert importers == []


def test_the_sandbox_knows_nothing_of_the_database():
    """The Coursera sandbox imports without Django settings, models or any app of ours."""
    script = (
        "import sys, programs.providers.coursera_sandbox\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'learnhub', 'champions', 'reports'}"
        " or m == 'programs.models'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "[]\n", "")
