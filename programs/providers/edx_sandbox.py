"""A local fake of edX Enterprise's reporting API over HTTP (PROVIDERS.md, section 5):

- POST /oauth2/v1/access_token   form grant_type=client_credentials, client_id,
  client_secret, token_type=jwt -> {"access_token", "token_type": "JWT", "expires_in"}
- GET  /enterprise/v3/enterprise-customer/{uuid}/learner-summary?page=N&page_size=S
  with `Authorization: JWT <token>`; DRF paging. Like edX, it answers XML unless asked
  for `Accept: application/json`; another enterprise customer is refused with 403.

The faults are every sandbox's (programs/providers/sandbox.py); a malformed row has, in
turn, a `passed_date` that does not parse or no course key.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from programs.providers.sandbox import (
    Activity,
    Answer,
    ReportSandbox,
    Request,
    SandboxFaults,
    drf_page,
    iso_z,
    malformed_kind,
)

TOKEN_PATH = "/oauth2/v1/access_token"  # noqa: S105  (a path, not a secret)
REPORT_PATH = re.compile(r"^/enterprise/v3/enterprise-customer/(?P<org>[^/]+)/learner-summary/?$")
XML = b"<?xml version='1.0' encoding='utf-8'?>\n<root><detail>Send Accept: application/json</detail></root>"
MALFORMED_KINDS = ("bad-date", "no-course-key")


def edx_row(activity: Activity) -> dict[str, Any]:
    """An Activity as a `learner-summary` row: passed on the completion's day (UTC)."""
    passed = activity.completed_at
    return {
        "user_email": activity.email,
        "enterprise_sso_uid": activity.external_id or None,
        "course_key": f"course-v1:LearnHub+{activity.course_id}+run",
        "course_title": activity.title,
        "has_passed": passed is not None,
        "passed_date": passed.date().isoformat() if passed else None,
        "progress_status": "Passed" if passed else "In Progress",
        "enrollment_created_timestamp": iso_z(activity.enrolled_at),
        "last_activity_date": activity.last_activity_at.date().isoformat() if activity.last_activity_at else None,
    }


def served_row(row: dict[str, Any], position: int, *, faults: SandboxFaults) -> dict[str, Any]:
    """The row as sent at 1-based `position` of the summary."""
    kind = malformed_kind(position, every=faults.malformed_every, kinds=MALFORMED_KINDS)
    if kind == "bad-date":
        return {**row, "has_passed": True, "passed_date": "31/12/2024"}
    if kind == "no-course-key":
        return {**row, "course_key": None}
    return row


class EdxSandbox(ReportSandbox):
    """edX Enterprise's `learner-summary` for one enterprise customer, serving `rows`."""

    name = "edX"
    api_prefix = "/"
    token_path = TOKEN_PATH
    report = "learner-summary"
    row_of = staticmethod(edx_row)

    def connection_args(self) -> list[str]:
        return [
            "--kind",
            "edx",
            "--base-url",
            self.base_url,
            "--token-url",
            self.token_url,
            "--org-id",
            self.org_id,
            "--client-id",
            self.client_id,
        ]

    def endpoint(self, request: Request, faults: SandboxFaults) -> Answer:
        if request.path == TOKEN_PATH:
            jwt = {"token_type": "JWT", "scope": "read write"}
            return self.token_endpoint(request, faults, form_needs={"token_type": "jwt"}, **jwt)
        match = REPORT_PATH.match(request.path)
        if match is None:
            return Answer(404, {"detail": "Not found."})
        if request.method != "GET":
            return Answer(405, {"detail": f'Method "{request.method}" not allowed.'})
        if "application/json" not in request.headers.get("accept", ""):
            return Answer(200, XML, content_type="application/xml")
        if not self.token_valid(request.headers.get("authorization", ""), scheme="JWT"):
            return Answer(401, {"detail": "Authentication credentials were not provided or have expired."})
        if match["org"] != self.org_id:
            return Answer(403, {"detail": "You do not have permission to perform this action."})
        return drf_page(request, self.rows, faults=faults, served=partial(served_row, faults=faults))
