"""Pages read ahead (programs/sync/fetch.py): the adapter is read in a thread of its own
and each page prepared in another, a bounded number of pages ahead of the writer, while the
page before is written; what the adapter raises reaches the run as it was raised, after
the pages read before it."""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection as db_connection

from programs.models import Enrollment
from programs.providers.base import AdapterStats, ProviderRecord, ProviderUnavailableError
from programs.sync.fetch import COLLECT_AFTER_CONTAINERS, SWITCH_INTERVAL_SECONDS, PagesAhead, collections_spaced
from programs.sync.merge import BATCH_PAGES, RunWriter
from programs.sync.pipeline import sync_run
from tests.factories import ConnectionFactory, EmployeeFactory

pytestmark = pytest.mark.django_db


def rec(email: str, course: str) -> ProviderRecord:
    return ProviderRecord(raw={"email": email, "course": course}, email=email, provider_course_id=course)


class WatchedAdapter:
    """Yields `pages` pages of one record each, noting when and in which thread each page
    was made; raises `error` instead of the page after the last, when given."""

    def __init__(self, pages: int, *, error: Exception | None = None) -> None:
        self.count = pages
        self.error = error
        self.stats = AdapterStats()
        self.made: list[tuple[int, float, str]] = []

    def pages(self) -> Iterator[list[ProviderRecord]]:
        for number in range(1, self.count + 1):
            self.made.append((number, time.monotonic(), threading.current_thread().name))
            self.stats.pages += 1
            yield [rec("ada@acme.example", f"C{number}")]
        if self.error is not None:
            raise self.error


