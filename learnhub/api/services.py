"""Domain functions of the API: API tokens and the JSON roster upsert.

Tokens: `lh_<prefix>_<secret>`. The prefix (public, unique) finds the row; only the
sha256 of the secret (a `secrets.token_urlsafe(32)` value) is stored and compared in
constant time. A token acts as the employee who created it, limited by its scope.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from learnhub.roles import has_access, is_ld_admin
from programs.models import ApiToken, ApiTokenScope, Employee
from programs.roster import OPTIONAL_FIELDS, REQUIRED_COLUMNS, RosterImportResult, RosterRow, roster_rows_import

TOKEN_PREFIX = "lh"  # noqa: S105  # a public marker, not a secret
PREFIX_BYTES = 6  # 12 hex characters
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)  # at most one write per token per minute


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_secret_assign(*, token: ApiToken) -> str:
    """Give `token` (not saved yet) a new public prefix and secret hash; returns the full
    token, which is never stored and so can be shown only this once."""
    secret = secrets.token_urlsafe(32)
    token.prefix = secrets.token_hex(PREFIX_BYTES)
    token.secret_hash = _secret_hash(secret)
    return f"{TOKEN_PREFIX}_{token.prefix}_{secret}"


def api_token_create(*, created_by: Employee, name: str, scope: str) -> tuple[ApiToken, str]:
    """A new API token for an integration, created by an L&D admin. The name is trimmed
    and must not be empty; the scope is read or read-write. Returns the token row and the
    full token text (shown once: only its hash is stored)."""
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not is_ld_admin(created_by):
        raise ValidationError(_("Only L&D admins create API tokens."))
    if not name:
        errors["name"] = [_("Give the token a name (what uses it, e.g. “Workday roster push”).")]
    elif len(name) > ApiToken._meta.get_field("name").max_length:  # type: ignore[operator]
        errors["name"] = [_("Keep the name under 100 characters.")]
    if scope not in ApiTokenScope.values:
        errors["scope"] = [_("The scope must be one of: %(scopes)s.") % {"scopes": ", ".join(ApiTokenScope.values)}]
    if errors:
        raise ValidationError(errors)
    token = ApiToken(name=name, scope=scope, created_by=created_by)
    raw = api_token_secret_assign(token=token)
    token.save()
    return token, raw


def api_token_revoke(*, token: ApiToken) -> bool:
    """Revoke `token` from now on. Returns False when it was already revoked (the first
    revocation time is kept)."""
    now = timezone.now()
    updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    if updated:
        token.revoked_at = now
    return bool(updated)


def api_token_find(*, raw: str) -> ApiToken | None:
    """The active token whose text is `raw`, or None: unknown prefix, wrong secret
    (compared in constant time) or revoked. Its creator must still have access
    (`learnhub.roles.has_access`: active and not departed), whatever the token's state."""
    parts = raw.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        return None
    token = ApiToken.objects.select_related("created_by").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _secret_hash(parts[2])):
        return None
    if token.revoked_at is not None or not has_access(token.created_by):
        return None
    return token


def api_token_touch(*, token: ApiToken, now: dt.datetime | None = None) -> bool:
    """Record that `token` was used now, at most once a minute (one conditional UPDATE,
    so concurrent requests write once). Returns True when it wrote."""
    now = now or timezone.now()
    stale_before = now - LAST_USED_RESOLUTION
    if token.last_used_at is not None and token.last_used_at > stale_before:
        return False
    written = ApiToken.objects.filter(pk=token.pk).exclude(last_used_at__gt=stale_before).update(last_used_at=now)
    if written:
        token.last_used_at = now
    return bool(written)


# --- Roster rows (JSON) -> the roster import ------------------------------------------

ROSTER_FIELDS = (*REQUIRED_COLUMNS, *OPTIONAL_FIELDS)


def _row_problems(row: object, columns: frozenset[str]) -> list[str]:
    """What keeps a JSON row from being a roster row: not an object, a field that is no
    roster column, a field the other rows carry and this one lacks, a value that is not a
    string (or null), or a value over more than one line."""
    if not isinstance(row, Mapping):
        return [_("A row must be an object with the roster's fields.")]
    problems = []
    unknown = sorted(set(row) - set(ROSTER_FIELDS))
    if unknown:
        problems.append(
            _("Unknown field(s): %(unknown)s. Fields: %(fields)s.")
            % {"unknown": ", ".join(unknown), "fields": ", ".join(ROSTER_FIELDS)}
        )
    missing = sorted((columns - set(row)) & set(ROSTER_FIELDS))
    if missing:
        problems.append(
            _(
                "Missing field(s) %(missing)s: every row must carry the same fields "
                "(null or an empty string empties an optional field)."
            )
            % {"missing": ", ".join(missing)}
        )
    for name, value in row.items():
        if name not in ROSTER_FIELDS:
            continue
        if value is not None and not isinstance(value, str):
            problems.append(_("%(field)s must be a string (or null).") % {"field": name})
        elif isinstance(value, str) and any(ch in value for ch in "\r\n\x00"):
            problems.append(_("%(field)s must be on one line.") % {"field": name})
    return problems


def roster_json_import(
    *, rows: Sequence[object], dry_run: bool = False, mark_missing_departed: bool = False
) -> RosterImportResult:
    """The roster import (`programs.roster.roster_rows_import`, the rules of the CSV file)
    of JSON rows carrying the roster's fields (email, full_name, organization required;
    external_id, title, manager_email, hired_on, departed_on optional). An optional field
    absent from every row leaves that field of existing people as it is; null or ""
    empties it. Every row must carry the same fields. Errors name the row by its index in
    `rows` ("line"); any bad row means nothing is written."""
    columns = frozenset(REQUIRED_COLUMNS) | frozenset(
        name for row in rows if isinstance(row, Mapping) for name in row if name in OPTIONAL_FIELDS
    )
    roster_rows = []
    for index, row in enumerate(rows):
        problems = _row_problems(row, columns)
        if problems:
            roster_rows.append(RosterRow(line=index, values={}, problems=tuple(problems)))
        else:
            assert isinstance(row, Mapping)  # noqa: S101  # _row_problems checked it
            roster_rows.append(RosterRow(line=index, values={name: row.get(name) or "" for name in columns}))
    return roster_rows_import(
        columns=columns, rows=roster_rows, dry_run=dry_run, mark_missing_departed=mark_missing_departed
    )
