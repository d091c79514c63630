"""The sync pipeline: provider records in, enrollments out.

adapter pages -> validation -> merge of duplicates -> learner matching -> bulk upsert
of courses, enrollments and unmatched records -> counts on the SyncRun -> progress hook.

`sync_run` is the one function the Celery task, the commands and the upload page call
(through `sync_api` / `sync_csv`, which only build the adapter).

Counting rule: every fetched record lands in exactly one count, so
fetched = created + updated + unchanged + merged + skipped + invalid + unmatched.
- invalid: the record cannot be used (adapter problem, no learner key, no course id,
  unknown content type, completed without a date, ...): kept as an InvalidRecord.
- skipped: valid provider data that is not course-level (a specialization, video,
  path, ...): the company goal counts courses only, so no enrollment is written; the
  run counts them so nothing disappears silently.
- merged: a second record for the same learner and course in the same run, folded
  into the first (see `record_better`).
- unmatched: a learner not on the roster: kept as an UnmatchedRecord (upserted by
  connection + learner key + course) and matched again when the roster gains them.
- created / updated / unchanged: enrollments written, changed or left as they were.

Locking contract (the lease): a run holds its connection through a conditional UPDATE of
`ProviderConnection.sync_claimed_until` (portable: PostgreSQL and SQLite), a lease of
`settings.SYNC_LEASE_SECONDS` whose exact value is the holder's token. A second run of the
same connection, while the lease is live, raises `SyncAlreadyRunningError` and writes
nothing. The holder renews the lease every third of it from a heartbeat thread (so a slow
page fetch, retries and back-off included, never lets it lapse) and in every page
transaction, which commits only while the lease is still its own: a run that lost its lease
writes nothing more and stops. A run whose process died stops renewing; its lease lapses
within one lease, and the next run to claim the connection marks it failed with the
reason (`sync_takeover_reason`), then re-reads everything.

Each page is committed in its own transaction with the run's counts, so a run that
fails on page 3 leaves pages 1-2 written and counted (its error says so); the next run
re-reads them (all unchanged) and completes the rest. The unique keys make double
counting impossible.

Requests: `sync_request` queues a sync (the page, the API, the schedule) and notes it on
`ProviderConnection.sync_requested_at` until an API run starts. A queued sync that finds
the connection held waits for the lease to end (`programs.tasks.sync_connection` retries
it), and one already answered by a later successful run does not sync again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO, NamedTuple

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import dateformat, timezone

from programs.models import (
    Course,
    Employee,
    Enrollment,
    InvalidRecord,
    Provider,
    ProviderConnection,
    SyncRun,
    SyncStatus,
    UnmatchedRecord,
)
from programs.providers.base import Adapter, AdapterStats, ProviderConfigurationError, ProviderError, ProviderRecord
from reports.hooks import progress_changed

logger = logging.getLogger(__name__)

SYNC_RETRY_MIN_SECONDS = 2  # a queued sync that finds its connection held looks again after at least this
# The schedule queues again a request noted this long ago that no run answered (its task was lost).
SYNC_REQUEST_STALE = dt.timedelta(minutes=10)
INCREMENTAL_OVERLAP = dt.timedelta(days=1)  # providers lag live activity by up to 24 h (PROVIDERS.md)
REMATCH_BATCH_SIZE = 500

COURSE_TYPE = "course"
# Valid provider content that is not a course: counted as skipped, never as an enrollment.
NON_COURSE_TYPES = frozenset(
    {
        "specialization",
        "s12n",
        "professional certificate",
        "professionalcertificate",
        "video",
        "path",
        "program",
        "project",
        "guided project",
        "guidedproject",
        "collection",
        "article",
        "lecture",
        "lab",
        "assessment",
    }
)
LEARNER_KEY_MAX = Enrollment._meta.get_field("learner_key").max_length or 254
COURSE_ID_MAX = Course._meta.get_field("provider_course_id").max_length or 200
PROGRESS_PLACES = Decimal("0.01")


class SyncAlreadyRunningError(Exception):
    """Another sync holds this connection; this one wrote nothing. `held_until` is when
    that hold lapses unless its run renews it (None when unknown)."""

    def __init__(self, message: str, *, held_until: dt.datetime | None = None) -> None:
        super().__init__(message)
        self.held_until = held_until


class SyncLeaseLostError(Exception):
    """The run no longer holds its connection: its lease lapsed and another run took it."""


# --- The lease (per-connection lock) -----------------------------------------------------


def lease_seconds() -> int:
    """The lease length, SYNC_LEASE_SECONDS (env, at least 15)."""
    return int(settings.SYNC_LEASE_SECONDS)


def when_shown(moment: dt.datetime) -> str:
    """A time as the messages show it: in the company time zone, to the second."""
    return dateformat.format(timezone.localtime(moment), "j M Y, H:i:s T")


class SyncLease:
    """One run's hold on its connection. `until` (the value of `sync_claimed_until`) is
    the token: only the run that wrote it renews or releases it.

    Thread-safe: the heartbeat renews from its own thread while the run's thread writes
    pages. `lock` serializes the two, so they never write at once (on SQLite two writers
    of one process would meet "database is locked"), and `until` only changes once a
    renewal has committed. `lapsed` is the lease this one replaced (a dead run's), if any."""

    def __init__(self, *, connection_id: int, until: dt.datetime, lapsed: dt.datetime | None = None) -> None:
        self.connection_id = connection_id
        self.until = until
        self.lapsed = lapsed
        self.lock = threading.Lock()
        self.lost = threading.Event()
        self.released = False

    def _extend(self) -> dt.datetime | None:
        """Move our lease to a full lease from now (inside the caller's transaction, under
        `lock`); None when it is no longer ours."""
        until = timezone.now() + dt.timedelta(seconds=lease_seconds())
        renewed = ProviderConnection.objects.filter(pk=self.connection_id, sync_claimed_until=self.until).update(
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
        """A transaction that renews the lease first and commits only while it is ours:
        a run that lost it raises SyncLeaseLostError and its page is not written."""
        with self.lock:
            with transaction.atomic():
                until = self._extend() if not self.released else None
                if until is None:
                    raise SyncLeaseLostError(
                        "This sync lost its hold on the connection: it could not renew it within its lease "
                        f"(SYNC_LEASE_SECONDS = {lease_seconds()} s), so another sync may have taken over. "
                        "It stopped without writing more."
                    )
                yield
            self.until = until

    def release(self) -> None:
        """Give the connection back, if it is still ours; the heartbeat stops renewing."""
        with self.lock:
            self.released = True
            ProviderConnection.objects.filter(pk=self.connection_id, sync_claimed_until=self.until).update(
                sync_claimed_until=None
            )


def connection_claim(*, connection: ProviderConnection, source: str = "api") -> SyncLease | None:
    """Claim `connection` for one run: a conditional UPDATE that succeeds only when no live
    lease exists, and replaces exactly the value it read (a lapsed lease, or none). An API
    run also clears `sync_requested_at`: the queued request is being answered.
    Returns the lease, or None when another run holds the connection."""
    now = timezone.now()
    previous = ProviderConnection.objects.filter(pk=connection.pk).values_list("sync_claimed_until", flat=True)
    lapsed = previous.first()
    if lapsed is not None and lapsed >= now:
        return None
    until = now + dt.timedelta(seconds=lease_seconds())
    changes: dict[str, Any] = {"sync_claimed_until": until}
    if source == "api":
        changes["sync_requested_at"] = None
    unchanged = Q(sync_claimed_until__isnull=True) if lapsed is None else Q(sync_claimed_until=lapsed)
    claimed = ProviderConnection.objects.filter(unchanged, pk=connection.pk).update(**changes)
    return SyncLease(connection_id=connection.pk, until=until, lapsed=lapsed) if claimed == 1 else None


def connection_held_until(*, connection: ProviderConnection, now: dt.datetime) -> dt.datetime | None:
    """The end of the live lease on `connection`, or None when no run holds it."""
    until = ProviderConnection.objects.filter(pk=connection.pk).values_list("sync_claimed_until", flat=True).first()
    return until if until is not None and until >= now else None


class _Heartbeat:
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

    def __enter__(self) -> _Heartbeat:
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


def _heartbeat_possible() -> bool:
    """A heartbeat needs to write on a connection of its own and be seen by others: not
    inside the caller's transaction (nothing is committed there until the caller commits,
    and another connection would wait on its row lock; tests run in one) and not on an
    in-memory SQLite database (each connection has its own). The page transactions
    renew the lease there."""
    if transaction.get_connection().in_atomic_block:
        return False
    name = str(db_connection.settings_dict["NAME"])
    return not (db_connection.vendor == "sqlite" and (name == ":memory:" or "mode=memory" in name))


# --- Validation, keys, merging ----------------------------------------------------------


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """Provider times without a zone are UTC (PROVIDERS.md)."""
    if value is None or timezone.is_aware(value):
        return value
    return value.replace(tzinfo=dt.UTC)


def record_normalized(record: ProviderRecord) -> ProviderRecord:
    """Trimmed keys, lower-case e-mail and content type, aware datetimes, progress
    rounded as stored (0.01, outside 0..100 dropped), raw made JSON-plain, and no
    completion date on a record that is not completed."""
    progress = record.progress
    if progress is not None:
        try:
            progress = Decimal(progress).quantize(PROGRESS_PLACES)
        except (InvalidOperation, TypeError, ValueError):
            progress = None
        if progress is not None and not (0 <= progress <= 100):
            progress = None
    return replace(
        record,
        raw=json.loads(json.dumps(record.raw, cls=DjangoJSONEncoder)),
        email=(record.email or "").strip().lower(),
        external_id=(record.external_id or "").strip(),
        provider_course_id=(record.provider_course_id or "").strip(),
        content_type=(record.content_type or "").strip().lower(),
        enrolled_at=_aware(record.enrolled_at),
        last_activity_at=_aware(record.last_activity_at),
        completed_at=_aware(record.completed_at) if record.is_completed else None,
        progress=progress,
    )


def record_problem(record: ProviderRecord) -> str:
    """Why a normalized record cannot be used, or "" when it can. Non-course content is
    valid (see `record_is_course`)."""
    if record.problem:
        return record.problem
    if not record.email and not record.external_id:
        return "missing learner e-mail and external id"
    if record.email and "@" not in record.email:
        return f"learner e-mail {record.email!r} is not an e-mail address"
    if len(learner_key(record)) > LEARNER_KEY_MAX:
        return f"learner key longer than {LEARNER_KEY_MAX} characters"
    if not record.content_type:
        return "missing content type"
    if record.content_type != COURSE_TYPE and record.content_type not in NON_COURSE_TYPES:
        return f"unknown content type {record.content_type!r}"
    if not record.provider_course_id:
        return "missing course id"
    if len(record.provider_course_id) > COURSE_ID_MAX:
        return f"course id longer than {COURSE_ID_MAX} characters"
    if record.is_completed and record.completed_at is None:
        return "completed without a completion date"
    return ""


def record_is_course(record: ProviderRecord) -> bool:
    """Only course-level content counts toward the goal (DESIGN.md)."""
    return record.content_type == COURSE_TYPE


def learner_key(record: ProviderRecord) -> str:
    """The provider's learner key: the external id when set, else the e-mail. Coursera's
    external id defaults to the e-mail, so a key that looks like an e-mail is compared
    in lower case, like the e-mail itself."""
    key = record.external_id or record.email
    return key.lower() if "@" in key else key


def record_better(current: ProviderRecord, other: ProviderRecord) -> ProviderRecord:
    """Of two records for the same learner and course, the one to keep: a completed
    record beats one that is not; of two completed, the earliest completion; of two not
    completed, the latest activity (then the most progress, then the later record)."""
    if current.is_completed != other.is_completed:
        return current if current.is_completed else other
    if current.is_completed and current.completed_at and other.completed_at:  # both dated: validated
        return other if other.completed_at < current.completed_at else current
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    mine = (current.last_activity_at or epoch, current.progress or Decimal(0))
    theirs = (other.last_activity_at or epoch, other.progress or Decimal(0))
    return current if mine > theirs else other


class KeptRecord(NamedTuple):
    """What a run remembers, per (learner, course) key, of the record it kept: only what
    `record_better` compares, as plain numbers (a few dozen bytes instead of the whole
    record and its raw JSON), so a run's memory grows by little more than its keys."""

    is_completed: bool
    completed_at: float | None  # POSIX seconds; exact to the microsecond at today's dates
    last_activity_at: float
    progress: float


def record_kept(record: ProviderRecord) -> KeptRecord:
    """The KeptRecord of a normalized, valid record."""
    return KeptRecord(
        is_completed=record.is_completed,
        completed_at=record.completed_at.timestamp() if record.completed_at else None,
        last_activity_at=record.last_activity_at.timestamp() if record.last_activity_at else float("-inf"),
        progress=float(record.progress or 0),
    )


def record_replaces(kept: KeptRecord, record: ProviderRecord) -> bool:
    """True when `record_better(previous, record)` would keep `record`, decided from what
    was kept of `previous` (same rule: completed first, then the earliest completion,
    then the latest activity and the most progress, ties to the later record)."""
    new = record_kept(record)
    if kept.is_completed != new.is_completed:
        return new.is_completed
    if kept.is_completed and kept.completed_at is not None and new.completed_at is not None:
        return new.completed_at < kept.completed_at
    return not (kept.last_activity_at, kept.progress) > (new.last_activity_at, new.progress)


# --- Serializing a record for UnmatchedRecord.record (replayed on re-match) ---------------

_DATETIME_FIELDS = ("enrolled_at", "last_activity_at", "completed_at")
_DECIMAL_FIELDS = ("progress", "course_hours")


def record_to_json(record: ProviderRecord) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for f in fields(ProviderRecord):
        if f.name in ("raw", "extra"):
            continue
        value = getattr(record, f.name)
        if f.name in _DATETIME_FIELDS and value is not None:
            value = value.isoformat()
        elif f.name in _DECIMAL_FIELDS and value is not None:
            value = str(value)
        data[f.name] = value
    return data


def record_from_json(data: dict[str, Any], *, raw: dict[str, Any]) -> ProviderRecord:
    known = {f.name for f in fields(ProviderRecord)} - {"raw", "extra"}
    values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
    for name in _DATETIME_FIELDS:
        if values.get(name):
            values[name] = dt.datetime.fromisoformat(values[name])
    for name in _DECIMAL_FIELDS:
        if values.get(name) is not None:
            values[name] = Decimal(values[name])
    return ProviderRecord(raw=raw, **values)


# --- Writes --------------------------------------------------------------------------


def courses_ensure(*, provider: str, records: Iterable[ProviderRecord]) -> dict[str, Course]:
    """Course rows for the records' course ids, keyed by provider course id: created in
    bulk when missing, with title / partner / url / hours filled where still empty.
    Two queries (plus the writes) whatever the number of courses."""
    wanted: dict[str, ProviderRecord] = {}
    for record in records:
        wanted.setdefault(record.provider_course_id, record)
    if not wanted:
        return {}
    existing = {
        c.provider_course_id: c for c in Course.objects.filter(provider=provider, provider_course_id__in=wanted)
    }
    missing = [
        Course(
            provider=provider,
            provider_course_id=course_id,
            title=record.course_title[:300],
            partner=record.partner[:300],
            url=record.course_url[:500],
            hours=record.course_hours,
        )
        for course_id, record in wanted.items()
        if course_id not in existing
    ]
    if missing:
        Course.objects.bulk_create(missing, ignore_conflicts=True)  # a concurrent sync may add the same course
        existing = {
            c.provider_course_id: c for c in Course.objects.filter(provider=provider, provider_course_id__in=wanted)
        }
    filled: list[Course] = []
    for course_id, course in existing.items():
        record = wanted[course_id]
        changed = False
        for attr, value in (
            ("title", record.course_title[:300]),
            ("partner", record.partner[:300]),
            ("url", record.course_url[:500]),
        ):
            if value and not getattr(course, attr):
                setattr(course, attr, value)
                changed = True
        if record.course_hours is not None and course.hours is None:
            course.hours = record.course_hours
            changed = True
        if changed:
            course.updated_at = timezone.now()
            filled.append(course)
    if filled:
        Course.objects.bulk_update(filled, ["title", "partner", "url", "hours", "updated_at"])
    return existing


_ENROLLMENT_FIELDS = [
    "employee_id",
    "enrolled_at",
    "last_activity_at",
    "progress",
    "is_completed",
    "completed_at",
    "is_removed",
    "raw",
]


@dataclass
class UpsertCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def enrollments_upsert(
    *, connection: ProviderConnection, provider: str, matched: list[tuple[ProviderRecord, int]]
) -> UpsertCounts:
    """Upsert one enrollment per (connection, learner key, course) from (record,
    employee id) pairs: existing rows are loaded in ONE query and compared in Python;
    only new rows are inserted and only changed rows updated (updated_at moves only
    then). Records must already be merged (one per key)."""
    counts = UpsertCounts()
    if not matched:
        return counts
    courses = courses_ensure(provider=provider, records=[r for r, _ in matched])
    keys = {learner_key(r) for r, _ in matched}
    course_ids = {courses[r.provider_course_id].pk for r, _ in matched}
    existing = {
        (e.learner_key, e.course_id): e
        for e in Enrollment.objects.filter(connection=connection, learner_key__in=keys, course_id__in=course_ids)
    }
    now = timezone.now()
    to_create: list[Enrollment] = []
    to_update: list[Enrollment] = []
    for record, employee_id in matched:
        course = courses[record.provider_course_id]
        values = {
            "employee_id": employee_id,
            "enrolled_at": record.enrolled_at,
            "last_activity_at": record.last_activity_at,
            "progress": record.progress,
            "is_completed": record.is_completed,
            "completed_at": record.completed_at,
            "is_removed": record.is_removed,
            "raw": record.raw,
        }
        row = existing.get((learner_key(record), course.pk))
        if row is None:
            to_create.append(
                Enrollment(connection=connection, learner_key=learner_key(record), course=course, **values)
            )
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.updated_at = now
            to_update.append(row)
        else:
            counts.unchanged += 1
    Enrollment.objects.bulk_create(to_create)
    Enrollment.objects.bulk_update(to_update, [*_ENROLLMENT_FIELDS, "updated_at"])
    counts.created, counts.updated = len(to_create), len(to_update)
    return counts


def employees_match(*, records: Iterable[ProviderRecord]) -> dict[str, int]:
    """Employee ids by learner key. Matching: the external id first (trimmed, exact),
    then the e-mail (trimmed, case-insensitive). Coursera's external id defaults to the
    e-mail, so an external id that matches no one falls through to the e-mail.
    One query whatever the number of records."""
    records = list(records)
    external_ids = {r.external_id for r in records if r.external_id}
    emails = {r.email for r in records if r.email}
    if not external_ids and not emails:
        return {}
    by_external: dict[str, int] = {}
    by_email: dict[str, int] = {}
    people = (
        Employee.objects.annotate(email_ci=Lower("email"))
        .filter(Q(external_id__in=external_ids) | Q(email_ci__in=emails))
        .values_list("pk", "external_id", "email_ci")
    )
    for pk, external_id, email_ci in people:
        if external_id:
            by_external[external_id] = pk
        by_email[email_ci] = pk
    matches: dict[str, int] = {}
    for record in records:
        employee_id = by_external.get(record.external_id) if record.external_id else None
        if employee_id is None and record.email:
            employee_id = by_email.get(record.email)
        if employee_id is not None:
            matches[learner_key(record)] = employee_id
    return matches


def unmatched_reason(record: ProviderRecord) -> str:
    who = " or ".join(
        part
        for part in (
            f"external id {record.external_id!r}" if record.external_id else "",
            f"e-mail {record.email!r}" if record.email else "",
        )
        if part
    )
    return f"no employee on the roster with {who}"


def unmatched_resolved_delete(*, connection: ProviderConnection, records: list[ProviderRecord]) -> None:
    """Drop kept unmatched rows of records that now matched (the person joined the
    roster without the roster hook, e.g. through the Django admin)."""
    if not records:
        return
    pairs = {(learner_key(r), r.provider_course_id) for r in records}
    stale = [
        pk
        for pk, key, course_id in UnmatchedRecord.objects.filter(
            connection=connection, learner_key__in={k for k, _ in pairs}
        ).values_list("pk", "learner_key", "provider_course_id")
        if (key, course_id) in pairs
    ]
    if stale:
        UnmatchedRecord.objects.filter(pk__in=stale).delete()


_UNMATCHED_FIELDS = ["email", "external_id", "reason", "record", "raw", "last_run", "last_seen_at"]


def unmatched_upsert(*, connection: ProviderConnection, run: SyncRun | None, records: list[ProviderRecord]) -> None:
    """Keep records of people not on the roster, one row per (connection, learner key,
    course): new rows inserted, changed rows updated, identical rows left alone."""
    if not records:
        return
    keys = {learner_key(r) for r in records}
    existing = {
        (u.learner_key, u.provider_course_id): u
        for u in UnmatchedRecord.objects.filter(
            connection=connection, learner_key__in=keys, provider_course_id__in={r.provider_course_id for r in records}
        )
    }
    now = timezone.now()
    to_create: list[UnmatchedRecord] = []
    to_update: list[UnmatchedRecord] = []
    for record in records:
        values = {
            "email": record.email[:254],
            "external_id": record.external_id[:200],
            "reason": unmatched_reason(record)[:500],
            "record": record_to_json(record),
            "raw": record.raw,
        }
        row = existing.get((learner_key(record), record.provider_course_id))
        if row is None:
            to_create.append(
                UnmatchedRecord(
                    connection=connection,
                    learner_key=learner_key(record),
                    provider_course_id=record.provider_course_id,
                    last_run=run,
                    **values,
                )
            )
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.last_run, row.last_seen_at = run, now
            to_update.append(row)
    UnmatchedRecord.objects.bulk_create(to_create)
    UnmatchedRecord.objects.bulk_update(to_update, _UNMATCHED_FIELDS)


# --- The pipeline ---------------------------------------------------------------------

_COUNT_FIELDS = [
    "fetched",
    "created",
    "updated",
    "unchanged",
    "merged",
    "skipped",
    "invalid",
    "unmatched",
    "pages",
    "retries",
]


def _page_process(
    *,
    connection: ProviderConnection,
    run: SyncRun,
    page: list[ProviderRecord],
    seen: dict[tuple[str, str], KeptRecord],
) -> None:
    """Validate, merge, match and write one page; add its counts to `run` (unsaved).

    `seen` holds what the run kept per (learner key, course id) across pages (a compact
    KeptRecord, not the record: memory stays small as the data grows). A duplicate counts
    as `merged` only; when it wins (`record_better`, via `record_replaces`) the row
    written for the first one is rewritten, without counting it a second time."""
    run.fetched += len(page)
    invalid: list[InvalidRecord] = []
    fresh: dict[tuple[str, str], ProviderRecord] = {}  # first seen on this page: counted by the write
    rewrites: dict[tuple[str, str], ProviderRecord] = {}  # first seen on an earlier page: not counted again
    for original in page:
        record = record_normalized(original)
        problem = record_problem(record)
        if problem:
            invalid.append(
                InvalidRecord(connection=connection, run=run, line=record.line, reason=problem[:500], raw=record.raw)
            )
            continue
        if not record_is_course(record):
            run.skipped += 1
            continue
        key = (learner_key(record), record.provider_course_id)
        previous = seen.get(key)
        if previous is not None:
            run.merged += 1
            if not record_replaces(previous, record):
                continue
        seen[key] = record_kept(record)
        if key in fresh or previous is None:
            fresh[key] = record
        else:
            rewrites[key] = record
    run.invalid += len(invalid)
    InvalidRecord.objects.bulk_create(invalid)

    for records, counted in ((list(fresh.values()), True), (list(rewrites.values()), False)):
        if not records:
            continue
        matches = employees_match(records=records)
        matched = [(r, matches[learner_key(r)]) for r in records if learner_key(r) in matches]
        unmatched = [r for r in records if learner_key(r) not in matches]
        counts = enrollments_upsert(connection=connection, provider=connection.kind, matched=matched)
        unmatched_upsert(connection=connection, run=run, records=unmatched)
        unmatched_resolved_delete(connection=connection, records=[r for r, _ in matched])
        if counted:
            run.created += counts.created
            run.updated += counts.updated
            run.unchanged += counts.unchanged
            run.unmatched += len(unmatched)


def _secret_scrubbed(message: str, *, connection: ProviderConnection) -> str:
    """Belt and braces: an error message never carries the client secret."""
    if connection.client_secret:
        message = message.replace(connection.client_secret, "[secret]")
    return message[:2000]


def run_kept(*, run: SyncRun, pages: int, cause: str = "the error", by: str = "The next sync") -> str:
    """The sentence a failed run's error ends with when it had written pages: what is
    kept (its committed counts) and how the rest gets done. "" when nothing was written."""
    if pages <= 0:
        return ""
    which = "page 1" if pages == 1 else f"pages 1-{pages}"
    them = "it" if pages == 1 else "them"
    rest = (
        f"{by} re-reads {them} and completes the rest."
        if run.source == "api"
        else "Importing the same file again completes it; rows already written stay as they are."
    )
    return f"Kept: {which}, written before {cause} ({sync_run_counts(run=run)}). {rest}"


def _with_kept(message: str, *, run: SyncRun, pages: int) -> str:
    kept = run_kept(run=run, pages=pages)
    return f"{message} {kept}" if kept else message


def sync_takeover_reason(*, dead: SyncRun, lapsed: dt.datetime | None, successor: SyncRun) -> str:
    """Why `dead` (still marked running when `successor` claimed its connection) failed."""
    if lapsed is not None:
        why = (
            f"its hold on the connection lapsed at {when_shown(lapsed)} without being renewed "
            "(the process running it was killed, or lost the database)"
        )
    else:
        why = "the process running it stopped before recording the end"
    message = (
        f"Stopped without finishing: {why}. It was taken over by the sync started at "
        f"{when_shown(successor.started_at)}."
    )
    kept = run_kept(run=dead, pages=dead.pages, cause="it stopped", by="The sync that took over")
    return f"{message} {kept}" if kept else message


def _run_start(*, connection: ProviderConnection, lease: SyncLease, source: str, full: bool) -> SyncRun:
    """The new run; every other run of the connection still marked running is dead (we
    hold its lease now): marked failed with the reason."""
    run = SyncRun.objects.create(connection=connection, source=source, full=full, status=SyncStatus.RUNNING)
    for dead in SyncRun.objects.filter(connection=connection, status=SyncStatus.RUNNING).exclude(pk=run.pk):
        reason = sync_takeover_reason(dead=dead, lapsed=lease.lapsed, successor=run)
        SyncRun.objects.filter(pk=dead.pk, status=SyncStatus.RUNNING).update(
            status=SyncStatus.FAILED, finished_at=run.started_at, error=reason
        )
        logger.warning("Sync of %s (run %s) taken over by run %s: %s", connection.name, dead.pk, run.pk, reason)
    return run


def sync_run(*, connection: ProviderConnection, adapter: Adapter, source: str = "api", full: bool = False) -> SyncRun:
    """Run the pipeline over everything `adapter` yields and return the finished run.

    Holds the connection's lease for the whole run (raises SyncAlreadyRunningError, writing
    nothing, when another run holds it), renewed by a heartbeat and by each page
    transaction (see the locking contract above). Each page is written and counted in its
    own transaction. A ProviderError (configuration or unavailability) ends the run as
    failed with the adapter's admin-friendly message, and a lost lease with its own; any
    other error ends it as failed and is re-raised. A failed run's message ends with what
    it kept (`run_kept`). After a success, `reports.hooks.progress_changed()` is called,
    and an API run also stamps `connection.last_synced_at` (the schedule's clock)."""
    lease = connection_claim(connection=connection, source=source)
    if lease is None:
        held_until = connection_held_until(connection=connection, now=timezone.now())
        shown = f" (its hold lasts until {when_shown(held_until)} and is renewed while it runs)" if held_until else ""
        raise SyncAlreadyRunningError(
            f"A sync of {connection.name} is already running{shown}; try again when it ends.", held_until=held_until
        )
    run = None
    written = 0
    stats: AdapterStats = getattr(adapter, "stats", AdapterStats())
    heartbeat: AbstractContextManager[Any] = (
        _Heartbeat(lease, name=connection.name) if _heartbeat_possible() else nullcontext()
    )
    try:
        with heartbeat:
            run = _run_start(connection=connection, lease=lease, source=source, full=full)
            seen: dict[tuple[str, str], KeptRecord] = {}
            for page in adapter.pages():
                with lease.held():
                    _page_process(connection=connection, run=run, page=list(page), seen=seen)
                    run.pages, run.retries = max(stats.pages, written + 1), stats.retries
                    run.save(update_fields=_COUNT_FIELDS)
                written += 1
            with lease.held():
                _run_finish(run, status=SyncStatus.SUCCEEDED, error="", stats=stats)
                if source == "api":
                    ProviderConnection.objects.filter(pk=connection.pk).update(last_synced_at=run.started_at)
                    connection.last_synced_at = run.started_at
    except (ProviderError, SyncLeaseLostError) as exc:
        if run is None:
            raise
        error = _with_kept(_secret_scrubbed(str(exc), connection=connection), run=_counted(run), pages=written)
        _run_fail(run, error=error, stats=stats)
        logger.warning("Sync of %s (run %s) failed: %s", connection.name, run.pk, run.error)
        return run
    except BaseException as exc:
        if run is not None:
            logger.exception("Sync of %s (run %s) stopped on an unexpected error", connection.name, run.pk)
            message = f"The sync stopped on an unexpected error ({exc.__class__.__name__}); see the server log."
            try:
                _run_fail(run, error=_with_kept(message, run=_counted(run), pages=written), stats=stats)
            except DatabaseError:  # the database itself may be what failed; the lease lapses, a takeover says so
                logger.exception("Sync of %s (run %s): the failure could not be recorded", connection.name, run.pk)
        raise
    finally:
        try:
            lease.release()
        except DatabaseError:  # the lease lapses by itself within SYNC_LEASE_SECONDS
            logger.warning("Sync of %s could not release its lease; it lapses by itself", connection.name)
    logger.info("Sync of %s (run %s, %s) succeeded: %s", connection.name, run.pk, source, sync_run_summary(run=run))
    progress_changed(program_ids=None)
    return run


def _counted(run: SyncRun) -> SyncRun:
    """`run` with the counts that were committed (a page that failed half-way added to
    the unsaved counts before its transaction rolled back)."""
    run.refresh_from_db(fields=_COUNT_FIELDS)
    return run


def _run_finish(run: SyncRun, *, status: str, error: str, stats: AdapterStats) -> None:
    run.status, run.error, run.finished_at = status, error, timezone.now()
    run.pages, run.retries = max(stats.pages, run.pages), stats.retries
    run.save(update_fields=["status", "error", "finished_at", "pages", "retries"])


def _run_fail(run: SyncRun, *, error: str, stats: AdapterStats) -> None:
    """Mark `run` failed unless it is no longer running (a run that took over its
    connection has already recorded why): the first reason stays."""
    finished_at = timezone.now()
    pages, retries = max(stats.pages, run.pages), stats.retries
    updated = SyncRun.objects.filter(pk=run.pk, status=SyncStatus.RUNNING).update(
        status=SyncStatus.FAILED, error=error, finished_at=finished_at, pages=pages, retries=retries
    )
    if updated:
        run.status, run.error, run.finished_at, run.pages, run.retries = (
            SyncStatus.FAILED,
            error,
            finished_at,
            pages,
            retries,
        )
    else:
        run.refresh_from_db()


def sync_run_counts(*, run: SyncRun) -> str:
    """The record counts of a run on one line."""
    return (
        f"fetched {run.fetched}, created {run.created}, updated {run.updated}, unchanged {run.unchanged}, "
        f"merged {run.merged}, skipped {run.skipped}, invalid {run.invalid}, unmatched {run.unmatched}"
    )


def sync_run_summary(*, run: SyncRun) -> str:
    """The counts of a run on one line, as the commands print them."""
    return f"{sync_run_counts(run=run)} (pages {run.pages}, retries {run.retries})"


class _Refused:
    """An adapter that could not be built: its only page raises the reason, so the run
    is recorded as failed with that message like any other provider error."""

    def __init__(self, error: ProviderError) -> None:
        self.error = error
        self.stats = AdapterStats()

    def pages(self) -> Iterator[list[ProviderRecord]]:
        raise self.error


def api_sync_problem(*, connection: ProviderConnection) -> str:
    """Why `connection` cannot be synced from the provider's API, or "" when it can."""
    if connection.kind != Provider.COURSERA:
        return (
            f"{connection.get_kind_display()} connections cannot be synced from the API yet: "
            "only Coursera is supported."
        )
    return ""


def sync_since(*, connection: ProviderConnection) -> dt.datetime | None:
    """Where an incremental API sync starts: the start of the last successful API run
    minus one day (providers lag up to 24 h), or None (everything) when there is none."""
    last = (
        SyncRun.objects.filter(connection=connection, source="api", status=SyncStatus.SUCCEEDED)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    return None if last is None else last - INCREMENTAL_OVERLAP


def sync_api(*, connection: ProviderConnection, full: bool = False) -> SyncRun:
    """Sync `connection` from the provider's API: incremental from `sync_since`, or
    everything with `full`."""
    adapter: Adapter
    problem = api_sync_problem(connection=connection)
    try:
        if problem:
            raise ProviderConfigurationError(problem)
        from programs.providers.coursera_api import CourseraApiAdapter

        adapter = CourseraApiAdapter.from_connection(
            connection, since=None if full else sync_since(connection=connection)
        )
    except ProviderError as exc:
        adapter = _Refused(exc)
    except ImportError:
        adapter = _Refused(ProviderConfigurationError("The Coursera API adapter is not installed on this server."))
    return sync_run(connection=connection, adapter=adapter, source="api", full=full)


def sync_csv(*, connection: ProviderConnection, file: BinaryIO) -> SyncRun:
    """Import a Coursera "CourseActivity" CSV export for `connection` through the same
    pipeline (source "csv"). A file-level problem (not a CSV, missing columns) fails the
    run with the adapter's message; bad lines are kept as invalid records with their line."""
    adapter: Adapter
    try:
        if connection.kind != Provider.COURSERA:
            raise ProviderConfigurationError("CSV import reads Coursera CourseActivity exports only.")
        from programs.providers.coursera_csv import CourseraCsvAdapter

        adapter = CourseraCsvAdapter(file=file)
    except ProviderError as exc:
        adapter = _Refused(exc)
    return sync_run(connection=connection, adapter=adapter, source="csv", full=False)


def sync_request(*, connection: ProviderConnection, full: bool = False) -> bool:
    """Queue a sync of `connection` on the worker once the current transaction commits,
    and note when it was asked for on `connection.sync_requested_at` (the earliest request
    still waiting; the next API run to start clears it). True when queued.

    A queued sync that finds another run holding the connection waits for that run to end
    and then runs (`programs.tasks.sync_connection` retries it). With tasks run in process
    (CELERY_TASK_ALWAYS_EAGER: no broker, `make run`) nothing can retry it later and the
    sync would run inside this request: while another run holds the connection nothing is
    queued and this returns False."""
    from programs.tasks import sync_connection

    now = timezone.now()
    if sync_connection.app.conf.task_always_eager and connection_held_until(connection=connection, now=now):
        return False
    ProviderConnection.objects.filter(pk=connection.pk, sync_requested_at__isnull=True).update(sync_requested_at=now)
    connection_id, requested_at = connection.pk, now.isoformat()
    transaction.on_commit(lambda: sync_connection.delay(connection_id, full=full, requested_at=requested_at))
    return True


def sync_request_answered(
    *, connection: ProviderConnection, requested_at: dt.datetime, full: bool = False
) -> SyncRun | None:
    """The successful API run that answers a sync asked for at `requested_at`: one that
    started at or after then (a full one when `full`); None when none has yet. A run that
    failed answers nothing: the request still gets its own try."""
    runs = SyncRun.objects.filter(
        connection=connection, source="api", status=SyncStatus.SUCCEEDED, started_at__gte=requested_at
    )
    if full:
        runs = runs.filter(full=True)
    return runs.order_by("started_at", "pk").first()


def sync_requested(*, connection: ProviderConnection, requested_at: dt.datetime, full: bool = False) -> SyncRun:
    """Answer a sync asked for at `requested_at`: the run that already answers it
    (`sync_request_answered`: two requests, or a request and the schedule, make one sync),
    else a new `sync_api` run. Raises SyncAlreadyRunningError, writing nothing, while
    another run holds the connection."""
    answered = sync_request_answered(connection=connection, requested_at=requested_at, full=full)
    if answered is not None:
        logger.info("Sync of %s requested at %s: already done by run %s", connection.name, requested_at, answered.pk)
        return answered
    return sync_api(connection=connection, full=full)


def sync_wait_seconds(*, held_until: dt.datetime | None, requested_at: dt.datetime, now: dt.datetime) -> int | None:
    """How long a queued sync whose connection is held waits before it looks again: until
    just after that lease would lapse, but at most a third of a lease (a live run renews
    its lease, so the sync starts soon after that run ends; a dead run's lease lapses and
    the sync takes over one second later), and at least SYNC_RETRY_MIN_SECONDS. None (give
    up) once the request is older than any run can hold a connection
    (CELERY_TASK_TIME_LIMIT plus two leases): by then only new runs keep holding it."""
    lease = lease_seconds()
    if now - requested_at > dt.timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 2 * lease):
        return None
    beat = max(SYNC_RETRY_MIN_SECONDS, math.ceil(lease / 3))
    if held_until is None:
        return SYNC_RETRY_MIN_SECONDS
    until_lapsed = math.ceil((held_until - now).total_seconds()) + 1
    return min(max(until_lapsed, SYNC_RETRY_MIN_SECONDS), beat)


def sync_request_drop(*, connection: ProviderConnection, requested_at: dt.datetime) -> None:
    """A queued sync that will not run: the connection no longer shows it as queued (when
    it was the request noted there)."""
    ProviderConnection.objects.filter(pk=connection.pk, sync_requested_at__lte=requested_at).update(
        sync_requested_at=None
    )


def connections_due(*, now: dt.datetime) -> QuerySet[ProviderConnection]:
    """Active API-syncable connections that no sync holds right now and that are due:
    their interval has elapsed since their last API run started (any outcome, so a failing
    connection is retried at its interval, not every few minutes); or their last API run
    is dead (still marked running, lease lapsed: the next sync takes it over); or a sync
    requested more than SYNC_REQUEST_STALE ago was never answered (its task was lost)."""
    dead_run = SyncRun.objects.filter(connection=OuterRef("pk"), source="api", status=SyncStatus.RUNNING)
    candidates = (
        ProviderConnection.objects.filter(is_active=True, kind=Provider.COURSERA)
        .filter(Q(sync_claimed_until__isnull=True) | Q(sync_claimed_until__lt=now))
        .annotate(last_attempt=Max("runs__started_at", filter=Q(runs__source="api")), has_dead_run=Exists(dead_run))
    )
    due = [
        c.pk
        for c in candidates
        if c.last_attempt is None
        or c.last_attempt + dt.timedelta(minutes=c.sync_interval_minutes) <= now
        or c.has_dead_run
        or (c.sync_requested_at is not None and c.sync_requested_at < now - SYNC_REQUEST_STALE)
    ]
    return ProviderConnection.objects.filter(pk__in=due)


def sync_due_queue(*, now: dt.datetime) -> list[int]:
    """Queue a sync (after commit) for every connection `connections_due` returns."""
    due = list(connections_due(now=now))
    for connection in due:
        sync_request(connection=connection)
    return [c.pk for c in due]


# --- Re-matching unmatched records ---------------------------------------------------


def unmatched_rematch(*, employee_ids: Iterable[int] | None = None) -> int:
    """Match kept unmatched records again, e.g. after a roster import added people:
    each record whose learner now matches an employee (external id, then e-mail, as in
    a sync) becomes an enrollment (upserted by connection + learner key + course) and
    leaves the unmatched list. With `employee_ids`, only records that could match those
    employees are read. Returns how many records were matched. Calls
    `reports.hooks.progress_changed()` when any was."""
    candidates = UnmatchedRecord.objects.select_related("connection").order_by("pk")
    if employee_ids is not None:
        people = list(
            Employee.objects.filter(pk__in=list(employee_ids))
            .annotate(email_ci=Lower("email"))
            .values_list("external_id", "email_ci")
        )
        if not people:
            return 0
        external_ids = {x for x, _ in people if x}
        emails = {e for _, e in people if e}
        candidates = candidates.annotate(email_ci=Lower("email")).filter(
            Q(external_id__in=external_ids) | Q(email_ci__in=emails)
        )
    matched_total = 0
    last_pk = 0
    while True:
        batch = list(candidates.filter(pk__gt=last_pk)[:REMATCH_BATCH_SIZE])
        if not batch:
            break
        last_pk = batch[-1].pk
        with transaction.atomic():
            matched_total += _rematch_batch(batch)
    if matched_total:
        progress_changed(program_ids=None)
    return matched_total


def _rematch_batch(batch: list[UnmatchedRecord]) -> int:
    records = {u.pk: record_normalized(record_from_json(u.record, raw=u.raw)) for u in batch}
    records = {pk: r for pk, r in records.items() if not record_problem(r) and record_is_course(r)}
    matches = employees_match(records=records.values())
    by_connection: dict[int, list[tuple[ProviderRecord, int]]] = {}
    done: list[int] = []
    connections: dict[int, ProviderConnection] = {}
    for unmatched in batch:
        record = records.get(unmatched.pk)
        employee_id = None if record is None else matches.get(learner_key(record))
        if record is None or employee_id is None:
            continue
        connections[unmatched.connection_id] = unmatched.connection
        by_connection.setdefault(unmatched.connection_id, []).append((record, employee_id))
        done.append(unmatched.pk)
    for connection_id, matched in by_connection.items():
        connection = connections[connection_id]
        enrollments_upsert(connection=connection, provider=connection.kind, matched=matched)
    UnmatchedRecord.objects.filter(pk__in=done).delete()
    return len(done)
