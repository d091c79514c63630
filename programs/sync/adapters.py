"""Building a connection's API adapter when it needs more than the connection's settings.

`programs.sync.pipeline.API_ADAPTERS` maps each provider kind to what builds its adapter,
called as `(connection, since=...)`; Coursera and Udemy build from the connection alone.
The adapters know HTTP and formats only, so what they need from LearnHub's own data is
worked out here:

- LinkedIn Learning's reports are asked for by time window (`report_window_start`).
- edX's completions are days, read in the company time zone (settings.TIME_ZONE).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Min
from django.utils import timezone

from programs.models import LearningProgram, ProgramStatus, ProviderConnection
from programs.providers.base import ProviderConfigurationError
from programs.providers.edx_api import EdxApiAdapter
from programs.providers.linkedin_api import LinkedInApiAdapter


def report_window_start(*, since: dt.datetime | None) -> dt.datetime | None:
    """Where a sync that reads reports by time window starts: an incremental sync at
    `since` (the last successful sync minus the overlap, `programs.sync.pipeline.sync_since`);
    a full sync (`since` None) at the start of the earliest draft or active program
    (midnight of its first day, company time zone). None for a full sync when there is no
    draft or active program. One query for a full sync, none otherwise."""
    if since is not None:
        return since
    first_day = LearningProgram.objects.filter(status__in=[ProgramStatus.DRAFT, ProgramStatus.ACTIVE]).aggregate(
        first=Min("starts_on")
    )["first"]
    if first_day is None:
        return None
    return timezone.make_aware(dt.datetime.combine(first_day, dt.time.min), timezone.get_default_timezone())


def linkedin_adapter(
    connection: ProviderConnection, *, since: dt.datetime | None = None, **options: Any
) -> LinkedInApiAdapter:
    """The LinkedIn Learning adapter of `connection`, reading from `report_window_start`
    up to now. Raises ProviderConfigurationError for a full sync without a draft or active
    program: there is no window to read."""
    start = report_window_start(since=since)
    if start is None:
        raise ProviderConfigurationError(
            "LinkedIn Learning reports are read from the start of the earliest draft or active program, "
            "and there is none: create the program first, then sync."
        )
    return LinkedInApiAdapter.from_connection(connection, start=start, **options)


def edx_adapter(connection: ProviderConnection, *, since: dt.datetime | None = None, **options: Any) -> EdxApiAdapter:
    """The edX adapter of `connection`, reading `passed_date` days in the company time zone.
    `since` is not used: the learner summary cannot be filtered by change."""
    return EdxApiAdapter.from_connection(connection, zone=timezone.get_default_timezone(), **options)
