"""The Celery task of `reports.messaging.webhooks`: one claimed chat post.

It lives beside the webhook module rather than in `reports.tasks` so that the webhook
claims can queue it without a circle of imports (`reports.tasks` runs the tick, which
reaches the webhook claims); this module and `webhooks` are the one service-and-its-task
pair. Its Celery name stays "reports.tasks.webhook_deliver" (posts already queued keep
their name across a deploy), and `reports.tasks` imports it so the worker's autodiscovery
registers it."""

from __future__ import annotations

import requests
from celery import Task, shared_task
from django.conf import settings

from reports.messaging.webhooks import WebhookServerError, webhook_post


@shared_task(
    bind=True,
    name="reports.tasks.webhook_deliver",
    autoretry_for=(requests.RequestException, WebhookServerError),
    max_retries=settings.WEBHOOK_MAX_RETRIES,
    retry_backoff=settings.WEBHOOK_RETRY_BACKOFF,
    retry_backoff_max=3600,
    retry_jitter=False,
)
def webhook_deliver(self: Task, message_id: int) -> str:
    """Post one claimed webhook message (`webhook_post`: the URL is checked again, https
    to a public address, and redirects are not followed); network errors, a host that
    does not resolve and 5xx answers are retried with exponential backoff
    (WEBHOOK_RETRY_BACKOFF s, doubling) up to WEBHOOK_MAX_RETRIES times; the last attempt
    records the message as failed instead of raising. A refused URL fails at once."""
    final = self.request.retries >= (self.max_retries or 0)
    message = webhook_post(message_id=message_id, final=final)
    return "missing" if message is None else str(message.pk)
