"""Provider connections: creating / updating them, and reading them with their last run.

The client secret is write-only: these functions take it, store it, and never return,
print or log it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db.models import OuterRef, Q, QuerySet, Subquery

from programs.models import InvalidRecord, Provider, ProviderConnection, SyncRun, SyncStatus
from programs.sync.lease import lease_is_live

MIN_INTERVAL_MINUTES = 5
XAPI_SOURCE = "xapi"  # SyncRun.source of the runs that take pushed xAPI statements in (programs/xapi)
# What a connection of each kind needs; it may hold the other settings, which its kind ignores.
KIND_NEEDS: dict[str, tuple[str, ...]] = {
    Provider.COURSERA: ("base_url", "token_url", "org_id", "program_ids", "client_id", "client_secret"),
    Provider.UDEMY: ("base_url", "org_id", "client_id", "client_secret"),
    Provider.LINKEDIN: ("base_url", "token_url", "client_id", "client_secret"),
    Provider.EDX: ("base_url", "token_url", "org_id", "client_id", "client_secret"),
    Provider.XAPI: ("client_id", "client_secret"),  # what the provider signs in with to push its statements
    Provider.OTHER: (),  # a completions file: nothing to connect to
}
NEEDED_LABELS = {
    "base_url": "an API base URL (--base-url)",
    "token_url": "a token URL (--token-url)",
    "org_id": "an organization id (--org-id)",
    "program_ids": "at least one program id (--program-id)",
    "client_id": "a client id (--client-id)",
}
SECRET_SOURCES = "PROVIDER_CLIENT_SECRET or standard input"  # noqa: S105  (where it is read, not a secret)


def kind_uses_secret(kind: str) -> bool:
    """Whether connections of `kind` keep a client secret (KIND_NEEDS)."""
    return "client_secret" in KIND_NEEDS.get(kind, ())


def _joined(items: list[str]) -> str:
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else items[0]


def provider_connection_save(
    *,
    name: str,
    kind: str | None = None,
    base_url: str | None = None,
    token_url: str | None = None,
    org_id: str | None = None,
    program_ids: list[str] | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    interval_minutes: int | None = None,
    is_active: bool | None = None,
) -> tuple[ProviderConnection, bool]:
    """Create the connection called `name`, or update it: a value left as None keeps
    what the connection has (on creation: the model's default, kind coursera). An empty
    secret never replaces a stored one. Rules: a name; a known kind; http(s) URLs; program
    ids not empty when given; an interval of at least 5 minutes; and what the kind needs
    (KIND_NEEDS), counting what the connection already has: a Coursera connection its API
    URLs, organization, programs and client credentials, Udemy Business no token URL and
    no programs, LinkedIn Learning no organization, edX no programs, xAPI only the client
    id and secret the provider signs in with, and `other` (a completions file) nothing. A
    kind without a secret stores none, even when one is given. Every broken rule is
    reported at once, as a ValidationError keyed by field. Returns (connection, created)."""
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors.setdefault("name", []).append("A connection needs a name.")
    if kind is not None and kind not in Provider.values:
        errors.setdefault("kind", []).append(f"Unknown kind {kind!r}: use one of {', '.join(Provider.values)}.")
    url_ok = URLValidator(schemes=["http", "https"])
    for field_name, url in (("base_url", base_url), ("token_url", token_url)):
        if url:
            try:
                url_ok(url.strip())
            except ValidationError:
                errors.setdefault(field_name, []).append(f"{url!r} is not an http(s) URL.")
    cleaned_programs = None if program_ids is None else [p.strip() for p in program_ids if p.strip()]
    if program_ids is not None and not cleaned_programs:
        errors.setdefault("program_ids", []).append("Give at least one provider program id.")
    if interval_minutes is not None and interval_minutes < MIN_INTERVAL_MINUTES:
        errors.setdefault("interval_minutes", []).append(
            f"The sync interval must be at least {MIN_INTERVAL_MINUTES} minutes."
        )
    connection = ProviderConnection.objects.filter(name=name).first() if name else None
    created = connection is None
    if connection is None:
        connection = ProviderConnection(name=name)
    given = {
        "kind": kind,
        "base_url": base_url.strip() if base_url else base_url,
        "token_url": token_url.strip() if token_url else token_url,
        "provider_org_id": org_id.strip() if org_id else org_id,
        "provider_program_ids": cleaned_programs,
        "client_id": client_id.strip() if client_id else client_id,
        "sync_interval_minutes": interval_minutes,
        "is_active": is_active,
    }
    for attr, value in given.items():
        if value is not None:
            setattr(connection, attr, value)
    secret = (client_secret or "").strip()
    if "kind" not in errors:
        _kind_needs_check(connection=connection, secret=secret, created=created, errors=errors)
    if errors:
        raise ValidationError(errors)
    if secret and kind_uses_secret(connection.kind):
        connection.client_secret = secret
    connection.save()
    return connection, created


def _kind_needs_check(
    *, connection: ProviderConnection, secret: str, created: bool, errors: dict[str, list[str]]
) -> None:
    """Add to `errors` what `connection` (its new values set, not saved) lacks for its kind."""
    needs = KIND_NEEDS[connection.kind]
    values = {
        "base_url": connection.base_url,
        "token_url": connection.token_url,
        "org_id": connection.provider_org_id,
        "program_ids": connection.provider_program_ids,
        "client_id": connection.client_id,
    }
    missing = [NEEDED_LABELS[field] for field, value in values.items() if field in needs and not value]
    if missing:
        errors.setdefault("kind", []).append(f"{connection.get_kind_display()} connections need {_joined(missing)}.")
    if "client_secret" in needs and not secret and not connection.client_secret:
        whose = "A new connection needs" if created else f"{connection.get_kind_display()} connections need"
        errors.setdefault("client_secret", []).append(f"{whose} a client secret ({SECRET_SOURCES}).")


def connections_with_last_run() -> QuerySet[ProviderConnection]:
    """Every connection, annotated with `last_run_id` (its most recent run, if any) and
    `running_run_id` (its most recent run still marked running, if any)."""
    runs = SyncRun.objects.filter(connection=OuterRef("pk")).order_by("-started_at", "-pk").values("pk")
    return ProviderConnection.objects.annotate(
        last_run_id=Subquery(runs[:1]),
        running_run_id=Subquery(runs.filter(status=SyncStatus.RUNNING)[:1]),
    ).order_by("name")


@dataclass(frozen=True)
class SyncState:
    """What a connection's syncs are doing now, as the pages show it.

    - `held_until`: a run holds the connection (its lease is live) until then.
    - `live_run_id`: that run, the latest one marked running, while the lease is live.
    - `stalled_run_id` / `lapsed_at`: a run still marked running whose lease is not live:
      it stopped renewing (its worker died) at `lapsed_at` (None: unknown); the next sync
      marks it failed and takes over.
    - `queued_since`: a sync was asked for then and has not started yet.
    """

    held_until: dt.datetime | None
    live_run_id: int | None
    stalled_run_id: int | None
    lapsed_at: dt.datetime | None
    queued_since: dt.datetime | None

    @property
    def syncing(self) -> bool:
        return self.held_until is not None


def connection_sync_state(*, connection: ProviderConnection, now: dt.datetime) -> SyncState:
    """The SyncState of a connection from `connections_with_last_run` (no query)."""
    until = connection.sync_claimed_until
    live = lease_is_live(until=until, now=now)
    running: int | None = getattr(connection, "running_run_id", None)
    return SyncState(
        held_until=until if live else None,
        live_run_id=running if live else None,
        stalled_run_id=None if live else running,
        lapsed_at=None if live else until,
        queued_since=connection.sync_requested_at,
    )


def invalid_records_current() -> QuerySet[InvalidRecord]:
    """Invalid records of the latest successful run of each connection and source (API
    sync, CSV import): what is wrong now. Each run re-reports the problems still there,
    so older runs' copies are left out; they stay readable per run. Pushed xAPI
    statements are the exception: each run reads only the statements that just arrived,
    so no run re-reports an older one, and every run's invalid records stay current."""
    latest = (
        SyncRun.objects.filter(
            connection=OuterRef("connection_id"), source=OuterRef("run__source"), status=SyncStatus.SUCCEEDED
        )
        .order_by("-started_at", "-pk")
        .values("pk")[:1]
    )
    return InvalidRecord.objects.filter(Q(run_id=Subquery(latest)) | Q(run__source=XAPI_SOURCE))
