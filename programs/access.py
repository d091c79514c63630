"""Ending a person's access: when they leave (a departure date that has come) or an admin
deactivates them, their open sessions end and their API tokens stop working at once.
Their appointments stay, shown to L&D admins as vacant (`AppointmentQuerySet.vacated`),
and grant nothing (`learnhub.roles`).

Who may use LearnHub is `learnhub.roles.has_access`, asked on every request as well; the
functions here make the end visible and final: sessions deleted, tokens revoked with a
reason. Callers: the roster import and the API's roster push (departure dates already
past), the Django admin (deactivation, a departure date), and the daily task
`programs.tasks.departures_apply` for dates that arrive later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from programs.models import ApiToken, Employee, EmployeeSession


@dataclass(frozen=True)
class AccessEnded:
    sessions: int = 0
    tokens: int = 0


def employee_access_end(*, employee_ids: Iterable[int], reason: str) -> AccessEnded:
    """Delete every session of these employees and revoke their live API tokens (the
    tokens they created), recording `reason` on each token. Idempotent: a second call
    finds nothing left to end."""
    ids = list(employee_ids)
    if not ids:
        return AccessEnded()
    sessions, _ = EmployeeSession.objects.filter(employee_id__in=ids).delete()
    tokens = ApiToken.objects.filter(created_by_id__in=ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_reason=reason[:200]
    )
    return AccessEnded(sessions=sessions, tokens=tokens)


def access_end_reason(employee: Employee, *, day: dt.date) -> str:
    """Why `employee` has no access on `day`, as shown on a revoked token."""
    if employee.has_departed(day):
        return f"Its creator left on {employee.departed_on:%Y-%m-%d}."
    return "Its creator's account was deactivated."


def departures_apply(*, day: dt.date | None = None) -> AccessEnded:
    """End the access of everyone who may no longer use LearnHub on `day` (default
    today, company time zone), departed on or before it or deactivated, and who still
    has a session or a live token. Run daily just after midnight, and safe at any time."""
    day = day or timezone.localdate()
    gone = Employee.objects.filter(Q(departed_on__lte=day) | Q(is_active=False))
    holders = gone.filter(
        Q(pk__in=EmployeeSession.objects.values("employee_id"))
        | Q(pk__in=ApiToken.objects.filter(revoked_at__isnull=True).values("created_by_id"))
    ).only("pk", "departed_on", "is_active")
    total = AccessEnded()
    for employee in holders:
        ended = employee_access_end(employee_ids=[employee.pk], reason=access_end_reason(employee, day=day))
        total = AccessEnded(sessions=total.sessions + ended.sessions, tokens=total.tokens + ended.tokens)
    return total
