"""The xAPI addresses of a connection of kind xapi, under /xapi/<connection id>/:

- `statements` (POST one statement or a list: 200 with the list of ids; PUT
  `?statementId=`: 204), authenticated with HTTP Basic `client_id:client_secret` or an
  access token from `token`, with `X-Experience-API-Version: 1.0.x`;
- `oauth2/token`, the OAuth 2.0 client credentials grant (LearnHub is the authorization
  server, as LinkedIn Learning's xAPI webhooks expect);
- `about` (GET), the version LearnHub speaks, public as the xAPI specification wants it.

These are called by machines that carry their own credentials, never by a browser session,
so they are exempt from CSRF (these views only: `csrf_exempt` on each). Every answer is
JSON, errors as `{"error": "<what went wrong>", ...}` (the token URL answers OAuth 2.0's
`{"error": "<code>", "error_description": "..."}`), with the right status, never an HTML
page; unknown addresses under /xapi/ and server errors too (learnhub/api/errors.py).
Request bodies are read up to a limit (XAPI_MAX_BODY_KB; 8 KB for the token URL) before
anything is parsed. The views check, parse and call one service; the rules are in
programs/xapi/statements.py, tokens.py and services.py.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from programs.models import ProviderConnection
from programs.xapi.responses import xapi_error
from programs.xapi.selectors import xapi_connection_find
from programs.xapi.services import StatementConflictError, xapi_statements_store
from programs.xapi.statements import XAPI_VERSION, StatementError, body_parsed, statements_parsed, version_problem
from programs.xapi.tokens import (
    BasicCredentials,
    BearerToken,
    authorization_parsed,
    scope_granted,
    xapi_client_valid,
    xapi_token_issue,
    xapi_token_valid,
)

REALM = 'realm="LearnHub xAPI"'
TOKEN_BODY_MAX = 8 * 1024
FORM = "application/x-www-form-urlencoded"
NO_CONNECTION = "No xAPI connection has this address: check the connection id on its page in LearnHub (Providers)."
PAUSED = "This connection is paused in LearnHub: it takes nothing until an L&D admin resumes it."


class BodyTooLargeError(Exception):
    pass


def _method_not_allowed(allowed: str, message: str) -> JsonResponse:
    response = xapi_error(405, message)
    response["Allow"] = allowed
    return response


def _body(request: HttpRequest, *, limit: int) -> bytes:
    """The request body, refused (BodyTooLargeError) beyond `limit` bytes, whether its
    Content-Length says so or the body itself is longer: never read further than that."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyTooLargeError
    data = request.read(limit + 1)
    if len(data) > limit:
        raise BodyTooLargeError
    return data


def _unauthorized(message: str, *, invalid_token: bool = False) -> JsonResponse:
    response = xapi_error(401, message)
    response["WWW-Authenticate"] = (
        f'Bearer {REALM}, error="invalid_token"' if invalid_token else f"Basic {REALM}, Bearer {REALM}"
    )
    return response


def _client_refusal(request: HttpRequest, *, connection: ProviderConnection) -> JsonResponse | None:
    """None when the request carries the connection's client id and secret (HTTP Basic) or
    a valid access token of the connection; else the 401 answer."""
    credentials = authorization_parsed(request.headers.get("Authorization", ""))
    if isinstance(credentials, BearerToken):
        if xapi_token_valid(connection=connection, raw=credentials.token, now=timezone.now()):
            return None
        return _unauthorized(
            "The access token is not valid for this connection: it is unknown, expired, issued for another "
            "connection, or the client secret changed since. Ask the token URL for a new one.",
            invalid_token=True,
        )
    if isinstance(credentials, BasicCredentials):
        if xapi_client_valid(
            connection=connection, client_id=credentials.client_id, client_secret=credentials.client_secret
        ):
            return None
        return _unauthorized("Wrong client id or secret for this connection.")
    return _unauthorized(
        "Authenticate with HTTP Basic (the connection's client id and secret) or with an access token "
        "from the token URL (Authorization: Bearer ...)."
    )


