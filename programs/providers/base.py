"""The one small interface every provider adapter implements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol


@dataclass(slots=True)
class ProviderRecord:
    """One learner x content record, normalized. Adapters fill what the source has and
    never decide matching or validity beyond parsing; the pipeline validates.

    Treated as read-only once built (the pipeline makes a normalized copy, never changes
    one). Not frozen: a frozen dataclass costs several microseconds more to build, and a
    sync builds two per record. `raw` is the source record as received, kept as it is:
    it is serialized once, when it is written (`programs.sync.records.raw_json`).

    `problem` is set by the adapter when the source record cannot be normalized at all
    (a date that does not parse, a missing column value); the pipeline keeps such a
    record as invalid with that reason.
    """

    raw: dict[str, Any]
    email: str = ""
    external_id: str = ""
    full_name: str = ""
    provider_course_id: str = ""
    content_type: str = "course"  # lower-case: course, specialization, video, ...
    course_title: str = ""
    partner: str = ""
    course_url: str = ""
    course_hours: Decimal | None = None
    enrolled_at: dt.datetime | None = None
    last_activity_at: dt.datetime | None = None
    is_completed: bool = False
    completed_at: dt.datetime | None = None
    progress: Decimal | None = None
    is_removed: bool = False
    line: int | None = None  # line in the source file, for file imports
    problem: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class AdapterStats:
    """What the adapter did on the wire, copied into the SyncRun."""

    pages: int = 0
    retries: int = 0


class ProviderError(Exception):
    """The provider could not be read; the message is written for an L&D admin."""


class ProviderConfigurationError(ProviderError):
    """Retrying will not help: bad credentials (401 after a refresh), no access (403),
    unknown organization or program. An admin must fix the connection."""


class ProviderUnavailableError(ProviderError):
    """Still failing after the bounded retries (429, 5xx, timeouts): try again later.

    `url` is the address that kept failing and `cause` how, in one word: "timeout" (no
    answer in time), "unknown-host" (its host name does not resolve), "connect" (nothing
    answers there: refused, unreachable), "cut" (an answer cut short), "rate-limited"
    (429) or "server-error" (5xx)."""

    def __init__(self, message: str, *, url: str = "", cause: str = "") -> None:
        super().__init__(message)
        self.url = url
        self.cause = cause


SETTING_LABELS = {
    "base_url": "base URL",
    "token_url": "token URL",
    "org_id": "organization id",
    "client_id": "client id",
    "client_secret": "client secret",
}


def settings_required(provider: str, *, also_missing: Sequence[str] = (), **values: str | None) -> None:
    """Raise ProviderConfigurationError naming the connection settings given empty (their
    SETTING_LABELS, in order, then `also_missing`): "The Udemy Business connection is
    missing: organization id, client secret." Nothing when none is."""
    missing = [SETTING_LABELS.get(name, name) for name, value in values.items() if not str(value or "").strip()]
    missing += also_missing
    if missing:
        raise ProviderConfigurationError(f"The {provider} connection is missing: {', '.join(missing)}.")


class Adapter(Protocol):
    """Adapters know HTTP and formats: the pipeline reads their pages a page ahead in a
    thread of their own. One that reads LearnHub's database instead (the stored xAPI
    statements) says so with a class attribute `reads_database = True`, and is read in the
    pipeline's own thread. A sync keeps the better of a stored enrollment and a new record
    (`record_better`: it never undoes or moves later a stored completion), except from an
    adapter whose records are the current state of each learner x course, which may undo a
    completion (a voided xAPI statement): it says so with `may_uncomplete = True`."""

    stats: AdapterStats

    def pages(self) -> Iterator[list[ProviderRecord]]:
        """Yield the records page by page, so memory stays flat whatever the size."""
        ...


class RawPagesAdapter(Adapter, Protocol):
    """An adapter whose records are each read from one JSON object alone (Coursera, Udemy
    Business, LinkedIn Learning; not edX, whose dates depend on the company time zone) may
    also hand the objects over unread, so that a re-sync parses only the records that
    changed: `raw_pages()` yields the same pages as `pages()`, each object as received,
    `record_from_raw(raw)` is the record `pages()` would give for it, and
    `learner_from_raw(raw)` reads only (e-mail, external id, course id) as that record has
    them, with the same code. The pipeline finds it by `raw_pages`."""

    def raw_pages(self) -> Iterator[list[dict[str, Any]]]: ...

    def record_from_raw(self, raw: dict[str, Any]) -> ProviderRecord: ...

    def learner_from_raw(self, raw: dict[str, Any]) -> tuple[str, str, str]: ...
