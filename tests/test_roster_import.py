"""Roster import (issue 2): the domain function, the import_roster command and the pages."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from programs.models import Employee, ImportJob, Organization
from programs.roster import (
    ROSTER_COLUMNS,
    RosterFileError,
    RosterImportResult,
    RosterRow,
    RosterRowError,
    roster_import,
    roster_rows_import,
)
from tests.factories import EmployeeFactory, org

pytestmark = pytest.mark.django_db


HEADER = "email,full_name,external_id,organization,title,manager_email,hired_on,departed_on\n"
CONTOSO = (
    HEADER
    + "ada@contoso.example,Ada Lovelace,C001,Contoso,CEO,,2015-01-01,\n"
    + "grace@contoso.example,Grace Hopper,C002,Contoso/Engineering,VP Engineering,ada@contoso.example,2016-03-01,\n"
    + "linus@contoso.example,Linus Example,C003,Contoso/Engineering/Platform,Engineer,grace@contoso.example,,\n"
    + "ken@contoso.example,Ken Example,C004,Contoso/Engineering,Engineer,grace@contoso.example,2020-07-01,2024-04-30\n"
)
WRITES = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def import_text(text: str, **options: bool) -> RosterImportResult:
    return roster_import(file=io.BytesIO(text.encode()), **options)


def summary(result: RosterImportResult) -> tuple[int, int, int, int, int]:
    return result.created, result.updated, result.unchanged, result.departed, result.error_count


def roster_state() -> list[tuple]:
    """Everything an import may change, to prove that nothing did."""
    people = Employee.objects.order_by("email").values_list(
        "email",
        "full_name",
        "external_id",
        "organization__path",
        "title",
        "manager__email",
        "hired_on",
        "departed_on",
        "password",
    )
    return [*people, *Organization.objects.order_by("path").values_list("path")]


def test_import_creates_people_organizations_and_managers():
    result = import_text(CONTOSO)

    assert summary(result) == (4, 0, 0, 0, 0)
    assert (result.rows, result.applied, result.dry_run) == (4, True, False)
    assert list(Organization.objects.values_list("path", "depth")) == [
        ("Contoso", 0),
        ("Contoso/Engineering", 1),
        ("Contoso/Engineering/Platform", 2),
    ]
    ada, grace, ken, linus = Employee.objects.order_by("email")
    assert (grace.full_name, grace.external_id, grace.organization.path, grace.title) == (
        "Grace Hopper",
        "C002",
        "Contoso/Engineering",
        "VP Engineering",
    )
    assert (grace.manager, ada.manager, linus.manager) == (ada, None, grace)
    assert (grace.hired_on, grace.departed_on) == (dt.date(2016, 3, 1), None)
    assert (ken.hired_on, ken.departed_on) == (dt.date(2020, 7, 1), dt.date(2024, 4, 30))
    assert (linus.hired_on, linus.departed_on) == (None, None)
    assert [person.has_claimed_account for person in (ada, grace, ken, linus)] == [False] * 4


def test_reimporting_the_same_file_changes_nothing_and_writes_nothing():
    import_text(CONTOSO, mark_missing_departed=True)
    before = roster_state()

    with CaptureQueriesContext(connection) as queries:
        result = import_text(CONTOSO, mark_missing_departed=True)

    assert summary(result) == (0, 0, 4, 0, 0)
    assert result.applied is True
    assert [q["sql"] for q in queries.captured_queries if WRITES.match(q["sql"])] == []
    assert len(queries.captured_queries) == 2  # the organizations, the employees
    assert roster_state() == before


def test_a_changed_row_updates_that_person_only():
    import_text(CONTOSO)
    changed = CONTOSO.replace(
        "linus@contoso.example,Linus Example,C003,Contoso/Engineering/Platform,Engineer,grace@contoso.example,,",
        "linus@contoso.example,Linus Torvalds,C003,Contoso/Research,Staff Engineer,ada@contoso.example,2019-05-01,",
    )

    result = import_text(changed)

    assert summary(result) == (0, 1, 3, 0, 0)
    linus = Employee.objects.get(email="linus@contoso.example")
    assert (linus.full_name, linus.organization.path, linus.title, linus.manager.email, linus.hired_on) == (
        "Linus Torvalds",
        "Contoso/Research",
        "Staff Engineer",
        "ada@contoso.example",
        dt.date(2019, 5, 1),
    )
    grace = Employee.objects.get(email="grace@contoso.example")
    assert (grace.full_name, grace.title) == ("Grace Hopper", "VP Engineering")


def test_empty_cells_clear_fields_and_missing_optional_columns_keep_them():
    import_text(CONTOSO)

    cleared = import_text(HEADER + "grace@contoso.example,Grace Hopper,,Contoso/Engineering,,,,\n")
    grace = Employee.objects.get(email="grace@contoso.example")
    assert summary(cleared)[:3] == (0, 1, 0)
    assert (grace.external_id, grace.title, grace.manager, grace.hired_on) == ("", "", None, None)

    import_text(CONTOSO)
    kept = import_text("email,full_name,organization\ngrace@contoso.example,Grace B. Hopper,Contoso/Engineering\n")
    grace.refresh_from_db()
    assert summary(kept)[:3] == (0, 1, 0)
    assert (grace.full_name, grace.external_id, grace.title, grace.manager.email, grace.hired_on) == (
        "Grace B. Hopper",
        "C002",
        "VP Engineering",
        "ada@contoso.example",
        dt.date(2016, 3, 1),
    )


def test_emails_compare_ignoring_case_and_are_stored_lower_case():
    EmployeeFactory(email="Dana@Acme.example", full_name="Dana Scully", external_id="", organization=org("Acme"))
    EmployeeFactory(email="fox@acme.example", full_name="Fox Mulder", external_id="", organization=org("Acme"))

    result = import_text(
        "email,full_name,organization,manager_email\n"
        "DANA@ACME.EXAMPLE,Dana Scully,Acme,\n"
        "Fox@Acme.Example,Fox Mulder,Acme,DANA@acme.example\n"
        "Walter@ACME.example,Walter Skinner,Acme,\n"
    )

    assert summary(result) == (1, 2, 0, 0, 0)  # Dana: e-mail case; Fox: manager
    assert list(Employee.objects.order_by("email").values_list("email", "manager__email")) == [
        ("dana@acme.example", None),
        ("fox@acme.example", "dana@acme.example"),
        ("walter@acme.example", None),
    ]


def test_a_manager_may_come_later_in_the_file_or_be_on_the_roster_already():
    EmployeeFactory(email="boss@acme.example", external_id="B1", organization=org("Acme"))

    result = import_text(
        HEADER
        + "new@acme.example,New Person,N1,Acme/Sales,,lead@acme.example,2024-01-01,\n"
        + "lead@acme.example,Team Lead,N2,Acme/Sales,,boss@acme.example,2023-01-01,\n"
    )

    assert summary(result) == (2, 0, 0, 0, 0)
    assert list(Employee.objects.order_by("email").values_list("email", "manager__email")) == [
        ("boss@acme.example", None),
        ("lead@acme.example", "boss@acme.example"),
        ("new@acme.example", "lead@acme.example"),
    ]


def test_bad_rows_are_reported_with_their_physical_line_and_nothing_is_applied():
    EmployeeFactory(email="holder@acme.example", external_id="TAKEN", organization=org("Acme"))
    EmployeeFactory(email="date@acme.example", external_id="X3", organization=org("Acme"))
    before = roster_state()
    text = (
        HEADER  # line 1
        + "good@acme.example,Good Person,G1,Acme/Sales,,later@acme.example,2020-01-01,\n"  # 2
        + ',No Email,X1,Acme,"A title\nover two lines",,,\n'  # 3-4
        + "not-an-email,Bad Email,X2,Acme,,,,\n"  # 5
        + "date@acme.example,Bad Date,X3,Acme,,,2020-13-01,\n"  # 6
        + "early@acme.example,Early Leaver,X4,Acme,,,2021-05-01,2021-04-30\n"  # 7
        + "orphan@acme.example,Orphan,X5,Acme,,nobody@acme.example,,\n"  # 8
        + "GOOD@acme.example,Duplicate,X6,Acme,,,,\n"  # 9
        + "dupid@acme.example,Duplicate Id,G1,Acme,,,,\n"  # 10
        + "taker@acme.example,Taker,TAKEN,Acme,,,,\n"  # 11
        + "self@acme.example,Self Managed,X7,Acme,,SELF@acme.example,,\n"  # 12
        + "noorg@acme.example,No Org,X8, / ,,,,\n"  # 13
        + "\n"  # 14: blank, skipped
        + "later@acme.example,Later Lead,X9,Acme,,,01/02/2020,\n"  # 15
    )

    result = import_text(text, mark_missing_departed=True)

    assert result.errors == [
        RosterRowError(3, "no e-mail"),
        RosterRowError(5, "invalid e-mail 'not-an-email'"),
        RosterRowError(6, "bad date in hired_on: '2020-13-01' (expected YYYY-MM-DD)"),
        RosterRowError(7, "departed before hired (departed_on 2021-04-30 is before hired_on 2021-05-01)"),
        RosterRowError(8, "manager nobody@acme.example is not on the roster"),
        RosterRowError(9, "duplicate e-mail good@acme.example (also on line 2)"),
        RosterRowError(10, "duplicate external id G1 (also on line 2)"),
        RosterRowError(11, "duplicate external id TAKEN: it belongs to another employee (holder@acme.example)"),
        RosterRowError(12, "own manager (manager_email is the person's own e-mail)"),
        RosterRowError(13, "empty organization"),
        RosterRowError(15, "bad date in hired_on: '01/02/2020' (expected YYYY-MM-DD)"),
    ]
    # Line 2 is good: its manager is on line 15, a bad row that is still in the file. Only the
    # holder would depart: date@ is in the file, even if on a bad row.
    assert summary(result) == (1, 0, 0, 1, 11)
    assert (result.rows, result.applied) == (12, False)
    assert roster_state() == before


def test_rows_import_as_the_file_with_its_lines_whatever_their_source():
    """The file is its rows: the same rows given as RosterRows (the API's way in) check,
    count, write and report exactly as the file, with the lines given."""
    EmployeeFactory(email="holder@acme.example", external_id="TAKEN", organization=org("Acme"))
    lines = [
        "ada@contoso.example, Ada Lovelace ,C001,Contoso,CEO,,2015-01-01,",
        "grace@contoso.example,Grace Hopper,C002,Contoso/Engineering,VP,ada@contoso.example,2016-03-01,",
        "taker@contoso.example,Taker,TAKEN,Contoso,,,,",
        "bad-date@contoso.example,Bad Date,C004,Contoso,,,2016-13-01,",
    ]
    rows = [
        RosterRow(line=n, values=dict(zip(ROSTER_COLUMNS, text.split(","), strict=True)))
        for n, text in enumerate(lines, 2)
    ]
    rows.append(RosterRow(line=9, values={}, problems=("not a row", "still not a row")))

    from_rows = roster_rows_import(columns=ROSTER_COLUMNS, rows=rows, mark_missing_departed=True)
    from_file = import_text(HEADER + "\n".join(lines) + "\n", mark_missing_departed=True)

    assert from_rows.errors == [
        RosterRowError(4, "duplicate external id TAKEN: it belongs to another employee (holder@acme.example)"),
        RosterRowError(5, "bad date in hired_on: '2016-13-01' (expected YYYY-MM-DD)"),
        RosterRowError(9, "not a row"),
        RosterRowError(9, "still not a row"),
    ]
    assert from_file.errors == from_rows.errors[:2]
    assert summary(from_rows) == (2, 0, 0, 1, 4)
    assert summary(from_file) == (2, 0, 0, 1, 2)
    assert (from_rows.rows, from_file.rows) == (5, 4)
    assert Employee.objects.count() == 1  # bad rows: nothing written

    good = rows[:2]
    written = roster_rows_import(columns=ROSTER_COLUMNS, rows=good)
    assert (summary(written), written.applied) == ((2, 0, 0, 0, 0), True)
    grace = Employee.objects.get(email="grace@contoso.example")
    assert (grace.organization.path, grace.manager.email) == ("Contoso/Engineering", "ada@contoso.example")
    assert Employee.objects.get(email="ada@contoso.example").full_name == "Ada Lovelace"  # read without spaces
    assert summary(import_text(HEADER + "\n".join(lines[:2]) + "\n")) == (0, 0, 2, 0, 0)


def test_rows_need_the_roster_columns():
    row = RosterRow(line=0, values={"email": "ada@contoso.example", "full_name": "Ada", "organization": "Contoso"})
    with pytest.raises(ValueError, match=r"Roster columns: unknown \[\], missing \['organization'\]"):
        roster_rows_import(columns=["email", "full_name"], rows=[row])
    with pytest.raises(ValueError, match=r"Roster columns: unknown \['salary'\], missing \[\]"):
        roster_rows_import(columns=["email", "full_name", "organization", "salary"], rows=[row])
    assert Employee.objects.count() == 0


def test_a_file_that_cannot_be_a_roster_is_refused_as_a_whole():
    with pytest.raises(RosterFileError, match=r"The header \(line 1\) has no full_name / organization column"):
        import_text("Email,Name,Org\nada@contoso.example,Ada,Contoso\n")
    with pytest.raises(RosterFileError, match="The file is empty"):
        import_text("\n\n")
    with pytest.raises(RosterFileError, match=r"neither UTF-8 nor Windows-1252 text \(byte 0x81 on line 2"):
        roster_import(file=io.BytesIO(b"email,full_name,organization\nzoe@acme.example,Zo\x81,Acme\n"))
    with pytest.raises(
        RosterFileError, match=r"The column 'EMAIL' appears twice in the header \(line 1, columns 1 and 4\)"
    ):
        import_text("email,full_name,organization,EMAIL\n")
    assert Employee.objects.count() == 0


def test_a_bad_byte_late_in_the_file_writes_nothing_and_names_its_line():
    rows = "".join(f"p{n}@acme.example,Person {n},Acme\n" for n in range(3000))
    data = ("email,full_name,organization\nzoe@acme.example,Zoë,Acme\n" + rows).encode()
    data += b"late@acme.example,Jos\xe9,Acme\n"

    with pytest.raises(RosterFileError) as refused:
        roster_import(file=io.BytesIO(data))

    assert str(refused.value).startswith(
        "The file mixes UTF-8 with another encoding: byte 105,858, on line 3003, is not UTF-8 although the lines "
        "before it are."
    )
    assert refused.value.line == 3003
    assert Employee.objects.count() == Organization.objects.count() == 0


def test_a_nul_byte_is_a_bad_line_not_a_server_error():
    text = HEADER + "ada@contoso.example,Ada\x00 Lovelace,C001,Contoso,CEO,,2015-01-01,\n" + CONTOSO.split("\n", 2)[2]

    result = import_text(text)

    assert result.errors == [
        RosterRowError(2, "contains a NUL byte (0x00), which is not text: the file is damaged or not a CSV export"),
        RosterRowError(3, "manager ada@contoso.example is not on the roster"),
    ]
    assert (result.rows, result.applied) == (4, False)
    assert Employee.objects.count() == 0


def test_an_unknown_column_refuses_the_file_naming_it_and_the_known_ones():
    import_text(CONTOSO)
    before = roster_state()
    misspelt = CONTOSO.replace("departed_on", "departed on").replace("title", "job title")

    with pytest.raises(RosterFileError) as refused:
        import_text(misspelt.replace(",2024-04-30", ",2023-01-31"), mark_missing_departed=True)

    assert str(refused.value) == (
        "The header (line 1) has columns LearnHub does not know: 'job title', 'departed on' (did you mean "
        "departed_on?). The columns are: email, full_name, external_id, organization, title, manager_email, "
        "hired_on, departed_on. Rename or remove them: their data would be ignored."
    )
    assert roster_state() == before


def test_an_unterminated_quote_is_reported_with_its_line_and_nothing_is_written():
    text = HEADER + 'ada@contoso.example,"Ada Lovelace,C001,Contoso,CEO,,2015-01-01,\n' + CONTOSO.split("\n", 2)[2]

    with pytest.raises(RosterFileError) as refused:
        import_text(text)

    assert str(refused.value).startswith('Line 2: a quote (") opens a cell that is never closed')
    assert Employee.objects.count() == 0


def test_dry_run_counts_but_writes_nothing(personas):
    before = roster_state()

    result = import_text(
        CONTOSO + "bob@acme.example,Bob Builder,,Acme/Engineering,,,,\n", dry_run=True, mark_missing_departed=True
    )

    # Bob is unchanged... except his external id, which the file empties.
    assert summary(result) == (4, 1, 0, 4, 0)
    assert (result.dry_run, result.applied) == (True, False)
    assert roster_state() == before


def test_utf8_bom_and_loose_header_names():
    text = "\ufeff Email ,FULL_NAME,Organization , Manager_Email\r\nZoe@acme.example,Zoë Ørsted,Acme/R&D,\r\n"

    result = roster_import(file=io.BytesIO(text.encode("utf-8")))

    assert summary(result) == (1, 0, 0, 0, 0)
    zoe = Employee.objects.get()
    assert (zoe.email, zoe.full_name, zoe.organization.path) == ("zoe@acme.example", "Zoë Ørsted", "Acme/R&D")


def test_mark_missing_departed_departs_only_active_people_missing_from_the_file():
    today = timezone.localdate()
    import_text(CONTOSO)
    EmployeeFactory(email="gone@acme.example", departed_on=dt.date(2024, 1, 31))
    EmployeeFactory(email="starter@acme.example", hired_on=today + dt.timedelta(days=30))
    without_linus = "".join(line for line in CONTOSO.splitlines(keepends=True) if not line.startswith("linus@"))

    assert import_text(without_linus).departed == 0
    assert Employee.objects.filter(departed_on=today).count() == 0

    result = import_text(without_linus, mark_missing_departed=True)

    assert summary(result) == (0, 0, 3, 1, 0)
    assert dict(Employee.objects.values_list("email", "departed_on")) == {
        "ada@contoso.example": None,
        "grace@contoso.example": None,
        "ken@contoso.example": dt.date(2024, 4, 30),
        "linus@contoso.example": today,
        "gone@acme.example": dt.date(2024, 1, 31),
        "starter@acme.example": None,  # hired after today: cannot depart before starting
    }


def test_the_sync_hook_is_queued_after_commit_only_when_people_changed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        import_text(CONTOSO)
    assert len(callbacks) == 1

    with django_capture_on_commit_callbacks() as callbacks:
        import_text(CONTOSO)
        import_text(CONTOSO.replace("Ada Lovelace", "Ada King"), dry_run=True)
        import_text(CONTOSO.replace("Ada Lovelace", "Ada King") + ",,,,,,,\nbad,,,,,,,\n")
    assert callbacks == []


def test_a_large_roster_imports_in_a_fixed_number_of_queries():
    rows = [
        f"p{n}@acme.example,Person {n},E{n},Acme/Org{n % 7}/Team{n % 3},Engineer,"
        f"{'p0@acme.example' if n else ''},2020-01-01,\n"
        for n in range(2500)
    ]
    text = HEADER + "".join(rows)

    with CaptureQueriesContext(connection) as creating:
        created = import_text(text)
    with CaptureQueriesContext(connection) as updating:
        updated = import_text(text.replace(",Engineer,", ",Senior Engineer,"))

    assert summary(created) == (2500, 0, 0, 0, 0)
    assert summary(updated) == (0, 2500, 0, 0, 0)
    # organizations: 1 load + get_or_create (4 queries) for each of the 1 + 7 + 21 new ones;
    # employees: 1 load, 3 inserts of 1000, 5 manager updates of 500; savepoint and release
    assert len(creating.captured_queries) == 1 + 4 * 29 + 1 + 3 + 5 + 2
    # 2 loads, the same change for everyone in 5 updates of 500, savepoint and release
    assert len(updating.captured_queries) == 2 + 5 + 2
    assert Employee.objects.filter(title="Senior Engineer", manager__email="p0@acme.example").count() == 2499


# The command


def test_command_prints_the_summary(tmp_path: Path):
    path = tmp_path / "roster.csv"
    path.write_text(CONTOSO, encoding="utf-8")
    out = io.StringIO()

    call_command("import_roster", str(path), stdout=out)
    call_command("import_roster", str(path), "--dry-run", "--mark-missing-departed", stdout=out)

    assert out.getvalue().splitlines() == [
        "rows: 4, created: 4, updated: 0, unchanged: 0, departed: 0, errors: 0",
        "Roster imported.",
        "rows: 4, created: 0, updated: 0, unchanged: 4, departed: 0, errors: 0",
        "Dry run: nothing was written.",
    ]
    assert Employee.objects.count() == 4


def test_command_lists_the_errors_and_fails(tmp_path: Path):
    path = tmp_path / "roster.csv"
    path.write_text(CONTOSO + "x@contoso.example,X,,Contoso,,,2020-02-30,\n", encoding="utf-8")
    out = io.StringIO()

    with pytest.raises(CommandError, match="1 error in the file; nothing was imported"):
        call_command("import_roster", str(path), stdout=out)

    assert out.getvalue().splitlines() == [
        "rows: 5, created: 4, updated: 0, unchanged: 0, departed: 0, errors: 1",
        "line 6: bad date in hired_on: '2020-02-30' (expected YYYY-MM-DD)",
    ]
    assert Employee.objects.count() == 0


def test_command_reports_a_missing_file_or_column(tmp_path: Path):
    with pytest.raises(CommandError, match=r"Cannot read .*missing\.csv: No such file or directory"):
        call_command("import_roster", str(tmp_path / "missing.csv"))
    path = tmp_path / "roster.csv"
    path.write_text("email,full_name\n", encoding="utf-8")
    with pytest.raises(CommandError, match="has no organization column"):
        call_command("import_roster", str(path))


# The pages


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("roster.csv", text.encode(), content_type="text/csv")


def stored_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()) if root.exists() else []


def test_admin_imports_a_roster_through_a_job_and_sees_the_result(
    personas, settings, django_capture_on_commit_callbacks
):
    client = personas.client_for(personas.admin)
    assert client.get(reverse("programs:roster_import")).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("programs:roster_import"), {"file": upload(CONTOSO)})

    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("programs:import_job", args=[job.pk])
    assert (job.kind, job.status, job.rows_total, job.rows_done, job.error) == ("roster", "succeeded", 4, 4, "")
    assert (job.file_name, job.file_size, job.encoding, job.created_by) == (
        "roster.csv",
        len(CONTOSO),
        "utf-8",
        personas.admin,
    )
    assert (job.file.name, stored_files(settings)) == ("", [])  # the job has ended: the upload is deleted
    html = client.get(response["Location"]).content.decode()
    assert '<tr><th scope="row">Created</th><td class="num">4</td></tr>' in html
    assert '<tr><th scope="row">Errors</th><td class="num">0</td></tr>' in html
    assert "http-equiv" not in html and "<progress" not in html  # ended: no reload, no bar
    assert Employee.objects.filter(email__endswith="@contoso.example").count() == 4
    listed = client.get(reverse("programs:roster_import")).content.decode()
    assert f'<a href="/imports/{job.pk}/">roster.csv</a>' in listed


def test_a_waiting_job_shows_a_progress_bar_and_reloads_itself(personas, settings):
    client = personas.client_for(personas.admin)

    response = client.post(reverse("programs:roster_import"), {"file": upload(CONTOSO)})  # never committed: queued

    job = ImportJob.objects.get()
    assert (job.status, job.rows_total, job.rows_done) == ("queued", None, 0)
    assert stored_files(settings) == [job.file.name]
    assert job.file.read() == CONTOSO.encode()
    queued = client.get(response["Location"]).content.decode()
    assert '<meta http-equiv="refresh" content="3">' in queued
    assert '<progress id="import-progress">Not started</progress>' in queued
    assert "Waiting for a worker to start the import." in queued
    ImportJob.objects.filter(pk=job.pk).update(status="running", rows_total=4000, rows_done=1000)
    running = client.get(response["Location"]).content.decode()
    assert '<progress id="import-progress" max="4000" value="1000">25%</progress>' in running
    assert '<span id="import-rows">1000 of 4000 rows (25%)</span>' in running
    assert "Checking the rows: 1,000 of 4,000." in running
    assert f'data-progress-url="/imports/{job.pk}/progress.json" data-poll-seconds="3"' in running
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in running
    assert client.get(reverse("programs:import_job_progress", args=[job.pk])).json() == {
        "status": "running",
        "is_active": True,
        "rows_total": 4000,
        "rows_done": 1000,
        "percent": 25,
        "percent_text": "25%",
        "phase": "Checking the rows: 1,000 of 4,000.",
        "rows_text": "1000 of 4000 rows (25%)",
    }
    refused = personas.client_for(personas.employee).get(reverse("programs:import_job_progress", args=[job.pk]))
    assert (refused.status_code, ImportJob.objects.values_list("status", "rows_done").get()) == (403, ("running", 1000))
    assert Employee.objects.filter(email__endswith="@contoso.example").count() == 0


def test_the_job_page_shows_a_dry_run_and_every_bad_line_and_nothing_is_written(
    personas, django_capture_on_commit_callbacks
):
    client = personas.client_for(personas.admin)
    before = roster_state()

    with django_capture_on_commit_callbacks(execute=True):
        checked = client.post(
            reverse("programs:roster_import"), {"file": upload(CONTOSO), "dry_run": "on", "mark_missing_departed": "on"}
        )
        failed = client.post(reverse("programs:roster_import"), {"file": upload(CONTOSO + "<b>@x,,,Acme,,,,\n")})
        refused = client.post(reverse("programs:roster_import"), {"file": upload("name\nAda\n")})

    dry_run, bad = ImportJob.objects.order_by("pk")
    assert (dry_run.status, dry_run.options) == (
        "succeeded",
        {"dry_run": True, "mark_missing_departed": True, "apply_valid_rows": False, "language": "en"},
    )
    assert (dry_run.result["created"], dry_run.result["departed"], dry_run.result["applied"]) == (4, 5, False)
    checked_html = client.get(checked["Location"]).content.decode()
    assert "Dry run: nothing was written" in checked_html
    assert "<strong>Nothing was written: nobody on the roster changed.</strong>" in checked_html
    assert 'Upload the file again without "Dry run" to import it.' in checked_html
    assert (bad.status, bad.error) == (
        "failed",
        "Nothing was imported: 1 error in the file, listed below. Fix them and upload the file again; nobody was "
        "changed.",
    )
    html = client.get(failed["Location"]).content.decode()
    assert '<tr><td class="num">6</td><td>invalid e-mail &#x27;&lt;b&gt;@x&#x27;</td></tr>' in html
    assert refused.status_code == 400
    assert refused.context["form"].errors == {
        "file": [
            "The header (line 1) has no email / full_name / organization column. The columns are: email, full_name, "
            "external_id, organization, title, manager_email, hired_on, departed_on (the first three are required). "
            "Unknown column: 'name'."
        ]
    }
    assert ImportJob.objects.count() == 2  # the refused file made no job
    assert roster_state() == before


def test_a_misspelt_column_is_refused_at_upload_with_the_known_columns(personas, settings):
    response = personas.client_for(personas.admin).post(
        reverse("programs:roster_import"), {"file": upload(CONTOSO.replace("departed_on", "departed on"))}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "The header (line 1) has a column LearnHub does not know: 'departed on' (did you mean departed_on?). The "
        "columns are: email, full_name, external_id, organization, title, manager_email, hired_on, departed_on. "
        "Rename or remove it: its data would be ignored."
    ]
    assert (ImportJob.objects.count(), stored_files(settings)) == (0, [])


@pytest.mark.parametrize("who", ["employee", "champion", "sponsor", None])
def test_roster_pages_are_refused_to_everyone_but_l_and_d_admins(personas, who):
    client = personas.client_for(getattr(personas, who) if who else None)
    before = roster_state()

    posted = client.post(reverse("programs:roster_import"), {"file": upload(CONTOSO), "mark_missing_departed": "on"})
    listed = client.get(reverse("programs:roster"))

    if who is None:
        assert posted.status_code == listed.status_code == 302
        assert posted["Location"].startswith(reverse("account_login"))
    else:
        assert posted.status_code == listed.status_code == 403
    assert roster_state() == before
    assert ImportJob.objects.count() == 0


def test_roster_list_searches_filters_and_pages(personas):
    client = personas.client_for(personas.admin)
    personas.employee.manager = personas.sponsor
    personas.employee.save(update_fields=["manager"])
    for n in range(55):
        EmployeeFactory(email=f"team{n:02d}@acme.example", organization=org("Acme/Engineering/Platform"))

    with CaptureQueriesContext(connection) as fifty_rows:
        everyone = client.get(reverse("programs:roster"))
    engineering = client.get(reverse("programs:roster"), {"organization": "Acme/Engineering", "page": "2"})
    with CaptureQueriesContext(connection) as one_row:
        bob = client.get(reverse("programs:roster"), {"q": "BUILDER"})

    assert everyone.context["page"].paginator.count == 60
    assert everyone.context["page"].number == 1
    assert len(everyone.context["page"].object_list) == 50
    assert 'href="?organization=Acme%2FEngineering&amp;page=1"' in engineering.content.decode()
    assert engineering.context["page"].paginator.count == 58  # sponsor, champion, Bob and the 55 of Platform
    assert [p.email for p in engineering.context["page"].object_list] == [
        f"team{n:02d}@acme.example" for n in range(47, 55)
    ]
    assert [p.email for p in bob.context["page"].object_list] == ["bob@acme.example"]
    assert len(fifty_rows.captured_queries) == len(one_row.captured_queries)  # no query per person
    html = bob.content.decode()
    assert "<td>Sam Sponsor</td>" in html
    assert '<span class="badge good">Claimed</span>' in html


# --- Encodings, applying the valid rows, the bad lines as CSV (issue 14) ------------------------

BAD_ROW = "zoe@contoso.example,Zoë Ëxample,C005,Contoso,Engineer,,2021-02-30,\n"  # line 6: no 30 February
REPORT_OF_BAD = "ana@contoso.example,Ana Report,C006,Contoso,Engineer,zoe@contoso.example,,\n"  # line 7


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ((CONTOSO + "zoe@contoso.example,Zoë Ëxample,,Contoso,,,,\n").encode("cp1252"), "cp1252"),
        ((CONTOSO + "zoe@contoso.example,Zoë Ëxample,,Contoso,,,,\n").encode("utf-16"), "utf-16-le"),
        (b"\xfe\xff" + (CONTOSO + "zoe@contoso.example,Zoë Ëxample,,Contoso,,,,\n").encode("utf-16-be"), "utf-16-be"),
        (b"\xef\xbb\xbf" + (CONTOSO + "zoe@contoso.example,Zoë Ëxample,,Contoso,,,,\n").encode(), "utf-8-sig"),
    ],
)
def test_a_roster_is_read_in_windows_1252_utf_16_and_utf_8_and_the_job_says_which(
    personas, django_capture_on_commit_callbacks, data, encoding
):
    client = personas.client_for(personas.admin)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("programs:roster_import"), {"file": SimpleUploadedFile("roster.csv", data, "text/csv")}
        )

    job = ImportJob.objects.get()
    assert (job.status, job.encoding, job.result["created"]) == ("succeeded", encoding, 5)
    assert Employee.objects.get(email="zoe@contoso.example").full_name == "Zoë Ëxample"
    labels = {"cp1252": "Windows-1252", "utf-16-le": "UTF-16 little endian", "utf-16-be": "UTF-16 big endian"}
    label = labels.get(encoding, "UTF-8 with byte-order mark")
    assert (
        f'<tr><th scope="row">Encoding</th><td>{label}</td></tr>' in client.get(response["Location"]).content.decode()
    )


def test_all_or_nothing_stays_the_default_and_applying_the_valid_rows_writes_them():
    text = CONTOSO + BAD_ROW + REPORT_OF_BAD
    EmployeeFactory(email="stays@contoso.example", organization=org("Contoso"))

    refused = import_text(text, mark_missing_departed=True)
    assert (summary(refused), refused.applied) == ((5, 0, 0, 1, 1), False)
    assert Employee.objects.filter(email__endswith="@contoso.example").count() == 1

    applied = import_text(text, mark_missing_departed=True, apply_valid_rows=True)

    assert (summary(applied), applied.applied) == ((4, 0, 0, 0, 2), True)
    assert applied.errors == [
        RosterRowError(6, "bad date in hired_on: '2021-02-30' (expected YYYY-MM-DD)"),
        RosterRowError(7, "manager zoe@contoso.example is on a bad line (line 6)"),
    ]
    assert sorted(Employee.objects.filter(email__endswith="@contoso.example").values_list("email", flat=True)) == [
        "ada@contoso.example",
        "grace@contoso.example",
        "ken@contoso.example",
        "linus@contoso.example",
        "stays@contoso.example",
    ]
    assert Employee.objects.get(email="stays@contoso.example").departed_on is None  # nobody departs on a partial file


def test_an_admin_applies_the_valid_rows_and_downloads_the_bad_lines(personas, django_capture_on_commit_callbacks):
    client = personas.client_for(personas.admin)
    bad_email = "=HYPERLINK(x)@contoso.example,Eve,,Contoso,,,,\n"  # line 6

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("programs:roster_import"), {"file": upload(CONTOSO + bad_email), "bad_rows": "apply_valid"}
        )

    job = ImportJob.objects.get()
    assert (job.status, job.options["apply_valid_rows"], job.result["created"], job.result["applied"]) == (
        "succeeded",
        True,
        4,
        True,
    )
    html = client.get(response["Location"]).content.decode()
    assert "Valid rows imported, bad rows left out" in html
    assert "The valid rows are written; the 1 bad line below was left out." in html
    download = client.get(reverse("programs:import_job_errors", args=[job.pk]))
    assert download["Content-Disposition"] == f'attachment; filename="import-{job.pk}-bad-lines.csv"'
    assert download.content.decode() == "line,reason\r\n6,invalid e-mail '=HYPERLINK(x)@contoso.example'\r\n"
    assert Employee.objects.filter(email__endswith="@contoso.example").count() == 4


def test_the_bad_lines_csv_is_for_ld_admins_only(personas, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        personas.client_for(personas.admin).post(
            reverse("programs:roster_import"), {"file": upload(CONTOSO + "x,Eve,,Contoso,,,,\n")}
        )
    job = ImportJob.objects.get()
    before = (roster_state(), list(ImportJob.objects.values()))

    for who in (personas.champion, personas.employee, None):
        response = personas.client_for(who).get(reverse("programs:import_job_errors", args=[job.pk]))
        assert response.status_code == (302 if who is None else 403)
        assert b"Eve" not in response.content
    assert (roster_state(), list(ImportJob.objects.values())) == before


def test_the_dry_run_box_is_never_kept_ticked(personas):
    client = personas.client_for(personas.admin)

    html = client.get(reverse("programs:roster_import")).content.decode()

    assert '<input type="checkbox" name="dry_run" autocomplete="off" id="id_dry_run">' in html
    assert '<input type="radio" name="bad_rows" value="refuse" id="id_bad_rows_0" checked>' in html
