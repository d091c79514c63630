"""Kept figures (reports/kept.py): today's numbers are computed once after each change and
read from then on; they are always the engine's numbers, and every kind of write that
changes an input of the numbers shows on the next read.

The company of `acme` (program 2026, target 90%, one course required), all hired in 2020:
- Acme: Alice Admin; Acme/Engineering: Sam Sponsor, Chris Champion, Bob Builder (Python,
  curated, on 1 March); Acme/Sales: Charlie Sales (Negotiation, not curated, on 1 April).
Company 2 of 5 met; completions 2, curated 1. Engineering 1 of 3; Sales 1 of 1.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from champions.appointments import appointment_create, appointment_remove
from champions.models import LearningChampion
from programs.collections import collection_course_add, collection_course_remove
from programs.collections_import import collections_import
from programs.learning_programs import program_update
from programs.models import Collection, Course, Employee, Enrollment, LearningProgram, Organization, UnmatchedRecord
from programs.organizations import organization_create
from programs.roster import roster_import
from programs.sync.pipeline import sync_run
from reports import kept as kept_module
from reports import progress as progress_module
from reports.kept import (
    change_count,
    counts_keep,
    figures_keep,
    people_keep,
    people_not_met_read,
    people_status_read,
    progress_change_record,
    progress_read,
)
from reports.models import KeptFigures, KeptKind, PersonProgress, ProgressSnapshot
from reports.people import people_not_met, people_status
from reports.progress import company_today, program_progress, progress_day
from tests.factories import (
    CollectionFactory,
    CollectionItemFactory,
    ConnectionFactory,
    CourseFactory,
    EmployeeFactory,
    EnrollmentFactory,
    ProgramFactory,
    org,
)
from tests.test_admin_privileges import change_form
from tests.test_dashboards import DASH, section, table_rows
from tests.test_manage_programs import admin_program_form
from tests.test_sync_pipeline import PagesAdapter, rec

pytestmark = pytest.mark.django_db

HEADER = "email,full_name,external_id,organization,title,manager_email,hired_on,departed_on\n"


def at(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=12, tzinfo=dt.UTC)


@dataclass
class Acme:
    python: Course
    negotiation: Course
    collection: Collection
    bob_done: Enrollment


@pytest.fixture
def acme(personas) -> Acme:
    python, negotiation = CourseFactory(title="Python"), CourseFactory(title="Negotiation")
    collection = CollectionFactory(program=personas.program, organization=personas.engineering, name="Essentials")
    CollectionItemFactory(collection=collection, course=python)
    bob_done = EnrollmentFactory(
        employee=personas.employee, course=python, is_completed=True, completed_at=at("2026-03-01")
    )
    EnrollmentFactory(employee=personas.outsider, course=negotiation, is_completed=True, completed_at=at("2026-04-01"))
    EnrollmentFactory(employee=personas.champion, course=negotiation, last_activity_at=at("2026-06-15"))
    return Acme(python=python, negotiation=negotiation, collection=collection, bob_done=bob_done)


@pytest.fixture
def changes(django_capture_on_commit_callbacks):
    """Around a write: its after-commit work runs as in production (the change counter is
    bumped, the keep task runs in process)."""

    @contextmanager
    def changing() -> Iterator[None]:
        with django_capture_on_commit_callbacks(execute=True):
            yield

    return changing


def company(personas) -> str:
    """The company dashboard's headline today, e.g. "Company: 2 of 5"."""
    body = personas.client_for(personas.employee).get("/reports/").content.decode()
    return headline_numbers(section(body, "headline-title"))


def organization(personas, organization: Organization) -> str:
    body = personas.client_for(personas.employee).get(f"/reports/org/{organization.pk}/").content.decode()
    return headline_numbers(section(body, "headline-title"))


def headline_numbers(headline: str) -> str:
    """ "Company: 2 of 5 people have met the goal 40% ..." -> "Company: 2 of 5"."""
    match = re.match(r"(.+?: \d+ of \d+) (people have|person has) met the goal", headline)
    assert match, headline
    return match.group(1)


def curated(personas) -> str:
    body = personas.client_for(personas.employee).get("/reports/").content.decode()
    headline = section(body, "headline-title")
    return headline[headline.index("Curated share") :]


def not_yet(personas) -> list[str]:
    """The names on the champion's "not yet completed" page of Engineering."""
    body = personas.client_for(personas.champion).get(f"/champions/not-yet/{personas.engineering.pk}/").content.decode()
    return [name for name in ("Sam Sponsor", "Chris Champion", "Bob Builder", "Erin Engineer") if name in body]


