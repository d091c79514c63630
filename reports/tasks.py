"""Celery tasks of the reports app: thin, take ids, idempotent (each run replaces the day's
snapshot rows)."""

from __future__ import annotations

import datetime as dt

import requests
from celery import Task, shared_task
from django.conf import settings

from programs.models import LearningProgram
from reports import messaging
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


# --- Communication (reports/messaging.py) --------------------------------------------------


@shared_task(name="reports.tasks.communications_tick")
def communications_tick(program_ids: list[int] | None = None, now: str | None = None) -> list[str]:
    """Hourly (beat): send the digests, nudges, escalations, leaderboard updates and
    milestone announcements that are due now (or at `now`, an aware ISO 8601 time, for
    ops and tests). Idempotent: each message's unique key decides who sends it, so a
    second run (or two at once) sends nothing twice."""
    programs = None if program_ids is None else list(LearningProgram.objects.filter(pk__in=program_ids))
    at = dt.datetime.fromisoformat(now) if now else None
    return messaging.communications_tick(programs=programs, now=at).lines()


@shared_task(
    bind=True,
    name="reports.tasks.webhook_deliver",
    autoretry_for=(requests.RequestException, messaging.WebhookServerError),
    max_retries=settings.WEBHOOK_MAX_RETRIES,
    retry_backoff=settings.WEBHOOK_RETRY_BACKOFF,
    retry_backoff_max=3600,
    retry_jitter=False,
)
def webhook_deliver(self: Task, message_id: int) -> str:
    """Post one claimed webhook message (`messaging.webhook_post`: the URL is checked again,
    https to a public address, and redirects are not followed); network errors, a host
    that does not resolve and 5xx answers are retried with exponential backoff
    (WEBHOOK_RETRY_BACKOFF s, doubling) up to WEBHOOK_MAX_RETRIES times; the last attempt
    records the message as failed instead of raising. A refused URL fails at once."""
    final = self.request.retries >= (self.max_retries or 0)
    message = messaging.webhook_post(message_id=message_id, final=final)
    return "missing" if message is None else str(message.pk)
