"""manage.py import_provider_csv PATH --connection NAME: the file of the connection's kind (a
Coursera CourseActivity export, or LearnHub's completions file for an `other` connection)
through the sync pipeline; prints the counts and every invalid line with its reason."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from programs.csv_files import CsvFileError
from programs.imports import provider_csv_import
from programs.models import ProviderConnection, SyncStatus
from programs.sync.lease import SyncAlreadyRunningError
from programs.sync.pipeline import sync_run_summary


class Command(BaseCommand):
    help = (
        "Import a provider file for a connection (same pipeline as the API sync): a Coursera CourseActivity "
        "export for a coursera connection, LearnHub's completions file (email, external_id, course_id, "
        "course_title, completed_on[, course_url, hours]) for an other connection. The whole file is checked "
        "first: a file that cannot be read to its end is refused with the line, and nothing is written. "
        "Invalid lines are listed and kept for review."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "path", help="The CSV file (UTF-8, with or without BOM; a completions file may also be Windows-1252)."
        )
        parser.add_argument("--connection", required=True, help="Name of the provider connection it belongs to.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["connection"]
        connection = ProviderConnection.objects.filter(name=name).first()
        if connection is None:
            known = ", ".join(ProviderConnection.objects.values_list("name", flat=True)) or "none yet"
            raise CommandError(f"No provider connection named {name!r} (known: {known}).")
        try:
            with open(options["path"], "rb") as file:
                imported = provider_csv_import(connection=connection, file=file)
        except OSError as exc:
            raise CommandError(f"Cannot read {options['path']}: {exc.strerror or exc}.") from exc
        except CsvFileError as exc:
            raise CommandError(f"The file was not imported: {exc}") from exc
        except SyncAlreadyRunningError as exc:
            raise CommandError(str(exc)) from exc
        run = imported.run
        self.stdout.write(f"{connection.name} run {run.pk}: {run.status}. {sync_run_summary(run=run)}")
        for record in run.invalid_records.order_by("line", "pk"):
            where = f"line {record.line}" if record.line is not None else "record"
            self.stdout.write(f"{where}: {record.reason}")
        if run.status != SyncStatus.SUCCEEDED:
            kept = f" {imported.kept}" if imported.kept else ""
            raise CommandError(f"The file was not imported: {run.error or imported.error}{kept}")
