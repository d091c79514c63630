"""provider_connection, import_provider_csv and sync_provider, through call_command."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from programs.models import Employee, Enrollment, InvalidRecord, ProviderConnection, SyncRun, UnmatchedRecord
from programs.providers.edx_api import EdxApiAdapter
from programs.providers.linkedin_api import LinkedInApiAdapter
from programs.providers.udemy_api import UdemyApiAdapter
from tests.factories import ConnectionFactory, EmployeeFactory, ProgramFactory
from tests.sandbox_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    ORG_ID,
    PROGRAM_ID,
    child_env,
    coursera_element,
    sandbox_connection,
)

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.sandbox_fixtures"]

CONTRACT = Path(__file__).resolve().parent / "data" / "contract"  # copies of the contract check's files
SECRET = "s3cr3t-do-not-print-me"

CONNECTION_ARGS = [
    "--kind",
    "coursera",
    "--base-url",
    "https://api.coursera.com/ent/api/",
    "--token-url",
    "https://api.coursera.com/oauth2/client_credentials/token",
    "--org-id",
    "org1",
    "--program-id",
    "prog1",
    "--program-id",
    "prog2",
    "--client-id",
    "client1",
]


def run_command(*args: str, **options: Any) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


# --- provider_connection ---------------------------------------------------------------


def test_provider_connection_reads_the_secret_from_the_environment_and_never_prints_it(monkeypatch):
    monkeypatch.setenv("PROVIDER_CLIENT_SECRET", SECRET)

    out, err = run_command("provider_connection", "acme", *CONNECTION_ARGS, "--interval", "60")

    assert SECRET not in out + err
    assert out.strip() == (
        "Created connection acme (coursera, active, every 60 minutes, programs: prog1, prog2). Client secret stored."
    )
    c = ProviderConnection.objects.get()
    assert (c.name, c.kind, c.base_url, c.token_url, c.provider_org_id) == (
        "acme",
        "coursera",
        "https://api.coursera.com/ent/api/",
        "https://api.coursera.com/oauth2/client_credentials/token",
        "org1",
    )
    assert (c.provider_program_ids, c.client_id, c.client_secret, c.sync_interval_minutes, c.is_active) == (
        ["prog1", "prog2"],
        "client1",
        SECRET,
        60,
        True,
    )
    assert SECRET not in repr(c) and SECRET not in str(c)


def test_provider_connection_reads_piped_stdin_and_updates_on_a_second_run(monkeypatch):
    monkeypatch.delenv("PROVIDER_CLIENT_SECRET", raising=False)
    run_command("provider_connection", "acme", *CONNECTION_ARGS, stdin=io.StringIO(SECRET + "\n"))
    assert ProviderConnection.objects.get().client_secret == SECRET

    # Re-run: only what is given changes; an empty stdin keeps the stored secret.
    out, _ = run_command(
        "provider_connection", "acme", "--interval", "30", "--inactive", "--program-id", "prog3", stdin=io.StringIO("")
    )

    assert out.strip() == (
        "Updated connection acme (coursera, inactive, every 30 minutes, programs: prog3). Client secret kept."
    )
    c = ProviderConnection.objects.get()
    assert (c.client_secret, c.sync_interval_minutes, c.is_active, c.provider_program_ids, c.client_id) == (
        SECRET,
        30,
        False,
        ["prog3"],
        "client1",
    )

    out, _ = run_command("provider_connection", "acme", "--active", stdin=io.StringIO("rotated-secret\n"))
    assert "Client secret replaced." in out and "rotated-secret" not in out
    c.refresh_from_db()
    assert (c.client_secret, c.is_active) == ("rotated-secret", True)
    assert ProviderConnection.objects.count() == 1


def test_provider_connection_refuses_the_secret_on_the_command_line(monkeypatch):
    monkeypatch.setenv("PROVIDER_CLIENT_SECRET", SECRET)

    with pytest.raises(CommandError, match="unrecognized arguments"):
        call_command("provider_connection", "acme", *CONNECTION_ARGS, "--client-secret", "oops")

    assert ProviderConnection.objects.count() == 0


def test_provider_connection_without_a_secret_creates_nothing(monkeypatch):
    monkeypatch.delenv("PROVIDER_CLIENT_SECRET", raising=False)

    with pytest.raises(CommandError) as exc:
        call_command("provider_connection", "acme", *CONNECTION_ARGS, stdin=io.StringIO(""))

    assert str(exc.value) == "A new connection needs a client secret (PROVIDER_CLIENT_SECRET or standard input)."
    assert ProviderConnection.objects.count() == 0


def test_provider_connection_bad_input_changes_nothing(monkeypatch):
    monkeypatch.setenv("PROVIDER_CLIENT_SECRET", SECRET)
    run_command("provider_connection", "acme", *CONNECTION_ARGS)
    before = list(ProviderConnection.objects.values())

    with pytest.raises(CommandError) as exc:
        call_command("provider_connection", "acme", "--base-url", "ftp://nope", "--interval", "2")

    assert str(exc.value) == "'ftp://nope' is not an http(s) URL. The sync interval must be at least 5 minutes."
    assert list(ProviderConnection.objects.values()) == before


@pytest.mark.parametrize(
    ("args", "refusal"),
    [
        (
            ["--kind", "udemy", "--client-id", "c1"],
            "Udemy Business connections need an API base URL (--base-url) and an organization id (--org-id).",
        ),
        (
            ["--kind", "linkedin", "--base-url", "https://api.linkedin.com/v2/"],
            "LinkedIn Learning connections need a token URL (--token-url) and a client id (--client-id).",
        ),
        (
            ["--kind", "edx", "--base-url", "https://api.edx.org/", "--client-id", "c1"],
            "edX for Business connections need a token URL (--token-url) and an organization id (--org-id).",
        ),
        (["--kind", "xapi"], "xAPI statements connections need a client id (--client-id)."),
        (
            ["--kind", "coursera", "--client-id", "c1"],
            "Coursera connections need an API base URL (--base-url), a token URL (--token-url), an organization id "
            "(--org-id) and at least one program id (--program-id).",
        ),
    ],
)
def test_provider_connection_names_what_the_kind_still_needs(monkeypatch, args, refusal):
    monkeypatch.setenv("PROVIDER_CLIENT_SECRET", SECRET)

    with pytest.raises(CommandError) as refused:
        call_command("provider_connection", "acme", *args)

    assert str(refused.value) == refusal
    assert ProviderConnection.objects.count() == 0


@pytest.mark.parametrize(
    ("args", "stored"),
    [
        (
            ["--kind", "udemy", "--base-url", "https://acme.udemy.com/api-2.0/", "--org-id", "77120"],
            ("udemy", "https://acme.udemy.com/api-2.0/", "", "77120", SECRET),
        ),
        (
            [
                "--kind",
                "linkedin",
                "--base-url",
                "https://api.linkedin.com/v2/",
                "--token-url",
                "https://www.linkedin.com/oauth/v2/accessToken",
            ],
            ("linkedin", "https://api.linkedin.com/v2/", "https://www.linkedin.com/oauth/v2/accessToken", "", SECRET),
        ),
        (
            [
                "--kind",
                "edx",
                "--base-url",
                "https://api.edx.org/",
                "--token-url",
                "https://api.edx.org/oauth2/v1/access_token",
                "--org-id",
                "5c2e7a3b",
            ],
            ("edx", "https://api.edx.org/", "https://api.edx.org/oauth2/v1/access_token", "5c2e7a3b", SECRET),
        ),
        (["--kind", "xapi"], ("xapi", "", "", "", SECRET)),
    ],
)
def test_provider_connection_creates_each_kind_with_what_it_needs(monkeypatch, args, stored):
    monkeypatch.setenv("PROVIDER_CLIENT_SECRET", SECRET)

    out, _ = run_command("provider_connection", "acme", *args, "--client-id", "c1")

    c = ProviderConnection.objects.get()
    assert (c.kind, c.base_url, c.token_url, c.provider_org_id, c.client_secret) == stored
    assert out.strip().splitlines()[0].endswith("Client secret stored.") and SECRET not in out


def test_an_other_connection_needs_nothing_and_keeps_no_secret(monkeypatch):
    monkeypatch.setenv("PROVIDER_CLIENT_SECRET", SECRET)

    out, _ = run_command("provider_connection", "workshops", "--kind", "other")

    assert out.strip() == (
        "Created connection workshops (other, active, every 360 minutes, programs: -). "
        "No client secret: this kind uses none."
    )
    assert ProviderConnection.objects.values_list("kind", "client_secret").get() == ("other", "")


def test_changing_the_kind_asks_for_what_the_new_kind_needs(monkeypatch):
    monkeypatch.delenv("PROVIDER_CLIENT_SECRET", raising=False)
    run_command("provider_connection", "acme", "--kind", "other", stdin=io.StringIO(""))

    with pytest.raises(CommandError) as refused:
        call_command("provider_connection", "acme", "--kind", "xapi", "--client-id", "lrs", stdin=io.StringIO(""))
    run_command(
        "provider_connection", "acme", "--kind", "xapi", "--client-id", "lrs", stdin=io.StringIO("lrs-s3cret\n")
    )

    assert str(refused.value) == (
        "xAPI statements connections need a client secret (PROVIDER_CLIENT_SECRET or standard input)."
    )
    assert ProviderConnection.objects.values_list("kind", "client_id", "client_secret").get() == (
        "xapi",
        "lrs",
        "lrs-s3cret",
    )


# --- import_provider_csv ---------------------------------------------------------------


@pytest.fixture
def contract_roster():
    """The contract roster, through the roster import."""
    call_command("import_roster", str(CONTRACT / "roster.csv"), stdout=io.StringIO())


@pytest.fixture
def contract_connection(monkeypatch) -> ProviderConnection:
    return ConnectionFactory(name="contract", kind="coursera", client_secret=SECRET)


def test_import_provider_csv_on_the_contract_export(contract_roster, contract_connection):
    out, _ = run_command("import_provider_csv", str(CONTRACT / "CourseActivity.csv"), "--connection", "contract")

    run = SyncRun.objects.get()
    assert out.strip() == (
        f"contract run {run.pk}: succeeded. fetched 9, created 7, updated 0, unchanged 0, merged 1, skipped 0, "
        "invalid 0, unmatched 1 (pages 1, retries 0)"
    )
    assert (run.source, run.fetched, run.created, run.merged, run.invalid, run.unmatched) == ("csv", 9, 7, 1, 0, 1)
    rows = {
        e.employee.email: (e.course.provider_course_id, e.is_completed, e.completed_at, e.is_removed, e.progress)
        for e in Enrollment.objects.select_related("employee", "course")
    }
    utc = dt.UTC
    assert rows == {
        "ada@contoso.example": ("LEAD1", True, dt.datetime(2024, 2, 1, 10, tzinfo=utc), False, Decimal("100.00")),
        "grace@contoso.example": ("ML101", True, dt.datetime(2024, 3, 3, 12, tzinfo=utc), False, Decimal("37.00")),
        "linus@contoso.example": ("ST200", True, dt.datetime(2025, 1, 1, 6, tzinfo=utc), False, Decimal("100.00")),
        "ken@contoso.example": ("PY101", True, dt.datetime(2024, 3, 1, tzinfo=utc), False, Decimal("100.00")),
        "mary@contoso.example": ("PY101", False, None, False, Decimal("55.00")),
        "joan@contoso.example": ("LEAD1", True, dt.datetime(2024, 12, 1, tzinfo=utc), False, Decimal("100.00")),
        "barb@contoso.example": ("NG300", False, None, True, Decimal("10.00")),
    }
    assert Enrollment.objects.get(employee__email="grace@contoso.example").learner_key == "grace@contoso.example"
    vendor = UnmatchedRecord.objects.get()
    assert (vendor.email, vendor.external_id, vendor.provider_course_id) == ("vendor@elsewhere.example", "V1", "LEAD1")

    # The same file again changes nothing.
    before = list(Enrollment.objects.order_by("pk").values())
    out, _ = run_command("import_provider_csv", str(CONTRACT / "CourseActivity.csv"), "--connection", "contract")
    assert "created 0, updated 0, unchanged 7, merged 1, skipped 0, invalid 0, unmatched 1" in out
    assert list(Enrollment.objects.order_by("pk").values()) == before


def test_import_provider_csv_lists_invalid_lines(contract_roster, contract_connection, tmp_path):
    path = tmp_path / "export.csv"
    path.write_text(
        "Name,Email,External ID,Course,Course ID,Completed,Completion Time,Course Type\n"
        "Ada,ada@contoso.example,C001,Leading People,LEAD1,Yes,2024-02-01T10:00:00.000Z,Course\n"
        "Ada,ada@contoso.example,C001,Leading People,,No,,Course\n"
        "Ada,ada@contoso.example,C001,Leading People,LEAD2,Yes,,Course\n"
        "Ada,ada@contoso.example,C001,Data Science,DS,Yes,2024-02-01T10:00:00.000Z,Specialization\n",
        encoding="utf-8",
    )

    out, _ = run_command("import_provider_csv", str(path), "--connection", "contract")

    lines = out.strip().splitlines()
    assert lines[0].endswith(
        "created 1, updated 0, unchanged 0, merged 0, skipped 1, invalid 2, unmatched 0 (pages 1, retries 0)"
    )
    assert lines[1] == "line 3: Course ID is empty"
    assert lines[2] == "line 4: Completed is Yes but Completion Time is empty"
    assert len(lines) == 3
    assert list(InvalidRecord.objects.order_by("line").values_list("line", flat=True)) == [3, 4]


def test_import_provider_csv_file_level_error_exits_non_zero(contract_connection, tmp_path):
    path = tmp_path / "not-an-export.csv"
    path.write_text("first,second\n1,2\n", encoding="utf-8")

    with pytest.raises(CommandError) as exc:
        run_command("import_provider_csv", str(path), "--connection", "contract")

    assert str(exc.value).startswith("The file was not imported: missing column(s): Email, Course ID.")
    assert SyncRun.objects.count() == 0  # the file is checked before anything is written, not even a run
    assert Enrollment.objects.count() == 0


def test_import_provider_csv_unknown_connection_or_missing_file(contract_connection, tmp_path):
    with pytest.raises(CommandError, match=re.escape("No provider connection named 'nope' (known: contract).")):
        call_command("import_provider_csv", str(CONTRACT / "CourseActivity.csv"), "--connection", "nope")
    with pytest.raises(CommandError, match=r"Cannot read .*missing\.csv: No such file or directory\."):
        call_command("import_provider_csv", str(tmp_path / "missing.csv"), "--connection", "contract")
    assert SyncRun.objects.count() == 0


# --- sync_provider ---------------------------------------------------------------------


def test_sync_provider_runs_the_pipeline_against_the_sandbox(sandbox_factory):
    EmployeeFactory(email="ada@contoso.example", external_id="C001")
    sandbox = sandbox_factory(
        records=[
            coursera_element(1, "ada@contoso.example"),
            coursera_element(2, "ada@contoso.example", contentType="Specialization"),
            coursera_element(3, "stranger@elsewhere.example"),
        ]
    )
    sandbox_connection(sandbox)

    out, _ = run_command("sync_provider", "sandbox")

    run = SyncRun.objects.get()
    assert out.strip() == (
        f"sandbox run {run.pk}: succeeded. fetched 3, created 1, updated 0, unchanged 0, merged 0, skipped 1, "
        "invalid 0, unmatched 1 (pages 1, retries 0)"
    )
    assert CLIENT_SECRET not in out
    row = Enrollment.objects.select_related("course").get()
    assert (row.course.provider_course_id, row.completed_at) == ("C1", dt.datetime(2024, 2, 1, 10, tzinfo=dt.UTC))

    out, _ = run_command("sync_provider", "--full")
    assert "created 0, updated 0, unchanged 1" in out
    assert SyncRun.objects.filter(full=True).count() == 1


def test_sync_provider_failure_exits_non_zero_with_the_message(sandbox_factory):
    sandbox = sandbox_factory(records=[])
    ConnectionFactory(
        name="sandbox",
        base_url=sandbox.base_url,
        token_url=sandbox.token_url,
        provider_org_id=ORG_ID,
        provider_program_ids=[PROGRAM_ID],
        client_id=CLIENT_ID,
        client_secret="wrong-secret",
    )

    with pytest.raises(CommandError, match=re.escape("1 of 1 sync failed.")):
        run_command("sync_provider", "sandbox")

    run = SyncRun.objects.get()
    assert run.status == "failed"
    assert run.error != "" and "wrong-secret" not in run.error


def test_sync_provider_refuses_unknown_names_and_other_kinds():
    ConnectionFactory(name="statements", kind="xapi", client_secret="x")

    with pytest.raises(CommandError, match=re.escape("No provider connection named 'nope' (known: statements).")):
        call_command("sync_provider", "nope")
    with pytest.raises(CommandError) as exc:
        call_command("sync_provider", "statements")
    assert str(exc.value) == (
        "statements: xAPI statements connections are not synced from an API. "
        "The provider pushes its xAPI statements to LearnHub as they happen."
    )
    out, _ = run_command("sync_provider")
    assert out.strip() == "No active connection can be synced from an API."
    assert SyncRun.objects.count() == 0


def test_sync_provider_on_a_held_connection_says_until_when_and_writes_nothing(settings):
    from programs.sync.lease import connection_claim

    settings.SYNC_LEASE_SECONDS = 90
    connection = ConnectionFactory(name="sandbox", client_secret="x")
    lease = connection_claim(connection=connection)
    assert lease is not None

    err = io.StringIO()
    with pytest.raises(CommandError, match=re.escape("1 of 1 sync failed.")):
        call_command("sync_provider", "sandbox", stdout=io.StringIO(), stderr=err)

    assert err.getvalue().strip() == (
        f"A sync of sandbox is already running (its hold lasts until {lease.until:%-d %b %Y, %H:%M:%S} UTC and is "
        "renewed while it runs); try again when it ends."
    )
    assert SyncRun.objects.count() == 0
    assert lease.until - dt.timedelta(seconds=90) < dt.datetime.now(dt.UTC) <= lease.until


# --- run_sandbox_provider --kind ------------------------------------------------------------


def sandbox_adapter(kind: str, *, base_url: str, token_url: str) -> Any:
    """An adapter reading the sandbox `run_sandbox_provider --kind KIND` serves."""
    common = {"client_id": "demo", "client_secret": "s3cret", "sleep": lambda seconds: None}
    if kind == "udemy":
        return UdemyApiAdapter(base_url=base_url, org_id="acme", **common)
    if kind == "linkedin":
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        return LinkedInApiAdapter(base_url=base_url, token_url=token_url, start=start, **common)
    return EdxApiAdapter(base_url=base_url, token_url=token_url, org_id="acme", zone=dt.UTC, **common)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("kind", "name", "token"),
    [
        ("udemy", "Udemy Business", "none (HTTP Basic with the client id and secret)"),
        ("linkedin", "LinkedIn Learning", "/oauth/v2/accessToken"),
        ("edx", "edX", "/oauth2/v1/access_token"),
    ],
)
def test_run_sandbox_provider_serves_the_roster_in_each_providers_shape(kind, name, token):
    ProgramFactory(name="Program 2026", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    Employee.objects.bulk_create(
        [Employee(email=f"person{n:02d}@acme.example", full_name=f"Person {n}") for n in range(30)]
    )
    env = child_env()
    command = [sys.executable, "manage.py", "run_sandbox_provider", "--kind", kind, "--port", "0"]
    command += ["--client-secret", "s3cret", "--org-id", "acme", "--malformed-every", "5", "--quiet"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = [process.stdout.readline() for _ in range(5)]  # type: ignore[union-attr]
        base_url = banner[1].split("base URL:")[1].strip()
        token_url = banner[2].split("token URL:")[1].strip()
        records = [r for page in sandbox_adapter(kind, base_url=base_url, token_url=token_url).pages() for r in page]
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert banner[0].startswith(f"{name} sandbox: ")
    assert token_url == (token if kind == "udemy" else urljoin(base_url, token))
    assert f"provider_connection sandbox --kind {kind} --base-url {base_url}" in banner[4]
    assert len(records) > 10
    assert {r.email for r in records} <= {f"person{n:02d}@acme.example" for n in range(30)}
    assert sum(bool(r.problem) for r in records) == len(records) // 5  # every 5th record is malformed
