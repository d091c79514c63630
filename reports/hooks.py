"""What other apps call when the numbers may have changed."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction


def progress_changed(program_ids: Iterable[int] | None = None) -> None:
    """An input of the numbers changed (completions, the roster, a program, exclusions,
    collections, organizations). Call it inside the write's transaction, or after its
    writes. When that transaction commits (at once outside one), before the writing call
    returns: the change counter is bumped (`reports.kept.progress_change_record`), so
    every kept figure is stale from then on and the next read computes the new numbers,
    and a keep of today's figures (snapshots and people) is queued for the active programs
    (only those in `program_ids` when given), so that next read is cheap.

    After the commit rather than inside the transaction: the counter is one row, and a
    bump inside a long write (a roster import) would hold its lock until that write
    commits, making every other writer wait. A reader that reads the old value and the
    new data only keeps figures that are recomputed after the bump. Safe to call many
    times: the task is idempotent. A failure is logged, not raised: the caller's work is
    already committed."""
    ids = None if program_ids is None else sorted({int(pk) for pk in program_ids})
    transaction.on_commit(lambda: _progress_changed_now(program_ids=ids), robust=True)


def _progress_changed_now(*, program_ids: list[int] | None) -> None:
    from reports.kept import progress_change_record
    from reports.tasks import snapshot_active_programs

    progress_change_record()
    snapshot_active_programs.delay(program_ids=program_ids)