@pytest.fixture
def kept(personas, acme) -> None:
    """Today's figures are kept, as after the keep task, and they are fresh."""
    figures_keep(program=personas.program)
    assert company(personas) == "Company: 2 of 5"
    assert kept_state(personas.program) == {KeptKind.COUNTS: change_count(), KeptKind.PEOPLE: change_count()}


def kept_state(program: LearningProgram) -> dict[str, int]:
    return dict(
        KeptFigures.objects.filter(program=program, day=progress_day(program=program)).values_list("kind", "change")
    )


# --- The kept figures are the engine's ------------------------------------------------------


def test_kept_counts_and_people_are_the_engines(personas, acme):
    program = personas.program
    org("Acme/Marketing")  # no one in it: no rate
    pat = EmployeeFactory(full_name="Patricia Quinn", organization=org("Acme/Engineering/Platform"))
    EnrollmentFactory(employee=pat, course=acme.python, is_completed=True, completed_at=at("2026-05-01"))
    EnrollmentFactory(  # the same course again, from another connection
        employee=pat,
        course=acme.python,
        is_completed=True,
        completed_at=at("2026-05-02"),
        connection=ConnectionFactory(name="csv"),
    )
    EmployeeFactory(full_name="Nobody Yet", organization=None)  # company only
    EmployeeFactory(full_name="Gone Already", organization=personas.sales, departed_on=dt.date(2026, 2, 1))
    day = progress_day(program=program)

    kept = progress_read(program=program)
    engine = program_progress(program=program)

    assert kept == engine
    assert kept_state(program) == {KeptKind.COUNTS: change_count()}
    assert ProgressSnapshot.objects.filter(program=program, day=day).count() == 1 + Organization.objects.count()
    for organizations in (None, [personas.engineering], [personas.sales, acme_org("Acme/Engineering/Platform")]):
        by_kept = people_status_read(program=program, as_of=None, organizations=organizations)
        by_engine = people_status(program=program, day=day, organizations=organizations)
        assert people_rows(by_kept) == people_rows(by_engine)
    assert people_rows(people_not_met_read(program=program, as_of=None, organization=personas.engineering)) == (
        people_rows(people_not_met(program=program, day=day, organization=personas.engineering))
    )
    company_root = acme_org("Acme")
    assert people_rows(people_not_met_read(program=program, as_of=None, organization=company_root, first=2)) == (
        people_rows(people_not_met(program=program, day=day, organization=company_root)[:2])
    )
    assert PersonProgress.objects.filter(program=program).count() == 7  # the eligible people, Gone Already not
    assert people_rows(people_status_read(program=program, as_of=None, organizations=None))[0][0] == "Alice Admin"


def acme_org(path: str) -> Organization:
    return Organization.objects.get(path=path)


def people_rows(people) -> list[tuple]:
    return [
        (
            p.full_name,
            p.email,
            p.organization.path if p.organization else None,
            p.counted_courses,
            bool(p.has_met),
            p.last_activity_at,
        )
        for p in people
    ]


def test_a_fresh_read_runs_no_engine(personas, kept, monkeypatch):
    def engine_run(**kwargs):
        raise AssertionError("the engine ran on a fresh read")

    monkeypatch.setattr(kept_module, "progress_counts", engine_run)
    monkeypatch.setattr(kept_module, "people_status", engine_run)
    monkeypatch.setattr(kept_module, "people_not_met", engine_run)
    champion = personas.client_for(personas.champion)
    for url in ["/", "/reports/", f"/reports/org/{personas.engineering.pk}/", "/reports/all-hands/"]:
        assert champion.get(url).status_code == 200, url
    assert champion.get(f"/champions/not-yet/{personas.engineering.pk}/").status_code == 200
    assert champion.get("/reports/export/people.csv").status_code == 200
    assert company(personas) == "Company: 2 of 5"


def test_a_read_after_a_change_computes_and_keeps_the_new_numbers(personas, kept):
    EnrollmentFactory(
        employee=personas.sponsor, course=CourseFactory(), is_completed=True, completed_at=at("2026-06-01")
    )
    assert company(personas) == "Company: 2 of 5"  # not told: still the kept figures

    progress_change_record()  # what progress_changed does as the write commits

    assert company(personas) == "Company: 3 of 5"
    assert not_yet(personas) == ["Chris Champion"]
    assert kept_state(personas.program) == {KeptKind.COUNTS: change_count(), KeptKind.PEOPLE: change_count()}


