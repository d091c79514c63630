"""Appointing sponsors and champions on /manage/: by e-mail, once per role, organization
and program, and the organizations still missing one."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from champions.models import ExecutiveSponsor, LearningChampion
from champions.selectors import organizations_without_appointments
from learnhub.roles import is_champion_of, is_sponsor_of
from tests.factories import ChampionFactory, EmployeeFactory, org

pytestmark = pytest.mark.django_db


def appoint(personas, **data):
    return personas.client_for(personas.admin).post(reverse("manage:appointments", args=[personas.program.pk]), data)


def gaps(program) -> list[tuple[str, bool, bool]]:
    return [
        (g.organization.path, g.has_sponsor, g.has_champion)
        for g in organizations_without_appointments(program=program)
    ]


def test_an_admin_appoints_a_champion_by_e_mail_ignoring_case(personas):
    response = appoint(personas, role="champion", organization=personas.sales.pk, email=" Charlie@ACME.example ")
    assert response.status_code == 302
    champion = LearningChampion.objects.get(program=personas.program, organization=personas.sales)
    assert (champion.employee, champion.is_confirmed) == (personas.outsider, True)
    assert is_champion_of(personas.outsider, personas.program, personas.sales)


def test_appointing_the_same_person_twice_is_refused_with_a_clear_message(personas):
    before = ExecutiveSponsor.objects.count()
    response = appoint(personas, role="sponsor", organization=personas.engineering.pk, email="sam@acme.example")
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == [
        "Sam Sponsor is already executive sponsor of Acme/Engineering in Learning Program 2026."
    ]
    assert 'value="sam@acme.example"' in response.content.decode()
    assert ExecutiveSponsor.objects.count() == before


def test_appointing_someone_already_proposed_points_to_the_confirm_button(personas):
    ChampionFactory(
        program=personas.program, organization=personas.sales, employee=personas.outsider, is_confirmed=False
    )
    response = appoint(personas, role="champion", organization=personas.sales.pk, email="charlie@acme.example")
    assert response.context["form"].errors["email"] == [
        "Charlie Sales is already proposed as learning champion of Acme/Sales in Learning Program 2026. "
        "Confirm the proposal in the list below."
    ]
    assert LearningChampion.objects.filter(organization=personas.sales).count() == 1


def test_an_unknown_or_departed_person_cannot_be_appointed(personas):
    before = LearningChampion.objects.count()
    unknown = appoint(personas, role="champion", organization=personas.sales.pk, email="nobody@acme.example")
    assert unknown.context["form"].errors["email"] == [
        "Nobody on the roster has the e-mail address 'nobody@acme.example'."
    ]
    assert 'value="nobody@acme.example"' in unknown.content.decode()
    EmployeeFactory(email="gone@acme.example", full_name="Gone Person", departed_on=dt.date(2026, 3, 1))
    departed = appoint(personas, role="champion", organization=personas.sales.pk, email="gone@acme.example")
    assert departed.context["form"].errors["email"] == ["Gone Person left on 2026-03-01."]
    missing_org = appoint(personas, role="champion", organization="", email="charlie@acme.example")
    assert missing_org.context["form"].errors["organization"] == ["This field is required."]
    assert LearningChampion.objects.count() == before


def test_organizations_without_a_sponsor_or_champion_are_listed(personas):
    org("Acme/Marketing")
    org("Acme/Engineering/Platform")  # a team: covered by its organization's appointments
    assert gaps(personas.program) == [("Acme/Marketing", False, False), ("Acme/Sales", False, False)]

    appoint(personas, role="sponsor", organization=personas.sales.pk, email="charlie@acme.example")
    assert gaps(personas.program) == [("Acme/Marketing", False, False), ("Acme/Sales", True, False)]

    # A proposal does not count; a company-wide champion covers every organization.
    ChampionFactory(
        program=personas.program, organization=personas.sales, employee=personas.employee, is_confirmed=False
    )
    assert gaps(personas.program) == [("Acme/Marketing", False, False), ("Acme/Sales", True, False)]
    ChampionFactory(program=personas.program, organization=org("Acme"), employee=personas.admin)
    assert gaps(personas.program) == [("Acme/Marketing", False, True)]

    page = personas.client_for(personas.admin).get(reverse("manage:appointments", args=[personas.program.pk]))
    assert [g.organization.path for g in page.context["gaps"]] == ["Acme/Marketing"]


def test_removing_an_appointment_takes_the_role_away(personas):
    sponsor = ExecutiveSponsor.objects.get(program=personas.program, employee=personas.sponsor)
    response = personas.client_for(personas.admin).post(
        reverse("manage:appointment_remove", args=[personas.program.pk, "sponsor", sponsor.pk]), follow=True
    )
    assert "Appointment removed." in response.content.decode()
    assert not ExecutiveSponsor.objects.filter(pk=sponsor.pk).exists()
    assert not is_sponsor_of(personas.sponsor, personas.program, personas.engineering)


def test_an_unknown_role_is_not_found_and_changes_nothing(personas):
    champion = LearningChampion.objects.get(program=personas.program)
    response = personas.client_for(personas.admin).post(
        reverse("manage:appointment_remove", args=[personas.program.pk, "wizard", champion.pk])
    )
    assert response.status_code == 404
    assert LearningChampion.objects.filter(pk=champion.pk).exists()


def test_the_people_search_finds_e_mails_by_name(personas):
    page = personas.client_for(personas.admin).get(
        reverse("manage:appointments", args=[personas.program.pk]), {"q": "charlie"}
    )
    assert [p.email for p in page.context["people"]] == ["charlie@acme.example"]
    assert "email=charlie%40acme.example" in page.content.decode()
    prefilled = personas.client_for(personas.admin).get(
        reverse("manage:appointments", args=[personas.program.pk]), {"email": "charlie@acme.example"}
    )
    assert 'value="charlie@acme.example"' in prefilled.content.decode()


def test_the_appointments_shortcut_opens_the_current_program_for_admins_only(personas):
    url = reverse("manage:appointments_current")
    response = personas.client_for(personas.admin).get(url)
    assert response["Location"] == reverse("manage:appointments", args=[personas.program.pk])
    assert personas.client_for(personas.champion).get(url).status_code == 403
