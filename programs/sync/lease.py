"""The lease: one sync at a time per provider connection, and a dead sync taken over.

Locking contract: a run holds its connection through a conditional UPDATE of
`ProviderConnection.sync_claimed_until` (portable: PostgreSQL and SQLite), a lease of
`settings.SYNC_LEASE_SECONDS` claimed with a token of its own
(`ProviderConnection.sync_claim_token`, `connection_claim`). A lease is live until that time
has passed (`lease_is_live`: the one test of "a sync holds this connection now", for the
claim, the schedule and the pages). A second run of the same connection, while the lease
is live, raises `SyncAlreadyRunningError` and writes nothing. Every task of the run holds
the lease with the token (the run's other tasks join it: `SyncLease.joined`) and renews it
every third of it from a heartbeat thread (`LeaseHeartbeat`, so a slow page fetch, retries
and back-off included, never lets it lapse) and at the end of every page transaction
(`SyncLease.held`), which commits only while the lease is still the run's: a run that lost
its lease writes nothing more and stops (`SyncLeaseLostError`). The page transaction renews
last, so the connection's row is locked only while the page commits, and the tasks of a run
write their pages side by side. A run whose processes died stops renewing; its lease lapses
within one lease, and the next run to claim the connection takes it over (`lapsed` on the
new lease says since when).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.db.models import Q
from django.utils import dateformat, timezone

from programs.models import ProviderConnection

logger = logging.getLogger(__name__)


class SyncAlreadyRunningError(Exception):
    """Another sync holds this connection; this one wrote nothing. `held_until` is when
    that hold lapses unless its run renews it (None when unknown)."""

    def __init__(self, message: str, *, held_until: dt.datetime | None = None) -> None:
        super().__init__(message)
        self.held_until = held_until


class SyncLeaseLostError(Exception):
    """The run no longer holds its connection: its lease lapsed and another run took it."""


def lease_seconds() -> int:
    """The lease length, SYNC_LEASE_SECONDS (env, at least 15)."""
    return int(settings.SYNC_LEASE_SECONDS)


def lease_is_live(*, until: dt.datetime | None, now: dt.datetime) -> bool:
    """True while a lease that lasts `until` (a connection's `sync_claimed_until`) holds
    the connection at `now`; after that moment it has lapsed (its run stopped renewing it)
    and the next claim takes the connection over."""
    return until is not None and until >= now


def when_shown(moment: dt.datetime) -> str:
    """A time as the messages show it: in the company time zone, to the second."""
    return dateformat.format(timezone.localtime(moment), "j M Y, H:i:s T")


class SyncLease:
    """One task's hold on its run's connection. `token` (the value of `sync_claim_token`)
    is the run's: only the tasks of the run that claimed the connection renew or release
    it. `until` is when this hold lasts, as this task last wrote it.

    Thread-safe: the heartbeat renews from its own thread while the task's thread writes
    pages. `lock` serializes the two, so they never write at once (on SQLite two writers
    of one process would meet "database is locked"), and `until` only changes once a
    renewal has committed. `lapsed` is the lease this one replaced (a dead run's), if any."""

    def __init__(
        self, *, connection_id: int, token: str, until: dt.datetime | None, lapsed: dt.datetime | None = None
    ) -> None:
        self.connection_id = connection_id
        self.token = token
        self.until = until
        self.lapsed = lapsed
        self.lock = threading.Lock()
        self.lost = threading.Event()
        self.released = False

    @classmethod
    def joined(cls, *, connection_id: int, token: str) -> SyncLease | None:
        """Another task of the run holding the lease claimed with `token`: None when the
        connection is no longer held with it (the run ended, or was taken over)."""
        until = (
            ProviderConnection.objects.filter(pk=connection_id, sync_claim_token=token)
            .values_list("sync_claimed_until", flat=True)
            .first()
        )
        return None if until is None else cls(connection_id=connection_id, token=token, until=until)

    def _extend(self) -> dt.datetime | None:
        """Move the lease to a full lease from now (inside the caller's transaction, under
        `lock`); None when it is no longer the run's."""
        until = timezone.now() + dt.timedelta(seconds=lease_seconds())
        renewed = ProviderConnection.objects.filter(pk=self.connection_id, sync_claim_token=self.token).update(
            sync_claimed_until=until
        )
        if renewed != 1:
            self.lost.set()
            return None
        return until

    def renew(self, *, wait_seconds: float) -> bool:
        """Renew the lease now (the heartbeat). True when held; False once lost or
        released. Waits at most about `wait_seconds` for the page writer and for a row
        lock (PostgreSQL `lock_timeout`; SQLite has its busy timeout); a page being
        written renews the lease itself, so then this beat is skipped. A database error
        (e.g. "database is locked") propagates and leaves the lease as it was."""
        if not self.lock.acquire(timeout=wait_seconds):
            return not self.lost.is_set()
        try:
            if self.released or self.lost.is_set():
                return False
            with transaction.atomic():
                if db_connection.vendor == "postgresql":
                    with db_connection.cursor() as cursor:
                        cursor.execute(f"SET LOCAL lock_timeout = {max(1, int(wait_seconds * 1000))}")
                until = self._extend()
            if until is None:
                return False
            self.until = until
            return True
        finally:
            self.lock.release()

    @contextmanager
    def held(self) -> Iterator[None]:
        """A transaction that commits only while the lease is still the run's: its last
        statement renews the lease (the connection's row stays locked only while the
        transaction commits), and a run that lost it raises SyncLeaseLostError: nothing
        of the transaction is written."""
        with self.lock:
            with transaction.atomic():
                yield
                until = self._extend() if not self.released else None
                if until is None:
                    raise SyncLeaseLostError(
                        "This sync lost its hold on the connection: it could not renew it within its lease "
                        f"(SYNC_LEASE_SECONDS = {lease_seconds()} s), so another sync may have taken over. "
                        "It stopped without writing more."
                    )
            self.until = until

    def release(self) -> None:
        """Give the connection back, if the run still holds it; the heartbeat stops
        renewing. Every task of the run stops renewing it too (their next renewal fails)."""
        with self.lock:
            self.released = True
            ProviderConnection.objects.filter(pk=self.connection_id, sync_claim_token=self.token).update(
                sync_claimed_until=None, sync_claim_token=""
            )


def connection_claim(*, connection: ProviderConnection, source: str = "api") -> SyncLease | None:
    """Claim `connection` for one run: a conditional UPDATE that succeeds only when no live
    lease exists, and replaces exactly the value it read (a lapsed lease, or none), with a
    new token. An API run also clears `sync_requested_at`: the queued request is being
    answered.
    Returns the lease, or None when another run holds the connection."""
    now = timezone.now()
    previous = ProviderConnection.objects.filter(pk=connection.pk).values_list("sync_claimed_until", flat=True)
    lapsed = previous.first()
    if lease_is_live(until=lapsed, now=now):
        return None
    until = now + dt.timedelta(seconds=lease_seconds())
    token = secrets.token_hex(16)
    changes: dict[str, Any] = {"sync_claimed_until": until, "sync_claim_token": token}
    if source == "api":
        changes["sync_requested_at"] = None
    unchanged = Q(sync_claimed_until__isnull=True) if lapsed is None else Q(sync_claimed_until=lapsed)
    claimed = ProviderConnection.objects.filter(unchanged, pk=connection.pk).update(**changes)
    return SyncLease(connection_id=connection.pk, token=token, until=until, lapsed=lapsed) if claimed == 1 else None


def connection_held_until(*, connection: ProviderConnection, now: dt.datetime) -> dt.datetime | None:
    """The end of the live lease on `connection`, or None when no run holds it."""
    until = ProviderConnection.objects.filter(pk=connection.pk).values_list("sync_claimed_until", flat=True).first()
    return until if lease_is_live(until=until, now=now) else None


class LeaseHeartbeat:
    """Renews a lease every third of SYNC_LEASE_SECONDS from a daemon thread while the run
    fetches and writes. The thread has its own database connection and closes it when
    it ends. A failed renewal (database locked or unreachable) is logged and tried again
    at the next beat; the run goes on (its page transactions renew too). A lost lease
    stops the beat; the run finds out at its next page."""

    def __init__(self, lease: SyncLease, *, name: str) -> None:
        self.lease = lease
        self.interval = lease_seconds() / 3
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"sync-lease {name}", daemon=True)

    def __enter__(self) -> LeaseHeartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=self.interval + 10)

    def _beat(self) -> None:
        try:
            while not self.stopping.wait(self.interval):
                try:
                    if not self.lease.renew(wait_seconds=min(self.interval, 5.0)):
                        return
                except DatabaseError as exc:
                    logger.warning(
                        "Sync lease of connection %s not renewed this time (next try in %.0f s): %s",
                        self.lease.connection_id,
                        self.interval,
                        exc,
                    )
                    db_connection.close()  # a broken connection is opened afresh at the next beat
        finally:
            db_connection.close()


def heartbeat_possible() -> bool:
    """A heartbeat needs to write on a connection of its own and be seen by others: not
    inside the caller's transaction (nothing is committed there until the caller commits,
    and another connection would wait on its row lock; tests run in one) and not on an
    in-memory SQLite database (each connection has its own). The page transactions
    renew the lease there."""
    if transaction.get_connection().in_atomic_block:
        return False
    name = str(db_connection.settings_dict["NAME"])
    return not (db_connection.vendor == "sqlite" and (name == ":memory:" or "mode=memory" in name))
