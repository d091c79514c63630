"""Provider records on their way in: normalized, validated, keyed, merged, and kept as JSON.

- `record_normalized` puts every record in one shape (trimmed keys, lower-case e-mail and
  content type, aware datetimes, progress as stored); `record_problem` says why a
  normalized record cannot be used ("" when it can); `record_is_course` tells a course from
  other valid content (a specialization, a video, ...), which is counted but never enrolled.
- `learner_key` is the key of the learner within a connection; a run keeps one record per
  (learner key, course id): of two, `record_better` says which (`record_replaces` decides the
  same from the compact `KeptRecord` a run remembers of the first).
- `record_to_json` / `record_from_json` store a record of someone not on the roster on its
  UnmatchedRecord and read it back when the roster gains them.

Pure functions: no query, no write.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import fields, replace
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

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
