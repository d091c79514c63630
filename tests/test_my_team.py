"""A line manager's team (issue 14): direct and indirect reports from the roster's manager
chain, each with where they stand, the team's rate against the target, and nudges under the
champions' rules, limited to the manager's own reports."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from programs.models import Employee
from reports.hooks import progress_changed
from reports.models import SentMessage
from tests.factories import ConnectionFactory, CourseFactory, EmployeeFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://learnhub.example"


@pytest.fixture
def team(personas):
    """Maya manages Ivy (80% through a course) and Dana (met the goal); Ivy manages Nora
    (enrolled, not started). Omar (in progress) reports to someone else."""
    connection = ConnectionFactory()
    ml = CourseFactory(title="Machine Learning")

    def person(name: str, manager: Employee | None = None) -> Employee:
        return EmployeeFactory(
            email=f"{name.lower()}@acme.example",
            full_name=f"{name} Example",
            organization=personas.engineering,
            manager=manager,
        )

    maya = person("Maya")
    ivy, dana = person("Ivy", maya), person("Dana", maya)
    nora = person("Nora", ivy)
    omar = person("Omar", person("Olga"))
    EnrollmentFactory(connection=connection, employee=ivy, course=ml, progress=Decimal("80"))
    EnrollmentFactory(connection=connection, employee=omar, course=ml, progress=Decimal("50"))
    EnrollmentFactory(connection=connection, employee=nora, course=ml)
    EnrollmentFactory(
        connection=connection,
        employee=dana,
        course=ml,
        is_completed=True,
        completed_at=dt.datetime(2026, 3, 1, tzinfo=UTC),
    )
    return {"maya": maya, "ivy": ivy, "dana": dana, "nora": nora, "omar": omar}


def rows(response) -> list[tuple[str, str]]:
    return [(p.full_name, "met" if p.has_met else p.stage) for p in response.context["people"]]


def test_a_manager_sees_their_direct_and_indirect_reports_and_nobody_else(personas, team):
    response = personas.client_for(team["maya"]).get("/champions/team/")

    assert response.status_code == 200
    assert rows(response) == [  # still to complete first, closest to the goal first
        ("Ivy Example", "in-progress"),
        ("Nora Example", "not-started"),
        ("Dana Example", "met"),
    ]
    assert (response.context["met"], response.context["eligible"]) == (1, 3)
    body = response.content.decode()
    assert "1 of 3 met the goal" in body
    assert "Omar" not in body


def test_a_middle_manager_sees_only_the_people_below_them(personas, team):
    response = personas.client_for(team["ivy"]).get("/champions/team/")

    assert rows(response) == [("Nora Example", "not-started")]


def test_someone_who_manages_no_one_is_refused(personas, team):
    response = personas.client_for(team["nora"]).get("/champions/team/")

    assert response.status_code == 403
    assert "Nora" not in response.content.decode().partition("<main")[2].partition("</main>")[0]


def test_the_home_page_links_the_team_page_for_managers_only(personas, team):
    assert "/champions/team/" in personas.client_for(team["maya"]).get("/").content.decode()
    assert "/champions/team/" not in personas.client_for(team["nora"]).get("/").content.decode()


def test_a_manager_nudges_their_own_report(personas, team, mailoutbox):
    response = personas.client_for(team["maya"]).post(
        "/champions/team/", {"selected": [team["ivy"].pk, team["dana"].pk]}, follow=True
    )

    assert [m.to for m in mailoutbox] == [["ivy@acme.example"]]
    assert list(SentMessage.objects.values_list("employee__email", "sent_by__email")) == [
        ("ivy@acme.example", "maya@acme.example")
    ]
    said = [str(m) for m in response.context["messages"]]
    assert said == ["Nudged 1 person by e-mail.", "Not nudged, 1 person: already met the goal (Dana Example)."]


def test_nudging_someone_outside_the_team_is_refused_and_sends_nothing(personas, team, mailoutbox):
    response = personas.client_for(team["maya"]).post("/champions/team/", {"selected": [team["omar"].pk]}, follow=True)

    assert mailoutbox == []
    assert SentMessage.objects.count() == 0
    assert [str(m) for m in response.context["messages"]] == [
        "Select at least one person of your team who has not completed yet."
    ]


def test_someone_who_manages_no_one_cannot_nudge(personas, team, mailoutbox):
    response = personas.client_for(team["nora"]).post("/champions/team/", {"selected": [team["ivy"].pk]})

    assert response.status_code == 403
    assert mailoutbox == []
    assert SentMessage.objects.count() == 0


def _queries_of_the_page(client) -> int:
    client.get("/champions/team/")  # keeps today's figures first, as any first reader does
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/champions/team/").status_code == 200
    return len(queries)


@pytest.mark.parametrize("size", [10, 1000])
def test_the_team_page_costs_the_same_queries_at_any_size(personas, size):
    maya = EmployeeFactory(email="maya@acme.example", organization=personas.engineering)
    Employee.objects.bulk_create(
        Employee(
            email=f"report{i}@acme.example", full_name=f"Report {i}", organization=personas.engineering, manager=maya
        )
        for i in range(size)
    )
    progress_changed()

    assert _queries_of_the_page(personas.client_for(maya)) == 11
