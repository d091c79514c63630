"""manage.py provider_connection NAME --kind {coursera,udemy,linkedin,edx,xapi,other}
[--base-url URL] [--token-url URL] [--org-id ID] [--program-id ID ...] [--client-id ID]
[--interval MINUTES] [--inactive | --active]

Only what the kind needs is required (`programs.connections.KIND_NEEDS`). The client
secret comes from PROVIDER_CLIENT_SECRET or standard input, never from the command line
(it would land in shell history and the process list), and is never printed; a kind that
uses none (other) reads none.
For an xapi connection it prints the statements endpoint path (/xapi/<id>/statements) and the
token URL path, so scripts can find them.
"""

from __future__ import annotations

import getpass
import os
import sys
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from programs.connections import kind_uses_secret, provider_connection_save
from programs.models import Provider, ProviderConnection
from programs.xapi.selectors import xapi_addresses

SECRET_ENV = "PROVIDER_CLIENT_SECRET"  # noqa: S105  # the variable's name, not a secret


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = (
        "Create or update a provider connection. The client secret is read from the "
        f"{SECRET_ENV} environment variable, else from standard input (piped, or typed at the prompt)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The connection's name (unique).")
        parser.add_argument(
            "--kind",
            choices=Provider.values,
            help="Provider (default on creation: coursera). other: a completions file; xapi: pushed xAPI statements.",
        )
        parser.add_argument(
            "--base-url", help="API base URL, e.g. https://api.coursera.com/ent/api/ (coursera, udemy, linkedin, edx)."
        )
        parser.add_argument("--token-url", help="OAuth2 client-credentials token URL (coursera, linkedin, edx).")
        parser.add_argument(
            "--org-id",
            help="The provider's organization id: Coursera business, Udemy organization, edX enterprise customer.",
        )
        parser.add_argument(
            "--program-id",
            action="append",
            dest="program_ids",
            help="A Coursera program id (repeat for more).",
        )
        parser.add_argument(
            "--client-id",
            help="OAuth2 / API client id; for xapi the id the provider signs in with (the secret is never an option).",
        )
        parser.add_argument("--interval", type=int, help="Minutes between scheduled syncs (at least 5).")
        active = parser.add_mutually_exclusive_group()
        active.add_argument("--inactive", action="store_true", help="Pause scheduled syncs of this connection.")
        active.add_argument("--active", action="store_true", help="Resume scheduled syncs.")

    def handle(self, *args: Any, **options: Any) -> None:
        existing = ProviderConnection.objects.filter(name=options["name"].strip()).first()
        kind = options["kind"] or (existing.kind if existing else Provider.COURSERA)
        secret = self._secret(options.get("stdin") or sys.stdin) if kind_uses_secret(kind) else ""
        is_active = False if options["inactive"] else (True if options["active"] else None)
        try:
            connection, created = provider_connection_save(
                name=options["name"],
                kind=options["kind"],
                base_url=options["base_url"],
                token_url=options["token_url"],
                org_id=options["org_id"],
                program_ids=options["program_ids"],
                client_id=options["client_id"],
                client_secret=secret,
                interval_minutes=options["interval"],
                is_active=is_active,
            )
        except ValidationError as exc:
            messages = [m for ms in exc.message_dict.values() for m in ms]
            raise CommandError(" ".join(messages)) from exc
        verb = "Created" if created else "Updated"
        state = "active" if connection.is_active else "inactive"
        if not kind_uses_secret(connection.kind):
            kept = "No client secret: this kind uses none."
        else:
            kept = f"Client secret {'replaced' if secret and not created else 'stored' if secret else 'kept'}."
        if connection.kind == Provider.XAPI:
            paths = xapi_addresses(connection=connection)
            public = xapi_addresses(connection=connection, absolute=settings.SITE_URL)
            self.stdout.write(
                self.style.SUCCESS(
                    f"{verb} connection {connection.name} (xapi, {state}, id {connection.pk}, client id "
                    f"{connection.client_id}). {kept}\n"
                    f"Statements endpoint: {paths.statements}\n"
                    f"OAuth2 token URL: {paths.token}\n"
                    f"At SITE_URL: {public.statements} and {public.token}"
                )
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} connection {connection.name} ({connection.kind}, {state}, every "
                f"{connection.sync_interval_minutes} minutes, programs: "
                f"{', '.join(connection.provider_program_ids) or '-'}). {kept}"
            )
        )

    def _secret(self, stdin: Any) -> str:
        """From the environment, else standard input: piped (first line) or typed at a
        hidden prompt. Empty means "keep the stored secret" on an update."""
        if os.environ.get(SECRET_ENV):
            return os.environ[SECRET_ENV].strip()
        if stdin is None or stdin.closed:
            return ""
        if stdin.isatty():
            return getpass.getpass("Client secret (empty keeps the stored one): ").strip()
        return stdin.readline().strip()
