"""A sync of six pages that has every kind of record (first reads, better and worse
duplicates on the same page and on later pages, a tie, unmatched learners, an invalid
record, a specialization), run cleanly and stopped after each page, then run again.

`scenario_outcomes()` returns what each run left (rows and counts) as JSON values, so the
same scenario runs on the test's PostgreSQL database (tests/test_sync_resume.py) and, in a
child process, on SQLite (`scenario_json_print`), and both can be compared. Stopping a
run after page k: its adapter raises after yielding page k, either a ProviderError (the
run fails and says what it kept), an unexpected error (the run fails and the error
propagates), or the same with the run then left as a killed process leaves it (still
marked running, its lease lapsed: the next run takes it over).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.utils import timezone

from programs.models import Employee, Enrollment, InvalidRecord, ProviderConnection, SyncRun, UnmatchedRecord
from programs.providers.base import AdapterStats, ProviderRecord, ProviderUnavailableError
from programs.sync.pipeline import sync_run

STOPS = ("provider error", "unexpected error", "killed")


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, 0, tzinfo=dt.UTC)


def rec(email: str, course: str, **fields: Any) -> ProviderRecord:
    fields.setdefault("raw", {"email": email, "course": course, **{k: str(v) for k, v in fields.items()}})
    return ProviderRecord(email=email, provider_course_id=course, **fields)


ADA = {"email": "ada@contoso.example", "external_id": "C001"}
VENDOR = {"email": "vendor@elsewhere.example", "external_id": "V1"}


def scenario_pages() -> list[list[ProviderRecord]]:
    grace, linus = "grace@contoso.example", "linus@contoso.example"
    return [
        [
            rec(**ADA, course="A1", is_completed=True, completed_at=at(3)),
            rec(grace, "A1", progress=Decimal("10"), last_activity_at=at(2)),
            rec(**VENDOR, course="A1", is_completed=True, completed_at=at(4)),
            rec(ADA["email"], "", line=4),  # invalid: no course id
        ],
        [
            rec(**ADA, course="S12N", content_type="specialization", is_completed=True, completed_at=at(1)),
            rec(grace, "A1", progress=Decimal("50"), last_activity_at=at(5)),  # beats page 1's
            rec(linus, "A2", progress=Decimal("20"), last_activity_at=at(3)),
            rec(**ADA, course="A1", is_completed=True, completed_at=at(5)),  # completed later: merged
        ],
        [
            rec(grace, "A2", is_completed=True, completed_at=at(4), progress=Decimal("100")),
            rec(**VENDOR, course="A2", progress=Decimal("10"), last_activity_at=at(1)),
            rec(**ADA, course="A3", progress=Decimal("5"), last_activity_at=at(1)),
            rec(grace, "A2", is_completed=True, completed_at=at(4), progress=Decimal("30")),  # same instant: merged
        ],
        [
            rec(linus, "A2", is_completed=True, completed_at=at(8)),  # beats page 2's
            rec(**ADA, course="A4", enrolled_at=at(1, hour=8)),
            rec(**VENDOR, course="A1", progress=Decimal("50"), last_activity_at=at(9)),  # not completed: merged
        ],
        [
            rec(grace, "A1", progress=Decimal("50"), last_activity_at=at(5)),  # the same as page 2's: a tie
            rec(linus, "A5", is_removed=True),
        ],
        [
            rec(**ADA, course="A6", is_completed=True, completed_at=at(6)),
            rec(**VENDOR, course="A3", is_completed=True, completed_at=at(2)),
            rec(grace, "A3", progress=Decimal("99.99"), last_activity_at=at(7)),
        ],
    ]


class StoppedAdapter:
    """Yields the scenario's pages; with `stop_after`, raises `error` after that page."""

    def __init__(self, *, stop_after: int | None = None, error: BaseException | None = None) -> None:
        self.stop_after = stop_after
        self.error = error
        self.stats = AdapterStats()

    def pages(self) -> Iterator[list[ProviderRecord]]:
        for number, page in enumerate(scenario_pages(), start=1):
            self.stats.pages += 1
            yield page
            if number == self.stop_after:
                assert self.error is not None
                raise self.error


