"""`manage.py grant_ld_admin EMAIL [--revoke]`: appoint or remove an L&D admin from the shell."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command

from learnhub.roles import LD_ADMIN_GROUP, is_ld_admin
from programs.models import Employee

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command("grant_ld_admin", *args, stdout=out)
    return out.getvalue()


def fresh(employee: Employee) -> Employee:
    return Employee.objects.get(pk=employee.pk)  # has_perm caches on the instance


def test_grant_makes_an_employee_an_ld_admin(personas):
    assert is_ld_admin(personas.employee) is False

    output = run("Bob@ACME.example")

    bob = fresh(personas.employee)
    assert output == "bob@acme.example is an L&D admin.\n"
    assert is_ld_admin(bob) is True
    assert bob.is_staff is True
    assert list(bob.groups.values_list("name", flat=True)) == [LD_ADMIN_GROUP]


def test_grant_twice_changes_nothing_more(personas):
    run("bob@acme.example")
    run("bob@acme.example")

    bob = fresh(personas.employee)
    assert is_ld_admin(bob) is True
    assert bob.groups.count() == 1


def test_revoke_removes_the_role_and_staff_status(personas):
    output = run("alice@acme.example", "--revoke")

    alice = fresh(personas.admin)
    assert output == "alice@acme.example is not an L&D admin.\n"
    assert is_ld_admin(alice) is False
    assert alice.is_staff is False
    assert alice.groups.count() == 0


def test_revoke_leaves_other_admins_alone(personas):
    run("bob@acme.example")

    run("bob@acme.example", "--revoke")

    assert is_ld_admin(fresh(personas.employee)) is False
    assert is_ld_admin(fresh(personas.admin)) is True


def test_revoke_takes_away_a_directly_given_permission(personas):
    bob = personas.employee
    bob.user_permissions.add(Permission.objects.get(codename="administer_learning"))
    assert is_ld_admin(fresh(bob)) is True

    run("bob@acme.example", "--revoke")

    assert is_ld_admin(fresh(bob)) is False


def test_revoke_says_a_superuser_keeps_every_permission(personas):
    root = Employee.objects.create_superuser("root@acme.example", "Root-Password-2026")

    output = run("root@acme.example", "--revoke")

    assert output == "root@acme.example is an L&D admin (a superuser holds every permission).\n"
    root = fresh(root)
    assert root.is_staff is True
    assert is_ld_admin(root) is True


def test_unknown_email_is_a_command_error_and_changes_nothing(personas):
    admins_before = list(Employee.objects.filter(groups__name=LD_ADMIN_GROUP).values_list("email", flat=True))

    with pytest.raises(CommandError) as refused:
        run("nobody@acme.example")

    assert str(refused.value) == "No employee with the e-mail address 'nobody@acme.example' is on the roster."

    assert not Employee.objects.filter(email="nobody@acme.example").exists()
    assert list(Employee.objects.filter(groups__name=LD_ADMIN_GROUP).values_list("email", flat=True)) == admins_before
