"""Reads of the API that no page needs yet."""

from __future__ import annotations

import datetime as dt

from django.db.models import QuerySet

from programs.models import LearningProgram, Organization
from reports.models import ProgressSnapshot


def snapshot_series(
    *,
    program: LearningProgram,
    organization: Organization | None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> QuerySet[ProgressSnapshot]:
    """The daily snapshots of one organization (None: the company) in `program`, oldest
    first, from `start` to `end` inclusive (either open). One query."""
    snapshots = ProgressSnapshot.objects.filter(program=program, organization=organization).order_by("day")
    if start is not None:
        snapshots = snapshots.filter(day__gte=start)
    if end is not None:
        snapshots = snapshots.filter(day__lte=end)
    return snapshots
