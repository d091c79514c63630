import pytest

from learnhub import roles
from tests.factories import EmployeeFactory, ProgramFactory, SponsorFactory, org

pytestmark = pytest.mark.django_db


def test_ld_admin_is_the_permission_holder(personas):
    assert roles.is_ld_admin(personas.admin) is True
    assert roles.is_ld_admin(personas.employee) is False
    assert personas.admin.is_staff is True


def test_sponsor_covers_teams_below_but_not_other_orgs(personas):
    platform = org("Acme/Engineering/Platform")
    assert roles.is_sponsor_of(personas.sponsor, personas.program, personas.engineering) is True
    assert roles.is_sponsor_of(personas.sponsor, personas.program, platform) is True
    assert roles.is_sponsor_of(personas.sponsor, personas.program, personas.sales) is False
    assert roles.is_sponsor_of(personas.sponsor, personas.program, org("Acme")) is False


def test_appointment_is_per_program(personas):
    next_year = ProgramFactory(name="Learning Program 2027")
    assert roles.is_champion_of(personas.champion, personas.program, personas.engineering) is True
    assert roles.is_champion_of(personas.champion, next_year, personas.engineering) is False


def test_unconfirmed_appointment_grants_nothing(personas):
    proposed = EmployeeFactory(organization=personas.sales)
    SponsorFactory(program=personas.program, organization=personas.sales, employee=proposed, is_confirmed=False)
    assert roles.is_sponsor_of(proposed, personas.program, personas.sales) is False


def test_who_sees_a_person(personas):
    p = personas
    assert roles.can_view_person(p.employee, p.employee, p.program) is True
    assert roles.can_view_person(p.champion, p.employee, p.program) is True
    assert roles.can_view_person(p.sponsor, p.employee, p.program) is True
    assert roles.can_view_person(p.admin, p.employee, p.program) is True
    assert roles.can_view_person(p.outsider, p.employee, p.program) is False
    assert roles.can_view_person(p.champion, p.outsider, p.program) is False


def test_roles_for_lists_each_role(personas):
    r = roles.roles_for(personas.sponsor, personas.program)
    assert (r.is_ld_admin, r.is_sponsor, r.is_champion) == (False, True, False)
    assert [o.path for o in r.sponsor_of] == ["Acme/Engineering"]