@csrf_exempt
def statements(request: HttpRequest, connection_id: int) -> HttpResponse:
    """POST statements (200, their ids) or PUT one under ?statementId= (204). Refused: an
    unknown address or a connection of another kind (404), no or wrong credentials (401),
    a paused connection (403), a missing or unsupported version header, a malformed
    statement or body (400), a used id with another statement (409), a body over
    XAPI_MAX_BODY_KB (413), a body that is not application/json (415). A refused request
    stores nothing."""
    if request.method not in ("POST", "PUT"):
        return _method_not_allowed("POST, PUT", "Send statements with POST, or PUT ?statementId=; none are served.")
    connection = xapi_connection_find(connection_id=connection_id)
    if connection is None:
        return xapi_error(404, NO_CONNECTION)
    refusal = _client_refusal(request, connection=connection)
    if refusal is not None:
        return refusal
    if not connection.is_active:
        return xapi_error(403, PAUSED)
    problem = version_problem(request.headers.get("X-Experience-API-Version"))
    if problem:
        return xapi_error(400, problem)
    if request.content_type != "application/json":
        return xapi_error(415, "Send statements as application/json (attachments, multipart/mixed, are not taken).")
    statement_id = request.GET.get("statementId") if request.method == "PUT" else None
    if request.method == "PUT" and not statement_id:
        return xapi_error(400, "A PUT names its statement: /statements?statementId=<the statement's id>.")
    limit_kb = int(settings.XAPI_MAX_BODY_KB)
    try:
        body = body_parsed(_body(request, limit=limit_kb * 1024))
        parsed = statements_parsed(body, statement_id=statement_id)
        ids = xapi_statements_store(connection=connection, statements=parsed, received_at=timezone.now())
    except BodyTooLargeError:
        return xapi_error(413, f"The body is larger than {limit_kb} KB: send fewer statements per request.")
    except StatementError as error:
        where = {"statement": error.index} if error.index is not None else {}
        return xapi_error(400, f"{error} Nothing of this request was stored.", **where, field=error.field)
    except StatementConflictError as error:
        return xapi_error(409, str(error), statements=[str(i) for i in error.statement_ids])
    if request.method == "PUT":
        response = HttpResponse(status=204)
        response["X-Experience-API-Version"] = XAPI_VERSION
        return response
    response = JsonResponse(ids, safe=False)
    response["X-Experience-API-Version"] = XAPI_VERSION
    return response


def _oauth_error(status: int, code: str, description: str) -> JsonResponse:
    response = JsonResponse({"error": code, "error_description": description}, status=status)
    response["Cache-Control"] = "no-store"
    if status == 401:
        response["WWW-Authenticate"] = f"Basic {REALM}"
    return response


@csrf_exempt
def token(request: HttpRequest, connection_id: int) -> HttpResponse:
    """The OAuth 2.0 client credentials grant (RFC 6749 section 4.4): a form POST with
    grant_type=client_credentials, scope (xapi:write or xapi:all; empty: xapi:write) and the
    client id and secret in the form or as HTTP Basic. Answers {"access_token",
    "token_type": "Bearer", "expires_in", "scope"}; errors as RFC 6749 section 5.2 says:
    invalid_client (401), invalid_request, unsupported_grant_type, invalid_scope and, for a
    paused connection, unauthorized_client (400); an unknown address 404."""
    if request.method != "POST":
        return _method_not_allowed("POST", "Ask for a token with a form POST (grant_type=client_credentials).")
    connection = xapi_connection_find(connection_id=connection_id)
    if connection is None:
        return _oauth_error(404, "invalid_request", NO_CONNECTION)
    if request.content_type != FORM:
        return _oauth_error(400, "invalid_request", f"Send the token request as {FORM}.")
    try:
        pairs = parse_qsl(_body(request, limit=TOKEN_BODY_MAX).decode("utf-8"), keep_blank_values=True)
    except (BodyTooLargeError, UnicodeDecodeError):
        return _oauth_error(400, "invalid_request", "The token request is not a short UTF-8 form.")
    form = dict(pairs)
    if len(form) != len(pairs):
        return _oauth_error(400, "invalid_request", "A parameter is repeated.")
    basic = authorization_parsed(request.headers.get("Authorization", ""))
    if isinstance(basic, BasicCredentials) and ("client_id" in form or "client_secret" in form):
        return _oauth_error(400, "invalid_request", "Send the client credentials once: in the form or as HTTP Basic.")
    client_id, client_secret = (
        (basic.client_id, basic.client_secret)
        if isinstance(basic, BasicCredentials)
        else (form.get("client_id", ""), form.get("client_secret", ""))
    )
    if not xapi_client_valid(connection=connection, client_id=client_id, client_secret=client_secret):
        return _oauth_error(401, "invalid_client", "Wrong or missing client id or secret for this connection.")
    if form.get("grant_type") != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "Only grant_type=client_credentials is supported.")
    scope = scope_granted(form.get("scope"))
    if scope is None:
        return _oauth_error(400, "invalid_scope", "LearnHub grants xapi:write (asked as xapi:write or xapi:all).")
    if not connection.is_active:
        return _oauth_error(400, "unauthorized_client", PAUSED)
    issued = xapi_token_issue(connection=connection, scope=scope, now=timezone.now())
    response = JsonResponse(
        {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": issued.scope,
        }
    )
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@csrf_exempt
def about(request: HttpRequest, connection_id: int) -> HttpResponse:
    """GET: the xAPI versions LearnHub speaks (public, as the specification wants)."""
    if request.method not in ("GET", "HEAD"):
        return _method_not_allowed("GET, HEAD", "The about resource is read with GET.")
    connection = xapi_connection_find(connection_id=connection_id)
    if connection is None:
        return xapi_error(404, NO_CONNECTION)
    response = JsonResponse({"version": [XAPI_VERSION], "extensions": {}})
    response["X-Experience-API-Version"] = XAPI_VERSION
    return response
