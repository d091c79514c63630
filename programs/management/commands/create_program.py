"""manage.py create_program --name NAME --start YYYY-MM-DD --end YYYY-MM-DD --target 90
[--required 1] [--status draft|active|closed]"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from programs.learning_programs import program_create
from programs.models import ProgramStatus

OPTION_OF_FIELD = {
    "name": "--name",
    "starts_on": "--start",
    "ends_on": "--end",
    "target_rate": "--target",
    "required_completions": "--required",
    "status": "--status",
}


def _date(option: str, value: str, problems: list[str]) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y-%m-%d").date()  # noqa: DTZ007  # a calendar date, no time
    except ValueError:
        problems.append(f"{option}: '{value}' is not a date like 2026-01-31.")
        return dt.date.min


def _target_rate(value: str, problems: list[str]) -> Decimal:
    """Percent -> rate: "87.5" -> Decimal("0.875"). Below 1 is refused here: "0.9" is
    almost surely a rate typed where a percent was meant, not a 0.9% goal."""
    try:
        percent = Decimal(value.strip().removesuffix("%"))
    except InvalidOperation:
        percent = Decimal("NaN")
    if not percent.is_finite():
        problems.append(f"--target: '{value}' is not a number; give a percent from 1 to 100, like 90.")
    elif percent < 1:
        problems.append(f"--target: {value} is in percent and must be from 1 to 100 (90 means 90%).")
    return percent / 100


class Command(BaseCommand):
    help = "Create a learning program: name, inclusive start and end dates, target in percent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--start", required=True, help="First day, YYYY-MM-DD (company time zone).")
        parser.add_argument("--end", required=True, help="Last day, YYYY-MM-DD (inclusive).")
        parser.add_argument("--target", required=True, help="Target completion rate in percent, e.g. 90 or 87.5.")
        parser.add_argument("--required", type=int, default=1, help="Distinct courses each person needs (default 1).")
        parser.add_argument(
            "--status",
            choices=ProgramStatus.values,
            default=ProgramStatus.ACTIVE,
            help="Default: active, so dashboards and progress use it at once.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        problems: list[str] = []
        starts_on = _date("--start", options["start"], problems)
        ends_on = _date("--end", options["end"], problems)
        target_rate = _target_rate(options["target"], problems)
        if problems:
            raise CommandError("The program was not created.\n" + "\n".join(problems))
        try:
            program = program_create(
                name=options["name"],
                starts_on=starts_on,
                ends_on=ends_on,
                target_rate=target_rate,
                required_completions=options["required"],
                status=options["status"],
            )
        except ValidationError as exc:
            problems = [
                f"{OPTION_OF_FIELD.get(field, field)}: {message}"
                for field, messages in exc.message_dict.items()
                for message in messages
            ]
            raise CommandError("The program was not created.\n" + "\n".join(problems)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Created program '{program.name}' (id {program.pk}): {program.starts_on.isoformat()} to "
                f"{program.ends_on.isoformat()}, target {(program.target_rate * 100).normalize():f}%, "
                f"{program.required_completions} completion{'s' if program.required_completions != 1 else ''} "
                f"per person, status {program.status}."
            )
        )
