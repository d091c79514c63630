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
import time
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import requests

from programs.providers.base import (
    AdapterStats,
    ProviderConfigurationError,
    ProviderError,
    ProviderRecord,
)
from programs.providers.http import DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_SECONDS, RetryingHttp, url_join

if TYPE_CHECKING:
    from programs.models import ProviderConnection

PROVIDER_NAME = "Coursera"
DEFAULT_PAGE_SIZE = 500
TOKEN_REFRESH_MARGIN_SECONDS = 60.0
COURSE_URL = "https://www.coursera.org/learn/{slug}"
# membershipState values that mean the learner left or was removed from the program.
REMOVED_MEMBERSHIP_STATES = frozenset(
    {"DELETED", "REMOVED", "NOT_MEMBER", "FORMER_MEMBER", "LEFT", "DEACTIVATED", "ARCHIVED", "REVOKED"}
)
# Epoch values below this are seconds, not milliseconds (1e11 ms is March 1973).
EPOCH_MILLISECONDS_FLOOR = 100_000_000_000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EPOCH_MILLISECONDS_MAX = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last time Python knows
TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", ""})


# --- Parsing helpers, shared with the CSV adapter -------------------------------------


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from what Coursera sends: epoch milliseconds (int, float or
    numeric string; values too small to be milliseconds are read as seconds) or ISO-8601
    ("2024-08-15T09:10:18.000Z", "+02:00" offsets, "2024-01-26 10:16:04" without a zone
    is UTC, a bare date is midnight UTC). None/"" -> None; anything else -> ValueError."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"cannot parse {value!r}")
    if isinstance(value, int | float):
        return _from_epoch(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return _from_epoch(number)
    try:
        parsed = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"cannot parse {text!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def _from_epoch(number: float) -> dt.datetime:
    if type(number) is int and EPOCH_MILLISECONDS_FLOOR <= number <= EPOCH_MILLISECONDS_MAX:
        return EPOCH + dt.timedelta(0, 0, 0, number)  # whole milliseconds, as Coursera sends them: the quick way
    if number != number or number < 0 or number == float("inf"):  # NaN, before 1970, infinite
        raise ValueError(f"cannot parse {number!r}")
    span = dt.timedelta(milliseconds=number) if number >= EPOCH_MILLISECONDS_FLOOR else dt.timedelta(seconds=number)
    try:
        return EPOCH + span
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"cannot parse {number!r}") from None


def parse_decimal(value: Any) -> Decimal | None:
    """A Decimal from 82.35, "82.35" or "82.35%"; None/"" -> None; else ValueError."""
    if value is None or isinstance(value, bool):
        if value is None:
            return None
        raise ValueError(f"cannot parse {value!r}")
    if type(value) is int:
        return Decimal(value)
    text = str(value).strip().removesuffix("%").strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"cannot parse {str(value)!r}") from None
    if not number.is_finite():
        raise ValueError(f"cannot parse {str(value)!r}")
    return number


