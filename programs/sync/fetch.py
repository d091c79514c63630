"""Pages fetched ahead: an adapter read in a thread of its own while the run writes.

`PagesAhead` runs `adapter.pages()` (HTTP and JSON, or a file's CSV: the adapter's work,
never the database's) in a daemon thread and hands the pages over through a bounded
queue, so the next page is on its way while the current one is written, and at most
`ahead` pages wait (memory stays at a few pages whatever the size). The pages arrive in
order; an error the adapter raises arrives after the pages read before it, and is raised
in the writer's thread as it was raised (the same exception: a ProviderError keeps its
message), so the run handles it exactly as if it had read the adapter itself. Leaving the
`with` block early (the writer failed) stops the thread after its current fetch.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Any

from programs.providers.base import Adapter, ProviderRecord

AHEAD_PAGES = 1  # pages waiting for the writer, besides the one being written and the one being fetched
_POLL_SECONDS = 0.1


class PagesAhead:
    """`with PagesAhead(adapter, name=...) as pages: for page in pages: ...`"""

    def __init__(self, adapter: Adapter, *, name: str, ahead: int = AHEAD_PAGES) -> None:
        self.adapter = adapter
        self.handed: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=ahead)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._fetch, name=f"sync-fetch {name}", daemon=True)

    def __enter__(self) -> PagesAhead:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=_POLL_SECONDS * 10)

    def __iter__(self) -> Iterator[list[ProviderRecord]]:
        while True:
            kind, value = self.handed.get()
            if kind == "page":
                yield value
            elif kind == "done":
                return
            else:
                raise value

    def _fetch(self) -> None:
        try:
            for page in self.adapter.pages():
                if not self._hand(("page", list(page))):
                    return
        except BaseException as exc:  # handed to the writer's thread, which raises it
            self._hand(("error", exc))
        else:
            self._hand(("done", None))

    def _hand(self, item: tuple[str, Any]) -> bool:
        """Wait for room in the queue; False when the writer stopped meanwhile."""
        while not self.stopping.is_set():
            try:
                self.handed.put(item, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        return False
