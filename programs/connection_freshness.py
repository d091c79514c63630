"""How current each connection's data is, as the providers pages and the L&D admin home
show it: the last successful run, how old its data is, failing since when, the next
scheduled sync, and whether it is overdue. One rule, read by both pages.

"Its runs" are the runs that bring the connection's data in: API runs for a kind synced
from an API (a file import into such a connection does not make its sync healthy), every
run (xAPI intake, file import) for the others.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import DateTimeField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

from programs.connections import connections_with_last_run
from programs.models import Provider, ProviderConnection, SyncRun, SyncStatus
from programs.sync.pipeline import API_ADAPTERS
from programs.sync.schedule import sync_problem

OVERDUE_INTERVALS = 2  # an active API connection with no success for this many intervals is overdue
# Kinds whose reports trail live activity, and by how much (PROVIDERS.md: Coursera up to 24 h).
REPORT_LAG: dict[str, Promise] = {
    Provider.COURSERA: gettext_lazy("Coursera's reports trail live learning activity by up to a day."),
}
SCHEDULE_ENTRY = "programs-sync-due-connections"  # the beat entry that queues due connections
_LONG_AGO = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Freshness:
    """- `last_success_at`: when its last successful run started (its data is as of then);
    - `data_age`: how long ago that was; `lag`: how far the provider's reports trail live
      activity besides ("" when not known to);
    - `failing_since`: the start of the first failed run after the last success (None
      when the latest runs did not fail);
    - `scheduled`: the schedule syncs it (an API kind, active); `next_sync_at`: when the
      schedule queues its next sync (None when not scheduled);
    - `overdue`: scheduled, and no success for OVERDUE_INTERVALS intervals (counted from its
      creation when it never succeeded)."""

    last_success_at: dt.datetime | None
    data_age: dt.timedelta | None
    lag: str
    failing_since: dt.datetime | None
    scheduled: bool
    next_sync_at: dt.datetime | None
    overdue: bool


def _own_runs() -> QuerySet[SyncRun]:
    """The runs of the outer connection that bring its data in (see the module docstring)."""
    return SyncRun.objects.filter(connection=OuterRef("pk")).filter(
        Q(source="api") | ~Q(connection__kind__in=list(API_ADAPTERS))
    )


def connections_with_freshness() -> QuerySet[ProviderConnection]:
    """`connections_with_last_run`, also annotated with what `connection_freshness` reads:
    `last_success_at`, `failing_since` and `last_api_attempt_at` (the start of its latest
    API run, whatever the outcome: the schedule's clock)."""
    successes = _own_runs().filter(status=SyncStatus.SUCCEEDED).order_by("-started_at", "-pk")
    since_success = Coalesce(OuterRef("last_success_at"), Value(_LONG_AGO, output_field=DateTimeField()))
    failures = _own_runs().filter(status=SyncStatus.FAILED, started_at__gt=since_success).order_by("started_at", "pk")
    attempts = SyncRun.objects.filter(connection=OuterRef("pk"), source="api").order_by("-started_at", "-pk")
    return (
        connections_with_last_run()
        .annotate(last_success_at=Subquery(successes.values("started_at")[:1]))
        .annotate(
            failing_since=Subquery(failures.values("started_at")[:1]),
            last_api_attempt_at=Subquery(attempts.values("started_at")[:1]),
        )
    )


def schedule_check_seconds() -> float:
    """How often the schedule looks for due connections (beat's entry, SCHEDULE_ENTRY)."""
    return float(settings.CELERY_BEAT_SCHEDULE[SCHEDULE_ENTRY]["schedule"])


def connection_freshness(*, connection: ProviderConnection, now: dt.datetime) -> Freshness:
    """The Freshness of a connection from `connections_with_freshness` (no query).

    The next sync follows the schedule's rule (`programs.sync.schedule.connections_due`): a
    connection it may sync (`sync_problem`: an API kind, not paused) is due once its interval
    has passed since its latest API run started, whatever that run's outcome, or at once
    when it never ran; the schedule looks every few minutes (`schedule_check_seconds`), so
    the sync starts within that much of `next_sync_at`."""
    last_success: dt.datetime | None = getattr(connection, "last_success_at", None)
    last_attempt: dt.datetime | None = getattr(connection, "last_api_attempt_at", None)
    scheduled = not sync_problem(connection=connection, queued=False)
    interval = dt.timedelta(minutes=connection.sync_interval_minutes)
    next_sync_at = None
    if scheduled:
        next_sync_at = now if last_attempt is None else max(now, last_attempt + interval)
    return Freshness(
        last_success_at=last_success,
        data_age=None if last_success is None else max(dt.timedelta(0), now - last_success),
        lag=str(REPORT_LAG.get(connection.kind, "")),
        failing_since=getattr(connection, "failing_since", None),
        scheduled=scheduled,
        next_sync_at=next_sync_at,
        overdue=scheduled and now - (last_success or connection.created_at) > OVERDUE_INTERVALS * interval,
    )


def connections_overdue(*, now: dt.datetime) -> list[tuple[ProviderConnection, Freshness]]:
    """The connections whose Freshness is overdue, by name, each with it (one query)."""
    rows = [(c, connection_freshness(connection=c, now=now)) for c in connections_with_freshness()]
    return [(c, freshness) for c, freshness in rows if freshness.overdue]
