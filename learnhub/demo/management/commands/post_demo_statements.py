"""`python manage.py post_demo_statements [--seed 42]`: the demo's LinkedIn Learning pushes a
few xAPI statements to the "LinkedIn Learning xAPI (demo)" connection (learnhub/demo/
statements.py), taken in through the real xAPI intake. `make run` runs it after the syncs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learnhub.demo.company import DEMO_XAPI_CONNECTION_NAME
from learnhub.demo.seed import DEFAULT_SEED
from learnhub.demo.statements import demo_statements_post
from programs.models import ProviderConnection


class Command(BaseCommand):
    help = "Push the demo's xAPI statements (as LinkedIn Learning would) to its xapi connection and take them in."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="The seed seed_demo used (default 42).")

    def handle(self, *args: Any, seed: int, **options: Any) -> None:
        try:
            posted = demo_statements_post(seed=seed)
        except ProviderConnection.DoesNotExist:
            raise CommandError(f"No {DEMO_XAPI_CONNECTION_NAME} connection: load the demo first (seed_demo).") from None
        if not posted.stored:
            self.stdout.write(f"{DEMO_XAPI_CONNECTION_NAME} already holds the demo's statements; nothing changed.")
            return
        run = posted.run
        taken = f"taken in by run {run.pk}: {run.created} enrollments created" if run else "waiting to be taken in"
        self.stdout.write(
            self.style.SUCCESS(f"Posted {posted.stored} xAPI statements to {DEMO_XAPI_CONNECTION_NAME}; {taken}.")
        )
