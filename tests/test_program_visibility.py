"""Draft programs (next year's clone, a program being set up) are shown to L&D admins only:
the Progress and All-Hands pickers, the API and the collections import offer everyone else
the active and closed programs, and the default program is the active one."""

from __future__ import annotations

import datetime as dt

import pytest

from learnhub.roles import current_program, programs_visible
from programs.models import ProgramStatus
from tests.factories import ProgramFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def programs(personas):
    """Last year's closed program, this year's active one (personas.program) and next
    year's draft clone, which starts last and so would come first in a picker."""
    closed = ProgramFactory(
        name="Learning Program 2025",
        starts_on=dt.date(2025, 1, 1),
        ends_on=dt.date(2025, 12, 31),
        status=ProgramStatus.CLOSED,
    )
    draft = ProgramFactory(
        name="Learning Program 2027",
        starts_on=dt.date(2027, 1, 1),
        ends_on=dt.date(2027, 12, 31),
        status=ProgramStatus.DRAFT,
    )
    return closed, personas.program, draft


def test_only_l_and_d_admins_see_draft_programs(personas, programs):
    closed, active, draft = programs

    assert list(programs_visible(personas.admin)) == [draft, active, closed]
    for who in (personas.sponsor, personas.champion, personas.employee, personas.outsider):
        assert list(programs_visible(who)) == [active, closed]


def test_the_default_program_is_the_active_one_for_everyone(personas, programs):
    _, active, _ = programs

    assert current_program(personas.admin) == active
    assert current_program(personas.employee) == active
    assert current_program() == active


def test_with_only_a_draft_employees_have_no_program_and_admins_see_it(personas):
    personas.program.status = ProgramStatus.DRAFT
    personas.program.save(update_fields=["status"])

    assert current_program(personas.employee) is None
    assert current_program() is None
    assert current_program(personas.admin) == personas.program


@pytest.mark.parametrize("path", ["/reports/", "/reports/all-hands/"])
def test_the_progress_and_all_hands_pickers_offer_drafts_to_admins_only(personas, programs, path):
    closed, active, draft = programs

    employee_page = personas.client_for(personas.employee).get(path).content.decode()
    admin_page = personas.client_for(personas.admin).get(path).content.decode()

    assert f'<option value="{active.pk}" selected>{active.name}</option>' in employee_page
    assert f'<option value="{closed.pk}">{closed.name}</option>' in employee_page
    assert draft.name not in employee_page
    assert f'<option value="{active.pk}" selected>{active.name}</option>' in admin_page
    assert f'<option value="{draft.pk}">{draft.name}</option>' in admin_page


def test_asking_for_a_draft_on_a_report_page_shows_the_active_program_instead(personas, programs):
    _, active, draft = programs

    page = personas.client_for(personas.employee).get(f"/reports/?program={draft.pk}").content.decode()

    assert f"There is no program “{draft.pk}”." in page
    assert f'<option value="{active.pk}" selected>{active.name}</option>' in page


def test_the_api_lists_and_opens_drafts_for_admins_only(personas, programs):
    closed, active, draft = programs
    employee = personas.client_for(personas.employee)
    admin = personas.client_for(personas.admin)

    listed = employee.get("/api/v1/programs/").json()["results"]
    refused = employee.get(f"/api/v1/programs/{draft.pk}/")
    progress_refused = employee.get(f"/api/v1/programs/{draft.pk}/progress/")
    collections_refused = employee.get(f"/api/v1/collections/?program={draft.pk}")

    assert [p["id"] for p in listed] == [active.pk, closed.pk]
    assert refused.status_code == 404
    assert progress_refused.status_code == 404
    assert collections_refused.status_code == 404
    assert collections_refused.json()["errors"] == [
        {"field": "program", "message": f"There is no learning program with id {draft.pk}."}
    ]
    assert [p["id"] for p in admin.get("/api/v1/programs/").json()["results"]] == [draft.pk, active.pk, closed.pk]
    assert admin.get(f"/api/v1/programs/{draft.pk}/").status_code == 200
    assert admin.get(f"/api/v1/collections/?program={draft.pk}").status_code == 200


def test_the_collections_import_offers_every_program_and_defaults_to_the_active_one(personas, programs):
    closed, active, draft = programs

    page = personas.client_for(personas.admin).get("/collections/import/").content.decode()

    assert f'<option value="{active.pk}" selected>{active.name}</option>' in page
    assert f'<option value="{draft.pk}">{draft.name}</option>' in page
    assert f'<option value="{closed.pk}">{closed.name}</option>' in page