def parse_flag(value: Any) -> bool:
    """True/False from a JSON boolean or "true"/"Yes"/"1" words; else ValueError."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"expected Yes or No, got {str(value)!r}")


def learner_external_id(external_id: str, email: str) -> str:
    """The provider's external id, or "" when it only echoes the e-mail (Coursera fills
    `externalId` with the e-mail when the company set none)."""
    external_id = external_id.strip()
    return "" if external_id.lower() == email.strip().lower() else external_id


def course_url(slug: str) -> str:
    return COURSE_URL.format(slug=slug.strip()) if slug and slug.strip() else ""


# --- Normalization ---------------------------------------------------------------------


def record_from_element(element: dict[str, Any]) -> ProviderRecord:
    """One `enrollmentReports` element as a ProviderRecord.

    Completion comes from `isCompleted` (or, when that field is absent, from
    `completedAt` being set), never from `overallProgress`. Removal: `deletedAt` set or a
    removed `membershipState`. Every value that does not parse is named in `problem`.
    """
    problems: list[str] = []
    get = element.get
    email = _text(get("email"))
    external_id = _text(get("externalId"))
    content_id = _text(get("contentId"))
    enrolled_at = _when(element, "enrolledAt", problems)
    last_activity_at = _when(element, "lastActivityAt", problems)
    completed_at = _when(element, "completedAt", problems)
    _when(element, "deletedAt", problems)
    progress = _number(element, "overallProgress", problems)
    hours = _number(element, "approxTotalCourseHrs", problems)
    flag = get("isCompleted")
    if flag is not None:
        try:
            is_completed = parse_flag(flag)
        except ValueError:
            problems.append(f"isCompleted: cannot parse {_shown(flag)}")
            is_completed = False
    else:
        is_completed = completed_at is not None or bool(_text(get("completedAt")))
    if is_completed and completed_at is None and not any(p.startswith("completedAt") for p in problems):
        problems.append("completedAt: missing although the course is completed")
    if not content_id:
        problems.append("contentId: missing")
    if not email and not external_id:
        problems.append("no learner: email and externalId are both empty")
    partners = get("partnerNames") or []
    partner = ", ".join(str(p).strip() for p in partners if str(p).strip()) if isinstance(partners, list) else ""
    return ProviderRecord(
        raw=element,
        email=email,
        external_id=learner_external_id(external_id, email),
        full_name=_text(get("fullName")),
        provider_course_id=content_id,
        content_type=_text(get("contentType")).lower() or "course",
        course_title=_text(get("contentName")),
        partner=partner or _text(get("partnerName")),
        course_url=course_url(_text(get("contentSlug"))),
        course_hours=hours,
        enrolled_at=enrolled_at,
        last_activity_at=last_activity_at,
        is_completed=is_completed,
        completed_at=completed_at,
        progress=progress,
        is_removed=bool(_text(get("deletedAt"))) or _text(get("membershipState")).upper() in REMOVED_MEMBERSHIP_STATES,
        problem="; ".join(problems),
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.strip() if type(value) is str else str(value).strip()


def _when(element: dict[str, Any], key: str, problems: list[str]) -> dt.datetime | None:
    value = element.get(key)
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        problems.append(f"{key}: cannot parse {_shown(value)}")
        return None


def _number(element: dict[str, Any], key: str, problems: list[str]) -> Decimal | None:
    value = element.get(key)
    try:
        return parse_decimal(value)
    except ValueError:
        problems.append(f"{key}: cannot parse {_shown(value)}")
        return None


def _shown(value: Any) -> str:
    shown = repr(value) if not isinstance(value, str) else f"'{value}'"
    return shown if len(shown) <= 80 else shown[:77] + "..."


# --- The adapter ---------------------------------------------------------------------


class CourseraApiAdapter:
    """Reads `enrollmentReports` of every configured program of one Coursera org.

    The access token is fetched with client credentials, refreshed `TOKEN_REFRESH_MARGIN`
    seconds before it expires (half its lifetime when that is shorter) and once on a 401;
    a second 401 with a fresh token means the credentials are rejected. A 403 means the
    credentials work but do not reach this org or program: both are configuration errors.
    Rate limits, server errors and timeouts are retried (see providers/http.py).
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
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_retries: int = DEFAULT_MAX_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
    ) -> None:
        missing = [
            label
            for label, value in (
                ("base URL", base_url),
                ("token URL", token_url),
                ("organization id", org_id),
                ("client id", client_id),
                ("client secret", client_secret),
            )
            if not str(value or "").strip()
        ]
        if not [p for p in program_ids if str(p).strip()]:
            missing.append("program id(s)")
        if missing:
            raise ProviderConfigurationError(f"The Coursera connection is missing: {', '.join(missing)}.")
        if since is not None and since.tzinfo is None:
            raise ValueError("since must be an aware datetime")
        self.base_url = base_url.strip()
        self.token_url = token_url.strip()
        self.org_id = org_id.strip()
        self.program_ids = [str(p).strip() for p in program_ids if str(p).strip()]
        self.client_id = client_id
        self.client_secret = client_secret
        self.since = since
        self.page_size = page_size
        self.clock = clock
        self.stats = AdapterStats()
        self.http = RetryingHttp(
            provider=PROVIDER_NAME,
            stats=self.stats,
            timeout=timeout,
            max_retries=max_retries,
            sleep=sleep,
            session=session,
        )
        self._token = ""
        self._token_refresh_at = 0.0

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
        for program_id in self.program_ids:
            for elements in self._paged(
                "enrollmentReports", {"q": "byProgramId", "programId": program_id}, program_id=program_id
            ):
                yield [record_from_element(e) for e in elements if isinstance(e, dict)]

    def programs(self) -> list[dict[str, Any]]:
        """The org's programs as Coursera describes them (id, name, ...)."""
        return [e for page in self._paged("programs", {}) for e in page if isinstance(e, dict)]

    def catalog(self) -> list[dict[str, Any]]:
        """Contents (courses, specializations, ...) of the configured programs, for titles."""
        params = {"q": "byProgramIds", "programIds": ",".join(self.program_ids)}
        return [e for page in self._paged("contents", params) for e in page if isinstance(e, dict)]

    def _paged(self, resource: str, params: dict[str, str], *, program_id: str = "") -> Iterator[list[dict[str, Any]]]:
        url = url_join(self.base_url, f"businesses.v1/{self.org_id}/{resource}")
        start = "0"
        seen: set[str] = set()
        while True:
            seen.add(start)
            where = f"{resource}" + (f" of program '{program_id}'" if program_id else "") + f" (start={start})"
            body = self._get_json(
                url, {**params, "start": start, "limit": str(self.page_size)}, program_id=program_id, where=where
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

    def _get_json(self, url: str, params: dict[str, str], *, program_id: str = "", where: str = "") -> dict[str, Any]:
        """The JSON object of one GET. A body that is not a JSON object is a ProviderError
        naming `where`; what was written before it is the pipeline's to say."""
        fresh_token_rejected = False
        while True:
            response = self.http.send("GET", url, params=params, headers=self._auth_header())
            if response.status_code == 401:
                if fresh_token_rejected:
                    raise ProviderConfigurationError(
                        "Coursera credentials rejected: a freshly issued access token was refused (HTTP 401). "
                        "Check the client id and secret of this connection."
                    )
                fresh_token_rejected = True
                self._token = ""
                continue
            if response.status_code == 403:
                target = f"organization '{self.org_id}'" + (f" / program '{program_id}'" if program_id else "")
                raise ProviderConfigurationError(
                    f"Coursera accepted the credentials but they give no access to {target} (HTTP 403). "
                    "Check the organization and program ids, or ask Coursera to grant API access."
                )
            if response.status_code == 404:
                raise ProviderConfigurationError(
                    f"Coursera has no such address: {response.url.split('?')[0]} (HTTP 404). "
                    "Check the base URL and organization id of this connection."
                )
            if response.status_code != 200:
                raise ProviderConfigurationError(
                    f"Coursera refused the request (HTTP {response.status_code}): {response.text[:200]}"
                )
            asked = f" {where}" if where else ""
            try:
                body = response.json()
            except ValueError:
                raise ProviderError(f"Coursera answered{asked} with something that is not JSON.") from None
            if not isinstance(body, dict):
                raise ProviderError(f"Coursera answered{asked} with unexpected JSON (not an object).")
            return body

    # -- the access token --

    def _auth_header(self) -> dict[str, str]:
        if not self._token or self.clock() >= self._token_refresh_at:
            self._token_fetch()
        return {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}

    def _token_fetch(self) -> None:
        """A new access token; refresh it `TOKEN_REFRESH_MARGIN_SECONDS` before expiry."""
        requested_at = self.clock()
        response = self.http.send(
            "POST",
            self.token_url,
            auth=(self.client_id, self.client_secret),
            data={"grant_type": "client_credentials"},
            headers={"Accept": "application/json"},
        )
        if response.status_code in (400, 401, 403):
            raise ProviderConfigurationError(
                f"Coursera credentials rejected by the token endpoint (HTTP {response.status_code}). "
                "Check the client id and secret of this connection."
            )
        if response.status_code != 200:
            raise ProviderConfigurationError(
                f"Coursera's token endpoint answered HTTP {response.status_code}. Check the token URL."
            )
        try:
            body = response.json()
            token = str(body["access_token"])
            expires_in = float(3600 if body.get("expires_in") is None else body["expires_in"])
        except (ValueError, KeyError, TypeError):
            raise ProviderConfigurationError(
                "Coursera's token endpoint did not return an access token. Check the token URL."
            ) from None
        margin = min(TOKEN_REFRESH_MARGIN_SECONDS, expires_in / 2)
        self._token = token
        self._token_refresh_at = requested_at + expires_in - margin
