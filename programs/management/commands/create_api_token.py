"""`manage.py create_api_token EMAIL --name NAME [--scope read|read-write]`: a new API
token for an integration, printed once (only its hash is stored)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from learnhub.api.services import api_token_create
from programs.models import ApiTokenScope, Employee


class Command(BaseCommand):
    help = "Create an API token acting as the L&D admin with this e-mail; prints the token once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The L&D admin the token acts as (any case).")
        parser.add_argument("--name", required=True, help="What uses the token, e.g. 'Workday roster push'.")
        parser.add_argument("--scope", choices=ApiTokenScope.values, default=ApiTokenScope.READ)

    def handle(self, *args: Any, email: str, name: str, scope: str, **options: Any) -> None:
        employee = Employee.objects.filter(email__iexact=email.strip()).first()
        if employee is None:
            raise CommandError(f"No employee with the e-mail address {email!r} is on the roster.")
        try:
            token, raw = api_token_create(created_by=employee, name=name, scope=scope)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stderr.write(
            f"Token {token.name!r} ({token.get_scope_display().lower()}, prefix {token.prefix}) acts as "
            f"{employee.email}. Copy it now: it is not shown again."
        )
        self.stdout.write(raw)
