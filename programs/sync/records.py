"""Provider records on their way in: normalized, validated, keyed, ranked, fingerprinted,
and kept as JSON.

- `record_normalized` puts every record in one shape (trimmed keys, lower-case e-mail and
  content type, aware datetimes, progress as stored); `record_problem` says why a
  normalized record cannot be used ("" when it can); `record_is_course` tells a course from
  other valid content (a specialization, a video, ...), which is counted but never enrolled.
- `learner_key` is the key of the learner within a connection; a run keeps one record per
  (learner key, course id): of two, `record_better` says which. `record_rank` gives what
  that rule compares as integers, so the database applies the same rule to the records a
  run has already kept (`programs.sync.merge`, whose test checks that both agree).
- `raw_json` is the raw record as it is stored; `enrollment_fingerprint` and
  `unmatched_fingerprint` sum up everything an enrollment or an unmatched record row holds,
  so a sync that finds the same fingerprint writes nothing.
- `record_to_json` / `record_from_json` store a record of someone not on the roster on its
  UnmatchedRecord and read it back when the roster gains them.

Pure functions: no query, no write.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import fields
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

import orjson
from django.core.serializers.json import DjangoJSONEncoder

from programs.models import Course, Enrollment
from programs.providers.base import ProviderRecord

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
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ONE_MICROSECOND = dt.timedelta(microseconds=1)
# Below any real time in microseconds since 1970 (year 1 is about -6.2e16): "no activity".
NO_ACTIVITY = -(2**62)
# Canonical JSON: sorted keys, no spaces. The same raw record gives the same text whether it
# comes from the provider or back from the database (jsonb keeps no key order). orjson writes
# it five times quicker than the standard library, and the same text but for floats below 1e-4
# (1e-7, not 1e-07); what orjson refuses (a lone surrogate, an integer beyond 64 bits, a key
# that is not text) the standard library writes.
# What a raw record becomes (the adapters' parsing, `record_normalized`) in one word: change it
# when either changes what a stored record reads as, so that every stored `raw_digest` differs
# and the next sync parses every record again, instead of taking its stored values as they are.
# tests/test_sync_records.py keeps a digest of that code and fails when it changes, as a reminder.
RECORD_FORMAT = b"1"
_RAW_OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_RAW_ENCODER = DjangoJSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, check_circular=False)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """Provider times without a zone are UTC (PROVIDERS.md)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


def _progress(value: Any) -> Decimal | None:
    """Progress as stored: rounded to 0.01; unreadable or outside 0..100 is None."""
    if value is None:
        return None
    try:
        progress = Decimal(value).quantize(PROGRESS_PLACES)
    except (InvalidOperation, TypeError, ValueError):
        return None
    return progress if 0 <= progress <= 100 else None


def learner_normalized(email: str | None, external_id: str | None, course_id: str | None) -> tuple[str, str, str]:
    """The keys of a record as `record_normalized` makes them: (e-mail trimmed and in lower
    case, external id trimmed, course id trimmed)."""
    return (email or "").strip().lower(), (external_id or "").strip(), (course_id or "").strip()


