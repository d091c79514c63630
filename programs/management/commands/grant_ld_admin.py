"""Appoint (or remove) an L&D admin from the shell: `manage.py grant_ld_admin EMAIL [--revoke]`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learnhub.roles import is_ld_admin, ld_admin_grant, ld_admin_revoke
from programs.models import Employee


class Command(BaseCommand):
    help = "Make the employee with this e-mail an L&D admin (or, with --revoke, no longer one)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The employee's e-mail address (any case).")
        parser.add_argument("--revoke", action="store_true", help="Remove the L&D admin role instead.")

    def handle(self, *args: Any, email: str, revoke: bool, **options: Any) -> None:
        employee = Employee.objects.filter(email__iexact=email.strip()).first()
        if employee is None:
            raise CommandError(f"No employee with the e-mail address {email!r} is on the roster.")
        if revoke:
            ld_admin_revoke(employee=employee)
        else:
            ld_admin_grant(employee=employee)
        employee = Employee.objects.get(pk=employee.pk)  # fresh permission cache
        if is_ld_admin(employee):
            note = " (a superuser holds every permission)" if revoke else ""
            self.stdout.write(self.style.SUCCESS(f"{employee.email} is an L&D admin{note}."))
        else:
            self.stdout.write(self.style.SUCCESS(f"{employee.email} is not an L&D admin."))
