"""The sent-message ledger (`SentMessage`): every message is claimed before it is sent.

Exactly once, and what a crash means
------------------------------------
Every message has a unique key (kind, recipient, period) in `SentMessage`. A message is
CLAIMED by inserting its row (status "pending", `created_at` = claim time) BEFORE it is
sent; the INSERT that loses the race on the unique constraint raises IntegrityError and
that run skips the message. So a task that runs twice, or two workers at once, never send
a duplicate: the database decides who sends. After sending, the row is marked "sent" (or
"failed" with the error).

A crash between sending and recording leaves the row "pending". E-mail is AT-MOST-ONCE:
a pending row is never sent again (its key is taken), and `claims_mark_unknown` turns
pending rows older than MESSAGE_CLAIM_STALE_MINUTES into status "unknown" ("unknown
delivery") so the admin page shows them instead of silently resending; younger pending
rows are left alone (their sender may still be working). A second reminder is worse
than a lost one, and the next period's message follows anyway. An e-mail the backend
refused (SMTP error) is recorded "failed" with the error and keeps its key: it shows on
the admin page and is not retried automatically.

Chat webhooks are AT-LEAST-ONCE (`reports.messaging.webhooks`): only the run that claimed
the row queues the post.

Periods are counted in the company time zone (`local_now`): the ISO week of a digest, the
month of a leaderboard update, the interval bucket of a nudge.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from programs.models import Employee, LearningProgram
from reports.models import MessageChannel, MessageStatus, OrgWebhook, SentMessage
from reports.progress import company_time_zone

ERROR_MAX_CHARS = 2000


def local_now(now: dt.datetime | None = None) -> dt.datetime:
    """`now` (default: the current time) in the company time zone."""
    return (now or timezone.now()).astimezone(company_time_zone())


def asked_day(now: dt.datetime | None) -> dt.date | None:
    """The day whose numbers a message is about: the company day of `now`, or None when
    `now` is not given (today, whose numbers are kept: `reports.kept`)."""
    return None if now is None else local_now(now).date()


def week_key(day: dt.date) -> str:
    """The period of a weekly message: the ISO week of `day` ("2026-W49")."""
    iso = day.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def employee_key(employee_id: int) -> str:
    """The recipient key of an e-mail to an employee."""
    return f"employee:{employee_id}"


def message_claim(
    *,
    program: LearningProgram,
    kind: str,
    recipient_key: str,
    period: str,
    recipient: str,
    subject: str = "",
    channel: str = MessageChannel.EMAIL,
    employee: Employee | None = None,
    sent_by: Employee | None = None,
    webhook: OrgWebhook | None = None,
    payload: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> SentMessage | None:
    """Claim the message (kind, recipient_key, period): INSERT its ledger row as
    "pending". Returns None when the key already exists: another run sent or is sending
    it (the unique constraint decides; concurrent inserts wait for each other)."""
    try:
        with transaction.atomic():
            return SentMessage.objects.create(
                program=program,
                kind=kind,
                channel=channel,
                recipient_key=recipient_key,
                period=period,
                recipient=recipient,
                subject=subject[:300],
                employee=employee,
                sent_by=sent_by,
                webhook=webhook,
                payload=payload or {},
                created_at=now or timezone.now(),
            )
    except IntegrityError:
        return None


def claims_mark_unknown(*, now: dt.datetime | None = None) -> int:
    """Pending e-mail claims older than MESSAGE_CLAIM_STALE_MINUTES: the sender crashed
    between sending and recording. They become "unknown" (delivery unknown), never
    resent (at-most-once). Returns how many were marked."""
    cutoff = (now or timezone.now()) - dt.timedelta(minutes=settings.MESSAGE_CLAIM_STALE_MINUTES)
    return SentMessage.objects.filter(
        channel=MessageChannel.EMAIL, status=MessageStatus.PENDING, created_at__lt=cutoff
    ).update(status=MessageStatus.UNKNOWN, error="Claimed but never recorded as sent: delivery unknown.")