def record_normalized(record: ProviderRecord) -> ProviderRecord:
    """Trimmed keys, lower-case e-mail and content type, aware datetimes, progress
    rounded as stored (0.01, outside 0..100 dropped), and no completion date on a record
    that is not completed. A new record: `record` is left as it is, and `raw` is the same
    object (never copied or re-encoded here)."""
    email, external_id, course_id = learner_normalized(record.email, record.external_id, record.provider_course_id)
    return ProviderRecord(
        raw=record.raw,
        email=email,
        external_id=external_id,
        full_name=record.full_name,
        provider_course_id=course_id,
        content_type=(record.content_type or "").strip().lower(),
        course_title=record.course_title,
        partner=record.partner,
        course_url=record.course_url,
        course_hours=record.course_hours,
        enrolled_at=_aware(record.enrolled_at),
        last_activity_at=_aware(record.last_activity_at),
        is_completed=record.is_completed,
        completed_at=_aware(record.completed_at) if record.is_completed else None,
        progress=_progress(record.progress),
        is_removed=record.is_removed,
        line=record.line,
        problem=record.problem,
        extra=record.extra,
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
    return learner_key_of(external_id=record.external_id, email=record.email)


def learner_key_of(*, external_id: str, email: str) -> str:
    """`learner_key` from a normalized external id and e-mail."""
    key = external_id or email
    return key.lower() if "@" in key else key


def record_better(current: ProviderRecord, other: ProviderRecord) -> ProviderRecord:
    """Of two records for the same learner and course, `current` read before `other`, the
    one to keep: a completed record beats one that is not; of two completed, the earliest
    completion (the first read on a tie); of two not completed, the latest activity, then
    the most progress (the later read on a tie)."""
    if current.is_completed != other.is_completed:
        return current if current.is_completed else other
    if current.is_completed and current.completed_at and other.completed_at:  # both dated: validated
        return other if other.completed_at < current.completed_at else current
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    mine = (current.last_activity_at or epoch, current.progress or Decimal(0))
    theirs = (other.last_activity_at or epoch, other.progress or Decimal(0))
    return current if mine > theirs else other


def moment_us(moment: dt.datetime | None) -> int | None:
    """An aware time as whole microseconds since 1970 (exact; the same in any zone)."""
    return None if moment is None else (moment - EPOCH) // ONE_MICROSECOND


def progress_hundredths(progress: Decimal | None) -> int | None:
    """Stored progress (0.01 steps) as an integer number of hundredths."""
    return None if progress is None else int(progress.scaleb(2))


class MergeRank(NamedTuple):
    """What `record_better` compares, as integers: the database compares a run's kept
    records the same way, with their place in the run (its position) settling ties."""

    is_completed: bool
    completed_us: int | None
    activity_us: int  # NO_ACTIVITY when the record has no last activity
    progress: int  # hundredths; 0 when the record has no progress


def record_rank(record: ProviderRecord) -> MergeRank:
    """The MergeRank of a normalized, valid record."""
    activity = moment_us(record.last_activity_at)
    return MergeRank(
        is_completed=record.is_completed,
        completed_us=moment_us(record.completed_at),
        activity_us=NO_ACTIVITY if activity is None else activity,
        progress=progress_hundredths(record.progress) or 0,
    )


def raw_json(raw: Any) -> str:
    """The raw record as JSON text, as it is stored and fingerprinted: sorted keys, no
    spaces (so the same record reads the same from the provider and from the database);
    a datetime or decimal an adapter left in it is written as DjangoJSONEncoder does."""
    return _raw_json_utf8(raw).decode()


def _raw_json_utf8(raw: Any) -> bytes:
    try:
        return orjson.dumps(raw, default=_RAW_ENCODER.default, option=_RAW_OPTIONS)
    except TypeError:
        return _RAW_ENCODER.encode(raw).encode()


def raw_digest(raw_text: str) -> str:
    """A digest of a raw record's JSON (`raw_json`), kept on its enrollment: a re-sync that
    reads the same raw record for the same employee takes the enrollment's values as the
    record's, without parsing it (`programs.sync.merge`). RECORD_FORMAT is part of it."""
    return _raw_utf8_digest(raw_text.encode())


def raw_digest_of(raw: Any) -> str:
    """`raw_digest(raw_json(raw))`, without making the text (a re-sync's lookups)."""
    return _raw_utf8_digest(_raw_json_utf8(raw))


_RAW_DIGEST = hashlib.blake2b(RECORD_FORMAT, digest_size=16)  # never updated: each digest starts from a copy


def _raw_utf8_digest(data: bytes) -> str:
    digest = _RAW_DIGEST.copy()
    digest.update(data)
    return digest.hexdigest()


def enrollment_fingerprint(
    *,
    employee_id: int,
    enrolled_at: dt.datetime | None,
    last_activity_at: dt.datetime | None,
    progress: Decimal | None,
    is_completed: bool,
    completed_at: dt.datetime | None,
    is_removed: bool,
    raw_text: str,
) -> str:
    """A digest of every value an enrollment row holds from its record (its learner,
    dates, progress, flags and raw JSON, `raw_json`): equal digests, equal rows. Times
    count as instants (the zone they are given in does not matter)."""
    values = (
        f"{employee_id}|{moment_us(enrolled_at)}|{moment_us(last_activity_at)}|{progress_hundredths(progress)}|"
        f"{int(is_completed)}|{moment_us(completed_at)}|{int(is_removed)}|"
    )
    digest = hashlib.blake2b(values.encode(), digest_size=16)
    digest.update(raw_text.encode())
    return digest.hexdigest()


def unmatched_fingerprint(*, email: str, external_id: str, reason: str, record: dict[str, Any], raw_text: str) -> str:
    """A digest of every value an UnmatchedRecord row holds from its record (`record` as
    `record_to_json` gives it, the raw JSON as `raw_json` gives it)."""
    digest = hashlib.blake2b(f"{email}|{external_id}|{reason}|{raw_json(record)}|".encode(), digest_size=16)
    digest.update(raw_text.encode())
    return digest.hexdigest()


# --- Serializing a record for UnmatchedRecord.record (replayed on re-match) ---------------

_DATETIME_FIELDS = ("enrolled_at", "last_activity_at", "completed_at")
_DECIMAL_FIELDS = ("progress", "course_hours")


def record_to_json(record: ProviderRecord) -> dict[str, Any]:
    """The record as JSON for UnmatchedRecord.record: every field but `raw` (stored beside
    it) and `extra`, datetimes in ISO 8601 and decimals as strings."""
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
    """The record `record_to_json` stored, with its `raw`; keys that are no longer fields
    of ProviderRecord are left out."""
    known = {f.name for f in fields(ProviderRecord)} - {"raw", "extra"}
    values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
    for name in _DATETIME_FIELDS:
        if values.get(name):
            values[name] = dt.datetime.fromisoformat(values[name])
    for name in _DECIMAL_FIELDS:
        if values.get(name) is not None:
            values[name] = Decimal(values[name])
    return ProviderRecord(raw=raw, **values)
