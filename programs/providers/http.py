"""The HTTP manners every API adapter shares: join URLs, retry what is worth retrying.

Rule: a 429 waits for the provider's `Retry-After` (capped); a 5xx, a timeout, a broken
connection or an answer cut short (a body shorter than its Content-Length, a broken chunked
or compressed body: the whole body is read before the answer is returned) waits an
exponentially growing delay (capped); after `max_retries` retries the call raises
`ProviderUnavailableError`. Any other answer (2xx, 401, 403, 404, ...) is returned to the
adapter, which knows what it means for its provider.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests

from programs.providers.base import AdapterStats, ProviderUnavailableError

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_RETRIES = 5
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
RETRY_AFTER_MAX_SECONDS = 60.0
USER_AGENT = "LearnHub/1.0 (+provider sync)"


def url_join(base: str, path: str) -> str:
    """`base` with `path` appended, whether or not `base` ends with "/" and `path`
    starts with one: "https://api.coursera.org/api" + "businesses.v1/x" and
    "https://api.coursera.com/ent/api/" + "/businesses.v1/x" both keep their prefix."""
    return base.rstrip("/") + "/" + path.lstrip("/")


def retry_after_seconds(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds ("3", "1.5") or an
    HTTP date. None when absent or unreadable; never negative."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - (now or dt.datetime.now(dt.UTC))).total_seconds())


def backoff_seconds(retry: int) -> float:
    """Delay before retry number `retry` (1-based): 1, 2, 4, 8, ... capped at 30 s."""
    return min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (retry - 1))


class RetryingHttp:
    """Sends requests with bounded retries and counts them in `stats.retries`.

    `sleep` is injectable so tests go over real HTTP without real waiting; `provider`
    names the provider in error messages written for an L&D admin.
    """

    def __init__(
        self,
        *,
        provider: str,
        stats: AdapterStats,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_retries: int = DEFAULT_MAX_RETRIES,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ) -> None:
        self.provider = provider
        self.stats = stats
        self.timeout = timeout
        self.max_retries = max_retries
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)

    def send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """The first whole answer that is not a 429 / 5xx, after at most `max_retries` retries."""
        retry = 0
        while True:
            try:
                response = self.session.request(
                    method, url, headers=dict(headers or {}), timeout=self.timeout, **kwargs
                )
            except requests.Timeout:
                failure, delay = f"no answer within {self.timeout:g} s", None
            except requests.ConnectionError as exc:
                failure, delay = f"cannot connect ({type(exc).__name__})", None
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
                failure, delay = "the answer was cut short (its body did not arrive whole)", None
            else:
                if response.status_code == 429:
                    failure = "rate limited (HTTP 429)"
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
                    delay = None if wait is None else min(wait, RETRY_AFTER_MAX_SECONDS)
                elif response.status_code >= 500:
                    failure, delay = f"server error (HTTP {response.status_code})", None
                else:
                    return response
                response.close()
            retry += 1
            if retry > self.max_retries:
                raise ProviderUnavailableError(
                    f"{self.provider} is not answering properly: {failure}, still after {self.max_retries} "
                    f"retries. The next sync will try again."
                )
            self.stats.retries += 1
            self.sleep(backoff_seconds(retry) if delay is None else delay)
