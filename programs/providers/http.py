"""The HTTP manners every API adapter shares: join URLs, retry what is worth retrying,
get and refresh an OAuth2 access token, read JSON answers and DRF-style pages.

- `RetryingHttp`: a 429 waits for the provider's `Retry-After` (capped); a 5xx (524
  included), a timeout, a broken connection or an answer cut short (a body shorter than
  its Content-Length, a broken chunked or compressed body: the whole body is read before
  the answer is returned) waits an exponentially growing delay (capped); after
  `max_retries` retries the call raises `ProviderUnavailableError`. Any other answer
  (2xx, 401, 403, 404, ...) is returned to the caller.
- `ClientCredentialsToken`: an OAuth2 client-credentials token, refreshed before it
  expires and after the API refused it.
- `ProviderApi`: GETs a JSON object with the connection's credentials and says what the
  other answers mean: 401 (after one fresh token, when there is a token) and 403 are
  configuration errors, as are 404 and any other refusal; `drf_pages` follows DRF paging.
  `provider_api` builds one for an adapter.
Every message names the provider and is written for an L&D admin; none carries a secret.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypedDict, Unpack
from urllib.parse import urljoin, urlsplit

import orjson
import requests
from django.utils.translation import gettext as _

from programs.providers.base import (
    AdapterStats,
    ProviderConfigurationError,
    ProviderError,
    ProviderUnavailableError,
)

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_RETRIES = 5
BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 30.0
RETRY_AFTER_MAX_SECONDS = 60.0
USER_AGENT = "LearnHub/1.0 (+provider sync)"
TOKEN_REFRESH_MARGIN_SECONDS = 60.0
TOKEN_DEFAULT_LIFETIME_SECONDS = 3600.0
REFUSAL_SHOWN_CHARS = 200


def url_join(base: str, path: str) -> str:
    """`base` with `path` appended, whether or not `base` ends with "/" and `path`
    starts with one: "https://api.coursera.org/api" + "businesses.v1/x" and
    "https://api.coursera.com/ent/api/" + "/businesses.v1/x" both keep their prefix."""
    return base.rstrip("/") + "/" + path.lstrip("/")


def next_page_url(base: str, link: str, *, provider: str, where: str) -> str:
    """The URL of the next page from a paging `link` (absolute, or relative to `base`),
    which must stay on `base`'s scheme and host: the connection's credentials go with it,
    so a link elsewhere stops the reading (ProviderError)."""
    url = urljoin(base, link)
    here, there = urlsplit(base), urlsplit(url)
    if (here.scheme, here.netloc) != (there.scheme, there.netloc):
        raise ProviderError(
            f"{provider}'s paging of {where} points to another host ({there.scheme}://{there.netloc}); "
            "stopped reading rather than send the connection's credentials there."
        )
    return url


def json_body(response: requests.Response) -> Any:
    """The JSON of a response body: orjson reads UTF-8 (as JSON is sent) several times
    quicker than `response.json()`, which reads the rest (another encoding, NaN, a lone
    surrogate) or raises its ValueError."""
    try:
        return orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return response.json()


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


class HttpOptions(TypedDict, total=False):
    """How an adapter talks HTTP, when not the defaults: tests pass a `sleep` that records
    the delays instead of waiting them and a `clock` they move by hand (token lifetimes)."""

    timeout: float
    max_retries: int
    sleep: Callable[[float], None]
    clock: Callable[[], float]
    session: requests.Session | None


class HostSettingsSession(requests.Session):
    """A requests Session that reads what the environment says of a host once: its proxy
    (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY) and the CA bundle (REQUESTS_CA_BUNDLE,
    CURL_CA_BUNDLE), read as requests reads them, which is on every request otherwise: a
    tenth of the client's time per page of a sync. A session serves one adapter (one sync
    run), so a changed environment applies from the next run."""

    def __init__(self) -> None:
        super().__init__()
        self._host_settings: dict[tuple[str, str], Any] = {}

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> Any:
        if not isinstance(url, str) or proxies or any(value is not None for value in (stream, verify, cert)):
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(url)
        host = (parts.scheme, parts.netloc)
        if host not in self._host_settings:
            self._host_settings[host] = super().merge_environment_settings(url, {}, None, None, None)
        settings = self._host_settings[host]
        return {**settings, "proxies": dict(settings["proxies"])}


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
        self.session = session or HostSettingsSession()
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
                failure, delay, cause = (
                    _("no answer within %(seconds)s s") % {"seconds": f"{self.timeout:g}"},
                    None,
                    "timeout",
                )
            except requests.ConnectionError as exc:
                failure, delay = _("cannot connect (%(error)s)") % {"error": type(exc).__name__}, None
                cause = "unknown-host" if "NameResolutionError" in str(exc) else "connect"
            except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError):
                failure, delay, cause = _("the answer was cut short (its body did not arrive whole)"), None, "cut"
            else:
                if response.status_code == 429:
                    failure, cause = _("rate limited (HTTP 429)"), "rate-limited"
                    wait = retry_after_seconds(response.headers.get("Retry-After"))
                    delay = None if wait is None else min(wait, RETRY_AFTER_MAX_SECONDS)
                elif response.status_code >= 500:
                    failure = _("server error (HTTP %(status)d)") % {"status": response.status_code}
                    delay, cause = None, "server-error"
                else:
                    return response
                response.close()
            retry += 1
            if retry > self.max_retries:
                raise ProviderUnavailableError(
                    _(
                        "%(provider)s is not answering properly: %(failure)s, still after %(retries)d retries. "
                        "The next sync will try again."
                    )
                    % {"provider": self.provider, "failure": failure, "retries": self.max_retries},
                    url=url,
                    cause=cause,
                )
            self.stats.retries += 1
            self.sleep(backoff_seconds(retry) if delay is None else delay)


class ClientCredentialsToken:
    """An OAuth2 client-credentials access token for one provider.

    Fetched on first use by POSTing `form` to `url` (with `basic` = (client id, secret) as
    HTTP Basic when the provider wants them there, else they are in `form`), and fetched
    again TOKEN_REFRESH_MARGIN_SECONDS before it expires (half its lifetime when that is
    shorter; no `expires_in`: an hour) or after `invalidate()`. A token endpoint that
    refuses the credentials (400, 401, 403) or answers anything but a token is a
    configuration error; 429 / 5xx are retried by `http`.
    """

    def __init__(
        self,
        *,
        http: RetryingHttp,
        url: str,
        form: Mapping[str, str],
        basic: tuple[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.http = http
        self.url = url
        self.form = dict(form)
        self.basic = basic
        self.clock = clock
        self._token = ""
        self._refresh_at = 0.0

    def __repr__(self) -> str:  # never the secret
        return f"<ClientCredentialsToken {self.http.provider} {self.url}>"

    def value(self) -> str:
        """The current token, fetched first when there is none or it is about to expire."""
        if not self._token or self.clock() >= self._refresh_at:
            self._fetch()
        return self._token

    def invalidate(self) -> None:
        """The API refused the token: the next `value()` fetches a new one."""
        self._token = ""

    def _fetch(self) -> None:
        provider = self.http.provider
        requested_at = self.clock()
        response = self.http.send(
            "POST", self.url, auth=self.basic, data=self.form, headers={"Accept": "application/json"}
        )
        if response.status_code in (400, 401, 403):
            raise ProviderConfigurationError(
                _(
                    "%(provider)s credentials rejected by the token endpoint (HTTP %(status)d). "
                    "Check the client id and secret of this connection."
                )
                % {"provider": provider, "status": response.status_code}
            )
        if response.status_code != 200:
            raise ProviderConfigurationError(
                _("%(provider)s's token endpoint answered HTTP %(status)d. Check the token URL.")
                % {"provider": provider, "status": response.status_code}
            )
        try:
            body = response.json()
            token = str(body["access_token"])
            lifetime = body.get("expires_in")
            expires_in = float(TOKEN_DEFAULT_LIFETIME_SECONDS if lifetime is None else lifetime)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ProviderConfigurationError(
                _("%(provider)s's token endpoint did not return an access token. Check the token URL.")
                % {"provider": provider}
            ) from None
        self._token = token
        self._refresh_at = requested_at + expires_in - min(TOKEN_REFRESH_MARGIN_SECONDS, expires_in / 2)


class ProviderApi:
    """JSON GETs from one provider's API with the connection's credentials: an access token
    sent as `Authorization: <scheme> <token>` (Bearer, or edX's JWT), or HTTP Basic
    (`basic`), always with `Accept: application/json`.

    What an answer means, the same for every provider: 200 is a JSON object (anything else
    is a ProviderError naming the request); 401 with a token gets one fresh token, and a
    second 401 (or a 401 to HTTP Basic) means the credentials are rejected; 403 means they
    work but give no access (the adapter's `forbidden` sentence says to what); 404 means a
    wrong base URL or organization id; any other status is a refusal quoting the answer.
    All of those are configuration errors: retrying will not help.
    """

    def __init__(
        self,
        *,
        http: RetryingHttp,
        token: ClientCredentialsToken | None = None,
        scheme: str = "Bearer",
        basic: tuple[str, str] | None = None,
    ) -> None:
        self.http = http
        self.token = token
        self.scheme = scheme
        self.basic = basic

    @property
    def provider(self) -> str:
        return self.http.provider

    def headers(self) -> dict[str, str]:
        """The headers of an API call (fetching the token first when needed)."""
        headers = {"Accept": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"{self.scheme} {self.token.value()}"
        return headers

    def get_json(
        self, url: str, *, params: Mapping[str, str] | None = None, where: str, forbidden: str
    ) -> dict[str, Any]:
        """The JSON object of one GET of `url`; `where` names the request in messages
        ("enrollmentReports of program 'P' (start=0)"), `forbidden` is the sentence of a 403."""
        provider = self.provider
        fresh_token_rejected = False
        while True:
            response = self.http.send("GET", url, params=params, headers=self.headers(), auth=self.basic)
            if response.status_code == 401 and self.token is not None and not fresh_token_rejected:
                fresh_token_rejected = True
                self.token.invalidate()
                continue
            if response.status_code == 401:
                message = (
                    _(
                        "%(provider)s credentials rejected: a freshly issued access token was refused (HTTP 401). "
                        "Check the client id and secret of this connection."
                    )
                    if self.token is not None
                    else _(
                        "%(provider)s credentials rejected: the API refused them (HTTP 401). "
                        "Check the client id and secret of this connection."
                    )
                )
                raise ProviderConfigurationError(message % {"provider": provider})
            if response.status_code == 403:
                raise ProviderConfigurationError(forbidden)
            if response.status_code == 404:
                raise ProviderConfigurationError(
                    _(
                        "%(provider)s has no such address: %(url)s (HTTP 404). "
                        "Check the base URL and organization id of this connection."
                    )
                    % {"provider": provider, "url": response.url.split("?")[0]}
                )
            if response.status_code != 200:
                raise ProviderConfigurationError(
                    _("%(provider)s refused the request (HTTP %(status)d): %(answer)s")
                    % {
                        "provider": provider,
                        "status": response.status_code,
                        "answer": response.text[:REFUSAL_SHOWN_CHARS],
                    }
                )
            try:
                body = json_body(response)
            except ValueError:
                raise ProviderError(f"{provider} answered {where} with something that is not JSON.") from None
            if not isinstance(body, dict):
                raise ProviderError(f"{provider} answered {where} with unexpected JSON (not an object).")
            return body

    def drf_pages(self, url: str, *, params: Mapping[str, str], where: str, forbidden: str) -> Iterator[list[Any]]:
        """The `results` of each page of a Django REST framework list ({"count", "next",
        "previous", "results"}), first `url` with `params`, then each `next` (an absolute
        URL, or a path on the same host) as it is, until `next` is null. A page without a
        list of results, a `next` seen before or on another host (`next_page_url`) is a
        ProviderError."""
        seen: set[str] = set()
        page_url: str = url
        page_params: Mapping[str, str] | None = params
        number = 1
        while True:
            asked = f"{where} (page {number})"
            body = self.get_json(page_url, params=page_params, where=asked, forbidden=forbidden)
            results = body.get("results")
            if not isinstance(results, list):
                raise ProviderError(f"{self.provider} answered {asked} without a list of results.")
            self.http.stats.pages += 1
            yield results
            following = body.get("next")
            if not following:
                return
            page_url = next_page_url(page_url, str(following), provider=self.provider, where=where)
            page_params = None
            if page_url in seen:
                raise ProviderError(f"{self.provider}'s paging of {where} went back to {page_url}; stopped reading.")
            seen.add(page_url)
            number += 1


def provider_api(
    *,
    provider: str,
    stats: AdapterStats,
    token_url: str = "",
    token_form: Mapping[str, str] | None = None,
    token_basic: tuple[str, str] | None = None,
    scheme: str = "Bearer",
    basic: tuple[str, str] | None = None,
    **options: Unpack[HttpOptions],
) -> ProviderApi:
    """The ProviderApi of an adapter: its calls retried (`RetryingHttp`, counting retries in
    `stats`) and authenticated with a client-credentials token from `token_url` (asked with
    `token_form`, plus `token_basic` as HTTP Basic when given) sent as `<scheme> <token>`,
    or with HTTP Basic `basic` on every call when there is no token URL."""
    http = RetryingHttp(
        provider=provider,
        stats=stats,
        timeout=options.get("timeout", DEFAULT_TIMEOUT_SECONDS),
        max_retries=options.get("max_retries", DEFAULT_MAX_RETRIES),
        sleep=options.get("sleep", time.sleep),
        session=options.get("session"),
    )
    token = None
    if token_url:
        clock = options.get("clock", time.monotonic)
        token = ClientCredentialsToken(
            http=http, url=token_url.strip(), form=token_form or {}, basic=token_basic, clock=clock
        )
    return ProviderApi(http=http, token=token, scheme=scheme, basic=basic)
