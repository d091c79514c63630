"""`manage.py backfill_snapshots`: rebuild a program's daily snapshot history."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.management.commands.progress import find_program, parse_day
from reports.snapshots import snapshots_backfill


class Command(BaseCommand):
    help = "Rebuild a program's daily snapshots from the enrollment dates (default: program start to today)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--program", help="Program name (default: the current program).")
        parser.add_argument("--from", dest="start", help="First day YYYY-MM-DD (default: the program start).")
        parser.add_argument("--to", dest="end", help="Last day YYYY-MM-DD (default: today, never after the end).")

    def handle(self, *args: Any, **options: Any) -> None:
        start = parse_day(options["start"], "--from") if options["start"] else None
        end = parse_day(options["end"], "--to") if options["end"] else None
        if start and end and end < start:
            raise CommandError(f"--to ({end}) is before --from ({start}).")
        program = find_program(options["program"])
        days = snapshots_backfill(program=program, start=start, end=end)
        self.stdout.write(f"{program.name}: wrote snapshots for {days} day{'s' if days != 1 else ''}.")
