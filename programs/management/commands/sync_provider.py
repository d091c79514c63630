"""manage.py sync_provider [NAME] [--full]: sync in the foreground, print the counts."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from programs.models import ProviderConnection, SyncStatus
from programs.sync.lease import SyncAlreadyRunningError
from programs.sync.pipeline import sync_api, sync_run_summary
from programs.sync.schedule import sync_problem


class Command(BaseCommand):
    help = (
        "Sync provider connections from their APIs now, in the foreground (the same pipeline as the scheduled "
        "Celery task): the named one, or every active one. Exits non-zero when a sync fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="The connection to sync (default: every active connection).")
        parser.add_argument("--full", action="store_true", help="Re-read everything, not only the recent window.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"]
        if name:
            connection = ProviderConnection.objects.filter(name=name).first()
            if connection is None:
                known = ", ".join(ProviderConnection.objects.values_list("name", flat=True)) or "none yet"
                raise CommandError(f"No provider connection named {name!r} (known: {known}).")
            problem = sync_problem(connection=connection, queued=False)
            if problem:
                raise CommandError(f"{connection.name}: {problem}")
            connections = [connection]
        else:
            connections = [c for c in ProviderConnection.objects.all() if not sync_problem(connection=c, queued=False)]
            if not connections:
                self.stdout.write("No active connection can be synced from an API.")
                return
        failed = 0
        for connection in connections:
            try:
                run = sync_api(connection=connection, full=options["full"])
            except SyncAlreadyRunningError as exc:
                self.stderr.write(str(exc))
                failed += 1
                continue
            line = f"{connection.name} run {run.pk}: {run.status}. {sync_run_summary(run=run)}"
            if run.status == SyncStatus.SUCCEEDED:
                self.stdout.write(self.style.SUCCESS(line))
            else:
                self.stdout.write(self.style.ERROR(line))
                self.stdout.write(f"  error: {run.error}")
                failed += 1
        if failed:
            raise CommandError(f"{failed} of {len(connections)} sync{'s' if len(connections) != 1 else ''} failed.")
