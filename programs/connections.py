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
    what the connection has (on creation: the model's default). An empty secret never
    replaces a stored one. Rules: a name; a known kind; http(s) URLs; program ids not
    empty; an interval of at least 5 minutes; a new connection needs a secret, and an xapi
    connection a client id (both are what the provider authenticates with). Every
    broken rule is reported at once, as a ValidationError keyed by field.
    Returns (connection, created)."""
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
    if created and not (client_secret or "").strip():
        errors.setdefault("client_secret", []).append(
            "A new connection needs a client secret (PROVIDER_CLIENT_SECRET or standard input)."
        )
    final_kind = kind if kind is not None else (connection.kind if connection else Provider.COURSERA)
    final_client_id = client_id if client_id is not None else (connection.client_id if connection else "")
    if final_kind == Provider.XAPI and not (final_client_id or "").strip():
        errors.setdefault("client_id", []).append(
            "An xapi connection needs a client id (--client-id): the provider sends it with the secret."
        )
    if errors:
        raise ValidationError(errors)
    if connection is None:
        connection = ProviderConnection(name=name)
    for attr, value in (
        ("kind", kind),
        ("base_url", base_url.strip() if base_url else base_url),
        ("token_url", token_url.strip() if token_url else token_url),
        ("provider_org_id", org_id.strip() if org_id else org_id),
        ("provider_program_ids", cleaned_programs),
        ("client_id", client_id.strip() if client_id else client_id),
        ("sync_interval_minutes", interval_minutes),
        ("is_active", is_active),
    ):
        if value is not None:
            setattr(connection, attr, value)
    if client_secret and client_secret.strip():
        connection.client_secret = client_secret.strip()
    connection.save()
    return connection, created


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
