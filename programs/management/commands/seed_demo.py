"""`python manage.py seed_demo [--seed 42] [--employees 420]`: the Acme demo in an empty
database (see programs/demo.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from programs.demo import (
    DEFAULT_EMPLOYEES,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    DEMO_URL,
    MIN_EMPLOYEES,
    DemoDataExistsError,
    demo_seed,
)


class Command(BaseCommand):
    help = "Load the Acme demo (organizations, roster, programs, collections, champions, completions)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Same seed, same data (default 42).")
        parser.add_argument(
            "--employees",
            type=int,
            default=DEFAULT_EMPLOYEES,
            help=f"How many people on the roster (default {DEFAULT_EMPLOYEES}, at least {MIN_EMPLOYEES}).",
        )

    def handle(self, *args: Any, seed: int, employees: int, **options: Any) -> None:
        if employees < MIN_EMPLOYEES:
            raise CommandError(f"--employees must be at least {MIN_EMPLOYEES} (got {employees}).")
        try:
            result = demo_seed(seed=seed, employees=employees)
        except DemoDataExistsError as exc:
            raise CommandError(str(exc)) from exc
        if result.already_loaded:
            self.stdout.write("The demo data is already loaded; nothing changed.")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo loaded (seed {result.seed}): {result.organizations} organizations, "
                    f"{result.employees} employees, {result.courses} courses, {result.collections} collections, "
                    f"{result.enrollments} enrollments ({result.completions} completed)."
                )
            )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for role, email in result.logins:
            self.stdout.write(f"  {role:<18} {email}")
        self.stdout.write(f"Open {DEMO_URL}")
