"""The demo through the real pipeline: seed_demo + the Coursera and Udemy Business sandboxes
(over HTTP, on free ports) + sync_api give exactly the designed history, each provider its
own courses' records, and a second sync changes nothing; post_demo_statements adds a few
completions through the xAPI intake, so the demo's ledger holds three providers."""

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

from learnhub.demo.company import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_CONNECTION_NAME,
    DEMO_ORG_ID,
    DEMO_UDEMY_CONNECTION_NAME,
    DEMO_XAPI_CLIENT_ID,
    DEMO_XAPI_CONNECTION_NAME,
    DEMO_XAPI_SECRET,
    LD_ADMIN,
)
from learnhub.demo.history import (
    CONTRACTORS,
    DEMO_INVALID,
    DEMO_SKIPPED,
    DEMO_UNMATCHED,
    demo_programs_served,
    demo_records_of,
    demo_seeded_records,
)
from learnhub.demo.sandbox_data import demo_sandbox_data, sandbox_data_from_database
from learnhub.demo.seed import demo_connection_point
from learnhub.demo.statements import DEMO_STATEMENT_COMPLETIONS, DEMO_STATEMENTS
from programs.models import (
    Employee,
    Enrollment,
    InvalidRecord,
    Provider,
    ProviderConnection,
    SyncRun,
    UnmatchedRecord,
    XapiStatement,
)
from programs.providers.coursera_sandbox import SandboxServer
from programs.providers.udemy_sandbox import UdemySandbox
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
def demo_sandbox(*, seed: int = 42) -> Iterator[tuple[SandboxServer, UdemySandbox]]:
    """The Coursera and Udemy Business sandboxes serving the loaded demo (as
    `run_sandbox_provider --kind coursera|udemy --org-id acme-demo` do), on free ports the
    demo's connections are pointed at; stopped afterwards."""
    coursera_data = demo_sandbox_data(org_id=DEMO_ORG_ID, seed=seed, kind=Provider.COURSERA)
    udemy_data = demo_sandbox_data(org_id=DEMO_ORG_ID, seed=seed, kind=Provider.UDEMY)
    assert coursera_data is not None and udemy_data is not None
    options = {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET}
    coursera = SandboxServer(data=coursera_data, **options).start()
    udemy = UdemySandbox.from_activity(udemy_data, **options).start()
    try:
        demo_connection_point(port=coursera.port, udemy_port=udemy.port)
        yield coursera, udemy
    finally:
        coursera.stop()
        udemy.stop()


def demo_syncs() -> tuple[SyncRun, SyncRun]:
    """One sync of each of the demo's API connections (Coursera, Udemy) from the sandboxes."""
    with demo_sandbox():
        return (
            sync_api(connection=ProviderConnection.objects.get(name=DEMO_CONNECTION_NAME)),
            sync_api(connection=ProviderConnection.objects.get(name=DEMO_UDEMY_CONNECTION_NAME)),
        )


