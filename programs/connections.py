"""Provider connections: creating, updating, pausing and removing them, and reading them
with their last run and what they hold.

The client secret is write-only: these functions take it, store it, and never return,
print or log it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from programs.models import (
    Enrollment,
    ImportJob,
    InvalidRecord,
    Provider,
    ProviderConnection,
    SyncRun,
    SyncStatus,
    UnmatchedRecord,
    XapiStatement,
)
from programs.sync.lease import lease_is_live
from programs.sync.pipeline import API_ADAPTERS
from reports.hooks import progress_changed

logger = logging.getLogger(__name__)

MIN_INTERVAL_MINUTES = 5
DEFAULT_INTERVAL_MINUTES = 360  # ProviderConnection.sync_interval_minutes
NAME_MAX_LENGTH = 100  # ProviderConnection.name
# What provider_connection_save writes: the settings, never a sync's own columns.
SETTINGS_FIELDS = [
    "name",
    "kind",
    "base_url",
    "token_url",
    "provider_org_id",
    "provider_program_ids",
    "client_id",
    "client_secret",
    "sync_interval_minutes",
    "is_active",
]
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
    "base_url": gettext_lazy("an API base URL (--base-url)"),
    "token_url": gettext_lazy("a token URL (--token-url)"),
    "org_id": gettext_lazy("an organization id (--org-id)"),
    "program_ids": gettext_lazy("at least one program id (--program-id)"),
    "client_id": gettext_lazy("a client id (--client-id)"),
}
SECRET_SOURCES = gettext_lazy("PROVIDER_CLIENT_SECRET or standard input")


def kind_uses_secret(kind: str) -> bool:
    """Whether connections of `kind` keep a client secret (KIND_NEEDS)."""
    return "client_secret" in KIND_NEEDS.get(kind, ())


def kind_is_synced(kind: str) -> bool:
    """Whether connections of `kind` are synced from an API, on a schedule (API_ADAPTERS)."""
    return kind in API_ADAPTERS


def _joined(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return _("%(items)s and %(last)s") % {"items": ", ".join(items[:-1]), "last": items[-1]}


def provider_connection_save(
    *,
    name: str,
    connection: ProviderConnection | None = None,
    new: bool = False,
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
    """Create or update a connection; the providers pages and `manage.py
    provider_connection` both save through here, so they keep the same rules.

    Which connection: `connection` when given (renamed to `name` when that differs); else
    the one called `name`, created when there is none, or refused when `new` is set (the
    page's "Add a connection": a name already taken is an error, never an update). A value
    left as None keeps what the connection has (on creation: the model's default, kind
    coursera). An empty secret never replaces a stored one. Rules: a name of at most 100
    characters that no other connection has; a known kind; http(s) URLs; program
    ids not empty when given; an interval of at least 5 minutes; and what the kind needs
    (KIND_NEEDS), counting what the connection already has: a Coursera connection its API
    URLs, organization, programs and client credentials, Udemy Business no token URL and
    no programs, LinkedIn Learning no organization, edX no programs, xAPI only the client
    id and secret the provider signs in with, and `other` (a completions file) nothing. A
    kind without a secret stores none, even when one is given. Every broken rule is
    reported at once, as a ValidationError keyed by field. Returns (connection, created)."""
    connection, created, secret = _connection_prepared(
        name=name,
        connection=connection,
        new=new,
        kind=kind,
        base_url=base_url,
        token_url=token_url,
        org_id=org_id,
        program_ids=program_ids,
        client_id=client_id,
        client_secret=client_secret,
        interval_minutes=interval_minutes,
        is_active=is_active,
    )
    if secret and kind_uses_secret(connection.kind):
        connection.client_secret = secret
    try:
        with transaction.atomic():
            # Only the settings: a running sync's lease and clock (sync_claimed_until,
            # last_synced_at, ...) may have moved since the row was read.
            connection.save(update_fields=None if created else SETTINGS_FIELDS)
    except IntegrityError:  # another request took the name since it was checked
        raise ValidationError(
            {"name": [_("Another connection is already called %(name)r.") % {"name": name}]}
        ) from None
    return connection, created


def provider_connection_errors(**values: Any) -> dict[str, list[str]]:
    """The rules `provider_connection_save` would break with these values (its keywords),
    keyed by field (empty when it would save), without writing: for a form that shows them
    next to its fields before saving through `provider_connection_save` (the Django admin)."""
    try:
        _connection_prepared(**values)
    except ValidationError as error:
        return error.message_dict
    return {}


def _connection_prepared(
    *,
    name: str,
    connection: ProviderConnection | None = None,
    new: bool = False,
    kind: str | None = None,
    base_url: str | None = None,
    token_url: str | None = None,
    org_id: str | None = None,
    program_ids: list[str] | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    interval_minutes: int | None = None,
    is_active: bool | None = None,
) -> tuple[ProviderConnection, bool, str]:
    """The connection `provider_connection_save` writes, its new values set but not saved,
    whether it is new, and the trimmed secret given; a ValidationError with every broken
    rule."""
    name = name.strip()
    errors: dict[str, list[str]] = {}
    if not name:
        errors.setdefault("name", []).append(_("A connection needs a name."))
    elif len(name) > NAME_MAX_LENGTH:
        errors.setdefault("name", []).append(
            _("A connection's name has at most %(max)d characters.") % {"max": NAME_MAX_LENGTH}
        )
    if kind is not None and kind not in Provider.values:
        errors.setdefault("kind", []).append(
            _("Unknown kind %(kind)r: use one of %(kinds)s.") % {"kind": kind, "kinds": ", ".join(Provider.values)}
        )
    url_ok = URLValidator(schemes=["http", "https"])
    for field_name, url in (("base_url", base_url), ("token_url", token_url)):
        if url:
            try:
                url_ok(url.strip())
            except ValidationError:
                errors.setdefault(field_name, []).append(_("%(url)r is not an http(s) URL.") % {"url": url})
    cleaned_programs = None if program_ids is None else [p.strip() for p in program_ids if p.strip()]
    if program_ids is not None and not cleaned_programs:
        errors.setdefault("program_ids", []).append(_("Give at least one provider program id."))
    if interval_minutes is not None and interval_minutes < MIN_INTERVAL_MINUTES:
        errors.setdefault("interval_minutes", []).append(
            _("The sync interval must be at least %(min)d minutes.") % {"min": MIN_INTERVAL_MINUTES}
        )
    named = ProviderConnection.objects.filter(name=name).first() if name else None
    if connection is not None:
        connection = ProviderConnection.objects.get(pk=connection.pk)  # the caller's copy stays as it was
        if named is not None and named.pk != connection.pk:
            errors.setdefault("name", []).append(_("Another connection is already called %(name)r.") % {"name": name})
        connection.name = name
    elif named is not None and new:
        errors.setdefault("name", []).append(
            _("A connection called %(name)r already exists: choose another name.") % {"name": name}
        )
    else:
        connection = named
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
    return connection, created, secret


def provider_connection_activate(*, connection: ProviderConnection, active: bool) -> bool:
    """Pause (`active` False) or resume a connection: a paused API connection is left out
    of the schedule and refuses "Sync now" (`programs.sync.schedule.sync_problem`), a
    paused xapi connection refuses statements and tokens; its data stays and keeps
    counting. Its settings are not checked: a connection missing some can still be paused.
    True when it changed (a conditional update: pausing twice changes nothing)."""
    changed = ProviderConnection.objects.filter(pk=connection.pk).exclude(is_active=active).update(is_active=active)
    connection.is_active = active
    return changed == 1


@dataclass(frozen=True)
class ConnectionData:
    """What a connection holds, all of which goes with it when it is removed."""

    enrollments: int
    completions: int  # enrollments completed: they stop counting toward every program
    runs: int
    unmatched: int
    invalid: int
    statements: int  # xAPI statements received
    uploads: int  # file import jobs

    @property
    def description(self) -> str:
        """What it holds, in words: "12 enrollments (5 completed), 3 runs, ..."."""
        parts = [
            ngettext(
                "%(count)d enrollment (%(completed)d completed)",
                "%(count)d enrollments (%(completed)d completed)",
                self.enrollments,
            )
            % {"count": self.enrollments, "completed": self.completions},
            ngettext("%(count)d run", "%(count)d runs", self.runs) % {"count": self.runs},
            ngettext(
                "%(unmatched)d unmatched and %(invalid)d invalid record",
                "%(unmatched)d unmatched and %(invalid)d invalid records",
                self.unmatched + self.invalid,
            )
            % {"unmatched": self.unmatched, "invalid": self.invalid},
        ]
        if self.statements:
            parts.append(
                ngettext("%(count)d xAPI statement", "%(count)d xAPI statements", self.statements)
                % {"count": self.statements}
            )
        if self.uploads:
            parts.append(
                ngettext("%(count)d file import", "%(count)d file imports", self.uploads) % {"count": self.uploads}
            )
        return _joined(parts)

    @property
    def holds_records(self) -> bool:
        """Whether removing it loses records of people: enrollments, unmatched records or
        xAPI statements (runs and invalid records alone are only history)."""
        return bool(self.enrollments or self.unmatched or self.statements)


def connection_data(*, connection: ProviderConnection) -> ConnectionData:
    """ConnectionData of `connection`, in one query."""
    held = {
        "enrollments": Enrollment.objects.all(),
        "completions": Enrollment.objects.filter(is_completed=True),
        "runs": SyncRun.objects.all(),
        "unmatched": UnmatchedRecord.objects.all(),
        "invalid": InvalidRecord.objects.all(),
        "statements": XapiStatement.objects.all(),
        "uploads": ImportJob.objects.all(),
    }
    counts = (
        ProviderConnection.objects.filter(pk=connection.pk)
        .annotate(**{f"held_{name}": _count(rows) for name, rows in held.items()})
        .values(*[f"held_{name}" for name in held])
        .get()
    )
    return ConnectionData(**{name: counts[f"held_{name}"] for name in held})


def _count(rows: QuerySet) -> Coalesce:
    """How many of `rows` belong to the outer connection, as a subquery."""
    counted = rows.filter(connection=OuterRef("pk")).order_by().values("connection").annotate(n=Count("pk"))
    return Coalesce(Subquery(counted.values("n")), 0)


class ConnectionBusyError(Exception):
    """A sync or an intake run holds the connection: it cannot be removed now."""


def provider_connection_delete(*, connection: ProviderConnection) -> ConnectionData:
    """Remove `connection` and everything it holds (ConnectionData): its enrollments (their
    completions stop counting toward every program), runs, unmatched and invalid records,
    xAPI statements and tokens, and file imports (with any file still waiting). Refused
    with ConnectionBusyError, removing nothing, while a run holds the connection (its
    lease is live): the row is locked first, so a run cannot claim it meanwhile, and one
    that tries afterwards finds no connection. Today's snapshots are rewritten once the
    removal commits (`reports.hooks.progress_changed`). Returns what went."""
    with transaction.atomic():
        locked = ProviderConnection.objects.select_for_update().filter(pk=connection.pk).first()
        if locked is None:  # removed meanwhile
            return ConnectionData(enrollments=0, completions=0, runs=0, unmatched=0, invalid=0, statements=0, uploads=0)
        if lease_is_live(until=locked.sync_claimed_until, now=timezone.now()):
            raise ConnectionBusyError(
                _(
                    "A sync of %(name)s is running: wait until it ends (or pause the connection and wait), "
                    "then remove it."
                )
                % {"name": locked.name}
            )
        removed = connection_data(connection=locked)
        waiting_files = list(locked.import_jobs.exclude(file="").values_list("file", flat=True))
        locked.delete()
        transaction.on_commit(lambda: _files_delete(waiting_files))
        progress_changed(program_ids=None)
    logger.info("Connection %s (%s) removed with what it held: %s", locked.name, locked.kind, removed)
    return removed


def _files_delete(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


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
    missing = [str(NEEDED_LABELS[field]) for field, value in values.items() if field in needs and not value]
    kind = connection.get_kind_display()
    if missing:
        errors.setdefault("kind", []).append(
            _("%(kind)s connections need %(what)s.") % {"kind": kind, "what": _joined(missing)}
        )
    if "client_secret" in needs and not secret and not connection.client_secret:
        message = (
            _("A new connection needs a client secret (%(sources)s).")
            if created
            else _("%(kind)s connections need a client secret (%(sources)s).")
        )
        errors.setdefault("client_secret", []).append(message % {"kind": kind, "sources": SECRET_SOURCES})


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
