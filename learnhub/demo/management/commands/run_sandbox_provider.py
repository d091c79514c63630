"""`python manage.py run_sandbox_provider [--kind coursera|udemy|linkedin|edx]`: serve a
provider's sandbox (programs/providers/*_sandbox.py) with the demo's records for the demo's
org id (those of that provider's courses, for the demo's Coursera and Udemy accounts),
otherwise with activity generated for the roster (learnhub/demo/sandbox_data.py): the same
data for every kind, each in its provider's shape."""

from __future__ import annotations

import shlex
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learnhub.demo.sandbox_data import sandbox_data_from_database
from programs.providers.coursera_sandbox import SandboxServer
from programs.providers.edx_sandbox import EdxSandbox
from programs.providers.linkedin_sandbox import LinkedInSandbox
from programs.providers.sandbox import TIMESTAMP_STYLES, ProviderSandbox, SandboxFaults
from programs.providers.udemy_sandbox import UdemySandbox

SANDBOXES: dict[str, type[ProviderSandbox]] = {
    "coursera": SandboxServer,
    "udemy": UdemySandbox,
    "linkedin": LinkedInSandbox,
    "edx": EdxSandbox,
}


def _non_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Run a local provider API (Coursera, Udemy Business, LinkedIn Learning or edX, with its token endpoint and "
        "its paging) serving generated activity for the roster's employees. Stop with Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", choices=sorted(SANDBOXES), default="coursera", help="Which provider's API.")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument("--seed", type=int, default=7, help="Same seed, same generated data.")
        parser.add_argument("--client-id", default="demo")
        parser.add_argument("--client-secret", default="demo")
        parser.add_argument("--org-id", default="demo-org", help="The organization id (not used by linkedin).")
        parser.add_argument("--program-id", default="demo-program", help="The Coursera program id.")
        parser.add_argument("--rate-limit-every", type=_non_negative, default=0, metavar="N")
        parser.add_argument("--fail-every", type=_non_negative, default=0, metavar="N", help="every Nth request: 500")
        parser.add_argument("--fail-next", type=_non_negative, default=0, metavar="N", help="next N requests: 503")
        parser.add_argument("--slow", type=float, default=0.0, metavar="SECONDS")
        parser.add_argument("--token-expires-in", type=_non_negative, default=1800, metavar="S")
        parser.add_argument("--malformed-every", type=_non_negative, default=0, metavar="N")
        parser.add_argument(
            "--max-page-size", type=_non_negative, default=0, metavar="N", help="Serve at most N records a page."
        )
        parser.add_argument("--timestamps", choices=TIMESTAMP_STYLES, default="mixed", help="Coursera only.")
        parser.add_argument("--quiet", action="store_true", help="Do not print each request.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["slow"] < 0:
            raise CommandError("--slow must be 0 or more seconds.")
        data = sandbox_data_from_database(
            seed=options["seed"], org_id=options["org_id"], program_id=options["program_id"], kind=options["kind"]
        )
        faults = SandboxFaults(
            rate_limit_every=options["rate_limit_every"],
            server_error_every=options["fail_every"],
            fail_next=options["fail_next"],
            slow_seconds=options["slow"],
            token_expires_in=options["token_expires_in"],
            malformed_every=options["malformed_every"],
            timestamps=options["timestamps"],
            **({"max_limit": options["max_page_size"]} if options["max_page_size"] else {}),
        )
        try:
            server = SANDBOXES[options["kind"]].from_activity(
                data,
                client_id=options["client_id"],
                client_secret=options["client_secret"],
                host=options["host"],
                port=options["port"],
                faults=faults,
                echo=None if options["quiet"] else self.stdout.write,
            )
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc.strerror}.") from None
        token_url = server.token_url or "none (HTTP Basic with the client id and secret)"
        self.stdout.write(
            f"{server.name} sandbox: {server.describe()}, seed {options['seed']}.\n"
            f"  base URL:  {server.base_url}\n"
            f"  token URL: {token_url}\n"
            "Connect LearnHub to it with:\n"
            f"  PROVIDER_CLIENT_SECRET={shlex.quote(options['client_secret'])} python manage.py provider_connection "
            f"sandbox {shlex.join(server.connection_args())}\n"
            "Ctrl-C stops the sandbox."
        )
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            self.stdout.write("Sandbox stopped.")
        finally:
            server.stop()