def test_an_explicit_day_is_the_engines_and_keeps_nothing(personas, acme):
    body = personas.client_for(personas.employee).get("/reports/", {"as_of": "2026-03-15"}).content.decode()
    assert section(body, "headline-title").startswith("Company: 1 of 5 people have met the goal")
    assert not KeptFigures.objects.exists()


def test_a_new_day_is_computed_again(personas, kept, monkeypatch):
    tomorrow = company_today() + dt.timedelta(days=1)
    program = personas.program
    LearningProgram.objects.filter(pk=program.pk).update(ends_on=tomorrow + dt.timedelta(days=30))
    EmployeeFactory(full_name="Starts Tomorrow", organization=personas.sales, hired_on=tomorrow)
    assert company(personas) == "Company: 2 of 5"

    monkeypatch.setattr(progress_module, "company_today", lambda: tomorrow)

    assert company(personas) == "Company: 2 of 6"
    assert kept_state(program) == {KeptKind.COUNTS: change_count()}
    assert KeptFigures.objects.get(program=program, kind=KeptKind.COUNTS).day == tomorrow


def test_a_program_that_has_not_started_is_counted_by_the_engine(personas):
    program = ProgramFactory(
        name="Next year", starts_on=company_today() + dt.timedelta(days=10), ends_on=dt.date(2099, 1, 1)
    )
    assert progress_read(program=program) == program_progress(program=program)
    assert counts_keep(program=program) is None
    assert not ProgressSnapshot.objects.filter(program=program).exists()


def test_keeping_again_when_fresh_writes_nothing(personas, kept, django_assert_num_queries):
    with django_assert_num_queries(2 * 5):  # savepoint, the kept row and its lock, freshness, release; twice
        figures_keep(program=personas.program)
    assert people_keep(program=personas.program) == 0


# --- Every kind of change shows on the next read ----------------------------------------------


def test_a_sync(personas, kept, changes):
    with changes():
        sync_run(
            connection=ConnectionFactory(),
            adapter=PagesAdapter(
                [rec(personas.sponsor.email, "PY2", is_completed=True, completed_at=at("2026-06-01"))]
            ),
        )
    assert company(personas) == "Company: 3 of 5"
    assert not_yet(personas) == ["Chris Champion"]


def test_a_roster_import_of_a_new_person(personas, kept, changes):
    roster = HEADER + "erin@acme.example,Erin Engineer,E9,Acme/Engineering,,,2020-01-01,\n"
    with changes():
        result = roster_import(file=io.BytesIO(roster.encode()))
    assert result.created == 1
    assert company(personas) == "Company: 2 of 6"
    assert organization(personas, personas.engineering) == "Engineering: 1 of 4"
    assert not_yet(personas) == ["Sam Sponsor", "Chris Champion", "Erin Engineer"]


def test_the_apis_roster_push(personas, kept, changes):
    row = {"email": "erin@acme.example", "full_name": "Erin Engineer", "organization": "Acme/Sales"}
    with changes():
        response = personas.client_for(personas.admin).post(
            "/api/v1/employees/bulk/", {"rows": [row], "dry_run": False}, content_type="application/json"
        )
    assert response.status_code == 200, response.content
    assert organization(personas, personas.sales) == "Sales: 1 of 2"


def test_a_departure_recorded_by_the_roster(personas, kept, changes):
    today = company_today().isoformat()
    roster = HEADER + f"sam@acme.example,Sam Sponsor,,Acme/Engineering,,,2020-01-01,{today}\n"
    with changes():
        roster_import(file=io.BytesIO(roster.encode()))
    assert company(personas) == "Company: 2 of 4"
    assert not_yet(personas) == ["Chris Champion"]


def test_everyone_missing_from_the_roster_departs(personas, kept, changes):
    roster = HEADER + "bob@acme.example,Bob Builder,,Acme/Engineering,,,2020-01-01,\n"
    with changes():
        roster_import(file=io.BytesIO(roster.encode()), mark_missing_departed=True)
    assert company(personas) == "Company: 1 of 1"


def test_a_departure_and_a_move_in_the_django_admin(personas, kept, changes):
    admin = personas.client_for(personas.admin)
    url = reverse("admin:programs_employee_change", args=[personas.sponsor.pk])
    with changes():
        response = admin.post(url, change_form(personas.sponsor, departed_on=company_today().isoformat()))
    assert response.status_code == 302
    assert company(personas) == "Company: 2 of 4"

    url = reverse("admin:programs_employee_change", args=[personas.employee.pk])
    with changes():
        admin.post(url, change_form(personas.employee, organization=personas.sales.pk))
    assert organization(personas, personas.sales) == "Sales: 2 of 2"
    assert not_yet(personas) == ["Chris Champion"]


