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
database or of who started it. The server, the faults and the tokens are the ones every
provider sandbox shares (programs/providers/sandbox.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from programs.providers.formats import epoch_ms, parse_timestamp
from programs.providers.sandbox import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    TIMESTAMP_STYLES,
    Answer,
    ProviderSandbox,
    Request,
    SandboxData,
    SandboxFaults,
    malformed_kind,
    page_bounds,
)

__all__ = [
    "API_PREFIX",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "TIMESTAMP_STYLES",
    "TOKEN_PATH",
    "Answer",
    "SandboxData",
    "SandboxFaults",
    "SandboxServer",
    "sandbox_data_from_records",
    "served_element",
]

TOKEN_PATH = "/oauth2/client_credentials/token"  # noqa: S105  (a path, not a secret)
API_PREFIX = "/api/"
TIMESTAMP_FIELDS = ("enrolledAt", "lastActivityAt", "completedAt", "deletedAt", "updatedAt")
MALFORMED_KINDS = ("bad-date", "no-content-id", "unknown-type")
RESOURCE_PATH = re.compile(r"^/api/businesses\.v1/(?P<org>[^/]+)/(?P<resource>enrollmentReports|programs|contents)$")


def sandbox_data_from_records(
    *, records: Iterable[dict[str, Any]], org_id: str = "demo-org", program_ids: Iterable[str] = ("demo-program",)
) -> SandboxData:
    """Explicit elements (tests); an element without `programId` belongs to the first program."""
    programs = [{"id": p, "name": f"Program {p}", "slug": p.lower()} for p in program_ids]
    first = programs[0]["id"] if programs else ""
    elements = [{"programId": first, **record} for record in records]
    return SandboxData(org_id=org_id, programs=programs, elements=elements)


# --- Serving -------------------------------------------------------------------------


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
    return epoch_ms(moment) if style == "epoch" else _iso(moment)


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
    kind = malformed_kind(position, every=faults.malformed_every, kinds=MALFORMED_KINDS)
    if kind == "bad-date":
        out["completedAt"] = "not-a-date"
    elif kind == "no-content-id":
        out.pop("contentId", None)
    elif kind == "unknown-type":
        out["contentType"] = "Hologram"
    return out


class SandboxServer(ProviderSandbox):
    """The Coursera sandbox (see the module's docstring); `data` is what it serves."""

    name = "Coursera"
    api_prefix = API_PREFIX
    token_path = TOKEN_PATH

    def __init__(self, *, data: SandboxData, **options: Any) -> None:
        super().__init__(**options)
        self.data = data

    @classmethod
    def from_activity(cls, data: SandboxData, **options: Any) -> SandboxServer:
        return cls(data=data, **options)

    def describe(self) -> str:
        people = len({e.get("email") for e in self.data.elements})
        programs = ", ".join(repr(p) for p in self.data.program_ids)
        return f"{len(self.data.elements)} enrollment records for {people} people (program {programs})"

    def connection_args(self) -> list[str]:
        programs = [arg for p in self.data.program_ids for arg in ("--program-id", p)]
        return [
            "--kind",
            "coursera",
            "--base-url",
            self.base_url,
            "--token-url",
            self.token_url,
            "--org-id",
            self.data.org_id,
            *programs,
            "--client-id",
            self.client_id,
        ]

    def endpoint(self, request: Request, faults: SandboxFaults) -> Answer:
        if request.path == TOKEN_PATH:
            return self.token_endpoint(request, faults, token_type="Bearer")  # noqa: S106  (a token type)
        match = RESOURCE_PATH.match(request.path)
        if match is None:
            return Answer(404, {"errorCode": "NOT_FOUND", "message": f"no resource at {request.path}"})
        if request.method != "GET":
            return Answer(405, {"errorCode": "METHOD_NOT_ALLOWED", "message": "GET only"})
        if not self.token_valid(request.headers.get("authorization", "")):
            return Answer(401, {"errorCode": "UNAUTHORIZED", "message": "missing, unknown or expired token"})
        org = match["org"]
        if org != self.data.org_id:
            return Answer(403, {"errorCode": "FORBIDDEN", "message": f"no access to business {org}"})
        bounds = page_bounds(request, offset="start", size="limit", faults=faults)
        if isinstance(bounds, Answer):
            return bounds
        start, limit = bounds
        resource, query = match["resource"], request.query
        if resource == "programs":
            return _page(self.data.programs, start=start, limit=limit)
        if resource == "contents":
            if query.get("q") != "byProgramIds":
                return Answer(400, {"errorCode": "BAD_REQUEST", "message": "q must be byProgramIds"})
            wanted = [p for p in query.get("programIds", "").split(",") if p]
            unknown = [p for p in wanted if p not in self.data.program_ids]
            if unknown:
                return Answer(403, {"errorCode": "FORBIDDEN", "message": f"no access to program {unknown[0]}"})
            return _page(_contents(self.data.elements, wanted), start=start, limit=limit)
        if query.get("q") != "byProgramId" or not query.get("programId"):
            return Answer(400, {"errorCode": "BAD_REQUEST", "message": "q=byProgramId&programId=... required"})
        program_id = query["programId"]
        if program_id not in self.data.program_ids:
            return Answer(403, {"errorCode": "FORBIDDEN", "message": f"no access to program {program_id}"})
        elements = self.data.program_elements(program_id)
        window = elements[start : start + limit]
        served = [served_element(e, position=start + i + 1, faults=faults) for i, e in enumerate(window)]
        return _page(served, start=start, limit=limit, total=len(elements), sliced=True)


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
