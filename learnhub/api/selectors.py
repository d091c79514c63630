"""Reads of the API that no page needs yet."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet
from django.utils import timezone

from programs.models import Employee, LearningProgram, Organization
from programs.roster import roster_employees
from reports.models import ProgressSnapshot

EMPLOYEE_STATUSES = ("active", "departed")


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


def employees_filtered(
    *,
    organization: Organization | None = None,
    email: str = "",
    status: str = "",
    today: dt.date | None = None,
) -> QuerySet[Employee]:
    """The roster (programs.roster.roster_employees): in `organization` or below, e-mail
    containing `email` (ignoring case), and `status` "active" (no departure on or before
    today, company time zone) or "departed" (departed on or before today). No stored e-mail
    holds a NUL character (nor can the database compare one), so such an `email` matches
    no one."""
    employees = roster_employees(organization=organization)
    if "\x00" in email:
        return employees.none()
    if email.strip():
        employees = employees.filter(email__icontains=email.strip())
    today = today or timezone.localdate()
    departed = Q(departed_on__isnull=False, departed_on__lte=today)
    if status == "active":
        employees = employees.exclude(departed)
    elif status == "departed":
        employees = employees.filter(departed)
    return employees
