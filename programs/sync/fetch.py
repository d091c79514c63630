"""Pages read ahead: the stages of a run before its writes, each in a thread of its own,
while the run writes.

`PagesAhead` runs a producer of pages (an adapter's `pages()`: HTTP and JSON, or a file's
CSV; or the preparation of pages another PagesAhead reads: `RunWriter.page_prepared`,
pure Python; or a re-sync's lookups) in a daemon thread and hands the pages over through a
bounded queue, so the next page is on its way while the current one is written, and at
most `ahead` pages wait (memory stays at a few pages whatever the size). The pages arrive
in order; an error the producer raises arrives after the pages produced before it, and is
raised in the reader's thread as it was raised (the same exception: a ProviderError keeps
its message), so the run handles it exactly as if it had read the adapter itself. Leaving
the `with` block early (the writer failed) stops the thread after its current page. Reading
and preparing never touch the database; the one stage that does, a re-sync's lookups
(`programs.sync.merge.RunWriter.looked_up_ahead`), has a connection of its own.

While pages are read ahead, the writer's thread waits on the database most of the time and
needs the GIL back each time a statement returns, while the reading threads hold it, running
Python. CPython hands it over after its switch interval, 5 ms by default: a few such waits
per page added a third to a run's time. `switches_prompt` makes the interval 1 ms while the
pages are read ahead.

A page is thousands of short-lived containers (each record a dict), which reference counting
frees as soon as the page is written: they make no cycles. Yet at CPython's default threshold
(a young collection every 700 containers made and not yet freed) the cyclic garbage collector
ran some 1,500 young and a dozen full collections in a re-sync of 400,000 records, each full
one walking the whole process (Django and every module): 1.2 s in all, holding the GIL, in a
7 s run. `collections_spaced` lets COLLECT_AFTER_CONTAINERS accumulate instead while the
pages are read ahead: a handful of collections, and the same peak memory.
"""

from __future__ import annotations

import gc
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

AHEAD_PAGES = 1  # pages waiting for the reader, besides the one it reads and the one being produced
_POLL_SECONDS = 0.1
SWITCH_INTERVAL_SECONDS = 0.001  # while pages are read ahead (CPython's default: 0.005)
COLLECT_AFTER_CONTAINERS = 20_000  # while pages are read ahead (CPython's default: 700)

Page = TypeVar("Page")


class PagesAhead(Generic[Page]):
    """`with PagesAhead(adapter.pages, name=...) as pages: for page in pages: ...`"""

    def __init__(self, produce: Callable[[], Iterable[Page]], *, name: str, ahead: int = AHEAD_PAGES) -> None:
        self.produce = produce
        self.handed: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=ahead)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def __enter__(self) -> PagesAhead[Page]:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=_POLL_SECONDS * 2)

    def __iter__(self) -> Iterator[Page]:
        while True:
            try:
                kind, value = self.handed.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if self.stopping.is_set():  # left early: nothing more will come
                    return
                continue
            if kind == "page":
                yield value
            elif kind == "done":
                return
            else:
                raise value

    def _run(self) -> None:
        try:
            for page in self.produce():
                if not self._hand(("page", page)):
                    return
        except BaseException as exc:  # handed to the reader's thread, which raises it
            self._hand(("error", exc))
        else:
            self._hand(("done", None))

    def _hand(self, item: tuple[str, Any]) -> bool:
        """Wait for room in the queue; False when the reader stopped meanwhile."""
        while not self.stopping.is_set():
            try:
                self.handed.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False


@contextmanager
def switches_prompt() -> Iterator[None]:
    """The GIL handed over within SWITCH_INTERVAL_SECONDS (or the process's interval, if
    shorter) inside the block; the process's interval again after it."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(min(before, SWITCH_INTERVAL_SECONDS))
    try:
        yield
    finally:
        sys.setswitchinterval(before)


@contextmanager
def collections_spaced() -> Iterator[None]:
    """The cyclic garbage collector's young collection after COLLECT_AFTER_CONTAINERS (or the
    process's threshold, if higher) inside the block; the process's thresholds again after it."""
    before = gc.get_threshold()
    gc.set_threshold(max(before[0], COLLECT_AFTER_CONTAINERS), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
