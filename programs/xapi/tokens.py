"""Who may post statements to an xapi connection: its own client, by HTTP Basic
`client_id:client_secret` or by an OAuth 2.0 access token LearnHub issued to it
(client credentials grant, LearnHub being the authorization server, as LinkedIn Learning's
xAPI webhooks expect).

Rules:
- The client id and secret are the connection's (`provider_connection NAME --kind xapi
  --client-id ID`, the secret from PROVIDER_CLIENT_SECRET or standard input). Both are
  compared in constant time; a connection without both never authenticates anyone.
- An access token is 256 random bits, shown once (in the token answer) and stored as its
  sha256 only. It lasts XAPI_TOKEN_SECONDS, carries the scope `xapi:write`, works on the
  connection it was issued for and on no other, and stops working as soon as that
  connection's client id or secret changes (the token keeps an HMAC of both, under
  SECRET_KEY, from when it was issued).
- A paused connection still authenticates (so the client hears "paused", not "wrong
  secret"), but neither its statements nor new tokens are accepted (programs/xapi/views.py).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.utils.crypto import salted_hmac

from programs.models import ProviderConnection, XapiToken

SCOPE_WRITE = "xapi:write"
SCOPE_ALL = "xapi:all"
KNOWN_SCOPES = frozenset({"xapi:read", SCOPE_WRITE, SCOPE_ALL})
TOKEN_BYTES = 32
_DIGEST_SALT = "programs.xapi.tokens.credentials"


@dataclass(frozen=True)
class BasicCredentials:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class BearerToken:
    token: str


def authorization_parsed(header: str) -> BasicCredentials | BearerToken | None:
    """The credentials of an Authorization header: `Basic base64(id:secret)` or `Bearer
    <token>` (scheme names in any case); None when there are none or they are malformed."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if not value:
        return None
    if scheme.lower() == "bearer":
        return BearerToken(value)
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, colon, client_secret = decoded.partition(":")
    return BasicCredentials(client_id, client_secret) if colon else None


def _same(given: str, stored: str) -> bool:
    return hmac.compare_digest(given.encode(), stored.encode())


def xapi_client_valid(*, connection: ProviderConnection, client_id: str, client_secret: str) -> bool:
    """True when `client_id` and `client_secret` are the connection's (constant time; both
    are always compared). A connection missing either never matches."""
    id_ok = _same(client_id, connection.client_id)
    secret_ok = _same(client_secret, connection.client_secret)
    return bool(connection.client_id and connection.client_secret) and id_ok and secret_ok


def credentials_digest(*, connection: ProviderConnection) -> str:
    """An HMAC (SECRET_KEY) of the connection's client id and secret: a token issued under
    other credentials does not match it."""
    value = f"{connection.pk}\0{connection.client_id}\0{connection.client_secret}"
    return salted_hmac(_DIGEST_SALT, value, algorithm="sha256").hexdigest()


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def scope_granted(requested: str | None) -> str | None:
    """The scope a token is issued with: `xapi:write` when the client asks for it, for
    `xapi:all`, or for nothing (LearnHub only takes statements in; it serves none); None
    when it asks only for scopes LearnHub cannot grant (`xapi:read`, unknown ones)."""
    asked = set((requested or "").split())
    if not asked or asked & {SCOPE_WRITE, SCOPE_ALL}:
        return SCOPE_WRITE
    return None


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    scope: str


def xapi_token_issue(*, connection: ProviderConnection, scope: str, now: dt.datetime) -> IssuedToken:
    """A new access token for the connection's client (whose credentials the caller has
    checked): random, stored hashed, valid for XAPI_TOKEN_SECONDS from `now`. The
    connection's expired tokens are deleted on the way."""
    XapiToken.objects.filter(connection=connection, expires_at__lte=now).delete()
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    lifetime = int(settings.XAPI_TOKEN_SECONDS)
    XapiToken.objects.create(
        connection=connection,
        token_hash=token_hash(raw),
        scope=scope,
        credentials_digest=credentials_digest(connection=connection),
        created_at=now,
        expires_at=now + dt.timedelta(seconds=lifetime),
    )
    return IssuedToken(access_token=raw, expires_in=lifetime, scope=scope)


def xapi_token_valid(*, connection: ProviderConnection, raw: str, now: dt.datetime) -> bool:
    """True when `raw` is a token issued to this connection, not expired at `now`, with the
    write scope, under the connection's current client id and secret."""
    token = (
        XapiToken.objects.filter(connection=connection, token_hash=token_hash(raw), expires_at__gt=now)
        .only("scope", "credentials_digest")
        .first()
    )
    if token is None or SCOPE_WRITE not in token.scope.split():
        return False
    return hmac.compare_digest(token.credentials_digest, credentials_digest(connection=connection))
