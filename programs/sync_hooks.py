"""Hooks through which other parts of LearnHub tell the provider sync that its inputs
changed (issue 3 fills them in)."""

from __future__ import annotations


def roster_changed(*, employee_ids: list[int]) -> None:
    """Called after a roster import commits, with the employees it created or updated.

    Queues `unmatched_rematch_task` (once the current transaction, if any, commits):
    the unmatched provider records that these people's e-mails or external ids now
    explain become enrollments (programs/sync.py, `unmatched_rematch`).
    """
    from django.db import transaction

    from programs.tasks import unmatched_rematch_task

    ids = sorted({int(pk) for pk in employee_ids})
    if ids:
        transaction.on_commit(lambda: unmatched_rematch_task.delay(employee_ids=ids))
