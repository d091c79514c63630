"""Daily progress snapshots: one row per organization plus one for the company (organization
empty) per program and day. Dashboards and the trend line read them; the numbers come
from `reports.progress.program_progress`, never from anywhere else."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from programs.models import LearningProgram
from reports.hooks import progress_changed
from reports.models import ProgressSnapshot
from reports.progress import ProgressCounts, progress_counts, progress_day

BACKFILL_BATCH_SIZE = 2000


def _rows(*, program: LearningProgram, progress: ProgressCounts) -> list[ProgressSnapshot]:
    day, company = progress.as_of, progress.company
    rows = [
        ProgressSnapshot(
            program=program,
            organization=None,
            day=day,
            eligible=company.eligible,
            met=company.met,
            completions=company.completions,
            curated_completions=company.curated_completions,
            rate=company.rate,
        )
    ]
    rows += [
        ProgressSnapshot(
            program=program,
            organization_id=org.organization_id,
            day=day,
            eligible=org.eligible,
            met=org.met,
            completions=org.completions,
            curated_completions=org.curated_completions,
            rate=org.rate,
        )
        for org in progress.organizations
    ]
    return rows


def program_lock(*, program: LearningProgram) -> None:
    """Lock the program's row until the end of the current transaction: writers of its
    snapshots wait for each other, so two runs at once cannot collide on the unique
    (program, organization, day) constraints."""
    LearningProgram.objects.select_for_update().filter(pk=program.pk).values_list("pk", flat=True).first()


def snapshots_store(*, program: LearningProgram, progress: ProgressCounts) -> list[ProgressSnapshot]:
    """Replace the snapshot rows of `progress.as_of` with these counts (of
    `progress_counts`): one row per organization and one for the company."""
    rows = _rows(program=program, progress=progress)
    with transaction.atomic():
        program_lock(program=program)
        ProgressSnapshot.objects.filter(program=program, day=progress.as_of).delete()
        ProgressSnapshot.objects.bulk_create(rows)
    return rows


def snapshots_write(*, program: LearningProgram, day: dt.date | None = None) -> list[ProgressSnapshot]:
    """Write the snapshots of `program` for `day` (default today in the company time
    zone): one row per organization and one for the company, replacing that day's rows.
    The day is clamped like the numbers (min(day, program end)), so after the end the
    final day is rewritten rather than a new one added. Before the program starts there
    is nothing to record: no rows, nothing written. Idempotent; concurrent runs of the
    same program wait for each other."""
    if progress_day(program=program, as_of=day) < program.starts_on:
        return []
    return snapshots_store(program=program, progress=progress_counts(program=program, as_of=day))


def snapshots_backfill(*, program: LearningProgram, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """Rebuild the snapshot history of `program` day by day over [start, end] (default
    the program start to min(today, program end)), each day computed by
    `program_progress` as of that day from the enrollment dates. Replaces the rows of
    those days; returns the number of days written. The numbers are those of
    `reports.progress.program_progress` (its counts part, `progress_counts`)."""
    first = max(start or program.starts_on, program.starts_on)
    last = min(end or dt.date.max, program.ends_on)
    last = min(last, progress_day(program=program))
    if last < first:
        return 0
    days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    rows: list[ProgressSnapshot] = []
    for day in days:
        rows += _rows(program=program, progress=progress_counts(program=program, as_of=day))
    with transaction.atomic():
        program_lock(program=program)
        ProgressSnapshot.objects.filter(program=program, day__gte=first, day__lte=last).delete()
        ProgressSnapshot.objects.bulk_create(rows, batch_size=BACKFILL_BATCH_SIZE)
        progress_changed(program_ids=[program.pk])  # the trend and the projection read these rows
    return len(days)
