"""`python manage.py run_sandbox_provider`: serve the Coursera sandbox
(programs/providers/coursera_sandbox.py) with the demo's records for the demo's org id,
otherwise with activity generated for the roster (learnhub/demo/sandbox_data.py)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learnhub.demo.sandbox_data import sandbox_data_from_database
from programs.providers.coursera_sandbox import TIMESTAMP_STYLES, SandboxFaults, SandboxServer


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Run a local Coursera-shaped API (OAuth token, enrollmentReports, programs, contents) "
        "serving generated activity for the roster's employees. Stop with Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--seed", type=int, default=7, help="Same seed, same generated data.")
        parser.add_argument("--client-id", default="demo")
        parser.add_argument("--client-secret", default="demo")
        parser.add_argument("--org-id", default="demo-org")
        parser.add_argument("--program-id", default="demo-program")
        parser.add_argument("--rate-limit-every", type=_non_negative, default=0, metavar="N")
        parser.add_argument("--fail-every", type=_non_negative, default=0, metavar="N", help="every Nth request: 500")
        parser.add_argument("--fail-next", type=_non_negative, default=0, metavar="N", help="next N requests: 503")
        parser.add_argument("--slow", type=float, default=0.0, metavar="SECONDS")
        parser.add_argument("--token-expires-in", type=_non_negative, default=1800, metavar="S")
        parser.add_argument("--malformed-every", type=_non_negative, default=0, metavar="N")
        parser.add_argument("--timestamps", choices=TIMESTAMP_STYLES, default="mixed")
        parser.add_argument("--quiet", action="store_true", help="Do not print each request.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["slow"] < 0:
            raise CommandError("--slow must be 0 or more seconds.")
        data = sandbox_data_from_database(
            seed=options["seed"], org_id=options["org_id"], program_id=options["program_id"]
        )
        faults = SandboxFaults(
            rate_limit_every=options["rate_limit_every"],
            server_error_every=options["fail_every"],
            fail_next=options["fail_next"],
            slow_seconds=options["slow"],
            token_expires_in=options["token_expires_in"],
            malformed_every=options["malformed_every"],
            timestamps=options["timestamps"],
        )
        try:
            server = SandboxServer(
                data=data,
                client_id=options["client_id"],
                client_secret=options["client_secret"],
                host=options["host"],
                port=options["port"],
                faults=faults,
                echo=None if options["quiet"] else self.stdout.write,
            )
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc.strerror}.") from None
        people = len({e["email"] for e in data.elements})
        self.stdout.write(
            f"Coursera sandbox: {len(data.elements)} enrollment records for {people} people "
            f"(program {options['program_id']!r}, seed {options['seed']}).\n"
            f"  base URL:  {server.base_url}\n"
            f"  token URL: {server.token_url}\n"
            "Connect LearnHub to it with:\n"
            f"  PROVIDER_CLIENT_SECRET={options['client_secret']} python manage.py provider_connection sandbox "
            f"--kind coursera --base-url {server.base_url} --token-url {server.token_url} "
            f"--org-id {options['org_id']} --program-id {options['program_id']} --client-id {options['client_id']}\n"
            "Ctrl-C stops the sandbox."
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Sandbox stopped.")
        finally:
            server.stop()
