"""Every provider in one ledger: completions from Coursera, Udemy Business and a
completions file count toward one program, a course being (provider, provider course id)."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from programs.models import Course, Enrollment
from programs.providers.udemy_sandbox import UdemySandbox
from programs.sync.pipeline import sync_api
from reports.progress import program_progress
from tests.factories import ConnectionFactory, EmployeeFactory, ProgramFactory, org
from tests.sandbox_fixtures import CLIENT_ID, CLIENT_SECRET, ORG_ID, PROGRAM_ID, coursera_element

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.sandbox_fixtures"]


def udemy_row(email: str, course_id: int, completed: str | None) -> dict[str, object]:
    return {
        "user_email": email,
        "user_external_id": None,
        "course_id": course_id,
        "course_title": f"Udemy {course_id}",
        "completion_ratio": 100,
        "course_first_completion_date": completed,
        "course_completion_date": completed,
    }


def test_completions_of_several_providers_count_as_distinct_courses_and_once_each(
    sandbox_factory, provider_sandbox, tmp_path, settings
):
    settings.TIME_ZONE = "UTC"
    acme = org("Acme")
    mia = EmployeeFactory(email="mia@acme.example", external_id="", organization=acme)
    leo = EmployeeFactory(email="leo@acme.example", external_id="", organization=acme)
    program = ProgramFactory(starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2024, 12, 31), required_completions=2)
    coursera = sandbox_factory(records=[coursera_element(1, "mia@acme.example", completedAt="2024-05-01T10:00:00Z")])
    udemy_rows = [
        udemy_row("mia@acme.example", 4101, "2024-06-01T10:00:00Z"),
        udemy_row("leo@acme.example", 4102, "2024-07-01T10:00:00Z"),
    ]
    udemy = provider_sandbox(UdemySandbox, rows=udemy_rows, org_id=ORG_ID)
    # A second Udemy account (another subsidiary) reports Mia's course 4101 again.
    udemy_too = provider_sandbox(UdemySandbox, rows=udemy_rows[:1], org_id=ORG_ID)
    connections = [
        ConnectionFactory(
            name="coursera",
            kind="coursera",
            base_url=coursera.base_url,
            token_url=coursera.token_url,
            provider_org_id=ORG_ID,
            provider_program_ids=[PROGRAM_ID],
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        ),
        *(
            ConnectionFactory(
                name=name,
                kind="udemy",
                base_url=sandbox.base_url,
                provider_org_id=ORG_ID,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
            )
            for name, sandbox in (("udemy", udemy), ("udemy subsidiary", udemy_too))
        ),
    ]
    ConnectionFactory(name="workshops", kind="other")
    workshop_file = tmp_path / "workshops.csv"
    workshop_file.write_text(
        "email,external_id,course_id,course_title,completed_on\nleo@acme.example,,WS-01,Workshop,2024-09-10\n",
        encoding="utf-8",
    )

    def numbers() -> tuple[int, int, int]:
        company = program_progress(program=program, as_of=dt.date(2024, 12, 31)).company
        return company.eligible, company.met, company.completions

    runs = [sync_api(connection=c, full=True) for c in connections]
    after_syncs = numbers()
    call_command("import_provider_csv", str(workshop_file), "--connection", "workshops", stdout=io.StringIO())
    after_file = numbers()
    resyncs = [sync_api(connection=c) for c in connections]
    call_command("import_provider_csv", str(workshop_file), "--connection", "workshops", stdout=io.StringIO())

    assert [(r.status, r.created) for r in runs] == [("succeeded", 1), ("succeeded", 2), ("succeeded", 1)]
    assert after_syncs == (2, 1, 3)  # Mia: Coursera C1 + Udemy 4101 (twice reported, one course); Leo: 4102
    assert after_file == (2, 2, 4)  # Leo's workshop is his second course
    assert [(r.status, r.created, r.updated) for r in resyncs] == [("succeeded", 0, 0)] * 3
    assert numbers() == (2, 2, 4)
    assert sorted(Course.objects.values_list("provider", "provider_course_id")) == [
        ("coursera", "C1"),
        ("other", "WS-01"),
        ("udemy", "4101"),
        ("udemy", "4102"),
    ]
    assert Enrollment.objects.filter(employee=mia).count() == 3
    assert Enrollment.objects.filter(employee=leo).count() == 2
