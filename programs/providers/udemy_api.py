"""Udemy Business API adapter.

HTTP Basic `client_id:client_secret`, then
`GET {base}organizations/{org_id}/analytics/user-course-activity/?page_size=N`, DRF paging
(follow `next`, an absolute URL, until it is null); each row normalized to a
`ProviderRecord`. A value that does not parse becomes `problem` on the record.

The rule of a completion: a row is completed when `course_first_completion_date` is set
(else `course_completion_date`), and that date is the completion time: the first
completion, so a retake (which moves `course_completion_date`) never moves it.
`completion_ratio` is only progress: it moves when lectures are added, and a ratio of 100
without a date is not a completion.

The report has no "changed since" filter: every sync reads every row and the pipeline
finds what changed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Unpack

from django.utils.translation import gettext as _

from programs.providers.base import AdapterStats, ProviderRecord, settings_required
from programs.providers.formats import FieldReader, text_of
from programs.providers.http import HttpOptions, provider_api, url_join

if TYPE_CHECKING:
    from programs.models import ProviderConnection

PROVIDER_NAME = "Udemy Business"
DEFAULT_PAGE_SIZE = 1000  # the largest page Udemy serves
REPORT = "user-course-activity"


def learner_from_row(row: dict[str, Any]) -> tuple[str, str, str]:
    """(e-mail, external id, course id) of a row, as `record_from_row` reads them: with
    `text_of`, as a FieldReader reads a text (which never fails), but without one, as a
    re-sync reads them of every record."""
    return text_of(row.get("user_email")), text_of(row.get("user_external_id")), text_of(row.get("course_id"))


def record_from_row(row: dict[str, Any]) -> ProviderRecord:
    """One `user-course-activity` row as a ProviderRecord: learner `user_external_id`,
    else `user_email`; course `course_id` (an integer, kept as its string); completed
    when `course_first_completion_date` (else `course_completion_date`) is set, at that
    time (ISO-8601 with `Z`, an offset, or no zone: UTC)."""
    fields = FieldReader(row.get)
    email, external_id, course_id = learner_from_row(row)
    first_completion = fields.time("course_first_completion_date")
    last_completion = fields.time("course_completion_date")
    completed_at = first_completion or last_completion
    is_completed = bool(fields.text("course_first_completion_date") or fields.text("course_completion_date"))
    if not course_id:
        fields.problems.append("course_id: missing")
    if not email and not external_id:
        fields.problems.append("no learner: user_email and user_external_id are both empty")
    full_name = " ".join(part for part in (fields.text("user_name"), fields.text("user_surname")) if part)
    return ProviderRecord(
        raw=row,
        email=email,
        external_id=external_id,
        full_name=full_name,
        provider_course_id=course_id,
        course_title=fields.text("course_title"),
        enrolled_at=fields.time("course_enroll_date"),
        last_activity_at=fields.time("course_last_accessed_date"),
        is_completed=is_completed,
        completed_at=completed_at,
        progress=fields.number("completion_ratio"),
        problem=fields.problem(),
    )


class UdemyApiAdapter:
    """Reads the organization's `user-course-activity` report, page by page.

    HTTP Basic on every call: a 401 means the client id or secret is wrong, a 403 that
    they do not reach this organization (configuration errors). 429 waits for
    `Retry-After`; 5xx and 524 back off and are retried a bounded number of times
    (`RetryingHttp`).
    """

    def __init__(
        self,
        *,
        base_url: str,
        org_id: str,
        client_id: str,
        client_secret: str,
        page_size: int = DEFAULT_PAGE_SIZE,
        **http: Unpack[HttpOptions],
    ) -> None:
        settings_required(
            PROVIDER_NAME, base_url=base_url, org_id=org_id, client_id=client_id, client_secret=client_secret
        )
        self.base_url = base_url.strip()
        self.org_id = org_id.strip()
        self.page_size = page_size
        self.stats = AdapterStats()
        self.api = provider_api(provider=PROVIDER_NAME, stats=self.stats, basic=(client_id, client_secret), **http)

    def __repr__(self) -> str:  # never the secret
        return f"<UdemyApiAdapter org={self.org_id!r}>"

    @classmethod
    def from_connection(
        cls, connection: ProviderConnection, *, since: dt.datetime | None = None, **options: Any
    ) -> UdemyApiAdapter:
        """The adapter for a saved connection. `since` is not used: the report cannot be
        filtered by change, so every sync reads it whole."""
        return cls(
            base_url=connection.base_url,
            org_id=connection.provider_org_id,
            client_id=connection.client_id,
            client_secret=connection.client_secret,
            **options,
        )

    def pages(self) -> Iterator[list[ProviderRecord]]:
        """Every row of the report, one list per API page."""
        for rows in self.raw_pages():
            yield [record_from_row(row) for row in rows]

    def raw_pages(self) -> Iterator[list[dict[str, Any]]]:
        """The rows of `pages()`, unread (`programs.providers.base.RawPagesAdapter`)."""
        url = url_join(self.base_url, f"organizations/{self.org_id}/analytics/{REPORT}/")
        forbidden = _(
            "Udemy Business accepted the credentials but they give no access to organization '%(org_id)s' "
            "(HTTP 403). Check the organization id, and that this API client may read the reporting API."
        ) % {"org_id": self.org_id}
        for rows in self.api.drf_pages(
            url, params={"page_size": str(self.page_size)}, where=REPORT, forbidden=forbidden
        ):
            yield [row for row in rows if isinstance(row, dict)]

    record_from_raw = staticmethod(record_from_row)
    learner_from_raw = staticmethod(learner_from_row)