def demo_synced(*, seed: int = 42, employees: int = 420) -> tuple[SyncRun, SyncRun]:
    """seed_demo, then one sync of each demo connection from its sandbox."""
    call_command("seed_demo", seed=seed, employees=employees, stdout=StringIO())
    return demo_syncs()


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
def test_seed_demo_writes_no_enrollments_and_points_at_the_sandboxes():
    output = seed(sandbox_port=8775)

    connection = ProviderConnection.objects.get(name=DEMO_CONNECTION_NAME)
    udemy = ProviderConnection.objects.get(name=DEMO_UDEMY_CONNECTION_NAME)
    lrs = ProviderConnection.objects.get(name=DEMO_XAPI_CONNECTION_NAME)
    assert Enrollment.objects.count() == 0
    assert SyncRun.objects.count() == 0
    assert (connection.kind, connection.base_url, connection.token_url) == (
        "coursera",
        "http://127.0.0.1:8775/api/",
        "http://127.0.0.1:8775/oauth2/client_credentials/token",
    )
    assert (connection.provider_org_id, connection.client_id, connection.client_secret) == ("acme-demo", "demo", "demo")
    assert (udemy.kind, udemy.base_url, udemy.token_url, udemy.provider_org_id) == (
        "udemy",
        "http://127.0.0.1:8776/api-2.0/",
        "",
        "acme-demo",
    )
    assert (udemy.client_id, udemy.client_secret) == ("demo", "demo")
    assert (lrs.kind, lrs.client_id, lrs.client_secret) == ("xapi", DEMO_XAPI_CLIENT_ID, DEMO_XAPI_SECRET)
    assert connection.last_synced_at is None
    assert [p.status for p in demo_programs_served(connection=connection)] == ["closed", "active"]
    sandbox = "  python manage.py run_sandbox_provider --org-id acme-demo --seed 42"
    assert (
        f"{sandbox} --kind coursera --port 8775 --timestamps as-is &\n"
        f"{sandbox} --kind udemy --port 8776 &\n"
        '  python manage.py sync_provider "Coursera (demo)"\n'
        '  python manage.py sync_provider "Udemy Business (demo)"\n'
        "  python manage.py post_demo_statements --seed 42   # to LinkedIn Learning xAPI (demo)\n" in output
    )


@pytest.mark.django_db
def test_syncs_give_the_designed_history_exactly_and_a_second_sync_changes_nothing():
    first, udemy_first = demo_synced()
    connection = first.connection
    programs = demo_programs_served(connection=connection)
    designed = demo_seeded_records(seed=42, programs=programs, as_of=timezone.localdate())
    on_coursera = demo_records_of(designed, provider=Provider.COURSERA)
    on_udemy = demo_records_of(designed, provider=Provider.UDEMY)
    extras = DEMO_UNMATCHED + DEMO_INVALID + DEMO_SKIPPED

    assert len(on_coursera) + len(on_udemy) == len(designed)
    assert len(on_udemy) > 50
    assert counts(first) == {
        "status": "succeeded",
        "fetched": len(on_coursera) + extras,
        "created": len(on_coursera),
        "updated": 0,
        "unchanged": 0,
        "merged": 0,
        "skipped": DEMO_SKIPPED,
        "invalid": DEMO_INVALID,
        "unmatched": DEMO_UNMATCHED,
    }
    assert counts(udemy_first) == {
        "status": "succeeded",
        "fetched": len(on_udemy),
        "created": len(on_udemy),
        "updated": 0,
        "unchanged": 0,
        "merged": 0,
        "skipped": 0,
        "invalid": 0,
        "unmatched": 0,
    }
    # Every designed record became exactly one enrollment: a Coursera one keeps the record as
    # served, a Udemy one its Udemy row; both with the same person, course and completion.
    rows = {
        (e.employee.external_id, e.course.provider, e.course.provider_course_id): e
        for e in Enrollment.objects.select_related("employee", "course")
    }
    assert len(rows) == len(designed)
    for provider, records in ((Provider.COURSERA, on_coursera), (Provider.UDEMY, on_udemy)):
        for record in records:
            row = rows[(record["externalId"], provider, record["contentId"])]
            assert row.connection_id == (first if provider == Provider.COURSERA else udemy_first).connection_id
            assert row.is_completed == record["isCompleted"]
            assert (int(row.completed_at.timestamp() * 1000) if row.completed_at else None) == record["completedAt"]
            if provider == Provider.COURSERA:
                assert row.raw == record
            else:
                assert (row.raw["user_external_id"], str(row.raw["course_id"])) == (
                    record["externalId"],
                    record["contentId"],
                )
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
    second, udemy_second = demo_syncs()

    assert counts(second) == {
        "status": "succeeded",
        "fetched": len(on_coursera) + extras,
        "created": 0,
        "updated": 0,
        "unchanged": len(on_coursera),
        "merged": 0,
        "skipped": DEMO_SKIPPED,
        "invalid": DEMO_INVALID,
        "unmatched": DEMO_UNMATCHED,
    }
    assert (udemy_second.fetched, udemy_second.created, udemy_second.unchanged) == (len(on_udemy), 0, len(on_udemy))
    assert sorted(Enrollment.objects.values_list("pk", "updated_at")) == before
    assert UnmatchedRecord.objects.count() == DEMO_UNMATCHED


