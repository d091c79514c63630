"""Reads of the xAPI intake: the connection a statements address names, its addresses as
a provider's admin console wants them, and its statement counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, Q
from django.urls import reverse

from programs.models import Provider, ProviderConnection, XapiStatement


def xapi_connection_find(*, connection_id: int) -> ProviderConnection | None:
    """The connection of kind xapi with this id; None for an unknown id or a connection of
    another kind (its address does not take statements)."""
    return ProviderConnection.objects.filter(pk=connection_id, kind=Provider.XAPI).first()


@dataclass(frozen=True)
class XapiAddresses:
    """Where a provider sends statements: `statements` (the statements resource, which
    LinkedIn Learning calls the webhook URL), `endpoint` (the LRS endpoint, for tools that
    append `statements` themselves) and `token` (the OAuth 2.0 token URL)."""

    statements: str
    endpoint: str
    token: str


def xapi_addresses(*, connection: ProviderConnection, absolute: str = "") -> XapiAddresses:
    """The connection's xAPI addresses, prefixed with `absolute` (e.g. "https://host"; empty:
    paths only, as `provider_connection` prints them)."""
    statements = reverse("xapi:statements", kwargs={"connection_id": connection.pk})
    token = reverse("xapi:token", kwargs={"connection_id": connection.pk})
    base = absolute.rstrip("/")
    return XapiAddresses(
        statements=f"{base}{statements}",
        endpoint=f"{base}{statements.removesuffix('statements')}",
        token=f"{base}{token}",
    )


@dataclass(frozen=True)
class XapiCounts:
    """A connection's statements: received (stored, each id once), completions (completion
    statements still standing), voided, pending (not yet taken in by the pipeline) and
    when the last one arrived."""

    received: int
    completions: int
    voided: int
    pending: int
    last_received_at: dt.datetime | None


def xapi_statement_counts(*, connection: ProviderConnection) -> XapiCounts:
    """XapiCounts of `connection`, in one query."""
    counts = XapiStatement.objects.filter(connection=connection).aggregate(
        received=Count("pk"),
        completions=Count("pk", filter=Q(is_completion=True, voided=False)),
        voided=Count("pk", filter=Q(voided=True)),
        pending=Count("pk", filter=Q(processed_at__isnull=True)),
        last_received_at=Max("received_at"),
    )
    return XapiCounts(**counts)
