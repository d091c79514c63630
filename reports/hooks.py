"""What other apps call when the numbers may have changed."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction


def progress_changed(program_ids: Iterable[int] | None = None) -> None:
    """Completion or roster data changed (e.g. a sync succeeded): once the current
    transaction commits, queue a rewrite of today's snapshots for the active programs
    (only those in `program_ids` when given). Safe to call many times: the task is
    idempotent and each run replaces the day's rows. A broker that cannot take the task
    is logged, not raised: the caller's work is already committed and the daily beat
    entry writes the snapshots anyway."""
    from reports.tasks import snapshot_active_programs

    ids = None if program_ids is None else sorted({int(pk) for pk in program_ids})
    transaction.on_commit(lambda: snapshot_active_programs.delay(program_ids=ids), robust=True)
