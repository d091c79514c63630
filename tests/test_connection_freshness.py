"""Freshness (programs.connection_freshness): the last successful run, how old the data is,
failing since when, the next scheduled sync and "overdue", one rule shown on the
providers pages and warned about on the L&D admin home."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from programs.connection_freshness import connection_freshness, connections_overdue, connections_with_freshness
from programs.models import ProviderConnection, SyncRun
from programs.sync.schedule import connections_due
from tests.factories import ConnectionFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 5, 4, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def api_connection(name: str = "Udemy", *, kind: str = "udemy", interval: int = 60, created_hours_ago: float = 100):
    connection = ConnectionFactory(
        name=name,
        kind=kind,
        base_url="http://127.0.0.1:9/api-2.0/",
        token_url="http://127.0.0.1:9/token",
        provider_org_id="org",
        provider_program_ids=["P"],
        client_id="id",
        client_secret="secret",
        sync_interval_minutes=interval,
    )
    ProviderConnection.objects.filter(pk=connection.pk).update(created_at=NOW - created_hours_ago * HOUR)
    return connection


def run(connection, status: str, hours_ago: float, source: str = "api") -> SyncRun:
    return SyncRun.objects.create(
        connection=connection, source=source, status=status, started_at=NOW - hours_ago * HOUR
    )


def freshness_of(connection):
    return connection_freshness(connection=connections_with_freshness().get(pk=connection.pk), now=NOW)


def test_a_connection_never_synced():
    f = freshness_of(api_connection(created_hours_ago=0.5))

    assert (f.last_success_at, f.data_age, f.failing_since) == (None, None, None)
    assert (f.scheduled, f.next_sync_at, f.overdue) == (True, NOW, False)


def test_failing_since_the_first_failure_after_the_last_success():
    connection = api_connection()
    run(connection, "failed", 9)
    run(connection, "succeeded", 5)
    run(connection, "failed", 3)
    run(connection, "failed", 2)
    run(connection, "succeeded", 1.5, source="csv")  # a file import does not make the sync healthy

    f = freshness_of(connection)

    assert f.last_success_at == NOW - 5 * HOUR
    assert f.data_age == 5 * HOUR
    assert f.failing_since == NOW - 3 * HOUR
    assert f.next_sync_at == NOW  # its last attempt started 2 h ago, the interval is 60 min: due now
    assert f.overdue  # no success for 5 h, more than two intervals of 60 min


def test_a_success_after_failures_ends_them_and_a_running_run_is_no_failure():
    connection = api_connection(interval=180)
    run(connection, "failed", 4)
    run(connection, "succeeded", 2)
    run(connection, "running", 0.5)

    f = freshness_of(connection)

    assert (f.last_success_at, f.failing_since, f.overdue) == (NOW - 2 * HOUR, None, False)
    assert f.next_sync_at == NOW - 0.5 * HOUR + 3 * HOUR  # the running run's start + the interval


def test_never_succeeded_counts_from_creation():
    connection = api_connection(interval=60, created_hours_ago=3)
    run(connection, "failed", 2.5)

    f = freshness_of(connection)

    assert (f.last_success_at, f.failing_since, f.overdue) == (None, NOW - 2.5 * HOUR, True)


def test_two_intervals_is_the_limit():
    healthy, late = api_connection("healthy", interval=60), api_connection("late", interval=60)
    run(healthy, "succeeded", 1.9)
    run(late, "succeeded", 2.1)

    assert [freshness_of(c).overdue for c in (healthy, late)] == [False, True]


def test_paused_and_pushed_connections_are_not_scheduled_nor_overdue():
    paused = api_connection("paused")
    ProviderConnection.objects.filter(pk=paused.pk).update(is_active=False)
    lrs = ConnectionFactory(name="lrs", kind="xapi", client_id="id", client_secret="s")
    workshops = ConnectionFactory(name="workshops", kind="other")
    run(lrs, "succeeded", 30, source="xapi")
    run(workshops, "succeeded", 48, source="csv")
    run(workshops, "failed", 24, source="csv")

    f_paused, f_lrs, f_workshops = (freshness_of(c) for c in (paused, lrs, workshops))

    assert (f_paused.scheduled, f_paused.next_sync_at, f_paused.overdue) == (False, None, False)
    assert (f_lrs.scheduled, f_lrs.last_success_at, f_lrs.overdue) == (False, NOW - 30 * HOUR, False)
    assert (f_workshops.last_success_at, f_workshops.failing_since) == (NOW - 48 * HOUR, NOW - 24 * HOUR)


def test_coursera_says_its_reports_lag():
    assert freshness_of(api_connection(kind="coursera")).lag == (
        "Coursera's reports trail live learning activity by up to a day."
    )
    assert freshness_of(api_connection("u2")).lag == ""


def test_the_next_sync_agrees_with_the_schedule():
    """A connection is due in the schedule's eyes (connections_due) exactly when its next
    scheduled sync is not after now."""
    never = api_connection("never")
    recent = api_connection("recent", interval=120)
    run(recent, "succeeded", 1)
    elapsed = api_connection("elapsed", interval=30)
    run(elapsed, "failed", 1)
    paused = api_connection("paused")
    ProviderConnection.objects.filter(pk=paused.pk).update(is_active=False)

    for moment in (NOW, NOW + HOUR, NOW + 2 * HOUR):
        due = set(connections_due(now=moment).values_list("name", flat=True))
        by_freshness = {
            c.name
            for c in connections_with_freshness()
            if (f := connection_freshness(connection=c, now=moment)).next_sync_at and f.next_sync_at <= moment
        }
        assert due == by_freshness, moment
    assert {never.name, elapsed.name} <= due
    assert recent.name in due  # two hours later


def test_connections_overdue_lists_only_those(django_assert_num_queries):
    late = api_connection("late")
    run(late, "succeeded", 10)
    fine = api_connection("fine")
    run(fine, "succeeded", 0.5)

    with django_assert_num_queries(1):
        overdue = connections_overdue(now=NOW)

    assert [(c.name, f.last_success_at) for c, f in overdue] == [("late", NOW - 10 * HOUR)]


def test_the_pages_show_freshness_and_the_admin_home_warns(personas):
    late = api_connection("Coursera late", kind="coursera", interval=60)
    run(late, "succeeded", 10)
    failure = run(late, "failed", 1)
    SyncRun.objects.filter(pk=failure.pk).update(started_at=timezone.now() - HOUR)
    SyncRun.objects.filter(status="succeeded").update(started_at=timezone.now() - 10 * HOUR)
    fine = api_connection("Fine")
    SyncRun.objects.create(connection=fine, source="api", status="succeeded")
    client = personas.client_for(personas.admin)

    home = client.get(reverse("manage:home")).content.decode()
    listing = client.get(reverse("programs:providers:connections")).content.decode()
    detail = client.get(reverse("programs:providers:detail", args=[late.pk])).content.decode()

    assert '<span class="badge bad">1</span> Provider connections' in home  # the late one only
    late_row = home.partition(f'<a href="/providers/{late.pk}/">Coursera late</a>')[2].partition("</tr>")[0]
    assert '<span class="badge bad">Failing</span> since' in late_row and ", failed</td>" in late_row
    fine_row = home.partition(f'<a href="/providers/{fine.pk}/">Fine</a>')[2].partition("</tr>")[0]
    assert '<span class="badge good">OK</span>' in fine_row and ", succeeded</td>" in fine_row
    assert "data 10\xa0hours old" in listing and "Failing since" in listing and "Overdue" in listing
    assert "Coursera&#x27;s reports trail live learning activity by up to a day." in detail
    assert "Next scheduled sync" in detail and "due now" in detail
    assert "No successful sync for more than two intervals" in detail


def test_no_warning_when_every_connection_is_current(personas):
    fine = api_connection("Fine")
    SyncRun.objects.create(connection=fine, source="api", status="succeeded")

    home = personas.client_for(personas.admin).get(reverse("manage:home")).content.decode()

    assert "without a successful sync" not in home
