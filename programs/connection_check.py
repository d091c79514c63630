"""Test connection: does a connection's provider answer with its settings?

Every API adapter is built the one way the sync builds it (`API_ADAPTERS`, from the
connection) and read the one way the sync reads it (`pages()`), only for one small page,
with short timeouts and no retries: the provider's token endpoint issues a token (kinds
with a token URL) and the report answers its first page. What an answer means is the
adapters' own HTTP layer's (programs/providers/http.py): a rejected secret, a 403 without
access, a 404 for a wrong organization id or base URL. Nothing is written: no run, no
record, no change to the connection.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.utils import timezone
from django.utils.translation import gettext as _

from programs.connections import KIND_NEEDS
from programs.models import ProviderConnection
from programs.providers.base import ProviderError, ProviderUnavailableError
from programs.sync.pipeline import API_ADAPTERS, api_adapter_problem

TEST_TIMEOUT_SECONDS = 8.0  # per request: a token and a page, so a test ends within about 16 s
TEST_PAGE_SIZE = 1
TEST_WINDOW = dt.timedelta(days=1)  # kinds read by time window (LinkedIn) read the last day


@dataclass(frozen=True)
class ConnectionTestResult:
    """`ok` when the provider answered a page of its report; `message` says, in words for an
    L&D admin, what worked or what is wrong and what to check."""

    ok: bool
    message: str


def connection_test(*, connection: ProviderConnection, timeout: float = TEST_TIMEOUT_SECONDS) -> ConnectionTestResult:
    """Ask `connection`'s provider for a token and the first page of its report (see the
    module docstring), each request given `timeout` seconds. A kind without an API
    (`xapi`, `other`) is answered with where its completions come from instead."""
    problem = api_adapter_problem(connection=connection)
    if problem:
        return ConnectionTestResult(ok=False, message=problem)
    provider = connection.get_kind_display()
    try:
        adapter = API_ADAPTERS[connection.kind](
            connection,
            since=timezone.now() - TEST_WINDOW,
            page_size=TEST_PAGE_SIZE,
            timeout=timeout,
            max_retries=0,
        )
        first_page = next(iter(adapter.pages()), [])
    except ProviderUnavailableError as exc:
        return ConnectionTestResult(
            ok=False, message=_scrubbed(_unavailable(exc, provider=provider, timeout=timeout), connection)
        )
    except ProviderError as exc:
        return ConnectionTestResult(ok=False, message=_scrubbed(str(exc), connection))
    if "token_url" in KIND_NEEDS[connection.kind]:
        message = (
            _(
                "The connection works: its token URL issued an access token for the client id and secret, and the "
                "first page of its report was read (it has records). Nothing was saved: sync to bring the "
                "completions in."
            )
            if first_page
            else _(
                "The connection works: its token URL issued an access token for the client id and secret, and the "
                "first page of its report was read (it has no records yet). Nothing was saved: sync to bring the "
                "completions in."
            )
        )
    else:
        message = (
            _(
                "The connection works: %(provider)s accepted the client id and secret, and the first page of its "
                "report was read (it has records). Nothing was saved: sync to bring the completions in."
            )
            if first_page
            else _(
                "The connection works: %(provider)s accepted the client id and secret, and the first page of its "
                "report was read (it has no records yet). Nothing was saved: sync to bring the completions in."
            )
        ) % {"provider": provider}
    return ConnectionTestResult(ok=True, message=message)


def _unavailable(exc: ProviderUnavailableError, *, provider: str, timeout: float) -> str:
    """A provider that did not answer properly, in words: where, what happened, what to check."""
    parts = urlsplit(exc.url)
    host = parts.netloc or exc.url or _("the provider")
    values = {"host": host, "provider": provider}
    if exc.cause == "timeout":
        return _(
            "%(host)s did not answer within %(seconds)s seconds. Check the base URL and token URL of this "
            "connection, or try again if %(provider)s is slow now."
        ) % {**values, "seconds": f"{timeout:g}"}
    if exc.cause == "unknown-host":
        return _("The host name %(host)s is not known. Check the base URL and token URL of this connection.") % {
            "host": parts.hostname or host
        }
    if exc.cause == "connect":
        return (
            _(
                "Cannot connect to %(host)s: nothing answers there. Check the base URL and token URL of this "
                "connection, and that this server may reach it."
            )
            % values
        )
    if exc.cause == "rate-limited":
        return (
            _("%(provider)s is limiting requests now (HTTP 429): the settings could not be tested. Try again later.")
            % values
        )
    if exc.cause == "server-error":
        return _("%(provider)s answered with a server error at %(host)s: it may be down. Try again later.") % values
    return _("%(provider)s did not answer properly at %(host)s: %(error)s") % {**values, "error": exc}


def _scrubbed(message: str, connection: ProviderConnection) -> str:
    """Belt and braces: a message never carries the client secret."""
    return message.replace(connection.client_secret, "[secret]") if connection.client_secret else message
