"""LinkedIn Learning API adapter.

OAuth2 client credentials (`POST {token_url}` with the client id and secret in the form),
calls with `Authorization: Bearer`, then `learningActivityReports` per time window:

    GET {base}learningActivityReports?q=criteria&startedAt=<epoch ms>&timeOffset.unit=DAY
        &timeOffset.duration=<1..14>&aggregationCriteria.primary=INDIVIDUAL
        &aggregationCriteria.secondary=CONTENT&assetType=COURSE&start=<n>&count=<n>

LinkedIn refuses a window longer than 14 days (HTTP 400), so the adapter walks its window
[start, end) in slices of at most 14 days (`report_windows`); within a slice it follows
the `paging.links` entry whose `rel` is `next` (an `href` relative to the API host) until
there is none. Who builds the adapter says where the window starts (a full sync: the
earliest draft or active program; incremental: the last successful sync minus the
overlap); it ends now.

The rule of a completion: an element is completed when one of its activities has
`engagementType` COMPLETIONS with `engagementValue` >= 1; that activity's `lastEngagedAt`
(epoch ms) is the completion time. The same learner x course comes back in several slices
(a course watched in March and completed in April, or completed again): each slice gives
its own record and the pipeline keeps the earliest completion of the run
(`programs.sync.records.record_better`).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Unpack
from urllib.parse import parse_qs, urlsplit

from django.utils.translation import gettext as _

from programs.providers.base import AdapterStats, ProviderError, ProviderRecord, settings_required
from programs.providers.formats import FieldReader, epoch_ms, text_of
from programs.providers.http import HttpOptions, next_page_url, provider_api, url_join

if TYPE_CHECKING:
    from programs.models import ProviderConnection

PROVIDER_NAME = "LinkedIn Learning"
DEFAULT_PAGE_SIZE = 100
MAX_WINDOW_DAYS = 14  # a longer window is refused by LinkedIn (HTTP 400)
DAY = dt.timedelta(days=1)
REPORT = "learningActivityReports"
COMPLETIONS = "COMPLETIONS"
REPORT_CRITERIA = {
    "q": "criteria",
    "timeOffset.unit": "DAY",
    "aggregationCriteria.primary": "INDIVIDUAL",
    "aggregationCriteria.secondary": "CONTENT",
    "assetType": "COURSE",
}


def report_windows(*, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, int]]:
    """(start, days) of each slice that covers [start, end): 14 days each, the last one the
    days left rounded up (so it may reach past `end`). None when `end` is not after `start`."""
    windows: list[tuple[dt.datetime, int]] = []
    cursor = start
    while cursor < end:
        days = min(MAX_WINDOW_DAYS, math.ceil((end - cursor) / DAY))
        windows.append((cursor, days))
        cursor += days * DAY
    return windows


def learner_from_element(element: dict[str, Any]) -> tuple[str, str, str]:
    """(e-mail, unique user id, content URN) of an element, as `record_from_element` reads
    them: with `text_of`, as a FieldReader reads a text (which never fails), but without one,
    as a re-sync reads them of every record."""
    learner = _object(element.get("learnerDetails"))
    content = _object(element.get("contentDetails"))
    return text_of(learner.get("email")), text_of(learner.get("uniqueUserId")), text_of(content.get("contentUrn"))


def record_from_element(element: dict[str, Any]) -> ProviderRecord:
    """One report element as a ProviderRecord: learner `learnerDetails.uniqueUserId`, else
    `learnerDetails.email`; course `contentDetails.contentUrn`; completed when an activity
    is COMPLETIONS >= 1, at that activity's `lastEngagedAt` (the earliest, if several).
    Enrolled at the earliest `firstEngagedAt`, last active at the latest `lastEngagedAt`.
    Content type: the activities' `assetType` (COURSE unless said otherwise)."""
    learner = _object(element.get("learnerDetails"))
    content = _object(element.get("contentDetails"))
    listed = element.get("activities")
    activities = [_object(a) for a in listed] if isinstance(listed, list) else []
    values: dict[str, Any] = {f"learnerDetails.{key}": value for key, value in learner.items()}
    values |= {f"contentDetails.{key}": value for key, value in content.items()}
    for index, activity in enumerate(activities):
        values |= {f"activities[{index}].{key}": value for key, value in activity.items()}
    fields = FieldReader(values.get)
    first_engaged: list[dt.datetime] = []
    last_engaged: list[dt.datetime] = []
    completions: list[dt.datetime] = []
    completed = False
    for index, activity in enumerate(activities):
        first = fields.time(f"activities[{index}].firstEngagedAt")
        last = fields.time(f"activities[{index}].lastEngagedAt")
        first_engaged += [first] if first else []
        last_engaged += [last] if last else []
        if str(activity.get("engagementType", "")).strip().upper() != COMPLETIONS:
            continue
        count = fields.number(f"activities[{index}].engagementValue")
        if count is None or count < 1:
            continue
        completed = True
        if last is not None:
            completions.append(last)
        elif not fields.failed(f"activities[{index}].lastEngagedAt"):
            fields.problems.append(f"activities[{index}].lastEngagedAt: missing although the course is completed")
    email, unique_id, content_urn = learner_from_element(element)
    if not email and not unique_id:
        fields.problems.append("no learner: learnerDetails has neither email nor uniqueUserId")
    if not content_urn:
        fields.problems.append("contentDetails.contentUrn: missing")
    asset_types = [str(a.get("assetType") or "").strip().lower() for a in activities]
    return ProviderRecord(
        raw=element,
        email=email,
        external_id=unique_id,
        full_name=fields.text("learnerDetails.name"),
        provider_course_id=content_urn,
        content_type=next((t for t in asset_types if t), "course"),
        course_title=fields.text("contentDetails.name"),
        enrolled_at=min(first_engaged, default=None),
        last_activity_at=max(last_engaged, default=None),
        is_completed=completed,
        completed_at=min(completions, default=None),
        problem=fields.problem(),
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class LinkedInApiAdapter:
    """Reads `learningActivityReports` over [start, end) in slices of at most 14 days.

    The access token is fetched with client credentials and refreshed before it expires
    and once on a 401 (`ClientCredentialsToken`); a second 401 means the credentials are
    rejected, a 403 that they may not read the reports: configuration errors. 429 waits for
    `Retry-After`; 5xx back off and are retried a bounded number of times.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token_url: str,
        client_id: str,
        client_secret: str,
        start: dt.datetime,
        end: dt.datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        **http: Unpack[HttpOptions],
    ) -> None:
        settings_required(
            PROVIDER_NAME, base_url=base_url, token_url=token_url, client_id=client_id, client_secret=client_secret
        )
        if start.tzinfo is None or (end is not None and end.tzinfo is None):
            raise ValueError("start and end must be aware datetimes")
        self.base_url = base_url.strip()
        self.start = start
        self.end = end
        self.page_size = page_size
        self.stats = AdapterStats()
        self.api = provider_api(
            provider=PROVIDER_NAME,
            stats=self.stats,
            token_url=token_url,
            token_form={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            **http,
        )

    def __repr__(self) -> str:  # never the secret
        return f"<LinkedInApiAdapter from {self.start.isoformat()}>"

    @classmethod
    def from_connection(
        cls, connection: ProviderConnection, *, start: dt.datetime, **options: Any
    ) -> LinkedInApiAdapter:
        """The adapter for a saved connection, reading from `start` to now."""
        return cls(
            base_url=connection.base_url,
            token_url=connection.token_url,
            client_id=connection.client_id,
            client_secret=connection.client_secret,
            start=start,
            **options,
        )

    def windows(self) -> list[tuple[dt.datetime, int]]:
        """The slices this adapter asks for, in order (`report_windows` up to `end` or now)."""
        return report_windows(start=self.start, end=self.end or dt.datetime.now(dt.UTC))

    def pages(self) -> Iterator[list[ProviderRecord]]:
        """Every element of every slice, one list per API page."""
        for elements in self.raw_pages():
            yield [record_from_element(e) for e in elements]

    def raw_pages(self) -> Iterator[list[dict[str, Any]]]:
        """The elements of `pages()`, unread (`programs.providers.base.RawPagesAdapter`)."""
        for start, days in self.windows():
            for elements in self._window_pages(start, days):
                yield [e for e in elements if isinstance(e, dict)]

    record_from_raw = staticmethod(record_from_element)
    learner_from_raw = staticmethod(learner_from_element)

    def _window_pages(self, start: dt.datetime, days: int) -> Iterator[list[Any]]:
        """The pages of one slice: the first with `start=0`, then each `next` link."""
        url = url_join(self.base_url, REPORT)
        params: dict[str, str] | None = {
            **REPORT_CRITERIA,
            "startedAt": str(epoch_ms(start)),
            "timeOffset.duration": str(days),
            "start": "0",
            "count": str(self.page_size),
        }
        forbidden = _(
            "LinkedIn Learning accepted the credentials but they may not read the learning activity reports "
            "(HTTP 403). Check that this API client has the reporting permission of your LinkedIn Learning account."
        )
        slice_name = f"{REPORT} for the {days} days from {start.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"
        seen: set[str] = set()
        offset = "0"
        while True:
            where = f"{slice_name} (start={offset})"
            body = self.api.get_json(url, params=params, where=where, forbidden=forbidden)
            elements = body.get("elements")
            if not isinstance(elements, list):
                raise ProviderError(f"LinkedIn Learning answered {where} without a list of elements.")
            self.stats.pages += 1
            yield elements
            href = _next_href(body)
            if not href:
                return
            url = next_page_url(self.base_url, href, provider=PROVIDER_NAME, where=slice_name)
            params = None
            if url in seen:
                raise ProviderError(f"LinkedIn Learning's paging of {slice_name} went back to {href}; stopped reading.")
            seen.add(url)
            offset = _query_value(url, "start") or "?"


def _next_href(body: dict[str, Any]) -> str:
    """The `href` of the `paging.links` entry whose `rel` is `next` ("" when none)."""
    paging = _object(body.get("paging"))
    links = paging.get("links")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == "next" and link.get("href"):
            return str(link["href"])
    return ""


def _query_value(url: str, name: str) -> str:
    values = parse_qs(urlsplit(url).query).get(name)
    return values[0] if values else ""