def scenario_connection() -> ProviderConnection:
    for email, external_id in (
        ("ada@contoso.example", "C001"),
        ("grace@contoso.example", "C002"),
        ("linus@contoso.example", ""),
    ):
        Employee.objects.get_or_create(email=email, defaults={"external_id": external_id, "full_name": email})
    connection, _ = ProviderConnection.objects.get_or_create(name="scenario", defaults={"kind": "coursera"})
    return connection


def _shown(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def scenario_rows(connection: ProviderConnection) -> dict[str, list[list[Any]]]:
    """The rows a run leaves, as JSON values, in key order."""
    enrollments = Enrollment.objects.filter(connection=connection).values_list(
        "learner_key",
        "course__provider_course_id",
        "employee__email",
        "enrolled_at",
        "last_activity_at",
        "progress",
        "is_completed",
        "completed_at",
        "is_removed",
        "raw",
        "fingerprint",
    )
    unmatched = UnmatchedRecord.objects.filter(connection=connection).values_list(
        "learner_key", "provider_course_id", "email", "external_id", "reason", "record", "raw", "fingerprint"
    )
    return {
        "enrollments": sorted([_shown(v) for v in row] for row in enrollments),
        "unmatched": sorted([_shown(v) for v in row] for row in unmatched),
    }


def scenario_counts(run: SyncRun) -> dict[str, int]:
    names = ("fetched", "created", "updated", "unchanged", "merged", "skipped", "invalid", "unmatched", "pages")
    return {name: getattr(run, name) for name in names}


def _reset(connection: ProviderConnection) -> None:
    Enrollment.objects.filter(connection=connection).delete()
    UnmatchedRecord.objects.filter(connection=connection).delete()
    InvalidRecord.objects.filter(connection=connection).delete()
    SyncRun.objects.filter(connection=connection).delete()


def _stopped_run(connection: ProviderConnection, *, after: int, stop: str) -> SyncRun:
    if stop == "provider error":
        return sync_run(
            connection=connection,
            adapter=StoppedAdapter(stop_after=after, error=ProviderUnavailableError("Coursera is not answering.")),
        )
    with contextlib.suppress(RuntimeError):
        sync_run(connection=connection, adapter=StoppedAdapter(stop_after=after, error=RuntimeError("stopped")))
    run = SyncRun.objects.filter(connection=connection).order_by("-pk").first()
    assert run is not None
    if stop == "killed":  # as a killed process leaves it: nothing recorded, its lease lapsed a moment ago
        SyncRun.objects.filter(pk=run.pk).update(status="running", error="", finished_at=None)
        ProviderConnection.objects.filter(pk=connection.pk).update(
            sync_claimed_until=timezone.now() - dt.timedelta(seconds=1), sync_claim_token="dead"
        )
    return run


def scenario_outcomes() -> dict[str, Any]:
    """The clean run, the same run again, and for every page k and every way of stopping:
    the run stopped after page k and the run after it."""
    connection = scenario_connection()
    _reset(connection)
    clean = sync_run(connection=connection, adapter=StoppedAdapter())
    outcomes: dict[str, Any] = {"clean": {"counts": scenario_counts(clean), "rows": scenario_rows(connection)}}
    again = sync_run(connection=connection, adapter=StoppedAdapter())
    outcomes["again"] = {"counts": scenario_counts(again), "rows": scenario_rows(connection)}
    outcomes["resumed"] = []
    for after in range(1, len(scenario_pages()) + 1):
        for stop in STOPS:
            _reset(connection)
            stopped = _stopped_run(connection, after=after, stop=stop)
            resumed = sync_run(connection=connection, adapter=StoppedAdapter())
            stopped.refresh_from_db()
            outcomes["resumed"].append(
                {
                    "after": after,
                    "stop": stop,
                    "stopped": {"status": stopped.status, "pages": stopped.pages},
                    "counts": scenario_counts(resumed),
                    "status": resumed.status,
                    "rows": scenario_rows(connection),
                }
            )
    return outcomes


def scenario_json_print() -> None:
    """For a child process with Django set up: print `scenario_outcomes()` as JSON."""
    print(json.dumps(scenario_outcomes()))
