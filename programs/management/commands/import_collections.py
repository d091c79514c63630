"""manage.py import_collections PATH --program NAME"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from programs.collections_import import CollectionsImportResult, collections_import
from programs.models import LearningProgram


def summary_lines(result: CollectionsImportResult) -> list[str]:
    return [
        f"rows: {result.rows}",
        f"collections created: {result.collections_created}",
        f"items added: {result.items_added}",
        f"items moved: {result.items_moved}",
        f"items unchanged: {result.items_unchanged}",
        f"courses created: {result.courses_created}",
        f"course titles updated: {result.course_titles_updated}",
    ]


class Command(BaseCommand):
    help = (
        "Import curated collections from a CSV file (columns: collection, organization, provider, "
        "course_id, course_title, position) into a program. Nothing is applied when any line is bad."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="CSV file, UTF-8, header on the first line.")
        parser.add_argument("--program", required=True, help="Name of the program the collections belong to.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["program"].strip()
        program = (
            LearningProgram.objects.filter(name=name).first()
            or LearningProgram.objects.filter(name__iexact=name).first()
        )
        if program is None:
            raise CommandError(f"No program named '{name}'. Create it first with create_program.")
        try:
            content = Path(options["path"]).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {options['path']}: {exc.strerror or exc}.") from None

        result = collections_import(program=program, content=content)
        if result.errors:
            lines = [f"line {error.line}: {error.message}" for error in result.errors]
            raise CommandError(
                f"Nothing was imported: {len(result.errors)} problem{'s' if len(result.errors) != 1 else ''} "
                f"in {options['path']}.\n" + "\n".join(lines)
            )
        self.stdout.write(self.style.SUCCESS(f"Imported collections into '{program.name}'."))
        for line in summary_lines(result):
            self.stdout.write(f"  {line}")
