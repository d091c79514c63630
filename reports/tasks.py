"""Celery tasks of the reports app: thin, take ids, idempotent (each run replaces the day's
snapshot rows)."""

from __future__ import annotations

from celery import shared_task

from programs.models import LearningProgram
from reports.snapshots import snapshots_write


@shared_task(name="reports.tasks.snapshot_active_programs")
def snapshot_active_programs(program_ids: list[int] | None = None) -> int:
    """Write today's snapshots (company time zone) for every active program, or only
    the active ones among `program_ids`. Returns the number of programs written."""
    programs = LearningProgram.objects.active()
    if program_ids is not None:
        programs = programs.filter(pk__in=program_ids)
    count = 0
    for program in programs:
        snapshots_write(program=program)
        count += 1
    return count
