"""The REST API (/api/v1/): every endpoint with every persona (allowed and refused; a
refused write changes nothing), the progress endpoint equal to `manage.py progress
--format json`, snapshots, filters, pagination, the bulk roster upsert and syncs."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from champions.models import StudyGroup
from learnhub.api.services import api_token_create
from programs.models import (
    Employee,
    LearningProgram,
    Organization,
    ProgramChange,
    ProviderConnection,
    SyncRun,
    SyncStatus,
)
from reports.snapshots import snapshots_write
from tests.factories import (
    CollectionFactory,
    CollectionItemFactory,
    ConnectionFactory,
    CourseFactory,
    EmployeeFactory,
    EnrollmentFactory,
    ProgramFactory,
    StudyGroupFactory,
    org,
)

pytestmark = pytest.mark.django_db

NON_ADMINS = ("sponsor", "champion", "employee", "outsider")
EVERYONE = ("admin", *NON_ADMINS)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, 12, tzinfo=dt.UTC)


def client(personas, who: str | None) -> Client:
    return personas.client_for(getattr(personas, who) if who else None)


def post(c: Client, url: str, body: dict, method: str = "post"):
    return getattr(c, method)(url, json.dumps(body), content_type="application/json")


def program_state(program: LearningProgram) -> tuple:
    program.refresh_from_db()
    return (program.name, program.starts_on, program.ends_on, program.target_rate, program.status)


@pytest.fixture
def world(personas):
    """Completions in Engineering, collections and study groups for every kind of
    visibility, a connection with two sync runs."""
    company = org("Acme")
    course, other = CourseFactory(provider_course_id="python", title="Python"), CourseFactory(title="SQL")
    EnrollmentFactory(employee=personas.employee, course=course, is_completed=True, completed_at=utc(2026, 3, 2))
    EnrollmentFactory(employee=personas.sponsor, course=other, is_completed=True, completed_at=utc(2026, 3, 5))
    eng = CollectionFactory(program=personas.program, organization=personas.engineering, name="Eng path")
    CollectionItemFactory(collection=eng, course=other, position=2)
    CollectionItemFactory(collection=eng, course=course, position=1)
    CollectionFactory(program=personas.program, organization=None, name="Everyone")
    CollectionFactory(program=personas.program, organization=personas.sales, name="Sales path")
    StudyGroupFactory(program=personas.program, organization=personas.engineering, name="Eng group", is_open=False)
    StudyGroupFactory(program=personas.program, organization=personas.sales, name="Sales group", is_open=False)
    StudyGroupFactory(program=personas.program, organization=personas.sales, name="Open group", is_open=True)
    connection = ConnectionFactory(name="coursera")
    SyncRun.objects.create(connection=connection, status=SyncStatus.SUCCEEDED, fetched=10, started_at=utc(2026, 3, 1))
    SyncRun.objects.create(connection=connection, status=SyncStatus.FAILED, error="boom", started_at=utc(2026, 3, 2))
    return {"company": company, "connection": connection, "course": course, "eng_collection": eng}


# --- Authentication -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/programs/",
        "/api/v1/organizations/",
        "/api/v1/employees/",
        "/api/v1/collections/",
        "/api/v1/study-groups/",
        "/api/v1/connections/",
        "/api/v1/sync-runs/",
    ],
)
def test_anonymous_is_refused_everywhere(personas, url):
    response = Client().get(url)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided.", "errors": []}


def test_session_writes_need_the_csrf_token(personas):
    c = Client(enforce_csrf_checks=True)
    c.force_login(personas.admin)
    body = {"name": "Csrf 2027", "starts_on": "2027-01-01", "ends_on": "2027-12-31", "target_rate": 0.9}
    response = post(c, "/api/v1/programs/", body)
    assert response.status_code == 403
    assert response.json()["detail"].startswith("CSRF Failed")
    assert not LearningProgram.objects.filter(name="Csrf 2027").exists()
    c.get("/api/tokens/")  # sets the csrftoken cookie
    token = c.cookies["csrftoken"].value
    response = c.post("/api/v1/programs/", json.dumps(body), content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201


# --- Programs ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", EVERYONE)
def test_programs_list_and_detail_for_everyone_signed_in(personas, who):
    later = ProgramFactory(name="Learning Program 2027", starts_on=dt.date(2027, 1, 1), ends_on=dt.date(2027, 12, 31))
    c = client(personas, who)
    response = c.get("/api/v1/programs/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [p["name"] for p in body["results"]] == ["Learning Program 2027", "Learning Program 2026"]
    detail = c.get(f"/api/v1/programs/{personas.program.pk}/").json()
    assert detail == {
        "id": personas.program.pk,
        "name": "Learning Program 2026",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "target_rate": 0.9,
        "required_completions": 1,
        "status": "active",
        "created_at": detail["created_at"],
    }
    ordered = c.get("/api/v1/programs/?ordering=name").json()["results"]
    assert [p["id"] for p in ordered] == [personas.program.pk, later.pk]
    assert c.get("/api/v1/programs/999999/").status_code == 404


@pytest.mark.parametrize("who", NON_ADMINS)
def test_program_writes_are_refused_to_non_admins(personas, who):
    before = program_state(personas.program)
    c = client(personas, who)
    body = {"name": "Sneaky 2027", "starts_on": "2027-01-01", "ends_on": "2027-12-31", "target_rate": 0.5}
    created = post(c, "/api/v1/programs/", body)
    assert created.status_code == 403
    assert created.json() == {"detail": "Only L&D admins change this.", "errors": []}
    changed = post(c, f"/api/v1/programs/{personas.program.pk}/", {"target_rate": 0.5}, method="patch")
    assert changed.status_code == 403
    assert LearningProgram.objects.count() == 1
    assert program_state(personas.program) == before
    assert ProgramChange.objects.count() == 0


def test_admin_creates_a_program_through_the_rules(personas):
    c = client(personas, "admin")
    body = {"name": " Program 2027 ", "starts_on": "2027-01-01", "ends_on": "2027-12-31", "target_rate": 0.875}
    response = post(c, "/api/v1/programs/", body)
    assert response.status_code == 201
    program = LearningProgram.objects.get(name="Program 2027")
    assert (program.target_rate, program.status, program.required_completions) == (Decimal("0.875"), "active", 1)
    assert response.json()["target_rate"] == 0.875

    duplicate = post(c, "/api/v1/programs/", {**body, "name": "program 2027", "ends_on": "2026-12-31"})
    assert duplicate.status_code == 400
    assert duplicate.json() == {
        "detail": "The request has errors; nothing was changed.",
        "errors": [
            {"field": "name", "message": "A program named 'program 2027' already exists."},
            {
                "field": "ends_on",
                "message": "The program must end after it starts (2026-12-31 is not after 2027-01-01).",
            },
        ],
    }
    missing = post(c, "/api/v1/programs/", {"name": "X"})
    assert missing.status_code == 400
    assert {e["field"] for e in missing.json()["errors"]} == {"starts_on", "ends_on", "target_rate"}
    assert LearningProgram.objects.count() == 2


def test_admin_updates_a_program_audited(personas):
    program = personas.program
    c = client(personas, "admin")
    response = post(c, f"/api/v1/programs/{program.pk}/", {"target_rate": 0.95, "status": "closed"}, method="patch")
    assert response.status_code == 200
    assert response.json()["target_rate"] == 0.95
    assert response.json()["status"] == "closed"
    program.refresh_from_db()
    assert (program.target_rate, program.status, program.name) == (Decimal("0.950"), "closed", "Learning Program 2026")
    changes = {(c.field, c.old_value, c.new_value, c.changed_by_id) for c in program.changes.all()}
    assert changes == {
        ("target_rate", "90%", "95%", personas.admin.pk),
        ("status", "active", "closed", personas.admin.pk),
    }


def test_program_update_bad_input_changes_nothing(personas):
    program = personas.program
    before = program_state(program)
    c = client(personas, "admin")
    response = post(c, f"/api/v1/programs/{program.pk}/", {"ends_on": "2025-06-30", "target_rate": 0.8}, method="patch")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "ends_on", "message": "The program must end after it starts (2025-06-30 is not after 2026-01-01)."}
    ]
    back = post(c, f"/api/v1/programs/{program.pk}/", {"status": "draft", "target_rate": 0.8}, method="patch")
    assert back.status_code == 400
    assert back.json()["errors"] == [
        {"field": "status", "message": "An active program cannot become draft: draft -> active -> closed only."}
    ]
    assert program_state(program) == before
    assert ProgramChange.objects.count() == 0


# --- Progress and snapshots ----------------------------------------------------------------


def command_json(program: LearningProgram, as_of: str) -> dict:
    out = StringIO()
    call_command("progress", "--program", program.name, "--as-of", as_of, "--format", "json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("who", EVERYONE)
def test_progress_equals_the_progress_command(personas, world, who):
    url = f"/api/v1/programs/{personas.program.pk}/progress/"
    c = client(personas, who)
    for as_of in ("2026-03-03", "2026-06-30", "2027-02-01"):
        response = c.get(url, {"as_of": as_of})
        assert response.status_code == 200
        assert response.json() == command_json(personas.program, as_of)
    body = c.get(url, {"as_of": "2026-03-03"}).json()
    assert body["company"]["met"] == 1 and body["company"]["eligible"] == 5
    engineering = next(o for o in body["organizations"] if o["path"] == "Acme/Engineering")
    assert (engineering["eligible"], engineering["met"], engineering["completions"]) == (3, 1, 1)


def test_progress_bad_date(personas):
    response = client(personas, "employee").get(f"/api/v1/programs/{personas.program.pk}/progress/?as_of=31/12/2026")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "The request has errors; nothing was changed.",
        "errors": [{"field": "as_of", "message": "“31/12/2026” is not a date: use as_of=YYYY-MM-DD."}],
    }
    assert Client().get(f"/api/v1/programs/{personas.program.pk}/progress/").status_code == 401


@pytest.mark.parametrize("who", EVERYONE)
def test_snapshots_time_series(personas, world, who):
    program = personas.program
    for day in (dt.date(2026, 3, 1), dt.date(2026, 3, 3), dt.date(2026, 3, 6)):
        snapshots_write(program=program, day=day)
    c = client(personas, who)
    url = f"/api/v1/programs/{program.pk}/snapshots/"
    company = c.get(url).json()
    assert company["organization"] is None and company["organization_path"] is None
    assert [(p["day"], p["met"], p["eligible"]) for p in company["points"]] == [
        ("2026-03-01", 0, 5),
        ("2026-03-03", 1, 5),
        ("2026-03-06", 2, 5),
    ]
    eng = c.get(url, {"organization": personas.engineering.pk, "from": "2026-03-02", "to": "2026-03-06"}).json()
    assert eng["organization_path"] == "Acme/Engineering"
    assert eng["points"] == [
        {"day": "2026-03-03", "eligible": 3, "met": 1, "completions": 1, "curated_completions": 1, "rate": 1 / 3},
        {"day": "2026-03-06", "eligible": 3, "met": 2, "completions": 2, "curated_completions": 2, "rate": 2 / 3},
    ]
    missing = c.get(url, {"organization": "999999", "from": "2026-03-01"})
    assert missing.status_code == 404
    assert missing.json() == {
        "detail": "There is no organization with id 999999.",
        "errors": [{"field": "organization", "message": "There is no organization with id 999999."}],
    }
    backwards = c.get(url, {"from": "2026-03-06", "to": "2026-03-01"})  # no day is in that range
    assert (backwards.status_code, backwards.json()["points"]) == (200, [])


# --- Organizations ---------------------------------------------------------------------------


@pytest.mark.parametrize("who", EVERYONE)
def test_organizations_tree(personas, who):
    org("Acme/Engineering/Platform")
    c = client(personas, who)
    body = c.get("/api/v1/organizations/").json()
    assert [(o["path"], o["depth"]) for o in body["results"]] == [
        ("Acme", 0),
        ("Acme/Engineering", 1),
        ("Acme/Engineering/Platform", 2),
        ("Acme/Sales", 1),
    ]
    within = c.get("/api/v1/organizations/", {"within": personas.engineering.pk}).json()
    assert [o["path"] for o in within["results"]] == ["Acme/Engineering", "Acme/Engineering/Platform"]
    detail = c.get(f"/api/v1/organizations/{personas.engineering.pk}/").json()
    assert detail == {
        "id": personas.engineering.pk,
        "name": "Engineering",
        "path": "Acme/Engineering",
        "depth": 1,
        "parent": Organization.objects.get(path="Acme").pk,
    }
    assert c.get("/api/v1/organizations/?within=abc").json()["errors"] == [
        {"field": "within", "message": "“abc” is not a whole number from 1."}
    ]


# --- Employees -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", NON_ADMINS)
def test_employees_are_for_ld_admins_only(personas, who):
    c = client(personas, who)
    for url in ("/api/v1/employees/", f"/api/v1/employees/{personas.employee.pk}/"):
        response = c.get(url)
        assert response.status_code == 403
        assert response.json() == {"detail": "This is for L&D admins only.", "errors": []}
    before = list(Employee.objects.order_by("pk").values_list("email", "full_name", "organization_id"))
    rows = [{"email": "bob@acme.example", "full_name": "Hacked", "organization": "Acme/Sales"}]
    assert post(c, "/api/v1/employees/bulk/", {"rows": rows}).status_code == 403
    assert list(Employee.objects.order_by("pk").values_list("email", "full_name", "organization_id")) == before


def test_employees_list_filters_and_detail(personas):
    EmployeeFactory(email="gone@acme.example", organization=personas.sales, departed_on=dt.date(2026, 1, 31))
    c = client(personas, "admin")
    emails = lambda **q: [e["email"] for e in c.get("/api/v1/employees/", q).json()["results"]]  # noqa: E731
    assert emails() == [
        "alice@acme.example",
        "bob@acme.example",
        "charlie@acme.example",
        "chris@acme.example",
        "gone@acme.example",
        "sam@acme.example",
    ]
    assert emails(organization=personas.sales.pk) == ["charlie@acme.example", "gone@acme.example"]
    assert emails(status="departed") == ["gone@acme.example"]
    assert emails(status="active", organization=personas.sales.pk) == ["charlie@acme.example"]
    assert emails(email="CH") == ["charlie@acme.example", "chris@acme.example"]
    assert emails(ordering="-email", page_size=2) == ["sam@acme.example", "gone@acme.example"]
    assert c.get("/api/v1/employees/", {"status": "gone"}).json()["errors"] == [
        {"field": "status", "message": "must be one of: active, departed."}
    ]
    detail = c.get(f"/api/v1/employees/{personas.employee.pk}/").json()
    assert detail == {
        "id": personas.employee.pk,
        "email": "bob@acme.example",
        "full_name": "Bob Builder",
        "external_id": personas.employee.external_id,
        "title": "",
        "organization": "Acme/Engineering",
        "organization_id": personas.engineering.pk,
        "manager_email": None,
        "hired_on": "2020-01-01",
        "departed_on": None,
        "is_active": True,
    }


def test_pagination_page_size_is_capped(personas):
    c = client(personas, "admin")
    body = c.get("/api/v1/employees/", {"page_size": 1, "page": 2}).json()
    assert body["count"] == 5 and len(body["results"]) == 1
    assert body["next"].endswith("page=3&page_size=1") and body["previous"] is not None
    assert len(c.get("/api/v1/employees/", {"page_size": 100000}).json()["results"]) == 5
    response = c.get("/api/v1/employees/", {"page": 99})
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid page.", "errors": []}


ROWS = [
    {
        "email": "Ada@Acme.example",
        "full_name": "Ada Lovelace",
        "organization": "Acme/Research",
        "hired_on": "2024-01-02",
    },
    {
        "email": "bob@acme.example",
        "full_name": "Bob Builder",
        "organization": "Acme/Engineering",
        "hired_on": "2020-01-01",
    },
    {"email": "new@acme.example", "full_name": "New Person", "organization": "Acme/Research/Lab", "hired_on": None},
]


def test_bulk_roster_upsert_is_idempotent(personas):
    c = client(personas, "admin")
    first = post(c, "/api/v1/employees/bulk/", {"rows": ROWS})
    assert first.status_code == 200
    assert first.json() == {
        "rows": 3,
        "created": 2,
        "updated": 0,
        "unchanged": 1,
        "departed": 0,
        "dry_run": False,
        "applied": True,
    }
    ada = Employee.objects.get(email="ada@acme.example")
    assert (ada.full_name, ada.organization.path, ada.hired_on) == (
        "Ada Lovelace",
        "Acme/Research",
        dt.date(2024, 1, 2),
    )
    assert Employee.objects.get(email="new@acme.example").organization.path == "Acme/Research/Lab"
    again = post(c, "/api/v1/employees/bulk/", {"rows": ROWS})
    assert again.json()["created"] == 0 and again.json()["updated"] == 0 and again.json()["unchanged"] == 3
    assert Employee.objects.count() == 7

    moved = [{**ROWS[1], "organization": "Acme/Sales"}]
    dry = post(c, "/api/v1/employees/bulk/", {"rows": moved, "dry_run": True})
    assert (dry.json()["updated"], dry.json()["applied"], dry.json()["dry_run"]) == (1, False, True)
    assert Employee.objects.get(email="bob@acme.example").organization == personas.engineering
    assert post(c, "/api/v1/employees/bulk/", {"rows": moved}).json()["updated"] == 1
    assert Employee.objects.get(email="bob@acme.example").organization == personas.sales


def test_bulk_roster_reports_bad_rows_by_index_and_applies_nothing(personas):
    before = list(Employee.objects.order_by("pk").values_list("email", "full_name", "organization_id"))
    rows = [
        ROWS[0],
        {"email": "not-an-email", "full_name": "X", "organization": "Acme"},
        {"email": "x@acme.example", "full_name": "X", "organization": "Acme", "hired_on": "2024-13-01"},
        {"email": "y@acme.example", "full_name": "Y", "organization": "Acme", "hired_on": "2024-01-01", "salary": "1"},
        "not a row",
    ]
    response = post(client(personas, "admin"), "/api/v1/employees/bulk/", {"rows": rows})
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "4 row(s) have errors; nothing was applied."
    assert [e["line"] for e in body["errors"]] == [1, 2, 3, 4]
    assert body["errors"][3] == {"line": 4, "message": "A row must be an object with the roster's fields."}
    assert body["errors"][2]["message"].startswith("Unknown field(s): salary.")
    assert "2024-13-01" in body["errors"][1]["message"]
    assert list(Employee.objects.order_by("pk").values_list("email", "full_name", "organization_id")) == before
    assert not Organization.objects.filter(path="Acme/Research").exists()

    inconsistent = [ROWS[0], {"email": "z@acme.example", "full_name": "Z", "organization": "Acme"}]
    response = post(client(personas, "admin"), "/api/v1/employees/bulk/", {"rows": inconsistent})
    assert response.status_code == 400
    assert response.json()["errors"][0]["line"] == 1
    assert response.json()["errors"][0]["message"].startswith("Missing field(s) hired_on")
    empty = post(client(personas, "admin"), "/api/v1/employees/bulk/", {"rows": [], "mark_missing_departed": True})
    assert empty.status_code == 400
    assert empty.json()["errors"] == [{"field": "rows", "message": "Ensure this field has at least 1 elements."}]
    assert list(Employee.objects.order_by("pk").values_list("email", "full_name", "organization_id")) == before


def test_bulk_roster_rows_follow_the_import_rules_not_a_files(personas):
    """Rows go to the roster import as they are (no CSV in between): a row of empty values
    is a bad row (a file skips a blank line), and a value too long for the roster is that
    row's error (not a file's "cell longer than 131,072 characters")."""
    before = list(Employee.objects.order_by("pk").values_list("email", "full_name", "organization_id"))
    rows = [
        {"email": " ", "full_name": "", "organization": ""},
        {"email": "ada@acme.example", "full_name": "A" * 200_000, "organization": "Acme"},
        {"email": "grace@acme.example", "full_name": 'Grace "Amazing" Hopper, RADM', "organization": "Acme"},
    ]
    response = post(client(personas, "admin"), "/api/v1/employees/bulk/", {"rows": rows})
    assert response.status_code == 400
    assert response.json() == {
        "detail": "2 row(s) have errors; nothing was applied.",
        "errors": [
            {"line": 0, "message": "no e-mail"},
            {"line": 0, "message": "empty organization"},
            {"line": 1, "message": "full_name is longer than 200 characters"},
        ],
    }
    assert list(Employee.objects.order_by("pk").values_list("email", "full_name", "organization_id")) == before
    response = post(client(personas, "admin"), "/api/v1/employees/bulk/", {"rows": rows[2:]})
    assert (response.status_code, response.json()["created"]) == (200, 1)
    assert Employee.objects.get(email="grace@acme.example").full_name == 'Grace "Amazing" Hopper, RADM'


def test_bulk_roster_with_a_read_only_token_is_refused(personas):
    _, raw = api_token_create(created_by=personas.admin, name="BI", scope="read")
    c = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert c.get("/api/v1/employees/").status_code == 200
    assert post(c, "/api/v1/employees/bulk/", {"rows": ROWS}).status_code == 403
    assert not Employee.objects.filter(email="ada@acme.example").exists()
    _, rw = api_token_create(created_by=personas.admin, name="HR", scope="read-write")
    response = post(Client(HTTP_AUTHORIZATION=f"Bearer {rw}"), "/api/v1/employees/bulk/", {"rows": ROWS})
    assert response.status_code == 200
    assert Employee.objects.filter(email="ada@acme.example").exists()


# --- Collections and study groups ----------------------------------------------------------

VISIBLE_COLLECTIONS = {
    "admin": ["Everyone", "Eng path", "Sales path"],
    "sponsor": ["Everyone", "Eng path"],
    "champion": ["Everyone", "Eng path"],
    "employee": ["Everyone", "Eng path"],
    "outsider": ["Everyone", "Sales path"],
}


@pytest.mark.parametrize("who", EVERYONE)
def test_collections_as_the_pages_show_them(personas, world, who):
    c = client(personas, who)
    body = c.get("/api/v1/collections/", {"program": personas.program.pk}).json()
    assert [col["name"] for col in body["results"]] == VISIBLE_COLLECTIONS[who]
    eng = world["eng_collection"]
    detail = c.get(f"/api/v1/collections/{eng.pk}/")
    if "Eng path" in VISIBLE_COLLECTIONS[who]:
        assert detail.status_code == 200
        courses = detail.json()["courses"]
        assert [(co["position"], co["title"], co["provider_course_id"]) for co in courses] == [
            (1, "Python", "python"),
            (2, "SQL", courses[1]["provider_course_id"]),
        ]
    else:
        assert detail.status_code == 404
    assert c.get("/api/v1/collections/", {"program": "424242"}).status_code == 404


VISIBLE_GROUPS = {
    "admin": ["Eng group", "Open group", "Sales group"],
    "sponsor": ["Eng group", "Open group"],
    "champion": ["Eng group", "Open group"],
    "employee": ["Eng group", "Open group"],
    "outsider": ["Open group", "Sales group"],
}


@pytest.mark.parametrize("who", EVERYONE)
def test_study_groups_as_the_pages_show_them(personas, world, who):
    c = client(personas, who)
    body = c.get("/api/v1/study-groups/").json()  # the current program by default
    assert [g["name"] for g in body["results"]] == VISIBLE_GROUPS[who]
    assert all(g["member_count"] == 0 for g in body["results"])
    eng = StudyGroup.objects.get(name="Eng group")
    assert c.get(f"/api/v1/study-groups/{eng.pk}/").status_code == (200 if "Eng group" in VISIBLE_GROUPS[who] else 404)


# --- Connections, syncs ----------------------------------------------------------------------


@pytest.mark.parametrize("who", NON_ADMINS)
def test_syncs_are_for_ld_admins_only(personas, world, who, django_capture_on_commit_callbacks):
    c = client(personas, who)
    assert c.get("/api/v1/connections/").status_code == 403
    assert c.get("/api/v1/sync-runs/").status_code == 403
    assert c.get(f"/api/v1/sync-runs/{SyncRun.objects.first().pk}/").status_code == 403
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(c, f"/api/v1/connections/{world['connection'].pk}/sync/", {})
    assert response.status_code == 403
    assert callbacks == []
    assert SyncRun.objects.count() == 2


def test_admin_reads_sync_runs_and_connections(personas, world):
    c = client(personas, "admin")
    runs = c.get("/api/v1/sync-runs/").json()["results"]
    assert [(r["status"], r["fetched"], r["error"]) for r in runs] == [("failed", 0, "boom"), ("succeeded", 10, "")]
    assert len(c.get("/api/v1/sync-runs/", {"status": "failed"}).json()["results"]) == 1
    assert c.get("/api/v1/sync-runs/", {"connection": world["connection"].pk}).json()["count"] == 2
    connections = c.get("/api/v1/connections/").json()["results"]
    assert connections == [
        {
            "id": world["connection"].pk,
            "name": "coursera",
            "kind": "coursera",
            "is_active": True,
            "sync_interval_minutes": 360,
            "last_synced_at": None,
        }
    ]


def test_admin_starts_a_sync_queued_on_commit(personas, world, django_capture_on_commit_callbacks):
    connection = world["connection"]
    c = client(personas, "admin")
    with django_capture_on_commit_callbacks() as callbacks:
        response = post(c, f"/api/v1/connections/{connection.pk}/sync/", {"full": True})
    assert response.status_code == 202
    assert response.json() == {"detail": "Sync queued.", "connection": connection.pk, "full": True}
    assert len(callbacks) == 1

    workshops = ConnectionFactory(name="workshops", kind="other")
    with django_capture_on_commit_callbacks() as callbacks:
        refused = post(c, f"/api/v1/connections/{workshops.pk}/sync/", {})
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("Other (completions file) connections are not synced from an API.")
    assert callbacks == []
    assert post(c, "/api/v1/connections/999999/sync/", {}).status_code == 404


def test_read_only_token_cannot_start_a_sync(personas, world, django_capture_on_commit_callbacks):
    _, raw = api_token_create(created_by=personas.admin, name="BI", scope="read")
    with django_capture_on_commit_callbacks() as callbacks:
        response = Client(HTTP_AUTHORIZATION=f"Bearer {raw}").post(
            f"/api/v1/connections/{world['connection'].pk}/sync/", "{}", content_type="application/json"
        )
    assert response.status_code == 403
    assert callbacks == []


# --- The API answers in its own format, whatever went wrong ------------------------------------

NOT_FOUND = {"detail": "Not found.", "errors": []}


def refused(field: str, message: str) -> dict:
    return {"detail": "The request has errors; nothing was changed.", "errors": [{"field": field, "message": message}]}


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/api/v1/collections/abc/"),
        ("get", "/api/v1/study-groups/abc/"),
        ("get", "/api/v1/programs/0.5/"),
        ("get", "/api/v1/employees/null,null/"),
        ("get", "/api/v1/sync-runs/-1/"),
        ("get", "/api/v1/programs/1e3/progress/"),
        ("patch", "/api/v1/programs/abc/"),
        ("post", "/api/v1/connections/abc/sync/"),
        ("get", "/api/v1/no-such-thing/"),
        ("get", "/api/v2/programs/"),
        ("get", "/api/nothing"),
    ],
)
def test_a_path_that_names_no_object_is_the_json_404(personas, world, method, url):
    before = program_state(personas.program)
    c = client(personas, "admin")
    response = c.get(url) if method == "get" else post(c, url, {"name": "Renamed"}, method=method)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == NOT_FOUND
    assert program_state(personas.program) == before
    assert SyncRun.objects.count() == 2


def test_a_whole_number_that_matches_no_object_is_the_404_of_the_view(personas):
    c = client(personas, "admin")
    for url in ("/api/v1/programs/999999/", "/api/v1/programs/99999999999999999999999999/"):
        response = c.get(url)
        assert (response.status_code, response.json()) == (
            404,
            {"detail": "No LearningProgram matches the given query.", "errors": []},
        )


def test_other_paths_keep_djangos_html_pages(personas):
    c = client(personas, "admin")
    for url in ("/no-such-page/", "/api-v1/programs/", "/api/docs/no-such-page/"):
        response = c.get(url)
        assert response.status_code == 404
        assert response["Content-Type"] == "text/html; charset=utf-8"
    assert Client().get("/api/v1/nothing/").json() == NOT_FOUND  # anonymous: no URL, so no sign-in either


def test_django_error_views_answer_json_for_the_api_only(rf):
    from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
    from django.http import Http404
    from django.urls import get_resolver

    from learnhub.api import errors

    resolver = get_resolver()
    assert [resolver.resolve_error_handler(code) for code in (400, 403, 404, 500)] == [
        errors.bad_request,
        errors.permission_denied,
        errors.page_not_found,
        errors.server_error,
    ]
    api, page = rf.get("/api/v1/programs/"), rf.get("/programs/")
    answers = [
        errors.bad_request(api, SuspiciousOperation("bad")),
        errors.bad_request(api, RequestDataTooBig("big")),
        errors.permission_denied(api, PermissionDenied()),
        errors.page_not_found(api, Http404()),
        errors.server_error(api),
    ]
    assert [(r.status_code, r["Content-Type"], json.loads(r.content)) for r in answers] == [
        (400, "application/json", {"detail": "Bad request.", "errors": []}),
        (413, "application/json", {"detail": "The request body is too large: at most 10 MB.", "errors": []}),
        (403, "application/json", {"detail": "You do not have permission to perform this action.", "errors": []}),
        (404, "application/json", NOT_FOUND),
        (500, "application/json", {"detail": "Server error: it is logged; try again later.", "errors": []}),
    ]
    html = [
        errors.bad_request(page, SuspiciousOperation("bad")),
        errors.permission_denied(page, PermissionDenied()),
        errors.page_not_found(page, Http404()),
        errors.server_error(page),
    ]
    assert {(r["Content-Type"], b"<h1>" in r.content) for r in html} == {("text/html; charset=utf-8", True)}
    assert [r.status_code for r in html] == [400, 403, 404, 500]


@pytest.mark.parametrize(
    ("path", "query", "error"),
    [
        ("programs/{program}/progress/", "as_of=", ("as_of", "as_of is empty: use as_of=YYYY-MM-DD, or leave it out.")),
        (
            "programs/{program}/progress/",
            "as_of=20260301",
            ("as_of", "“20260301” is not a date: use as_of=YYYY-MM-DD."),
        ),
        ("programs/{program}/snapshots/", "from=", ("from", "from is empty: use from=YYYY-MM-DD, or leave it out.")),
        (
            "programs/{program}/snapshots/",
            "organization=",
            ("organization", "organization is empty: use organization=<a whole number from 1>, or leave it out."),
        ),
        (
            "collections/",
            "program=",
            ("program", "program is empty: use program=<a whole number from 1>, or leave it out."),
        ),
        ("collections/", "program=0", ("program", "“0” is not a whole number from 1.")),
        ("study-groups/", "program=-3", ("program", "“-3” is not a whole number from 1.")),
        ("organizations/", "within=%201", ("within", "“ 1” is not a whole number from 1.")),
        ("employees/", "status=", ("status", "status is empty: use one of active, departed, or leave it out.")),
        ("sync-runs/", "connection=1.5", ("connection", "“1.5” is not a whole number from 1.")),
        (
            "sync-runs/",
            "status=",
            ("status", "status is empty: use one of running, succeeded, failed, or leave it out."),
        ),
        ("programs/", "page=", ("page", "page is empty: use page=<a whole number from 1>, or leave it out.")),
        ("programs/", "page=last", ("page", "“last” is not a whole number from 1.")),
        ("programs/", "page_size=0", ("page_size", "“0” is not a whole number from 1.")),
        ("employees/", "page_size=null", ("page_size", "“null” is not a whole number from 1.")),
        (
            "programs/{program}/progress/",
            "as_of=2026-03-03&as_of=2026-03-04",
            ("as_of", "Give as_of once, not 2 times."),
        ),
        ("employees/", "page=1&page=2", ("page", "Give page once, not 2 times.")),
        ("employees/", "email=ada&email=bob", ("email", "Give email once, not 2 times.")),
        ("organizations/", "within=%25d", ("within", "“%d” is not a whole number from 1.")),
        ("programs/{program}/snapshots/", "to=2026-02-30", ("to", "“2026-02-30” is not a date: use to=YYYY-MM-DD.")),
    ],
)
def test_bad_query_parameters_are_refused_by_name(personas, path, query, error):
    url = f"/api/v1/{path.format(program=personas.program.pk)}?{query}"
    response = client(personas, "admin").get(url)
    assert response.status_code == 400
    assert response.json() == refused(*error)


def test_every_bad_parameter_of_a_request_is_named_at_once(personas):
    c = client(personas, "admin")
    response = c.get("/api/v1/employees/", {"organization": "abc", "status": "gone", "email": "x"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "organization", "message": "“abc” is not a whole number from 1."},
        {"field": "status", "message": "must be one of: active, departed."},
    ]
    snapshots = c.get(f"/api/v1/programs/{personas.program.pk}/snapshots/?from=x&to=")
    assert snapshots.json()["errors"] == [
        {"field": "from", "message": "“x” is not a date: use from=YYYY-MM-DD."},
        {"field": "to", "message": "to is empty: use to=YYYY-MM-DD, or leave it out."},
    ]


def test_one_object_is_found_by_its_id_whatever_the_lists_parameters(personas, world):
    c = client(personas, "admin")
    other = ProgramFactory(name="Learning Program 2027", starts_on=dt.date(2027, 1, 1), ends_on=dt.date(2027, 12, 31))
    eng = world["eng_collection"]
    for url, query in [
        (f"/api/v1/organizations/{personas.sales.pk}/", {"within": personas.engineering.pk}),
        (f"/api/v1/employees/{personas.outsider.pk}/", {"organization": personas.engineering.pk, "status": "x"}),
        (f"/api/v1/collections/{eng.pk}/", {"program": other.pk}),
        (f"/api/v1/sync-runs/{SyncRun.objects.first().pk}/", {"connection": "abc"}),
    ]:
        response = c.get(url, query)
        assert (response.status_code, response.json()["id"]) == (200, int(url.rstrip("/").rsplit("/", 1)[1]))


@pytest.mark.parametrize(
    ("path", "name", "noun"),
    [
        ("collections/", "program", "learning program"),
        ("study-groups/", "program", "learning program"),
        ("organizations/", "within", "organization"),
        ("employees/", "organization", "organization"),
        ("sync-runs/", "connection", "provider connection"),
        ("programs/{program}/snapshots/", "organization", "organization"),
    ],
)
def test_an_id_parameter_that_matches_nothing_is_a_404_naming_it(personas, path, name, noun):
    c = client(personas, "admin")
    url = f"/api/v1/{path.format(program=personas.program.pk)}"
    for pk in ("424242", "99999999999999999999999999"):
        response = c.get(url, {name: pk})
        message = f"There is no {noun} with id {pk}."
        assert response.status_code == 404
        assert response.json() == {"detail": message, "errors": [{"field": name, "message": message}]}


def test_pages_past_the_end_and_huge_page_sizes(personas):
    c = client(personas, "admin")
    assert c.get("/api/v1/employees/", {"page": "99999999999999999999999"}).json() == {
        "detail": "Invalid page.",
        "errors": [],
    }
    assert c.get("/api/v1/employees/", {"page_size": "9" * 5000}).json()["count"] == 5
    assert c.get("/api/v1/employees/", {"page": "0002", "page_size": "4"}).json()["results"][0]["email"] == (
        "sam@acme.example"
    )


def test_an_email_filter_with_a_nul_character_matches_no_one(personas):
    response = client(personas, "admin").get("/api/v1/employees/", {"email": "bob\x00"})
    assert (response.status_code, response.json()["count"]) == (200, 0)


def test_progress_as_of_any_day_of_the_calendar(personas):
    c = client(personas, "employee")
    url = f"/api/v1/programs/{personas.program.pk}/progress/"
    for as_of, day in (("0001-01-01", "0001-01-01"), ("2025-06-30", "2025-06-30"), ("9999-12-31", "2026-12-31")):
        response = c.get(url, {"as_of": as_of})
        assert response.status_code == 200
        assert response.json()["as_of"] == day


def test_a_body_over_the_upload_limit_is_a_json_413(personas, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
    before = list(Employee.objects.order_by("pk").values_list("email", "full_name", "organization_id"))
    rows = [{"email": f"p{n}@acme.example", "full_name": "P" * 100, "organization": "Acme"} for n in range(20_000)]
    response = post(client(personas, "admin"), "/api/v1/employees/bulk/", {"rows": rows})
    assert response.status_code == 413
    assert response.json() == {"detail": "The request body is too large: at most 2 MB.", "errors": []}
    assert list(Employee.objects.order_by("pk").values_list("email", "full_name", "organization_id")) == before


def test_a_body_that_is_not_json_is_a_json_415(personas):
    response = client(personas, "admin").post("/api/v1/programs/", "name=X", content_type="text/plain")
    assert response.status_code == 415
    assert response.json() == {"detail": 'Unsupported media type "text/plain" in request.', "errors": []}
    assert LearningProgram.objects.count() == 1


def test_a_target_rate_is_kept_to_a_tenth_of_a_percent(personas):
    c = client(personas, "admin")
    body = {"name": "Program 2027", "starts_on": "2027-01-01", "ends_on": "2027-12-31", "target_rate": 0.87549}
    created = post(c, "/api/v1/programs/", body)
    assert (created.status_code, created.json()["target_rate"]) == (201, 0.875)
    assert LearningProgram.objects.get(name="Program 2027").target_rate == Decimal("0.875")
    changed = post(c, f"/api/v1/programs/{created.json()['id']}/", {"target_rate": 0.9995}, method="patch")
    assert (changed.status_code, changed.json()["target_rate"]) == (200, 1.0)
    too_low = post(c, "/api/v1/programs/", {**body, "name": "Program 2028", "target_rate": 0.0004})
    assert too_low.json() == refused("target_rate", "Ensure this value is greater than or equal to 0.001.")
    assert LearningProgram.objects.count() == 2


def test_bodies_are_typed_as_the_schema_says(personas, world, django_capture_on_commit_callbacks):
    c = client(personas, "admin")
    body = {"name": 2027, "starts_on": "2027-01-01", "ends_on": "2027-12-31", "target_rate": "0.9", "status": None}
    response = post(c, "/api/v1/programs/", {**body, "required_completions": "2"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "name", "message": "Must be a string."},
        {"field": "target_rate", "message": "Must be a number."},
        {"field": "required_completions", "message": "Must be a whole number."},
        {"field": "status", "message": "Must be a string."},
    ]
    assert post(c, f"/api/v1/programs/{personas.program.pk}/", {"required_completions": True}, method="patch").json()[
        "errors"
    ] == [{"field": "required_completions", "message": "Must be a whole number."}]
    rows = [{"email": "ada@acme.example", "full_name": "Ada", "organization": "Acme"}]
    bulk = post(c, "/api/v1/employees/bulk/", {"rows": rows, "dry_run": 0, "mark_missing_departed": "yes"})
    assert bulk.json()["errors"] == [
        {"field": "dry_run", "message": "Must be true or false."},
        {"field": "mark_missing_departed", "message": "Must be true or false."},
    ]
    assert post(c, "/api/v1/employees/bulk/", {"rows": "ada"}).json()["errors"] == [
        {"field": "rows", "message": "Must be a list."}
    ]
    with django_capture_on_commit_callbacks() as callbacks:
        sync = post(c, f"/api/v1/connections/{world['connection'].pk}/sync/", {"full": 1})
    assert (sync.status_code, sync.json()["errors"], callbacks) == (
        400,
        [{"field": "full", "message": "Must be true or false."}],
        [],
    )
    assert LearningProgram.objects.count() == 1
    assert program_state(personas.program)[0] == "Learning Program 2026"
    assert not Employee.objects.filter(email="ada@acme.example").exists()


def test_admin_cannot_start_a_sync_of_a_paused_or_busy_connection(personas, world, django_capture_on_commit_callbacks):
    """The API asks the rule the providers page and `manage.py sync_provider` ask
    (programs.sync.schedule.sync_problem), so it refuses with the same words."""
    paused = ConnectionFactory(name="paused", is_active=False)
    busy = world["connection"]
    ProviderConnection.objects.filter(pk=busy.pk).update(
        sync_claimed_until=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    )
    c = client(personas, "admin")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        refused = post(c, f"/api/v1/connections/{paused.pk}/sync/", {"full": True})
        running = post(c, f"/api/v1/connections/{busy.pk}/sync/", {})  # tasks run in process here: cannot wait
    assert (refused.status_code, refused.json()) == (
        409,
        {
            "detail": "This connection is paused: resume it first "
            "(python manage.py provider_connection paused --active).",
            "errors": [],
        },
    )
    assert (running.status_code, running.json()) == (
        409,
        {
            "detail": "A sync of coursera is already running, and this server runs syncs in its own process "
            "(no Celery worker), so another cannot wait for it: try again when it ends.",
            "errors": [],
        },
    )
    assert callbacks == []
    assert list(ProviderConnection.objects.values_list("sync_requested_at", flat=True)) == [None, None]
    assert SyncRun.objects.count() == 2
