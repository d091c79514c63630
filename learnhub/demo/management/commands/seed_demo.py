"""`python manage.py seed_demo [--seed 42] [--employees 420] [--sandbox-port 8765]`: the
Acme demo in an empty database (learnhub/demo/seed.py). Its completion history arrives
through the real sync pipeline from the local Coursera sandbox (`make run` does both)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learnhub.demo.company import DEMO_CONNECTION_NAME, DEMO_ORG_ID, DEMO_PASSWORD
from learnhub.demo.seed import (
    DEFAULT_EMPLOYEES,
    DEFAULT_SANDBOX_PORT,
    DEFAULT_SEED,
    DEMO_URL,
    MIN_EMPLOYEES,
    DemoDataExistsError,
    demo_sandbox_urls,
    demo_seed,
)


class Command(BaseCommand):
    help = (
        "Load the Acme demo (organizations, roster, programs, collections, champions, a Coursera connection to "
        "the local sandbox). Completions come from syncing that connection."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Same seed, same data (default 42).")
        parser.add_argument(
            "--employees",
            type=int,
            default=DEFAULT_EMPLOYEES,
            help=f"How many people on the roster (default {DEFAULT_EMPLOYEES}, at least {MIN_EMPLOYEES}).",
        )
        parser.add_argument(
            "--sandbox-port",
            type=int,
            default=DEFAULT_SANDBOX_PORT,
            help=f"Port of the local Coursera sandbox the demo connection reads (default {DEFAULT_SANDBOX_PORT}).",
        )

    def handle(self, *args: Any, seed: int, employees: int, sandbox_port: int, **options: Any) -> None:
        if employees < MIN_EMPLOYEES:
            raise CommandError(f"--employees must be at least {MIN_EMPLOYEES} (got {employees}).")
        if not 1 <= sandbox_port <= 65535:
            raise CommandError(f"--sandbox-port must be a port number from 1 to 65535 (got {sandbox_port}).")
        try:
            result = demo_seed(seed=seed, employees=employees, sandbox_port=sandbox_port)
        except DemoDataExistsError as exc:
            raise CommandError(str(exc)) from exc
        base_url, _ = demo_sandbox_urls(port=sandbox_port)
        if result.already_loaded:
            self.stdout.write("The demo data is already loaded; nothing changed.")
            if result.connection_moved:
                self.stdout.write(f"The {DEMO_CONNECTION_NAME} connection now reads the sandbox at {base_url}")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo loaded (seed {result.seed}): {result.organizations} organizations, "
                    f"{result.employees} employees, {result.courses} courses, {result.collections} collections."
                )
            )
            self.stdout.write(
                f"Its completion history ({result.records} enrollments, {result.completions} completed) comes "
                f"from the Coursera sandbox at {base_url} through a sync:\n"
                f"  python manage.py run_sandbox_provider --port {sandbox_port} --org-id {DEMO_ORG_ID} "
                f"--seed {result.seed} --timestamps as-is &\n"
                f'  python manage.py sync_provider "{DEMO_CONNECTION_NAME}"\n'
                "(`make run` does this for you.)"
            )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for role, email in result.logins:
            self.stdout.write(f"  {role:<18} {email}")
        self.stdout.write(f"Open {DEMO_URL}")
