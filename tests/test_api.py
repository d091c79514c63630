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
        {"field": "status", "message": "A active program cannot become draft: draft -> active -> closed only."}
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
    bad = c.get(url, {"organization": "999999", "from": "2026-03-06", "to": "2026-03-01"})
    assert bad.status_code == 400
    assert bad.json()["errors"] == [{"field": "organization", "message": "There is no organization with id 999999."}]
    backwards = c.get(url, {"from": "2026-03-06", "to": "2026-03-01"})
    assert backwards.json()["errors"] == [{"field": "to", "message": "must not be before `from`."}]


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
        {"field": "within", "message": "“abc” is not an id: use a whole number."}
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
    assert post(client(personas, "admin"), "/api/v1/employees/bulk/", {"rows": []}).status_code == 400
    assert list(Employee.objects.order_by("pk").values_list("email", "full_name", "organization_id")) == before


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
    assert c.get("/api/v1/collections/", {"program": "424242"}).status_code == 400


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

    udemy = ConnectionFactory(name="udemy", kind="udemy")
    with django_capture_on_commit_callbacks() as callbacks:
        refused = post(c, f"/api/v1/connections/{udemy.pk}/sync/", {})
    assert refused.status_code == 409
    assert refused.json()["detail"].startswith("Udemy Business connections cannot be synced from the API yet")
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
