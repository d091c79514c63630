"""A local fake of Udemy Business's reporting API over HTTP (PROVIDERS.md, section 3):

- GET /api-2.0/organizations/{org_id}/analytics/user-course-activity/?page=N&page_size=S
  with HTTP Basic client_id:client_secret (wrong: 401; another organization: 403), DRF
  paging with `next` an absolute URL (null on the last page).

The faults are every sandbox's (programs/providers/sandbox.py); a malformed row has, in
turn, a first completion date that does not parse or no course id.
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
    basic_credentials,
    drf_page,
    iso_z,
    malformed_kind,
)

API_PREFIX = "/api-2.0/"
REPORT_PATH = re.compile(r"^/api-2\.0/organizations/(?P<org>[^/]+)/analytics/user-course-activity/?$")
MALFORMED_KINDS = ("bad-date", "no-course-id")


def udemy_row(activity: Activity) -> dict[str, Any]:
    """An Activity as a `user-course-activity` row (course id a number; the first and the
    last completion on the same day)."""
    first, _, last = activity.name.partition(" ")
    completed = iso_z(activity.completed_at)
    return {
        "user_email": activity.email,
        "user_external_id": activity.external_id or None,
        "user_name": first,
        "user_surname": last,
        "user_is_deactivated": False,
        "course_id": activity.number,
        "course_title": activity.title,
        "course_category": "Business",
        "completion_ratio": round(activity.progress),
        "course_enroll_date": iso_z(activity.enrolled_at),
        "course_start_date": iso_z(activity.enrolled_at),
        "course_completion_date": completed,
        "course_first_completion_date": completed,
        "course_last_accessed_date": iso_z(activity.last_activity_at),
        "is_assigned": False,
        "assigned_by": None,
    }


def served_row(row: dict[str, Any], position: int, *, faults: SandboxFaults) -> dict[str, Any]:
    """The row as sent at 1-based `position` of the report."""
    kind = malformed_kind(position, every=faults.malformed_every, kinds=MALFORMED_KINDS)
    if kind == "bad-date":
        return {**row, "course_first_completion_date": "2024-13-45T00:00:00Z"}
    if kind == "no-course-id":
        return {**row, "course_id": None}
    return row


class UdemySandbox(ReportSandbox):
    """Udemy Business's `user-course-activity` for one organization, serving `rows`."""

    name = "Udemy Business"
    api_prefix = API_PREFIX
    report = "user-course-activity"
    row_of = staticmethod(udemy_row)

    def connection_args(self) -> list[str]:
        return ["--kind", "udemy", "--base-url", self.base_url, "--org-id", self.org_id, "--client-id", self.client_id]

    def endpoint(self, request: Request, faults: SandboxFaults) -> Answer:
        match = REPORT_PATH.match(request.path)
        if match is None:
            return Answer(404, {"detail": "Not found."})
        if request.method != "GET":
            return Answer(405, {"detail": f'Method "{request.method}" not allowed.'})
        credentials = basic_credentials(request.headers.get("authorization", ""))
        if credentials is None or not self.credentials_valid(*credentials):
            return Answer(401, {"detail": "Invalid username/password."})
        if match["org"] != self.org_id:
            return Answer(403, {"detail": "You do not have permission to perform this action."})
        return drf_page(request, self.rows, faults=faults, served=partial(served_row, faults=faults))
