"""A local fake of Coursera's API over HTTP, for tests, benchmarks, manual runs and the demo.

A real HTTP server (http.server.ThreadingHTTPServer) speaking the shape described in
PROVIDERS.md, section 1:

- POST /oauth2/client_credentials/token   Basic auth -> {"access_token", "token_type", "expires_in"}
- GET  /api/businesses.v1/{orgId}/enrollmentReports?q=byProgramId&programId=P&start=S&limit=L
- GET  /api/businesses.v1/{orgId}/programs
- GET  /api/businesses.v1/{orgId}/contents?q=byProgramIds&programIds=P1,P2

Bearer tokens are checked (unknown or expired -> 401), an unknown org or program -> 403,
paging uses string `next` offsets. Fault switches (`SandboxFaults`) can be changed while
the server runs, from any thread: rate limits (429 + Retry-After), server errors, slow
answers, short-lived tokens, malformed records and the epoch-ms / ISO timestamp mix.
Every request is counted per path and logged with its status, for tests.

It serves exactly the records it is handed (`SandboxData`; `sandbox_data_from_records`
builds one from a list of Coursera-shaped elements) and knows nothing of LearnHub's
database or of who started it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from programs.providers.coursera_api import parse_timestamp

TOKEN_PATH = "/oauth2/client_credentials/token"  # noqa: S105  (a path, not a secret)
API_PREFIX = "/api/"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
TIMESTAMP_FIELDS = ("enrolledAt", "lastActivityAt", "completedAt", "deletedAt", "updatedAt")
TIMESTAMP_STYLES = ("as-is", "epoch", "iso", "mixed")
MALFORMED_KINDS = ("bad-date", "no-content-id", "unknown-type")
RESOURCE_PATH = re.compile(r"^/api/businesses\.v1/(?P<org>[^/]+)/(?P<resource>enrollmentReports|programs|contents)$")


@dataclass
class SandboxFaults:
    """What the sandbox does wrong, on purpose. Counters are over all requests (1-based).

    - rate_limit_every: every Nth request answers 429 with `Retry-After: retry_after`.
    - server_error_every: every Nth request answers 500.
    - fail_next: the next N requests answer `fail_status` (503), then it counts down.
    - slow_seconds: every answer is delayed that long.
    - token_expires_in: lifetime announced and enforced for new tokens (seconds).
    - malformed_every: every Nth enrollment element is corrupted, in turn: an unparseable
      completedAt, no contentId, an unknown contentType.
    - timestamps: "as-is", "epoch" (milliseconds), "iso", or "mixed" (odd positions
      epoch, even positions ISO).
    - max_limit: the largest page served, whatever `limit` asks (clients must follow
      `next`, not compute offsets).
    """

    rate_limit_every: int = 0
    retry_after: int = 1
    server_error_every: int = 0
    fail_next: int = 0
    fail_status: int = 503
    slow_seconds: float = 0.0
    token_expires_in: int = 1800
    malformed_every: int = 0
    timestamps: str = "as-is"
    max_limit: int = MAX_LIMIT


@dataclass
class SandboxData:
    """What the sandbox serves: one org, its programs and their enrollment elements
    (Coursera-shaped dicts, each with `programId`)."""

    org_id: str
    programs: list[dict[str, Any]]
    elements: list[dict[str, Any]] = field(default_factory=list)
    _by_program: dict[str, list[dict[str, Any]]] | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def program_ids(self) -> list[str]:
        return [str(p["id"]) for p in self.programs]

    def program_elements(self, program_id: str) -> Sequence[dict[str, Any]]:
        """The elements of one program, in order: grouped once, so a page is a slice
        (a large sandbox answers each page in the same time)."""
        if self._by_program is None:
            grouped: dict[str, list[dict[str, Any]]] = {}
            for element in self.elements:
                grouped.setdefault(str(element.get("programId")), []).append(element)
            self._by_program = grouped
        return self._by_program.get(program_id, [])


def sandbox_data_from_records(
    *, records: Iterable[dict[str, Any]], org_id: str = "demo-org", program_ids: Iterable[str] = ("demo-program",)
) -> SandboxData:
    """Explicit elements (tests); an element without `programId` belongs to the first program."""
    programs = [{"id": p, "name": f"Program {p}", "slug": p.lower()} for p in program_ids]
    first = programs[0]["id"] if programs else ""
    elements = [{"programId": first, **record} for record in records]
    return SandboxData(org_id=org_id, programs=programs, elements=elements)


# --- Serving -------------------------------------------------------------------------


def _epoch_ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _restyle(value: Any, style: str) -> Any:
    """A timestamp value in `style` ("epoch" or "iso"); values that do not parse stay."""
    try:
        moment = parse_timestamp(value)
    except ValueError:
        return value
    if moment is None:
        return value
    return _epoch_ms(moment) if style == "epoch" else _iso(moment)


def served_element(element: dict[str, Any], *, position: int, faults: SandboxFaults) -> dict[str, Any]:
    """The element as the sandbox sends it at 1-based `position` of its program."""
    out = dict(element)
    style = faults.timestamps
    if style == "mixed":
        style = "epoch" if position % 2 else "iso"
    if style in ("epoch", "iso"):
        for key in TIMESTAMP_FIELDS:
            if out.get(key) is not None:
                out[key] = _restyle(out[key], style)
    every = faults.malformed_every
    if every > 0 and position % every == 0:
        kind = MALFORMED_KINDS[(position // every - 1) % len(MALFORMED_KINDS)]
        if kind == "bad-date":
            out["completedAt"] = "not-a-date"
        elif kind == "no-content-id":
            out.pop("contentId", None)
        else:
            out["contentType"] = "Hologram"
    return out


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class SandboxServer:
    """The sandbox: `start()` serves in a daemon thread, `serve_forever()` in this one.

    Port 0 picks a free port; `base_url` and `token_url` are what a ProviderConnection
    needs. `counts` is requests per path, `log` is (method, path?query, status) per request.
    """

    def __init__(
        self,
        *,
        data: SandboxData,
        client_id: str = "demo",
        client_secret: str = "demo",  # noqa: S107  (the sandbox's own demo secret)
        host: str = "127.0.0.1",
        port: int = 0,
        faults: SandboxFaults | None = None,
        clock: Callable[[], float] = time.monotonic,
        echo: Callable[[str], None] | None = None,
    ) -> None:
        self.data = data
        self.echo = echo
        self.client_id = client_id
        self.client_secret = client_secret
        self.faults = faults or SandboxFaults()
        self.clock = clock
        self.lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.log: list[tuple[str, str, int]] = []
        self.requests = 0
        self.tokens: dict[str, float] = {}
        self._thread: threading.Thread | None = None
        self.httpd = _QuietServer((host, port), _handler_for(self))

    # -- lifecycle --

    @property
    def address(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return self.address + API_PREFIX

    @property
    def token_url(self) -> str:
        return self.address + TOKEN_PATH

    def start(self) -> SandboxServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="coursera-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.httpd.server_close()

    # -- switches, safe from any thread --

    def set_faults(self, **changes: Any) -> None:
        """Change fault switches while serving, e.g. `set_faults(fail_next=3)`."""
        if "timestamps" in changes and changes["timestamps"] not in TIMESTAMP_STYLES:
            raise ValueError(f"timestamps must be one of {TIMESTAMP_STYLES}")
        with self.lock:
            self.faults = dataclasses.replace(self.faults, **changes)

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (the next API call answers 401)."""
        with self.lock:
            self.tokens.clear()

    # -- answering --

    def answer(self, *, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        """The answer to one request; faults first, then the endpoint."""
        path, _, query = target.partition("?")
        with self.lock:
            self.requests += 1
            number = self.requests
            self.counts[path] += 1
            faults = self.faults
            failing = faults.fail_next > 0
            if failing:
                self.faults = dataclasses.replace(faults, fail_next=faults.fail_next - 1)
        if faults.slow_seconds > 0:
            time.sleep(faults.slow_seconds)
        if failing:
            answer = Answer(faults.fail_status, {"errorCode": "UNAVAILABLE", "message": "try again later"})
        elif faults.server_error_every and number % faults.server_error_every == 0:
            answer = Answer(500, {"errorCode": "INTERNAL", "message": "internal server error"})
        elif faults.rate_limit_every and number % faults.rate_limit_every == 0:
            answer = Answer(
                429,
                {"errorCode": "RATE_LIMITED", "message": "too many requests"},
                {"Retry-After": str(faults.retry_after)},
            )
        else:
            answer = self._endpoint(method, path, parse_qs(query), headers, body, faults)
        with self.lock:
            self.log.append((method, target, answer.status))
        if self.echo is not None:
            self.echo(f"{method} {target} -> {answer.status}")
        return answer

    def _endpoint(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        faults: SandboxFaults,
    ) -> Answer:
        if path == TOKEN_PATH:
            if method != "POST":
                return Answer(405, {"errorCode": "METHOD_NOT_ALLOWED", "message": "POST only"})
            return self._token(headers, body, faults)
        match = RESOURCE_PATH.match(path)
        if match is None:
            return Answer(404, {"errorCode": "NOT_FOUND", "message": f"no resource at {path}"})
        if method != "GET":
            return Answer(405, {"errorCode": "METHOD_NOT_ALLOWED", "message": "GET only"})
        if not self._token_valid(headers.get("authorization", "")):
            return Answer(401, {"errorCode": "UNAUTHORIZED", "message": "missing, unknown or expired token"})
        org = match["org"]
        if org != self.data.org_id:
            return Answer(403, {"errorCode": "FORBIDDEN", "message": f"no access to business {org}"})
        resource = match["resource"]
        first = {k: v[0] for k, v in query.items() if v}
        try:
            start = int(first.get("start", "0") or "0")
            limit = min(faults.max_limit, int(first.get("limit", str(DEFAULT_LIMIT)) or DEFAULT_LIMIT))
        except ValueError:
            return Answer(400, {"errorCode": "BAD_REQUEST", "message": "start and limit must be integers"})
        if start < 0 or limit < 1:
            return Answer(400, {"errorCode": "BAD_REQUEST", "message": "start >= 0 and limit >= 1"})
        if resource == "programs":
            return _page(self.data.programs, start=start, limit=limit)
        if resource == "contents":
            if first.get("q") != "byProgramIds":
                return Answer(400, {"errorCode": "BAD_REQUEST", "message": "q must be byProgramIds"})
            wanted = [p for p in first.get("programIds", "").split(",") if p]
            unknown = [p for p in wanted if p not in self.data.program_ids]
            if unknown:
                return Answer(403, {"errorCode": "FORBIDDEN", "message": f"no access to program {unknown[0]}"})
            return _page(_contents(self.data.elements, wanted), start=start, limit=limit)
        if first.get("q") != "byProgramId" or not first.get("programId"):
            return Answer(400, {"errorCode": "BAD_REQUEST", "message": "q=byProgramId&programId=... required"})
        program_id = first["programId"]
        if program_id not in self.data.program_ids:
            return Answer(403, {"errorCode": "FORBIDDEN", "message": f"no access to program {program_id}"})
        elements = self.data.program_elements(program_id)
        window = elements[start : start + limit]
        served = [served_element(e, position=start + i + 1, faults=faults) for i, e in enumerate(window)]
        return _page(served, start=start, limit=limit, total=len(elements), sliced=True)

    def _token(self, headers: dict[str, str], body: bytes, faults: SandboxFaults) -> Answer:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items() if v}
        if form.get("grant_type") != "client_credentials":
            return Answer(400, {"error": "unsupported_grant_type"})
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        scheme, _, encoded = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, client_secret = base64.b64decode(encoded).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return Answer(401, {"error": "invalid_client"})
        if not (
            secrets.compare_digest(client_id.encode(), self.client_id.encode())
            and secrets.compare_digest(client_secret.encode(), self.client_secret.encode())
        ):
            return Answer(401, {"error": "invalid_client"})
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = self.clock() + faults.token_expires_in
        return Answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": faults.token_expires_in})

    def _token_valid(self, authorization: str) -> bool:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer":
            return False
        with self.lock:
            expires_at = self.tokens.get(token.strip())
        return expires_at is not None and self.clock() < expires_at


