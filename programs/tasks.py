"""Celery tasks of the programs app: thin, idempotent, taking ids (STYLE.md).

Queue them after commit (`delay_on_commit`); the domain functions live in programs/sync.py.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from programs.access import departures_apply as departures_apply_service
from programs.models import ProviderConnection
from programs.sync import SyncAlreadyRunningError, sync_api, sync_due_queue, unmatched_rematch

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def sync_connection(connection_id: int, full: bool = False) -> int | None:
    """Sync one connection from its provider's API; returns the SyncRun id. Safe to run
    twice or at once: the connection's claim lets one run through and the other returns
    None without writing (the data it would write is the same)."""
    connection = ProviderConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return None
    try:
        return sync_api(connection=connection, full=full).pk
    except SyncAlreadyRunningError:
        logger.info("Sync of connection %s skipped: another sync holds it", connection_id)
        return None


@shared_task(acks_late=True, time_limit=60)
def sync_due_connections() -> list[int]:
    """Periodic (Celery beat, every 5 minutes): queue a sync of every connection whose
    interval has elapsed. Returns the queued connection ids."""
    return sync_due_queue(now=timezone.now())


@shared_task(
    acks_late=True,
    time_limit=settings.CELERY_TASK_TIME_LIMIT,
    soft_time_limit=settings.CELERY_TASK_SOFT_TIME_LIMIT,
)
def unmatched_rematch_task(employee_ids: list[int] | None = None) -> int:
    """Match kept unmatched provider records again after a roster change."""
    return unmatched_rematch(employee_ids=employee_ids)


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def departures_apply() -> dict[str, int]:
    """Periodic (Celery beat, daily just after midnight, company time zone): end the
    sessions and API tokens of everyone whose departure day has come."""
    ended = departures_apply_service()
    return {"sessions": ended.sessions, "tokens": ended.tokens}
