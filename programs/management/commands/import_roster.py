"""manage.py import_roster PATH [--dry-run] [--mark-missing-departed]"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from programs.roster import RosterFileError, RosterImportResult, roster_import


class Command(BaseCommand):
    help = (
        "Import the roster CSV (email, full_name, external_id, organization, title, manager_email, hired_on, "
        "departed_on). Nothing is written when any row is bad."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The roster CSV file, UTF-8, header on the first line.")
        parser.add_argument("--dry-run", action="store_true", help="Check and count only; write nothing.")
        parser.add_argument(
            "--mark-missing-departed",
            action="store_true",
            help="People in LearnHub without a departure date who are not in the file depart today.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            with open(options["path"], "rb") as file:
                result = roster_import(
                    file=file, dry_run=options["dry_run"], mark_missing_departed=options["mark_missing_departed"]
                )
        except OSError as exc:
            raise CommandError(f"Cannot read {options['path']}: {exc.strerror or exc}.") from exc
        except RosterFileError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(summary_text(result))
        for error in result.errors:
            self.stdout.write(f"line {error.line}: {error.reason}")
        if result.errors:
            raise CommandError(
                f"{result.error_count} error{'s' if result.error_count != 1 else ''} in the file; nothing was "
                "imported. Fix the lines above and run the import again."
            )
        if result.dry_run:
            self.stdout.write("Dry run: nothing was written.")
        else:
            self.stdout.write(self.style.SUCCESS("Roster imported."))


def summary_text(result: RosterImportResult) -> str:
    return (
        f"rows: {result.rows}, created: {result.created}, updated: {result.updated}, "
        f"unchanged: {result.unchanged}, departed: {result.departed}, errors: {result.error_count}"
    )
