"""What the L&D admin's home (/manage/) reads: everything that waits for an admin, each
item with what it needs to link to the page where it is fixed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from champions.selectors import OrgGaps, organizations_without_appointments
from programs.connection_freshness import Freshness, connection_freshness, connections_with_freshness
from programs.connections import invalid_records_current
from programs.imports import import_jobs_recent
from programs.models import (
    ApprovalStatus,
    Collection,
    ImportJob,
    ImportKind,
    LearningProgram,
    ProviderConnection,
    SyncRun,
    UnmatchedRecord,
)
from reports.models import MessageChannel, MessageStatus, SentMessage

WAITING_COLLECTIONS_SHOWN = 10  # the home lists this many; the collections pages show the rest
FAILED_MESSAGES_DAYS = 7  # a failed message or webhook post older than this is no longer news


@dataclass(frozen=True)
class ConnectionState:
    """A connection with how current its data is and its latest run (None: never ran)."""

    connection: ProviderConnection
    freshness: Freshness
    last_run: SyncRun | None

    @property
    def needs_attention(self) -> bool:
        """Its latest runs failed, or the schedule has not synced it for too long."""
        return self.freshness.failing_since is not None or self.freshness.overdue


@dataclass(frozen=True)
class AdminTodo:
    """What waits for the L&D admins. `program`: the current program, whose organizations
    are checked for a sponsor and a champion."""

    program: LearningProgram | None
    waiting_collections: list[Collection]
    waiting_collections_count: int
    gaps: list[OrgGaps]
    proposals: list[LearningProgram]  # annotated with proposed_sponsors and proposed_champions
    unmatched_count: int
    invalid_count: int
    failed_emails: int
    failed_webhooks: int
    connections: list[ConnectionState]
    roster_import: ImportJob | None

    @property
    def connections_in_trouble(self) -> list[ConnectionState]:
        return [state for state in self.connections if state.needs_attention]

    @property
    def is_empty(self) -> bool:
        """Nothing to do: no item waits (the connections' last syncs and the roster's last
        import are shown whatever their state)."""
        return not (
            self.waiting_collections_count
            or self.gaps
            or self.proposals
            or self.unmatched_count
            or self.invalid_count
            or self.failed_emails
            or self.failed_webhooks
            or self.connections_in_trouble
        )


def collections_waiting() -> QuerySet[Collection]:
    """Collections in a review: the sponsor asked for changes (the admin edits and
    resubmits) or has not answered yet; changes requested first, oldest first."""
    return (
        Collection.objects.filter(approval_status__in=[ApprovalStatus.CHANGES_REQUESTED, ApprovalStatus.PENDING])
        .select_related("program", "organization")
        .order_by("approval_status", "created_at", "pk")  # "changes" before "pending"
    )


def programs_with_proposals() -> QuerySet[LearningProgram]:
    """Programs with appointments proposed by a clone and not yet confirmed, annotated with
    how many of each role."""
    return (
        LearningProgram.objects.annotate(
            proposed_sponsors=Count(
                "executivesponsors", filter=Q(executivesponsors__is_confirmed=False), distinct=True
            ),
            proposed_champions=Count(
                "learningchampions", filter=Q(learningchampions__is_confirmed=False), distinct=True
            ),
        )
        .filter(Q(proposed_sponsors__gt=0) | Q(proposed_champions__gt=0))
        .order_by("-starts_on", "name")
    )


def connection_states(*, now: dt.datetime) -> list[ConnectionState]:
    """Every connection, by name, with its Freshness and its latest run (two queries)."""
    connections = list(connections_with_freshness())
    runs = SyncRun.objects.in_bulk([c.last_run_id for c in connections if c.last_run_id])  # type: ignore[attr-defined]
    return [
        ConnectionState(
            connection=c,
            freshness=connection_freshness(connection=c, now=now),
            last_run=runs.get(c.last_run_id),  # type: ignore[attr-defined]
        )
        for c in connections
    ]


def admin_todo(*, program: LearningProgram | None, now: dt.datetime) -> AdminTodo:
    """Everything on the L&D admin's home. The number of queries does not depend on how
    many people, organizations, records or messages there are."""
    waiting = collections_waiting()
    failed = SentMessage.objects.filter(
        status=MessageStatus.FAILED, created_at__gte=now - dt.timedelta(days=FAILED_MESSAGES_DAYS)
    ).aggregate(
        emails=Count("pk", filter=Q(channel=MessageChannel.EMAIL)),
        webhooks=Count("pk", filter=Q(channel=MessageChannel.WEBHOOK)),
    )
    roster_imports = import_jobs_recent(kind=ImportKind.ROSTER, limit=1)
    return AdminTodo(
        program=program,
        waiting_collections=list(waiting[:WAITING_COLLECTIONS_SHOWN]),
        waiting_collections_count=waiting.count(),
        gaps=organizations_without_appointments(program=program) if program else [],
        proposals=list(programs_with_proposals()),
        unmatched_count=UnmatchedRecord.objects.count(),
        invalid_count=invalid_records_current().count(),
        failed_emails=failed["emails"],
        failed_webhooks=failed["webhooks"],
        connections=connection_states(now=now),
        roster_import=roster_imports[0] if roster_imports else None,
    )
