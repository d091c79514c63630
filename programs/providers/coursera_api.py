"""Coursera for Business / Enterprise API adapter.

OAuth2 client credentials, then `enrollmentReports` per program, page by page, each
element normalized to a `ProviderRecord`. The adapter decides nothing about matching or
validity: a value it cannot parse becomes `problem` on the record, never an exception.

Incremental syncs: `enrollmentReports` has no documented "updated after" filter, so the
adapter always reads every record of each program; the pipeline finds what changed by
comparing rows (which also covers Coursera's up-to-24-hour reporting lag). `since` is
kept on the adapter for providers and future endpoints that can filter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Unpack

from django.utils.translation import gettext as _

from programs.providers.base import AdapterStats, ProviderError, ProviderRecord, settings_required
from programs.providers.formats import FieldReader, parse_decimal, parse_flag, parse_timestamp, text_of
from programs.providers.http import HttpOptions, provider_api, url_join

if TYPE_CHECKING:
    from programs.models import ProviderConnection

__all__ = [  # the parsing helpers stay importable from here (the CSV adapter, the sandbox)
    "CourseraApiAdapter",
    "course_url",
    "learner_external_id",
    "parse_decimal",
    "parse_flag",
    "parse_timestamp",
    "record_from_element",
]

PROVIDER_NAME = "Coursera"
DEFAULT_PAGE_SIZE = 500
COURSE_URL = "https://www.coursera.org/learn/{slug}"
# membershipState values that mean the learner left or was removed from the program.
REMOVED_MEMBERSHIP_STATES = frozenset(
    {"DELETED", "REMOVED", "NOT_MEMBER", "FORMER_MEMBER", "LEFT", "DEACTIVATED", "ARCHIVED", "REVOKED"}
)


def learner_external_id(external_id: str, email: str) -> str:
    """The provider's external id, or "" when it only echoes the e-mail (Coursera fills
    `externalId` with the e-mail when the company set none)."""
    external_id = external_id.strip()
    return "" if external_id.lower() == email.strip().lower() else external_id


def course_url(slug: str) -> str:
    return COURSE_URL.format(slug=slug.strip()) if slug and slug.strip() else ""


# --- Normalization ---------------------------------------------------------------------


def learner_from_element(element: dict[str, Any]) -> tuple[str, str, str]:
    """(e-mail, external id, course id) of an element, as `record_from_element` reads them:
    with `text_of`, as a FieldReader reads a text (which never fails), but without one, as a
    re-sync reads them of every record."""
    email = text_of(element.get("email"))
    return email, learner_external_id(text_of(element.get("externalId")), email), text_of(element.get("contentId"))


def record_from_element(element: dict[str, Any]) -> ProviderRecord:
    """One `enrollmentReports` element as a ProviderRecord.

    Completion comes from `isCompleted` (or, when that field is absent, from
    `completedAt` being set), never from `overallProgress`. Removal: `deletedAt` set or a
    removed `membershipState`. Every value that does not parse is named in `problem`.
    """
    fields = FieldReader(element.get)
    email, external_id, course_id = learner_from_element(element)
    enrolled_at = fields.time("enrolledAt")
    last_activity_at = fields.time("lastActivityAt")
    completed_at = fields.time("completedAt")
    fields.time("deletedAt")
    progress = fields.number("overallProgress")
    hours = fields.number("approxTotalCourseHrs")
    if element.get("isCompleted") is not None:
        is_completed = fields.flag("isCompleted")
    else:
        is_completed = completed_at is not None or bool(fields.text("completedAt"))
    if is_completed and completed_at is None and not fields.failed("completedAt"):
        fields.problems.append("completedAt: missing although the course is completed")
    if not course_id:
        fields.problems.append("contentId: missing")
    if not email and not fields.text("externalId"):
        fields.problems.append("no learner: email and externalId are both empty")
    partners = element.get("partnerNames") or []
    partner = ", ".join(str(p).strip() for p in partners if str(p).strip()) if isinstance(partners, list) else ""
    return ProviderRecord(
        raw=element,
        email=email,
        external_id=external_id,
        full_name=fields.text("fullName"),
        provider_course_id=course_id,
        content_type=fields.text("contentType").lower() or "course",
        course_title=fields.text("contentName"),
        partner=partner or fields.text("partnerName"),
        course_url=course_url(fields.text("contentSlug")),
        course_hours=hours,
        enrolled_at=enrolled_at,
        last_activity_at=last_activity_at,
        is_completed=is_completed,
        completed_at=completed_at,
        progress=progress,
        is_removed=bool(fields.text("deletedAt"))
        or fields.text("membershipState").upper() in REMOVED_MEMBERSHIP_STATES,
        problem=fields.problem(),
    )


# --- The adapter ---------------------------------------------------------------------


class CourseraApiAdapter:
    """Reads `enrollmentReports` of every configured program of one Coursera org.

    The access token is fetched with client credentials sent as HTTP Basic and refreshed
    before it expires and once on a 401 (`ClientCredentialsToken`); a second 401 with a
    fresh token means the credentials are rejected. A 403 means the credentials work but
    do not reach this org or program: both are configuration errors (`ProviderApi`).
    Rate limits, server errors and timeouts are retried (`RetryingHttp`).
    """

    def __init__(
        self,
        *,
        base_url: str,
        token_url: str,
        org_id: str,
        program_ids: list[str],
        client_id: str,
        client_secret: str,
        since: dt.datetime | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        **http: Unpack[HttpOptions],
    ) -> None:
        program_ids = [str(p).strip() for p in program_ids if str(p).strip()]
        settings_required(
            PROVIDER_NAME,
            also_missing=[] if program_ids else ["program id(s)"],
            base_url=base_url,
            token_url=token_url,
            org_id=org_id,
            client_id=client_id,
            client_secret=client_secret,
        )
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be an aware datetime")
        self.base_url = base_url.strip()
        self.org_id = org_id.strip()
        self.program_ids = program_ids
        self.since = since
        self.page_size = page_size
        self.stats = AdapterStats()
        self.api = provider_api(
            provider=PROVIDER_NAME,
            stats=self.stats,
            token_url=token_url,
            token_form={"grant_type": "client_credentials"},
            token_basic=(client_id, client_secret),
            **http,
        )

    def __repr__(self) -> str:  # never the secret
        return f"<CourseraApiAdapter org={self.org_id!r} programs={self.program_ids!r}>"

    @classmethod
    def from_connection(
        cls,
        connection: ProviderConnection,
        *,
        since: dt.datetime | None = None,
        program_ids: list[str] | None = None,
        **options: Any,
    ) -> CourseraApiAdapter:
        """The adapter for a saved ProviderConnection: all its programs, or `program_ids`
        (one task of a run reads one program); `options` (sleep, timeout, ...) pass
        through."""
        return cls(
            base_url=connection.base_url,
            token_url=connection.token_url,
            org_id=connection.provider_org_id,
            program_ids=cls.connection_program_ids(connection) if program_ids is None else program_ids,
            client_id=connection.client_id,
            client_secret=connection.client_secret,
            since=since,
            **options,
        )

    @staticmethod
    def connection_program_ids(connection: ProviderConnection) -> list[str]:
        """The program ids of a connection, in their order (a list, or a string of ids
        separated by commas or spaces), blanks left out."""
        program_ids = connection.provider_program_ids
        if isinstance(program_ids, str):
            program_ids = program_ids.replace(",", " ").split()
        return [str(p).strip() for p in program_ids or [] if str(p).strip()]

    # -- reading --

    def pages(self) -> Iterator[list[ProviderRecord]]:
        """Every enrollment of every program, one list per API page."""
        for elements in self.raw_pages():
            yield [record_from_element(e) for e in elements]

    def raw_pages(self) -> Iterator[list[dict[str, Any]]]:
        """The elements of `pages()`, unread (`programs.providers.base.RawPagesAdapter`)."""
        for program_id in self.program_ids:
            for elements in self._paged(
                "enrollmentReports", {"q": "byProgramId", "programId": program_id}, program_id=program_id
            ):
                yield [e for e in elements if isinstance(e, dict)]

    record_from_raw = staticmethod(record_from_element)
    learner_from_raw = staticmethod(learner_from_element)

    def programs(self) -> list[dict[str, Any]]:
        """The org's programs as Coursera describes them (id, name, ...)."""
        return [e for page in self._paged("programs", {}) for e in page if isinstance(e, dict)]

    def catalog(self) -> list[dict[str, Any]]:
        """Contents (courses, specializations, ...) of the configured programs, for titles."""
        params = {"q": "byProgramIds", "programIds": ",".join(self.program_ids)}
        return [e for page in self._paged("contents", params) for e in page if isinstance(e, dict)]

    def _paged(self, resource: str, params: dict[str, str], *, program_id: str = "") -> Iterator[list[dict[str, Any]]]:
        """Coursera paging: `paging.next` is a string offset sent back as `start`; the last
        page has none."""
        url = url_join(self.base_url, f"businesses.v1/{self.org_id}/{resource}")
        target = f"organization '{self.org_id}'" + (f" / program '{program_id}'" if program_id else "")
        forbidden = _(
            "Coursera accepted the credentials but they give no access to %(target)s (HTTP 403). "
            "Check the organization and program ids, or ask Coursera to grant API access."
        ) % {"target": target}
        start = "0"
        seen: set[str] = set()
        while True:
            seen.add(start)
            where = f"{resource}" + (f" of program '{program_id}'" if program_id else "") + f" (start={start})"
            body = self.api.get_json(
                url, params={**params, "start": start, "limit": str(self.page_size)}, where=where, forbidden=forbidden
            )
            elements = body.get("elements")
            if not isinstance(elements, list):
                raise ProviderError(f"Coursera answered {where} without a list of elements.")
            self.stats.pages += 1
            yield elements
            paging = body.get("paging") or {}
            following = paging.get("next") if isinstance(paging, dict) else None
            if following is None or str(following).strip() == "":
                return
            start = str(following).strip()
            if start in seen:
                raise ProviderError(f"Coursera's paging of {resource} went back to start={start}; stopped reading.")
