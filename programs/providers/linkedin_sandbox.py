"""A local fake of LinkedIn Learning's reporting API over HTTP (PROVIDERS.md, section 4):

- POST /oauth/v2/accessToken   form grant_type=client_credentials, client_id, client_secret
  -> {"access_token", "expires_in"}
- GET  /v2/learningActivityReports?q=criteria&startedAt=<ms>&timeOffset.unit=DAY
       &timeOffset.duration=<1..14>&aggregationCriteria.primary=INDIVIDUAL
       &aggregationCriteria.secondary=CONTENT&assetType=COURSE&start=<n>&count=<n>
  with `Authorization: Bearer <token>`: the elements whose latest engagement falls in
  [startedAt, startedAt + duration days), paged by `start` / `count` with a `next` link
  relative to the host in `paging.links`.

Like LinkedIn, a window longer than 14 days, or a missing or wrong criterion, is refused
with 400. The faults are every sandbox's (programs/providers/sandbox.py); a malformed
element has, in turn, a last engagement that does not parse or no content URN.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from programs.providers.formats import epoch_ms
from programs.providers.sandbox import (
    Activity,
    Answer,
    ProviderSandbox,
    Request,
    SandboxData,
    SandboxFaults,
    activities_of,
    malformed_kind,
    page_bounds,
)

TOKEN_PATH = "/oauth/v2/accessToken"  # noqa: S105  (a path, not a secret)
API_PREFIX = "/v2/"
REPORT_PATH = "/v2/learningActivityReports"
MAX_WINDOW_DAYS = 14
DAY_MS = 86_400_000
CRITERIA = {
    "q": "criteria",
    "timeOffset.unit": "DAY",
    "aggregationCriteria.primary": "INDIVIDUAL",
    "aggregationCriteria.secondary": "CONTENT",
    "assetType": "COURSE",
}
MALFORMED_KINDS = ("bad-date", "no-content-urn")


def linkedin_element(activity: Activity) -> dict[str, Any]:
    """An Activity as a report element: seconds viewed from enrollment to the last
    activity, and a COMPLETIONS engagement at the completion when completed."""
    first = epoch_ms(activity.enrolled_at) if activity.enrolled_at else None
    last = epoch_ms(activity.last_activity_at) if activity.last_activity_at else first
    engagements = [
        {
            "engagementType": "SECONDS_VIEWED",
            "engagementValue": round(activity.progress * 36),
            "assetType": "COURSE",
            "firstEngagedAt": first,
            "lastEngagedAt": last,
        }
    ]
    if activity.completed_at is not None:
        done = epoch_ms(activity.completed_at)
        engagements.append(
            {
                "engagementType": "COMPLETIONS",
                "engagementValue": 1,
                "assetType": "COURSE",
                "firstEngagedAt": done,
                "lastEngagedAt": done,
            }
        )
    return {
        "learnerDetails": {
            "email": activity.email,
            "uniqueUserId": activity.external_id or None,
            "name": activity.name,
        },
        "contentDetails": {"contentUrn": f"urn:li:lyndaCourse:{activity.number}", "name": activity.title},
        "activities": engagements,
    }


def last_engaged_ms(element: dict[str, Any]) -> int | None:
    """The latest `lastEngagedAt` of an element (the window it is reported in)."""
    times = [a.get("lastEngagedAt") for a in element.get("activities") or []]
    numbers = [t for t in times if isinstance(t, int | float)]
    return int(max(numbers)) if numbers else None


def served_element(element: dict[str, Any], *, position: int, faults: SandboxFaults) -> dict[str, Any]:
    """The element as sent, `position` being its 1-based place among all the elements."""
    kind = malformed_kind(position, every=faults.malformed_every, kinds=MALFORMED_KINDS)
    if kind == "bad-date":
        activities = [dict(a) for a in element.get("activities") or []]
        activities[-1]["lastEngagedAt"] = "yesterday"
        return {**element, "activities": activities}
    if kind == "no-content-urn":
        return {**element, "contentDetails": {"name": (element.get("contentDetails") or {}).get("name", "")}}
    return element


class LinkedInSandbox(ProviderSandbox):
    """LinkedIn Learning's `learningActivityReports`, serving `elements`."""

    name = "LinkedIn Learning"
    api_prefix = API_PREFIX
    token_path = TOKEN_PATH

    def __init__(self, *, elements: list[dict[str, Any]], **options: Any) -> None:
        super().__init__(**options)
        self.elements = elements
        self.windows = [last_engaged_ms(e) for e in elements]

    @classmethod
    def from_activity(cls, data: SandboxData, **options: Any) -> LinkedInSandbox:
        return cls(elements=[linkedin_element(activity) for activity in activities_of(data.elements)], **options)

    def describe(self) -> str:
        people = len({(e.get("learnerDetails") or {}).get("email") for e in self.elements})
        return f"{len(self.elements)} learning activity elements for {people} people"

    def connection_args(self) -> list[str]:
        return [
            "--kind",
            "linkedin",
            "--base-url",
            self.base_url,
            "--token-url",
            self.token_url,
            "--client-id",
            self.client_id,
        ]

    def endpoint(self, request: Request, faults: SandboxFaults) -> Answer:
        if request.path == TOKEN_PATH:
            return self.token_endpoint(request, faults)
        if request.path != REPORT_PATH:
            return Answer(404, {"message": f"no resource at {request.path}", "status": 404})
        if request.method != "GET":
            return Answer(405, {"message": "GET only", "status": 405})
        if not self.token_valid(request.headers.get("authorization", "")):
            return Answer(401, {"message": "Invalid access token", "status": 401, "serviceErrorCode": 65600})
        wrong = sorted(key for key, value in CRITERIA.items() if request.query.get(key) != value)
        if wrong:
            return Answer(400, {"message": f"wrong or missing {', '.join(wrong)}", "status": 400})
        try:
            begin, days = int(request.query["startedAt"]), int(request.query["timeOffset.duration"])
        except (KeyError, ValueError):
            return Answer(400, {"message": "startedAt and timeOffset.duration must be integers", "status": 400})
        if not 1 <= days <= MAX_WINDOW_DAYS:
            return Answer(
                400,
                {"message": f"timeOffset.duration must be 1 to {MAX_WINDOW_DAYS} days, not {days}", "status": 400},
            )
        bounds = page_bounds(request, offset="start", size="count", faults=faults)
        if isinstance(bounds, Answer):
            return bounds
        start, count = bounds
        end = begin + days * DAY_MS
        hits = [i for i, at in enumerate(self.windows) if at is not None and begin <= at < end]
        page = [served_element(self.elements[i], position=i + 1, faults=faults) for i in hits[start : start + count]]
        links = []
        if start + count < len(hits):
            following = {**request.query, "start": str(start + count), "count": str(count)}
            links.append({"rel": "next", "type": "application/json", "href": f"{REPORT_PATH}?{urlencode(following)}"})
        return Answer(200, {"elements": page, "paging": {"start": start, "count": count, "links": links}})
