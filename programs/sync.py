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

Locking contract: a run holds its connection through a conditional UPDATE of
`ProviderConnection.sync_claimed_until` (portable: PostgreSQL and SQLite). A second run
of the same connection, while the claim is live, raises `SyncAlreadyRunningError` and writes
nothing. The claim is renewed on every page and released at the end; a crashed worker's
claim lapses after `SYNC_CLAIM_SECONDS`.

Each page is committed in its own transaction with the run's counts, so a run that
fails on page 3 leaves pages 1-2 written and counted; the next run re-reads them (all
unchanged) and completes the rest. The unique keys make double counting impossible.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO, NamedTuple

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Max, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

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

SYNC_CLAIM_SECONDS = 35 * 60  # longer than CELERY_TASK_TIME_LIMIT's default (30 min): renewed on each page
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
    """Another sync holds this connection; this one wrote nothing."""


# --- The claim (per-connection lock) -----------------------------------------------------


def connection_claim(*, connection: ProviderConnection) -> dt.datetime | None:
    """Claim `connection` for one sync with a conditional UPDATE: it succeeds only when
    no live claim exists. Returns the claim token (its expiry) or None when taken."""
    now = timezone.now()
    until = now + dt.timedelta(seconds=SYNC_CLAIM_SECONDS)
    claimed = (
        ProviderConnection.objects.filter(pk=connection.pk)
        .filter(Q(sync_claimed_until__isnull=True) | Q(sync_claimed_until__lt=now))
        .update(sync_claimed_until=until)
    )
    return until if claimed == 1 else None


def connection_claim_renew(*, connection: ProviderConnection, token: dt.datetime) -> dt.datetime | None:
    """Extend our own claim; None when it was lost (it lapsed and another run took it)."""
    until = timezone.now() + dt.timedelta(seconds=SYNC_CLAIM_SECONDS)
    renewed = ProviderConnection.objects.filter(pk=connection.pk, sync_claimed_until=token).update(
        sync_claimed_until=until
    )
    return until if renewed == 1 else None


def connection_claim_release(*, connection: ProviderConnection, token: dt.datetime) -> None:
    """Release our claim, and only ours."""
    ProviderConnection.objects.filter(pk=connection.pk, sync_claimed_until=token).update(sync_claimed_until=None)


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


def sync_run(*, connection: ProviderConnection, adapter: Adapter, source: str = "api", full: bool = False) -> SyncRun:
    """Run the pipeline over everything `adapter` yields and return the finished run.

    Holds the connection's claim for the whole run (raises SyncAlreadyRunningError, writing
    nothing, when another run holds it). Each page is written and counted in its own
    transaction. A ProviderError (configuration or unavailability) ends the run as
    failed with the adapter's admin-friendly message; any other error ends it as failed
    and is re-raised. After a success, `reports.hooks.progress_changed()` is called, and
    an API run also stamps `connection.last_synced_at` (the schedule's clock)."""
    token = connection_claim(connection=connection)
    if token is None:
        raise SyncAlreadyRunningError(f"A sync of {connection.name} is already running; try again when it ends.")
    # We hold the claim, so a run still marked running was cut short (a worker killed mid-sync).
    SyncRun.objects.filter(connection=connection, status=SyncStatus.RUNNING).update(
        status=SyncStatus.FAILED,
        finished_at=timezone.now(),
        error="The sync was interrupted (the worker stopped) before it finished; this run completes it.",
    )
    run = SyncRun.objects.create(connection=connection, source=source, full=full, status=SyncStatus.RUNNING)
    seen: dict[tuple[str, str], KeptRecord] = {}
    pages = 0
    stats: AdapterStats = getattr(adapter, "stats", AdapterStats())
    try:
        for page in adapter.pages():
            renewed = connection_claim_renew(connection=connection, token=token)
            if renewed is None:
                raise ProviderError("The sync lost its hold on the connection (it ran past its lease); run it again.")
            token = renewed
            pages += 1
            with transaction.atomic():
                _page_process(connection=connection, run=run, page=list(page), seen=seen)
                run.pages, run.retries = max(stats.pages, pages), stats.retries
                run.save(update_fields=_COUNT_FIELDS)
    except ProviderError as exc:
        _run_finish(run, status=SyncStatus.FAILED, error=_secret_scrubbed(str(exc), connection=connection), stats=stats)
        logger.warning("Sync of %s (run %s) failed: %s", connection.name, run.pk, run.error)
        return run
    except BaseException as exc:
        message = f"The sync stopped on an unexpected error ({exc.__class__.__name__}); see the server log."
        _run_finish(run, status=SyncStatus.FAILED, error=message, stats=stats)
        logger.exception("Sync of %s (run %s) stopped on an unexpected error", connection.name, run.pk)
        raise
    finally:
        connection_claim_release(connection=connection, token=token)
    _run_finish(run, status=SyncStatus.SUCCEEDED, error="", stats=stats)
    if source == "api":
        ProviderConnection.objects.filter(pk=connection.pk).update(last_synced_at=run.started_at)
        connection.last_synced_at = run.started_at
    logger.info("Sync of %s (run %s, %s) succeeded: %s", connection.name, run.pk, source, sync_run_summary(run=run))
    progress_changed(program_ids=None)
    return run


def _run_finish(run: SyncRun, *, status: str, error: str, stats: AdapterStats) -> None:
    run.status, run.error, run.finished_at = status, error, timezone.now()
    run.pages, run.retries = max(stats.pages, run.pages), stats.retries
    run.save(update_fields=["status", "error", "finished_at", "pages", "retries"])


def sync_run_summary(*, run: SyncRun) -> str:
    """The counts of a run on one line, as the commands print them."""
    return (
        f"fetched {run.fetched}, created {run.created}, updated {run.updated}, unchanged {run.unchanged}, "
        f"merged {run.merged}, skipped {run.skipped}, invalid {run.invalid}, unmatched {run.unmatched} "
        f"(pages {run.pages}, retries {run.retries})"
    )


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


def sync_request(*, connection: ProviderConnection, full: bool = False) -> None:
    """Queue a sync of `connection` on the worker once the current transaction commits."""
    from programs.tasks import sync_connection

    connection_id = connection.pk
    transaction.on_commit(lambda: sync_connection.delay(connection_id, full=full))


def connections_due(*, now: dt.datetime) -> QuerySet[ProviderConnection]:
    """Active API-syncable connections whose interval has elapsed since their last API
    run started (any outcome, so a failing connection is retried at its interval, not
    every few minutes), and that no sync holds right now."""
    candidates = (
        ProviderConnection.objects.filter(is_active=True, kind=Provider.COURSERA)
        .filter(Q(sync_claimed_until__isnull=True) | Q(sync_claimed_until__lt=now))
        .annotate(last_attempt=Max("runs__started_at", filter=Q(runs__source="api")))
    )
    due = [
        c.pk
        for c in candidates
        if c.last_attempt is None or c.last_attempt + dt.timedelta(minutes=c.sync_interval_minutes) <= now
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
