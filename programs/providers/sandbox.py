"""What the local provider fakes share (Coursera, Udemy Business, LinkedIn Learning, edX):
a real HTTP server (http.server.ThreadingHTTPServer) on a port, fault switches that can be
changed while it serves, client-credentials tokens and a log of every request. For tests,
benchmarks, manual runs and the demo.

A provider's sandbox subclasses `ProviderSandbox` and answers its own endpoints
(`endpoint`); the faults come first, the same for every provider (`SandboxFaults`): rate
limits (429 + Retry-After), server errors, slow answers, short-lived tokens and malformed
records. Each serves exactly the records it is handed and knows nothing of LearnHub's
database: `from_activity` builds one from the demo's generated activity (Coursera-shaped
enrollment elements, learnhub/demo/sandbox_data.py), the one data source of every kind.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import secrets
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson

from programs.providers.formats import parse_timestamp

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
TIMESTAMP_STYLES = ("as-is", "epoch", "iso", "mixed")


@dataclass
class SandboxFaults:
    """What a sandbox does wrong, on purpose. Counters are over all requests (1-based).

    - rate_limit_every: every Nth request answers 429 with `Retry-After: retry_after`.
    - server_error_every: every Nth request answers 500.
    - fail_next: the next N requests answer `fail_status` (503), then it counts down.
    - slow_seconds: every answer is delayed that long.
    - token_expires_in: lifetime announced and enforced for new tokens (seconds).
    - malformed_every: every Nth record is corrupted, in turn in each of the provider's
      ways (a date that does not parse, no course id, ...).
    - timestamps (Coursera): "as-is", "epoch" (milliseconds), "iso", or "mixed" (odd
      positions epoch, even positions ISO).
    - max_limit: the largest page served, whatever the client asks (clients must follow
      the provider's paging, not compute offsets).
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
    """What a sandbox serves: one org, its programs and their enrollment elements
    (Coursera-shaped dicts, each with `programId`): Coursera's own shape, and the activity
    the other sandboxes turn into theirs (`ProviderSandbox.from_activity`)."""

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


@dataclass(frozen=True)
class Activity:
    """One learner x course of the demo's activity, read from a Coursera-shaped element, as
    the other sandboxes render it in their shape."""

    email: str
    external_id: str  # "" when Coursera's externalId only echoes the e-mail
    name: str
    course_id: str
    title: str
    enrolled_at: dt.datetime | None
    last_activity_at: dt.datetime | None
    completed_at: dt.datetime | None  # None: not completed
    progress: float

    @property
    def number(self) -> int:
        """A stable whole number for the course (Udemy and LinkedIn number their courses): a
        course id that is a number already (a Udemy course's) is kept as it is."""
        if self.course_id.isdigit():
            return int(self.course_id)
        return 1000 + zlib.crc32(self.course_id.encode()) % 9_000_000


def activities_of(elements: Sequence[Mapping[str, Any]]) -> list[Activity]:
    """The course-level elements as Activity: specializations and other content, and
    elements Coursera's own sandbox serves broken on purpose (no course id or learner, a
    time that does not parse), are left out: each sandbox breaks records its own way."""
    out = []
    for e in elements:
        email, external_id = str(e.get("email") or ""), str(e.get("externalId") or "")
        completed = bool(e.get("isCompleted")) and e.get("completedAt") is not None
        if str(e.get("contentType") or "Course").lower() != "course" or not e.get("contentId") or not email:
            continue
        try:
            enrolled_at, last_activity_at, completed_at = (
                parse_timestamp(e.get(key)) for key in ("enrolledAt", "lastActivityAt", "completedAt")
            )
        except ValueError:
            continue
        out.append(
            Activity(
                email=email,
                external_id="" if external_id.lower() == email.lower() else external_id,
                name=str(e.get("fullName") or ""),
                course_id=str(e["contentId"]),
                title=str(e.get("contentName") or ""),
                enrolled_at=enrolled_at,
                last_activity_at=last_activity_at,
                completed_at=completed_at if completed else None,
                progress=float(e.get("overallProgress") or 0),
            )
        )
    return out


def iso_z(moment: dt.datetime | None) -> str | None:
    """`moment` as ISO-8601 UTC with a `Z` (None stays None)."""
    return None if moment is None else moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Answer:
    status: int
    body: dict[str, Any] | bytes
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass(frozen=True)
class Request:
    """One request as an endpoint reads it: `query` has the first value of each parameter,
    `headers` are lower-cased, `host` is what the client asked for (for absolute links)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    @property
    def host(self) -> str:
        return self.headers.get("host", "")

    def form(self) -> dict[str, str]:
        """The body as an `application/x-www-form-urlencoded` form."""
        return {k: v[0] for k, v in parse_qs(self.body.decode("utf-8", "replace")).items() if v}


class ProviderSandbox:
    """One provider's fake API: `start()` serves in a daemon thread, `serve_forever()` in
    this one. Port 0 picks a free port; `base_url` and `token_url` are what a
    ProviderConnection needs. `counts` is requests per path, `log` is (method,
    path?query, status) per request.

    Subclasses set `name`, `api_prefix`, `token_path` ("" when the provider has no token
    endpoint) and answer their endpoints in `endpoint`."""

    name: ClassVar[str] = "Provider"
    api_prefix: ClassVar[str] = "/"
    token_path: ClassVar[str] = ""

    def __init__(
        self,
        *,
        client_id: str = "demo",
        client_secret: str = "demo",  # noqa: S107  (the sandbox's own demo secret)
        host: str = "127.0.0.1",
        port: int = 0,
        faults: SandboxFaults | None = None,
        clock: Callable[[], float] = time.monotonic,
        echo: Callable[[str], None] | None = None,
    ) -> None:
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

    @classmethod
    def from_activity(cls, data: SandboxData, **options: Any) -> ProviderSandbox:
        """The sandbox serving `data` (the demo's activity) in this provider's shape."""
        raise NotImplementedError

    def describe(self) -> str:
        """What it serves, in a few words, for the command's banner."""
        raise NotImplementedError

    def connection_args(self) -> list[str]:
        """The `manage.py provider_connection` options that point a connection at it."""
        raise NotImplementedError

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
        return self.address + self.api_prefix

    @property
    def token_url(self) -> str:
        return self.address + self.token_path if self.token_path else ""

    def start(self) -> ProviderSandbox:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{self.name.lower()}-sandbox",
            daemon=True,
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
            first = {k: v[0] for k, v in parse_qs(query).items() if v}
            answer = self.endpoint(Request(method, path, first, headers, body), faults)
        with self.lock:
            self.log.append((method, target, answer.status))
        if self.echo is not None:
            self.echo(f"{method} {target} -> {answer.status}")
        return answer

    def endpoint(self, request: Request, faults: SandboxFaults) -> Answer:
        raise NotImplementedError

    # -- tokens --

    def token_endpoint(
        self,
        request: Request,
        faults: SandboxFaults,
        *,
        form_needs: Mapping[str, str] | None = None,
        **more: Any,
    ) -> Answer:
        """The answer of a client-credentials token endpoint: POST only, the form's
        `grant_type=client_credentials` and `form_needs` (400 otherwise), the client id and
        secret as HTTP Basic or in the form (401 when wrong); `more` is added to the answer."""
        if request.method != "POST":
            return Answer(405, {"error": "POST only"})
        form = request.form()
        wanted = {"grant_type": "client_credentials", **(form_needs or {})}
        wrong = sorted(key for key, value in wanted.items() if form.get(key) != value)
        if wrong:
            return Answer(
                400, {"error": "invalid_request", "error_description": f"wrong or missing {', '.join(wrong)}"}
            )
        authorization = request.headers.get("authorization", "")
        if authorization.lower().startswith("basic "):
            credentials = basic_credentials(authorization) or ("", "")
        else:
            credentials = (form.get("client_id", ""), form.get("client_secret", ""))
        return self.token_answer(*credentials, faults, **more)

    def token_answer(self, client_id: str, client_secret: str, faults: SandboxFaults, **more: Any) -> Answer:
        """A new token for the right client credentials (401 otherwise), valid for
        `faults.token_expires_in` seconds; `more` is added to the answer."""
        if not self.credentials_valid(client_id, client_secret):
            return Answer(401, {"error": "invalid_client"})
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = self.clock() + faults.token_expires_in
        return Answer(200, {"access_token": token, "expires_in": faults.token_expires_in, **more})

    def credentials_valid(self, client_id: str, client_secret: str) -> bool:
        return secrets.compare_digest(client_id.encode(), self.client_id.encode()) and secrets.compare_digest(
            client_secret.encode(), self.client_secret.encode()
        )

    def token_valid(self, authorization: str, *, scheme: str = "Bearer") -> bool:
        """Whether `authorization` is `<scheme> <a token issued and not expired>`."""
        given, _, token = authorization.partition(" ")
        if given.lower() != scheme.lower():
            return False
        with self.lock:
            expires_at = self.tokens.get(token.strip())
        return expires_at is not None and self.clock() < expires_at


class ReportSandbox(ProviderSandbox):
    """A provider whose report is a list of rows of one organization, served in DRF pages
    (Udemy Business, edX): `rows`, `org_id`, and `row_of` an Activity in its shape."""

    report: ClassVar[str] = "report"

    def __init__(self, *, rows: list[dict[str, Any]], org_id: str = "demo-org", **options: Any) -> None:
        super().__init__(**options)
        self.rows = rows
        self.org_id = org_id

    @staticmethod
    def row_of(activity: Activity) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_activity(cls, data: SandboxData, **options: Any) -> ReportSandbox:
        return cls(
            rows=[cls.row_of(activity) for activity in activities_of(data.elements)], org_id=data.org_id, **options
        )

    def describe(self) -> str:
        people = len({row.get("user_email") for row in self.rows})
        return f"{len(self.rows)} {self.report} rows for {people} people (organization {self.org_id!r})"


def basic_credentials(authorization: str) -> tuple[str, str] | None:
    """(client id, secret) of an HTTP Basic `Authorization` header, or None."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


def page_bounds(request: Request, *, offset: str, size: str, faults: SandboxFaults) -> tuple[int, int] | Answer:
    """(first index, page size) from the `offset` and `size` query parameters (page size
    capped at `faults.max_limit`), or a 400 Answer when they are not whole numbers."""
    try:
        first = int(request.query.get(offset, "0") or "0")
        limit = min(faults.max_limit, int(request.query.get(size, str(DEFAULT_LIMIT)) or DEFAULT_LIMIT))
    except ValueError:
        return Answer(400, {"errorCode": "BAD_REQUEST", "message": f"{offset} and {size} must be integers"})
    if first < 0 or limit < 1:
        return Answer(400, {"errorCode": "BAD_REQUEST", "message": f"{offset} >= 0 and {size} >= 1"})
    return first, limit


def drf_page(
    request: Request,
    items: Sequence[dict[str, Any]],
    *,
    faults: SandboxFaults,
    served: Callable[[dict[str, Any], int], dict[str, Any]] = lambda item, position: item,
) -> Answer:
    """A Django REST framework page of `items` (`?page=` from 1, `?page_size=` capped at
    `faults.max_limit`): {"count", "next": an absolute URL or null, "previous", "results"};
    each result is `served(item, its 1-based position)`."""
    try:
        number = int(request.query.get("page", "1") or "1")
        size = min(faults.max_limit, int(request.query.get("page_size", str(DEFAULT_LIMIT)) or DEFAULT_LIMIT))
    except ValueError:
        return Answer(400, {"detail": "page and page_size must be integers"})
    if number < 1 or size < 1:
        return Answer(404, {"detail": "Invalid page."})
    first = (number - 1) * size
    results = [served(item, first + i + 1) for i, item in enumerate(items[first : first + size])]

    def link(page: int) -> str:
        return f"http://{request.host}{request.path}?{urlencode({'page': page, 'page_size': size})}"

    return Answer(
        200,
        {
            "count": len(items),
            "next": link(number + 1) if first + size < len(items) else None,
            "previous": link(number - 1) if number > 1 else None,
            "results": results,
        },
    )


def malformed_kind(position: int, *, every: int, kinds: Sequence[str]) -> str:
    """The way the record at 1-based `position` is corrupted ("" when it is not): every
    `every`th record, each of `kinds` in turn."""
    if every <= 0 or position % every:
        return ""
    return kinds[(position // every - 1) % len(kinds)]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout test, Ctrl-C) is not the sandbox's error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(sandbox: ProviderSandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = f"{sandbox.name.replace(' ', '')}Sandbox/1.0"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length > 0 else b""
            url = urlsplit(self.path)
            answer = sandbox.answer(
                method=self.command,
                target=url.path + ("?" + url.query if "?" in self.path else ""),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            payload = answer.body if isinstance(answer.body, bytes) else orjson.dumps(answer.body)
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
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