def test_a_person_deleted_or_added_in_the_django_admin(personas, kept, changes):
    admin = personas.client_for(personas.admin)
    with changes():
        admin.post(reverse("admin:programs_employee_delete", args=[personas.outsider.pk]), {"post": "yes"})
    assert company(personas) == "Company: 1 of 4"
    with changes():
        admin.post(
            reverse("admin:programs_employee_add"),
            {"email": "erin@acme.example", "full_name": "Erin", "organization": personas.sales.pk},
        )
    assert company(personas) == "Company: 1 of 5"


def test_a_superuser_created_by_the_command(personas, kept, changes, monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Root-Password-2026")
    with changes():
        call_command("createsuperuser", "--noinput", "--email", "root@acme.example", stdout=io.StringIO())
    assert company(personas) == "Company: 2 of 6"


def test_an_exclusion_in_the_django_admin(personas, kept, changes):
    admin = personas.client_for(personas.admin)
    with changes():
        response = admin.post(
            reverse("admin:programs_programexclusion_add"),
            {"program": personas.program.pk, "employee": personas.outsider.pk, "reason": "Long leave"},
        )
    assert response.status_code == 302
    assert company(personas) == "Company: 1 of 4"

    with changes():
        admin.post(
            reverse("admin:programs_programexclusion_delete", args=[personas.program.exclusions.get().pk]),
            {"post": "yes"},
        )
    assert company(personas) == "Company: 2 of 5"


def test_the_completions_required(personas, kept, changes):
    with changes():
        program_update(program=personas.program, changed_by=personas.admin, required_completions=2)
    assert company(personas) == "Company: 0 of 5"
    assert not_yet(personas) == ["Sam Sponsor", "Chris Champion", "Bob Builder"]


def test_the_window_in_the_django_admin(personas, kept, changes):
    program = personas.program
    with changes():
        response = personas.client_for(personas.admin).post(
            reverse("admin:programs_learningprogram_change", args=[program.pk]),
            admin_program_form(program, starts_on="2026-03-15"),
        )
    assert response.status_code == 302
    assert company(personas) == "Company: 1 of 5"  # Bob's completion of 1 March is before the start


def test_a_collection_course_added_and_removed(personas, acme, kept, changes):
    assert curated(personas).startswith("Curated share 50% (1 of 2 completions)")
    with changes():
        item = collection_course_add(collection=acme.collection, course=acme.negotiation)
    assert curated(personas).startswith("Curated share 100% (2 of 2 completions)")
    with changes():
        collection_course_remove(collection=acme.collection, item_id=item.pk)
    assert curated(personas).startswith("Curated share 50% (1 of 2 completions)")


def test_a_collections_import(personas, acme, kept, changes):
    content = (
        "collection,organization,provider,course_id,course_title,position\n"
        f"Sales craft,Acme/Sales,coursera,{acme.negotiation.provider_course_id},Negotiation,1\n"
    )
    with changes():
        result = collections_import(program=personas.program, content=content)
    assert result.items_added == 1
    assert curated(personas).startswith("Curated share 100% (2 of 2 completions)")


def test_a_collection_deleted_in_the_django_admin(personas, acme, kept, changes):
    with changes():
        personas.client_for(personas.admin).post(
            reverse("admin:programs_collection_delete", args=[acme.collection.pk]), {"post": "yes"}
        )
    assert curated(personas).startswith("Curated share 0% (0 of 2 completions)")


def test_an_organization_created(personas, kept, changes):
    with changes():
        organization_create(name="Marketing", parent=acme_org("Acme"))
    body = personas.client_for(personas.employee).get("/reports/").content.decode()
    assert "Marketing" in " ".join(table_rows(body, "leaderboard"))


def test_an_unmatched_record_matched_after_a_roster_import(personas, kept, changes):
    with changes():
        sync_run(
            connection=ConnectionFactory(),
            adapter=PagesAdapter([rec("erin@acme.example", "PY3", is_completed=True, completed_at=at("2026-06-01"))]),
        )
    assert UnmatchedRecord.objects.count() == 1
    assert company(personas) == "Company: 2 of 5"

    roster = HEADER + "erin@acme.example,Erin Engineer,E9,Acme/Engineering,,,2020-01-01,\n"
    with changes():
        roster_import(file=io.BytesIO(roster.encode()))

    assert UnmatchedRecord.objects.count() == 0
    assert company(personas) == "Company: 3 of 6"


def test_an_enrollment_deleted_in_the_django_admin(personas, acme, kept, changes):
    with changes():
        personas.client_for(personas.admin).post(
            reverse("admin:programs_enrollment_delete", args=[acme.bob_done.pk]), {"post": "yes"}
        )
    assert company(personas) == "Company: 1 of 5"
    assert not_yet(personas) == ["Sam Sponsor", "Chris Champion", "Bob Builder"]


def test_todays_snapshot_deleted_in_the_django_admin(personas, kept, changes):
    rows = ProgressSnapshot.objects.filter(program=personas.program, day=progress_day(program=personas.program))
    with changes():
        personas.client_for(personas.admin).post(
            reverse("admin:reports_progresssnapshot_changelist"),
            {
                "action": "delete_selected",
                "_selected_action": [rows.get(organization=personas.sales).pk],
                "post": "yes",
            },
        )
    assert organization(personas, personas.sales) == "Sales: 1 of 1"
    assert rows.filter(organization=personas.sales).exists()  # kept again


def test_an_appointment(personas, kept, changes):
    with changes():
        appointment_create(
            program=personas.program, role="sponsor", organization=personas.sales, email="charlie@acme.example"
        )
    body = personas.client_for(personas.employee).get("/reports/").content.decode()
    executives = section(body, "executives-title")
    assert "1 of 2 executive sponsors met the goal" in executives
    assert "Charlie Sales · Acme/Sales met" in executives

    champion = LearningChampion.objects.get(program=personas.program, employee=personas.champion)
    with changes():
        appointment_remove(program=personas.program, role="champion", appointment_id=champion.pk)
    body = personas.client_for(personas.employee).get("/reports/").content.decode()
    assert "Chris Champion" not in " ".join(table_rows(body, "leaderboard"))


def test_a_snapshot_history_rebuilt(personas, kept, changes):
    assert f"Projection at the end {DASH}" in section(
        personas.client_for(personas.employee).get("/reports/").content.decode(), "headline-title"
    )
    with changes():
        call_command("backfill_snapshots", stdout=io.StringIO())
    headline = section(personas.client_for(personas.employee).get("/reports/").content.decode(), "headline-title")
    assert f"Projection at the end {DASH}" not in headline


# --- Keeps at once ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_keeps_at_once_leave_one_set_of_rows(personas):
    program = personas.program
    EnrollmentFactory(
        employee=personas.employee, course=CourseFactory(), is_completed=True, completed_at=at("2026-03-01")
    )
    errors: list[BaseException] = []

    def keep() -> None:
        try:
            figures_keep(program=program)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=keep) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    day = progress_day(program=program)
    assert ProgressSnapshot.objects.filter(program=program, day=day).count() == 1 + Organization.objects.count()
    assert PersonProgress.objects.filter(program=program).count() == Employee.objects.count()
    assert progress_read(program=program) == program_progress(program=program)


