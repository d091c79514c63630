"""`python manage.py seed_demo [--seed 42] [--employees 420] [--sandbox-port 8765]
[--udemy-sandbox-port 8766]`: the Acme demo in an empty database (learnhub/demo/seed.py).
Its completion history arrives through the real sync pipeline from the local Coursera and
Udemy Business sandboxes, and a few xAPI statements through the xAPI intake (`make run`
does it all)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learnhub.demo.company import (
    DEMO_CONNECTION_NAME,
    DEMO_ORG_ID,
    DEMO_PASSWORD,
    DEMO_UDEMY_CONNECTION_NAME,
    DEMO_XAPI_CONNECTION_NAME,
)
from learnhub.demo.seed import (
    DEFAULT_EMPLOYEES,
    DEFAULT_SANDBOX_PORT,
    DEFAULT_SEED,
    DEMO_URL,
    MIN_EMPLOYEES,
    DemoDataExistsError,
    demo_sandbox_urls,
    demo_seed,
    demo_udemy_sandbox_url,
)


class Command(BaseCommand):
    help = (
        "Load the Acme demo (organizations, roster, programs, collections, champions, Coursera and Udemy "
        "Business connections to the local sandboxes, an xAPI connection). Completions come from syncing them."
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
        parser.add_argument(
            "--udemy-sandbox-port",
            type=int,
            help="Port of the local Udemy Business sandbox the demo's Udemy connection reads (default: the next one).",
        )

    def handle(
        self,
        *args: Any,
        seed: int,
        employees: int,
        sandbox_port: int,
        udemy_sandbox_port: int | None,
        **options: Any,
    ) -> None:
        udemy_port = sandbox_port + 1 if udemy_sandbox_port is None else udemy_sandbox_port
        if employees < MIN_EMPLOYEES:
            raise CommandError(f"--employees must be at least {MIN_EMPLOYEES} (got {employees}).")
        for option, port in (("--sandbox-port", sandbox_port), ("--udemy-sandbox-port", udemy_port)):
            if not 1 <= port <= 65535:
                raise CommandError(f"{option} must be a port number from 1 to 65535 (got {port}).")
        try:
            result = demo_seed(seed=seed, employees=employees, sandbox_port=sandbox_port, udemy_sandbox_port=udemy_port)
        except DemoDataExistsError as exc:
            raise CommandError(str(exc)) from exc
        base_url, _ = demo_sandbox_urls(port=sandbox_port)
        udemy_url = demo_udemy_sandbox_url(port=udemy_port)
        if result.already_loaded:
            self.stdout.write("The demo data is already loaded; nothing changed.")
            if result.connection_moved:
                self.stdout.write(
                    f"The demo's connections now read the sandboxes at {base_url} ({DEMO_CONNECTION_NAME}) and "
                    f"{udemy_url} ({DEMO_UDEMY_CONNECTION_NAME})"
                )
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo loaded (seed {result.seed}): {result.organizations} organizations, "
                    f"{result.employees} employees, {result.courses} courses, {result.collections} collections."
                )
            )
            sandbox = f"python manage.py run_sandbox_provider --org-id {DEMO_ORG_ID} --seed {result.seed}"
            self.stdout.write(
                f"Its completion history ({result.records} enrollments, {result.completions} completed; "
                f"{result.udemy_records} of them on Udemy courses) comes from the Coursera sandbox at {base_url} "
                f"and the Udemy Business sandbox at {udemy_url} through syncs, then LinkedIn Learning pushes a few "
                "xAPI statements:\n"
                f"  {sandbox} --kind coursera --port {sandbox_port} --timestamps as-is &\n"
                f"  {sandbox} --kind udemy --port {udemy_port} &\n"
                f'  python manage.py sync_provider "{DEMO_CONNECTION_NAME}"\n'
                f'  python manage.py sync_provider "{DEMO_UDEMY_CONNECTION_NAME}"\n'
                f"  python manage.py post_demo_statements --seed {result.seed}   # to {DEMO_XAPI_CONNECTION_NAME}\n"
                "(`make run` does this for you.)"
            )
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for role, email in result.logins:
            self.stdout.write(f"  {role:<18} {email}")
        self.stdout.write(f"Open {DEMO_URL}")
