"""A real HTTP proxy in front of a provider server (the Coursera sandbox) that damages
chosen answers on the wire, for faults the sandbox has no switch for (PYTEST_DONT_REWRITE:
no assertions here):

- "cut": the answer's headers promise its whole body (Content-Length) but only the first
  half is sent before the connection closes, as when a load balancer or the network drops
  a connection mid-answer.
- "not-json": a 200 whose body is an HTML error page, as some gateways send.

`faults` maps the end of a request path (e.g. "enrollmentReports") to the fate of each
request to it in turn ("ok", "cut", "not-json"); requests past the list, and other paths,
pass through unchanged. `log` is (path, fate) per request. It serves as a forward proxy
too (a client's HTTP_PROXY): a request naming a whole URL goes to the upstream all the same.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

NOT_JSON = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


class FaultyProxy:
    def __init__(self, *, upstream: str, faults: dict[str, list[str]]) -> None:
        self.upstream = urlsplit(upstream)
        self.faults = {suffix: list(fates) for suffix, fates in faults.items()}
        self.lock = threading.Lock()
        self.log: list[tuple[str, str]] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self) -> FaultyProxy:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def fate(self, path: str) -> str:
        with self.lock:
            fate = "ok"
            for suffix, fates in self.faults.items():
                if path.endswith(suffix) and fates:
                    fate = fates.pop(0)
                    break
            self.log.append((path, fate))
            return fate

    def forward(self, method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, list, bytes]:
        upstream = http.client.HTTPConnection(self.upstream.hostname or "127.0.0.1", self.upstream.port, timeout=30)
        target = urlsplit(target)._replace(scheme="", netloc="").geturl()  # a forward proxy is sent whole URLs
        try:
            upstream.request(method, target, body=body or None, headers=headers)
            answer = upstream.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        finally:
            upstream.close()


def _handler_for(proxy: FaultyProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
            status, answer_headers, payload = proxy.forward(self.command, self.path, headers, body)
            fate = proxy.fate(urlsplit(self.path).path)
            if fate == "not-json":
                status, payload = 200, NOT_JSON
                answer_headers = [("Content-Type", "text/html")]
            self.send_response(status)
            for name, value in answer_headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            if fate == "cut":
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve  # noqa: N815
        do_POST = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler
