"""A REAL local incoming-webhook endpoint (http.server in a thread) for the webhook tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Receiver:
    """A local incoming-webhook endpoint: records each POST (path, JSON body) and its Host
    header, and answers with the next status of `statuses` (the last one repeats), with
    a Location header when `location` is set (to offer a redirect)."""

    url: str
    statuses: list[int]
    posts: list[tuple[str, dict]] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    location: str = ""


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="", statuses=[200])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.posts.append((self.path, json.loads(body)))
            state.hosts.append(self.headers["Host"])
            status = state.statuses.pop(0) if len(state.statuses) > 1 else state.statuses[0]
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            if state.location:
                self.send_header("Location", state.location)
            self.end_headers()
            self.wfile.write(b"ok" if status < 400 else b"no")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}"
    # shutdown() waits for the next poll: 0.05 s, not the default 0.5 s, per test
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