@pytest.mark.django_db
def test_the_demo_statements_add_completions_through_the_xapi_intake_once():
    demo_synced()
    synced = Enrollment.objects.count()

    first = StringIO()
    call_command("post_demo_statements", stdout=first)
    again = StringIO()
    call_command("post_demo_statements", stdout=again)

    lrs = ProviderConnection.objects.get(name=DEMO_XAPI_CONNECTION_NAME)
    run = SyncRun.objects.get(connection=lrs)
    assert XapiStatement.objects.filter(connection=lrs).count() == DEMO_STATEMENTS
    assert (run.source, run.status, run.created) == ("xapi", "succeeded", DEMO_STATEMENT_COMPLETIONS)
    assert Enrollment.objects.count() == synced + DEMO_STATEMENT_COMPLETIONS
    assert f"Posted {DEMO_STATEMENTS} xAPI statements to {DEMO_XAPI_CONNECTION_NAME}; taken in by run {run.pk}" in (
        first.getvalue()
    )
    assert "already holds the demo's statements; nothing changed." in again.getvalue()
    # One ledger: completions of three providers.
    kinds = set(Enrollment.objects.filter(is_completed=True).values_list("connection__kind", flat=True))
    assert kinds == {"coursera", "udemy", "xapi"}


@pytest.mark.django_db
def test_run_sandbox_provider_data_is_the_demo_for_the_demo_org_only():
    seed()
    connection = ProviderConnection.objects.get(name=DEMO_CONNECTION_NAME)
    today = timezone.localdate()

    demo = sandbox_data_from_database(seed=42, org_id="acme-demo", today=today)
    expected = demo_sandbox_data(org_id="acme-demo", seed=42, as_of=today)
    udemy = sandbox_data_from_database(seed=42, org_id="acme-demo", today=today, kind="udemy")
    linkedin = sandbox_data_from_database(seed=42, org_id="acme-demo", today=today, kind="linkedin")
    other = sandbox_data_from_database(seed=42, org_id="demo-org", today=today)
    designed = demo_seeded_records(seed=42, programs=demo_programs_served(connection=connection), as_of=today)

    assert expected is not None
    assert demo.elements == expected.elements
    assert demo.program_ids == connection.provider_program_ids
    on_coursera = demo_records_of(designed, provider=Provider.COURSERA)
    assert len(demo.elements) == len(on_coursera) + (DEMO_UNMATCHED + DEMO_INVALID + DEMO_SKIPPED)
    assert udemy.elements == demo_records_of(designed, provider=Provider.UDEMY)
    assert linkedin.elements == designed  # no demo account there: every course, in its shape
    assert other.program_ids == ["demo-program"]
    assert demo_sandbox_data(org_id="demo-org", seed=42) is None


@pytest.mark.django_db
def test_seed_again_on_other_ports_moves_only_the_connections():
    seed()
    output = seed(sandbox_port=8775, udemy_sandbox_port=8790)

    connection = ProviderConnection.objects.get(name=DEMO_CONNECTION_NAME)
    udemy = ProviderConnection.objects.get(name=DEMO_UDEMY_CONNECTION_NAME)
    assert "The demo data is already loaded; nothing changed." in output
    assert (
        "The demo's connections now read the sandboxes at http://127.0.0.1:8775/api/ (Coursera (demo)) and "
        "http://127.0.0.1:8790/api-2.0/ (Udemy Business (demo))" in output
    )
    assert (connection.base_url, udemy.base_url) == ("http://127.0.0.1:8775/api/", "http://127.0.0.1:8790/api-2.0/")
    assert "now read" not in seed(sandbox_port=8775, udemy_sandbox_port=8790)


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
