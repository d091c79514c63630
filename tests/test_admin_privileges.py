"""Rights are not an L&D admin's to hand out: in the Django admin, a staff L&D admin who is
not a superuser sees superuser, staff, group and permission fields read-only, cannot set
anyone's password, cannot change a superuser's account and can only look at groups. Every
refused request leaves the rows as they were. A superuser keeps the whole admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from learnhub.roles import LD_ADMIN_GROUP, ld_admin_group
from programs.models import Employee
from tests.factories import EmployeeFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-new-passphrase-77"


def url(name: str, *args: object) -> str:
    return reverse(f"admin:{name}", args=args)


def privileges(person: Employee) -> tuple:
    person = Employee.objects.get(pk=person.pk)
    return (
        person.is_staff,
        person.is_superuser,
        sorted(person.groups.values_list("name", flat=True)),
        sorted(person.user_permissions.values_list("codename", flat=True)),
        person.password,
        person.email,
    )


def change_form(person: Employee, **changes: object) -> dict[str, object]:
    """What the admin's change form posts: the person's editable fields, plus `changes`
    (a change to None leaves the field out, as an unticked checkbox is)."""
    data: dict[str, object] = {
        "email": person.email,
        "full_name": person.full_name,
        "title": person.title,
        "external_id": person.external_id,
        "organization": person.organization_id or "",
        "manager": "",
        "hired_on": person.hired_on.isoformat() if person.hired_on else "",
        "departed_on": "",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "09:00:00",
        "program_exclusions-TOTAL_FORMS": "0",
        "program_exclusions-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


@pytest.fixture
def escalation(personas):
    """What an L&D admin would like to grant: superuser, staff, a powerful group, a permission."""
    powerful = Group.objects.create(name="Everything")
    powerful.permissions.set(Permission.objects.all())
    root = EmployeeFactory(email="root@acme.example", full_name="Root", is_staff=True, is_superuser=True)
    return {
        "is_superuser": "on",
        "is_staff": "on",
        "groups": [powerful.pk],
        "user_permissions": [Permission.objects.get(codename="delete_group").pk],
        "powerful": powerful,
        "root": root,
    }


def grants(escalation: dict) -> dict[str, object]:
    return {k: escalation[k] for k in ("is_superuser", "is_staff", "groups", "user_permissions")}


@pytest.mark.parametrize("target", ["admin", "employee"])
def test_an_ld_admin_cannot_grant_rights_to_anyone(personas, escalation, target):
    person = getattr(personas, target)
    client = personas.client_for(personas.admin)
    before = privileges(person)

    page = client.get(url("programs_employee_change", person.pk)).content.decode()
    response = client.post(url("programs_employee_change", person.pk), change_form(person, **grants(escalation)))

    for field in ("is_superuser", "is_staff", "groups", "user_permissions"):
        assert f'name="{field}"' not in page  # shown read-only
    assert 'href="../password/"' not in page
    assert response.status_code == 302  # the other fields saved; the grants were not editable
    assert privileges(person) == before


def test_a_privileged_accounts_e_mail_is_read_only_to_an_ld_admin(personas):
    colleague = EmployeeFactory(email="lee@acme.example", full_name="Lee Admin")
    ld_admin_group().user_set.add(colleague)
    Employee.objects.filter(pk=colleague.pk).update(is_staff=True)
    colleague.refresh_from_db()
    client = personas.client_for(personas.admin)
    before = privileges(colleague)

    response = client.post(
        url("programs_employee_change", colleague.pk), change_form(colleague, email="attacker@evil.example")
    )

    assert response.status_code == 302
    assert privileges(colleague) == before  # e-mail unchanged: a reset link cannot be redirected


def test_an_ld_admin_cannot_change_a_superuser(personas, escalation):
    root = escalation["root"]
    client = personas.client_for(personas.admin)
    before = privileges(root)

    page = client.get(url("programs_employee_change", root.pk))
    post = client.post(url("programs_employee_change", root.pk), change_form(root, email="mine@acme.example"))
    delete = client.post(url("programs_employee_delete", root.pk), {"post": "yes"})

    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()  # view only
    assert (post.status_code, delete.status_code) == (403, 403)
    assert privileges(root) == before


@pytest.mark.parametrize("target", ["admin", "employee", "root"])
def test_only_a_superuser_sets_passwords_in_the_admin(personas, escalation, target):
    person = escalation["root"] if target == "root" else getattr(personas, target)
    client = personas.client_for(personas.admin)
    before = privileges(person)

    get = client.get(f"/admin/programs/employee/{person.pk}/password/")
    post = client.post(
        f"/admin/programs/employee/{person.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true", "set-password": "1"},
    )

    assert (get.status_code, post.status_code) == (403, 403)
    assert privileges(person) == before


def test_an_ld_admin_adds_roster_people_without_a_password(personas):
    client = personas.client_for(personas.admin)
    add = client.get(url("programs_employee_add")).content.decode()

    response = client.post(
        url("programs_employee_add"),
        {
            "email": "pat@acme.example",
            "full_name": "Pat New",
            "organization": personas.engineering.pk,
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "is_superuser": "on",
            "is_staff": "on",
        },
    )

    assert 'name="password1"' not in add and 'name="is_superuser"' not in add
    assert response.status_code == 302
    pat = Employee.objects.get(email="pat@acme.example")
    assert (pat.full_name, pat.has_usable_password(), pat.is_staff, pat.is_superuser) == (
        "Pat New",
        False,
        False,
        False,
    )


def test_groups_are_read_only_to_an_ld_admin(personas, escalation):
    client = personas.client_for(personas.admin)
    group = Group.objects.get(name=LD_ADMIN_GROUP)
    rights_before = sorted(group.permissions.values_list("codename", flat=True))
    groups_before = sorted(Group.objects.values_list("name", flat=True))

    statuses = {
        "changelist": client.get(url("auth_group_changelist")).status_code,
        "view": client.get(url("auth_group_change", group.pk)).status_code,
        "history": client.get(url("auth_group_history", group.pk)).status_code,
        "add page": client.get(url("auth_group_add")).status_code,
        "add": client.post(
            url("auth_group_add"), {"name": "Mine", "permissions": [p.pk for p in Permission.objects.all()]}
        ).status_code,
        "change": client.post(
            url("auth_group_change", group.pk),
            {"name": LD_ADMIN_GROUP, "permissions": [p.pk for p in Permission.objects.all()]},
        ).status_code,
        "delete": client.post(url("auth_group_delete", escalation["powerful"].pk), {"post": "yes"}).status_code,
    }

    assert statuses == {
        "changelist": 200,
        "view": 200,
        "history": 200,
        "add page": 403,
        "add": 403,
        "change": 403,
        "delete": 403,
    }
    assert sorted(group.permissions.values_list("codename", flat=True)) == rights_before
    assert sorted(Group.objects.values_list("name", flat=True)) == groups_before


def test_every_admin_page_for_people_and_groups_as_an_ld_admin(personas, escalation):
    """The walk: each user and group page of the admin, with the status an L&D admin gets."""
    client = personas.client_for(personas.admin)
    root, group = escalation["root"], escalation["powerful"]
    pages = {
        "employee changelist": url("programs_employee_changelist"),
        "employee add": url("programs_employee_add"),
        "employee change (self)": url("programs_employee_change", personas.admin.pk),
        "employee change (other)": url("programs_employee_change", personas.employee.pk),
        "employee change (superuser)": url("programs_employee_change", root.pk),
        "employee history": url("programs_employee_history", personas.employee.pk),
        "employee delete (other)": url("programs_employee_delete", personas.employee.pk),
        "employee delete (superuser)": url("programs_employee_delete", root.pk),
        "employee password (self)": f"/admin/programs/employee/{personas.admin.pk}/password/",
        "employee password (other)": f"/admin/programs/employee/{personas.employee.pk}/password/",
        "group changelist": url("auth_group_changelist"),
        "group add": url("auth_group_add"),
        "group change": url("auth_group_change", group.pk),
        "group history": url("auth_group_history", group.pk),
        "group delete": url("auth_group_delete", group.pk),
    }
    statuses = {name: client.get(address).status_code for name, address in pages.items()}
    assert statuses == {
        "employee changelist": 200,
        "employee add": 200,
        "employee change (self)": 200,
        "employee change (other)": 200,
        "employee change (superuser)": 200,  # read-only view
        "employee history": 200,
        "employee delete (other)": 200,
        "employee delete (superuser)": 403,
        "employee password (self)": 403,
        "employee password (other)": 403,
        "group changelist": 200,
        "group add": 403,
        "group change": 200,  # read-only view
        "group history": 200,
        "group delete": 403,
    }


def test_a_superuser_still_grants_rights_and_sets_passwords(personas, escalation):
    root = escalation["root"]
    client = personas.client_for(root)
    person = personas.employee

    change = client.post(url("programs_employee_change", person.pk), change_form(person, **grants(escalation)))
    password = client.post(
        f"/admin/programs/employee/{person.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true", "set-password": "1"},
    )

    assert (change.status_code, password.status_code) == (302, 302)
    person = Employee.objects.get(pk=person.pk)
    assert (person.is_superuser, person.is_staff, list(person.groups.values_list("name", flat=True))) == (
        True,
        True,
        ["Everything"],
    )
    assert person.check_password(NEW_PASSWORD)