# --- The kept pages cost a few queries whatever the size ---------------------------------------

# As the pinned pages of tests/test_dashboards.py, today (no ?as_of) from the kept figures:
# the kept counts replace the engine's organizations and aggregate (one query for two); the
# champion's page checks that the kept people are fresh before its list. The company
# dashboard first names the state of the kept figures (one query), renders its body and
# keeps it in the cache: read again, the page is the session, user, programs, that name and
# the navigation ("company-again").
KEPT_QUERIES = {
    "company": 13,
    "company-again": 7,
    "org-employee": 20,
    "org-champion": 22,
    "all-hands": 15,
    "deck": 15,
}


@pytest.mark.parametrize("size", [1, 10])
@pytest.mark.parametrize("page", sorted(KEPT_QUERIES))
def test_kept_pages_cost_the_same_queries_at_any_size(personas, django_assert_num_queries, size, page):
    from tests.test_dashboards import grow

    grow(personas, size)
    figures_keep(program=personas.program)
    who = personas.champion if page == "org-champion" else personas.employee
    client = personas.client_for(who)
    if page == "company-again":
        client.get("/reports/")
    url = {
        "company": "/reports/",
        "company-again": "/reports/",
        "org-employee": f"/reports/org/{personas.engineering.pk}/",
        "org-champion": f"/reports/org/{personas.engineering.pk}/",
        "all-hands": "/reports/all-hands/",
        "deck": "/reports/all-hands/deck/",
    }[page]
    with django_assert_num_queries(KEPT_QUERIES[page]):
        response = client.get(url)
    assert response.status_code == 200
