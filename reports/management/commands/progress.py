"""`manage.py progress`: a program's numbers as of a day, as JSON or a text table."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from learnhub.roles import current_program
from programs.models import LearningProgram
from reports.kept import progress_read
from reports.progress import ProgramProgress, progress_as_dict


def parse_day(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(
            f"{option} must be a date written YYYY-MM-DD (for example 2024-06-30), not {value!r}."
        ) from None


def find_program(name: str | None) -> LearningProgram:
    if name is None:
        program = current_program()
        if program is None:
            raise CommandError("There is no program yet: create one first (manage.py create_program).")
        return program
    try:
        return LearningProgram.objects.get(name=name)
    except LearningProgram.DoesNotExist:
        known = ", ".join(repr(n) for n in LearningProgram.objects.values_list("name", flat=True)) or "none"
        raise CommandError(f"No program is named {name!r}. Programs: {known}.") from None


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def table(rows: list[list[str]], right_from: int = 1) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        cells = [
            cell.ljust(w) if i < right_from else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def render_table(progress: ProgramProgress) -> str:
    company = progress.company
    lines = [
        f"Program:  {progress.program.name}",
        f"As of:    {progress.as_of.isoformat()}",
        f"Target:   {percent(progress.target)} of eligible employees, "
        f"{progress.required} course{'s' if progress.required != 1 else ''} each",
        f"Pace:     {percent(company.pace)} expected today; "
        f"{'on track' if company.on_track else 'behind pace'}; projection {percent(company.projection)}",
        "",
    ]
    header = ["Organization", "Eligible", "Met", "Rate", "Completions", "Curated", "Curated share"]

    def row(label: str, block: Any) -> list[str]:
        return [
            label,
            str(block.eligible),
            str(block.met),
            percent(block.rate),
            str(block.completions),
            str(block.curated_completions),
            percent(block.curated_share),
        ]

    rows = [header, row("Company", company)]
    rows += [row("  " * (o.depth + 1) + o.path, o) for o in progress.organizations]
    lines += table(rows)
    lines.append("")
    if progress.executives:
        exec_rows = [["Executive sponsor", "Organization", "Commitment"]]
        exec_rows += [[e.email, e.organization_path, "met" if e.met else "not yet"] for e in progress.executives]
        lines += table(exec_rows, right_from=len(exec_rows[0]))
    else:
        lines.append("No executive sponsors in this program.")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Print a program's progress (company, every organization, executive sponsors) as of a day."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--program", help="Program name (default: the current program).")
        parser.add_argument("--as-of", dest="as_of", help="Day YYYY-MM-DD (default: today; never after the end).")
        parser.add_argument("--format", choices=["json", "table"], default="table")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = parse_day(options["as_of"], "--as-of") if options["as_of"] else None
        program = find_program(options["program"])
        progress = progress_read(program=program, as_of=as_of)
        if options["format"] == "json":
            self.stdout.write(json.dumps(progress_as_dict(progress)))
        else:
            self.stdout.write(render_table(progress))