class SlowWrites:
    """Makes the first write of each batch of pages (its merge statement) take `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.lstrip().startswith('INSERT INTO "sync_merge_'):
            time.sleep(self.seconds)
        return execute(sql, params, many, context)


def test_the_next_page_is_fetched_in_another_thread_while_a_batch_is_written_and_no_further():
    EmployeeFactory(email="ada@acme.example", external_id="")
    conn = ConnectionFactory(name="coursera")
    adapter = WatchedAdapter(22)
    written: list[tuple[int, int, float, int, str]] = []  # first and last page, when, pages made by then, thread

    def page_written(batch: list[ProviderRecord]) -> None:
        first, last = (int(record.provider_course_id[1:]) for record in (batch[0], batch[-1]))
        written.append((first, last, time.monotonic(), len(adapter.made), threading.current_thread().name))

    with db_connection.execute_wrapper(SlowWrites(0.3)):
        run = sync_run(connection=conn, adapter=adapter, page_written=page_written)

    assert (run.status, run.created, run.pages) == ("succeeded", 22, 22)
    assert {thread for _, _, thread in adapter.made} == {"sync-fetch coursera"}
    assert {thread for *_, thread in written} == {threading.current_thread().name}  # the writer's: the database's
    # The first page alone, then BATCH_PAGES at a time, each batch in one transaction.
    assert BATCH_PAGES == 4
    assert [(first, last) for first, last, *_ in written] == [
        (1, 1),
        (2, 5),
        (6, 9),
        (10, 13),
        (14, 17),
        (18, 21),
        (22, 22),
    ]
    made_at = {number: when for number, when, _ in adapter.made}
    for _, last, when, made, _ in written[:-1]:
        assert made_at[last + 1] < when  # the next page was fetched while this batch was written...
        # ...and no further than a batch waiting and one being gathered, a batch of pages waiting and one
        # page on its way.
        assert made <= last + 3 * BATCH_PAGES + 1
    assert sorted(Enrollment.objects.values_list("course__provider_course_id", flat=True)) == sorted(
        f"C{n}" for n in range(1, 23)
    )


def test_the_first_page_is_fetched_while_the_writer_reads_the_roster(monkeypatch: pytest.MonkeyPatch):
    EmployeeFactory(email="ada@acme.example", external_id="")
    conn = ConnectionFactory(name="coursera")
    adapter = WatchedAdapter(3)
    made_while_writer_made: list[int] = []
    post_init = RunWriter.__post_init__

    def waiting_for_a_page(writer: RunWriter) -> None:
        deadline = time.monotonic() + 2
        while not adapter.made and time.monotonic() < deadline:
            time.sleep(0.01)
        made_while_writer_made.append(len(adapter.made))
        post_init(writer)

    monkeypatch.setattr(RunWriter, "__post_init__", waiting_for_a_page)
    run = sync_run(connection=conn, adapter=adapter)

    assert (run.status, run.created, run.pages) == ("succeeded", 3, 3)
    assert made_while_writer_made[0] >= 1
    assert adapter.made[0][2] == "sync-fetch coursera"


def test_an_error_of_the_fetching_thread_reaches_the_run_after_the_pages_before_it():
    EmployeeFactory(email="ada@acme.example", external_id="")
    conn = ConnectionFactory(name="coursera")
    adapter = WatchedAdapter(3, error=ProviderUnavailableError("Coursera is not answering; try later."))

    with db_connection.execute_wrapper(SlowWrites(0.2)):
        run = sync_run(connection=conn, adapter=adapter)

    assert run.status == "failed"
    assert run.error == (
        "Coursera is not answering; try later. Kept: pages 1-3, written before the error (fetched 3, created 3, "
        "updated 0, unchanged 0, merged 0, skipped 0, invalid 0, unmatched 0). The next sync re-reads them and "
        "completes the rest."
    )
    assert (run.pages, Enrollment.objects.count()) == (3, 3)


def test_pages_are_batched_the_first_alone_and_those_read_before_an_error_still_come():
    def pages(error: Exception | None) -> Iterator[list[int]]:
        yield from ([n] for n in range(1, 8))
        if error is not None:
            raise error

    assert list(RunWriter.page_batches(pages(None))) == [([1], 1), ([2, 3, 4, 5], 4), ([6, 7], 2)]
    batches = RunWriter.page_batches(pages(ProviderUnavailableError("Coursera is not answering.")))
    assert [next(batches), next(batches), next(batches)] == [([1], 1), ([2, 3, 4, 5], 4), ([6, 7], 2)]
    with pytest.raises(ProviderUnavailableError, match="not answering"):
        next(batches)
    stopped = RunWriter.page_batches(pages(None))
    assert next(stopped) == ([1], 1)
    stopped.close()  # the writer stopped early: the pages read meanwhile are dropped, nothing raised


def test_a_writer_that_stops_early_stops_the_fetching_thread():
    adapter = WatchedAdapter(1000)

    with PagesAhead(adapter.pages, name="test") as pages:
        first = next(iter(pages))
        time.sleep(0.2)
    time.sleep(0.3)

    assert first[0].provider_course_id == "C1"
    assert len(adapter.made) <= 3
    assert not pages.thread.is_alive()


def test_while_pages_are_read_ahead_the_gil_is_handed_over_within_a_millisecond_and_cycles_collected_less_often():
    EmployeeFactory(email="ada@acme.example", external_id="")
    conn = ConnectionFactory(name="coursera")
    intervals: list[float] = []
    thresholds: list[tuple[int, int, int]] = []

    class Adapter(WatchedAdapter):
        def pages(self) -> Iterator[list[ProviderRecord]]:
            intervals.append(sys.getswitchinterval())
            thresholds.append(gc.get_threshold())
            yield from super().pages()

    before = sys.getswitchinterval()
    run = sync_run(connection=conn, adapter=Adapter(2))

    assert (run.status, run.created) == ("succeeded", 2)
    assert intervals == [SWITCH_INTERVAL_SECONDS] == [0.001]
    assert sys.getswitchinterval() == before == 0.005  # CPython's default, the process's again
    assert thresholds == [(COLLECT_AFTER_CONTAINERS, 10, 10)] == [(20_000, 10, 10)]
    assert gc.get_threshold() == (700, 10, 10)  # CPython's default, the process's again


def test_a_process_that_already_collects_less_often_keeps_its_threshold_while_pages_are_read_ahead():
    before = gc.get_threshold()
    gc.set_threshold(50_000, 5, 5)
    try:
        with collections_spaced():
            inside = gc.get_threshold()
        after = gc.get_threshold()
    finally:
        gc.set_threshold(*before)

    assert (inside, after) == ((50_000, 5, 5), (50_000, 5, 5))
