"""`manage.py send_communications [--program NAME] [--now ISO]`: run the communications
tick in the foreground (what beat runs hourly), for the demo and for ops."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from programs.models import LearningProgram, ProgramStatus
from reports.messaging.tick import communications_tick
from reports.progress import company_time_zone


class Command(BaseCommand):
    help = "Send the digests, nudges, escalations, leaderboard updates and milestones that are due now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--program", help="Only this program (its name); default: every active program.")
        parser.add_argument(
            "--now",
            help="Act as if it were this time (ISO 8601, e.g. 2026-11-30T09:30; company time zone when no offset).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = None
        if options["now"]:
            try:
                now = dt.datetime.fromisoformat(options["now"])
            except ValueError as exc:
                raise CommandError(f"--now {options['now']!r} is not an ISO date-time (2026-11-30T09:30).") from exc
            if now.tzinfo is None:
                now = now.replace(tzinfo=company_time_zone())
        programs = None
        if options["program"]:
            program = LearningProgram.objects.filter(name=options["program"]).first()
            if program is None:
                raise CommandError(f"There is no program named {options['program']!r}.")
            if program.status != ProgramStatus.ACTIVE:
                raise CommandError(f"{program.name} is not active: nothing is sent for it.")
            programs = [program]
        report = communications_tick(now=now, programs=programs)
        for line in report.lines() or ["Nothing was due."]:
            self.stdout.write(line)