def _page(
    items: list[dict[str, Any]], *, start: int, limit: int, total: int | None = None, sliced: bool = False
) -> Answer:
    """Coursera paging: `next` is a string offset, absent on the last page."""
    total = len(items) if total is None else total
    elements = items if sliced else items[start : start + limit]
    paging: dict[str, Any] = {"total": total}
    if start + limit < total:
        paging["next"] = str(start + limit)
    return Answer(200, {"elements": elements, "paging": paging, "linked": {}})


def _contents(elements: list[dict[str, Any]], program_ids: list[str]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for e in elements:
        content_id = e.get("contentId")
        if not content_id or content_id in seen or (program_ids and e.get("programId") not in program_ids):
            continue
        seen[content_id] = {
            "id": content_id,
            "contentId": content_id,
            "contentType": e.get("contentType", "Course"),
            "name": e.get("contentName", ""),
            "slug": e.get("contentSlug", ""),
            "partnerNames": e.get("partnerNames", []),
            "approxTotalCourseHrs": e.get("approxTotalCourseHrs"),
        }
    return list(seen.values())


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout test, Ctrl-C) is not the sandbox's error."""
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(sandbox: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "CourseraSandbox/1.0"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            answer = sandbox.answer(
                method=self.command,
                target=urlsplit(self.path).path + ("?" + urlsplit(self.path).query if "?" in self.path else ""),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            payload = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve  # noqa: N815
        do_POST = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the sandbox keeps its own log; stderr stays quiet in tests

    return Handler
