"""edX Enterprise (edX for Business) API adapter.

OAuth2 client credentials (`POST {token_url}` with the client id and secret in the form and
`token_type=jwt`), calls with `Authorization: JWT <token>` and `Accept: application/json`
(without it edX answers XML), then
`GET {base}enterprise/v3/enterprise-customer/{org_id}/learner-summary?page_size=N`, DRF
paging (follow `next` until it is null).

The rule of a completion: a row is completed when `has_passed` is true. `passed_date` is a
day only (`YYYY-MM-DD`), so the completion is on that day in the company time zone: at
noon of that day there (`programs.providers.formats.parse_local_time`), which keeps the day
whatever the zone it is later read in. A passed course on a program's last day counts,
even in a time zone west of UTC.

The summary has no "changed since" filter: every sync reads it whole.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Unpack

from django.utils.translation import gettext as _

from programs.providers.base import AdapterStats, ProviderRecord, settings_required
from programs.providers.formats import FieldReader
from programs.providers.http import HttpOptions, provider_api, url_join

if TYPE_CHECKING:
    from programs.models import ProviderConnection

PROVIDER_NAME = "edX"
DEFAULT_PAGE_SIZE = 1000  # the largest page edX serves
REPORT = "learner-summary"


def record_from_row(row: dict[str, Any], *, zone: dt.tzinfo) -> ProviderRecord:
    """One `learner-summary` row as a ProviderRecord: learner `enterprise_sso_uid`, else
    `user_email`; course `course_key`; completed when `has_passed` is true, on the day
    `passed_date` in `zone` (the company time zone; a date and time is read as such)."""
    fields = FieldReader(row.get)
    passed = fields.flag("has_passed")
    passed_at = fields.local_time("passed_date", zone=zone)
    if passed and passed_at is None and not fields.failed("passed_date"):
        fields.problems.append("passed_date: missing although has_passed is true")
    if not fields.text("course_key"):
        fields.problems.append("course_key: missing")
    if not fields.text("user_email") and not fields.text("enterprise_sso_uid"):
        fields.problems.append("no learner: user_email and enterprise_sso_uid are both empty")
    return ProviderRecord(
        raw=row,
        email=fields.text("user_email"),
        external_id=fields.text("enterprise_sso_uid"),
        provider_course_id=fields.text("course_key"),
        course_title=fields.text("course_title"),
        is_completed=passed,
        completed_at=passed_at if passed else None,
        problem=fields.problem(),
    )


class EdxApiAdapter:
    """Reads the enterprise customer's `learner-summary`, page by page.

    The JWT access token is fetched with client credentials and refreshed before it
    expires and once on a 401 (`ClientCredentialsToken`); a second 401 means the
    credentials are rejected, a 403 that they do not reach this enterprise customer:
    configuration errors. 429 waits for `Retry-After`; 5xx back off and are retried a
    bounded number of times.
    """

    def __init__(
        self,
        *,
        base_url: str,
        token_url: str,
        org_id: str,
        client_id: str,
        client_secret: str,
        zone: dt.tzinfo,
        page_size: int = DEFAULT_PAGE_SIZE,
        **http: Unpack[HttpOptions],
    ) -> None:
        settings_required(
            PROVIDER_NAME,
            base_url=base_url,
            token_url=token_url,
            org_id=org_id,
            client_id=client_id,
            client_secret=client_secret,
        )
        self.base_url = base_url.strip()
        self.org_id = org_id.strip()
        self.zone = zone
        self.page_size = page_size
        self.stats = AdapterStats()
        form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret}
        self.api = provider_api(
            provider=PROVIDER_NAME,
            stats=self.stats,
            token_url=token_url,
            token_form={**form, "token_type": "jwt"},
            scheme="JWT",
            **http,
        )

    def __repr__(self) -> str:  # never the secret
        return f"<EdxApiAdapter enterprise customer={self.org_id!r}>"

    @classmethod
    def from_connection(cls, connection: ProviderConnection, *, zone: dt.tzinfo, **options: Any) -> EdxApiAdapter:
        """The adapter for a saved connection; `zone` is the company time zone."""
        return cls(
            base_url=connection.base_url,
            token_url=connection.token_url,
            org_id=connection.provider_org_id,
            client_id=connection.client_id,
            client_secret=connection.client_secret,
            zone=zone,
            **options,
        )

    def pages(self) -> Iterator[list[ProviderRecord]]:
        """Every row of the learner summary, one list per API page."""
        url = url_join(self.base_url, f"enterprise/v3/enterprise-customer/{self.org_id}/{REPORT}")
        forbidden = _(
            "edX accepted the credentials but they give no access to enterprise customer '%(org_id)s' "
            "(HTTP 403). Check the enterprise customer id (a UUID) of this connection."
        ) % {"org_id": self.org_id}
        for rows in self.api.drf_pages(
            url, params={"page_size": str(self.page_size)}, where=REPORT, forbidden=forbidden
        ):
            yield [record_from_row(row, zone=self.zone) for row in rows if isinstance(row, dict)]
