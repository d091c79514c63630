"""The LinkedIn Learning adapter, over real HTTP against the LinkedIn sandbox: 14-day
slices, links paging, the token, and the earliest completion of a run."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from programs.models import Enrollment, ProgramStatus
from programs.providers.base import ProviderConfigurationError, ProviderRecord
from programs.providers.formats import epoch_ms
from programs.providers.linkedin_api import LinkedInApiAdapter, record_from_element, report_windows
from programs.providers.linkedin_sandbox import REPORT_PATH, TOKEN_PATH, LinkedInSandbox
from programs.sync.adapters import report_window_start
from programs.sync.pipeline import sync_api
from tests.factories import ConnectionFactory, EmployeeFactory, ProgramFactory
from tests.sandbox_fixtures import CLIENT_ID, CLIENT_SECRET, FakeClock, Sleeps

pytest_plugins = ["tests.sandbox_fixtures"]

START = dt.datetime(2024, 7, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
URN = "urn:li:lyndaCourse:{}"


def element(n: int, when: dt.datetime, *, completions: int | None = 1, **learner: Any) -> dict[str, Any]:
    """A report element: learner n (uniqueUserId L<n>) watched course 700<n> an hour before
    `when`, and, with `completions`, has a COMPLETIONS engagement of that value at `when`."""
    at = epoch_ms(when)
    engagements = [("SECONDS_VIEWED", 1500)] + ([("COMPLETIONS", completions)] if completions is not None else [])
    details = {"email": f"learner{n}@acme.example", "uniqueUserId": f"L{n}", "name": f"Learner {n}", **learner}
    return {
        "learnerDetails": details,
        "contentDetails": {"contentUrn": URN.format(7000 + n), "name": f"Course {n}"},
        "activities": [
            {
                "engagementType": kind,
                "engagementValue": value,
                "assetType": "COURSE",
                "firstEngagedAt": at - 3_600_000,
                "lastEngagedAt": at,
            }
            for kind, value in engagements
        ],
    }


def adapter_for(sandbox: LinkedInSandbox, **options: Any) -> tuple[LinkedInApiAdapter, Sleeps]:
    sleeps = Sleeps()
    settings: dict[str, Any] = {
        "base_url": sandbox.base_url,
        "token_url": sandbox.token_url,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "start": START,
        "end": START + 40 * DAY,
        "sleep": sleeps,
    }
    settings.update(options)
    return LinkedInApiAdapter(**settings), sleeps


def all_records(adapter: LinkedInApiAdapter) -> list[ProviderRecord]:
    return [record for page in adapter.pages() for record in page]


def report_requests(sandbox: LinkedInSandbox) -> list[tuple[str, str, str, int]]:
    """(startedAt as a day, duration, start, status) of every report request, in order."""
    out = []
    for _, target, status in sandbox.log:
        url = urlsplit(target)
        if url.path == REPORT_PATH:
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            day = dt.datetime.fromtimestamp(int(query["startedAt"]) / 1000, dt.UTC).strftime("%m-%d")
            out.append((day, query["timeOffset.duration"], query["start"], status))
    return out


@pytest.fixture
def linkedin(provider_sandbox):
    def start(elements: list[dict[str, Any]], **faults: Any) -> LinkedInSandbox:
        return provider_sandbox(LinkedInSandbox, elements=elements, **faults)

    return start


# --- Windows ---------------------------------------------------------------------------------


def test_a_window_is_cut_into_slices_of_at_most_14_days():
    assert report_windows(start=START, end=START + 30 * DAY) == [
        (START, 14),
        (START + 14 * DAY, 14),
        (START + 28 * DAY, 2),
    ]
    assert report_windows(start=START, end=START + 14 * DAY) == [(START, 14)]
    assert report_windows(start=START, end=START + dt.timedelta(hours=1)) == [(START, 1)]
    assert report_windows(start=START, end=START) == []


def test_the_adapter_walks_its_window_in_slices_and_finds_a_completion_in_one_slice_only(linkedin):
    sandbox = linkedin([element(1, START + 20 * DAY + dt.timedelta(hours=16))])
    adapter, sleeps = adapter_for(sandbox)

    pages = list(adapter.pages())

    assert report_requests(sandbox) == [("07-01", "14", "0", 200), ("07-15", "14", "0", 200), ("07-29", "12", "0", 200)]
    assert [[r.provider_course_id for r in page] for page in pages] == [[], [URN.format(7001)], []]
    assert (adapter.stats.pages, sleeps) == (3, [])
    query = parse_qs(urlsplit(sandbox.log[1][1]).query)
    assert {k: v[0] for k, v in query.items() if k not in ("startedAt", "timeOffset.duration", "start")} == {
        "q": "criteria",
        "timeOffset.unit": "DAY",
        "aggregationCriteria.primary": "INDIVIDUAL",
        "aggregationCriteria.secondary": "CONTENT",
        "assetType": "COURSE",
        "count": "100",
    }
    assert query["startedAt"] == [str(epoch_ms(START))]


def test_the_sandbox_refuses_a_window_longer_than_14_days(linkedin):
    sandbox = linkedin([element(1, START)])
    token = requests.post(
        sandbox.token_url,
        data={"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        timeout=5,
    ).json()["access_token"]
    query = {
        "q": "criteria",
        "startedAt": str(epoch_ms(START)),
        "timeOffset.unit": "DAY",
        "aggregationCriteria.primary": "INDIVIDUAL",
        "aggregationCriteria.secondary": "CONTENT",
        "assetType": "COURSE",
    }

    def ask(days: int) -> requests.Response:
        return requests.get(
            sandbox.base_url + "learningActivityReports",
            params={**query, "timeOffset.duration": str(days)},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )

    refused, accepted = ask(15), ask(14)

    assert (refused.status_code, refused.json()) == (
        400,
        {"message": "timeOffset.duration must be 1 to 14 days, not 15", "status": 400},
    )
    assert accepted.status_code == 200 and len(accepted.json()["elements"]) == 1


def test_pages_of_a_slice_follow_the_next_link(linkedin):
    sandbox = linkedin([element(n, START + n * dt.timedelta(hours=3)) for n in range(1, 4)], max_limit=2)
    adapter, _ = adapter_for(sandbox, end=START + 10 * DAY, page_size=50)

    pages = list(adapter.pages())

    assert [[r.external_id for r in page] for page in pages] == [["L1", "L2"], ["L3"]]
    assert report_requests(sandbox) == [("07-01", "10", "0", 200), ("07-01", "10", "2", 200)]
    follow = parse_qs(urlsplit(sandbox.log[-1][1]).query)
    assert (follow["count"], follow["startedAt"]) == (["2"], [str(epoch_ms(START))])


# --- Elements ----------------------------------------------------------------------------


def test_completed_when_completions_is_one_or_more_at_its_last_engagement():
    when = dt.datetime(2024, 7, 10, 16, tzinfo=dt.UTC)
    records = [
        record_from_element(element(1, when)),
        record_from_element(element(2, when, completions=0)),
        record_from_element(element(3, when, completions=None)),  # watched only
        record_from_element(element(4, when, uniqueUserId=None)),
    ]

    assert [(r.is_completed, r.completed_at) for r in records] == [
        (True, when),
        (False, None),
        (False, None),
        (True, when),
    ]
    assert records[0] == ProviderRecord(
        raw=element(1, when),
        email="learner1@acme.example",
        external_id="L1",
        full_name="Learner 1",
        provider_course_id=URN.format(7001),
        content_type="course",
        course_title="Course 1",
        enrolled_at=when - dt.timedelta(hours=1),
        last_activity_at=when,
        is_completed=True,
        completed_at=when,
    )
    assert (records[3].external_id, records[3].email) == ("", "learner4@acme.example")


def test_malformed_elements_carry_their_problem(linkedin):
    sandbox = linkedin([element(n, START + n * DAY) for n in range(1, 5)], malformed_every=2)
    adapter, _ = adapter_for(sandbox, end=START + 10 * DAY)

    assert [r.problem for r in all_records(adapter)] == [
        "",
        "activities[1].lastEngagedAt: cannot parse 'yesterday'",
        "",
        "contentDetails.contentUrn: missing",
    ]


# --- The token and errors ------------------------------------------------------------------


def test_the_token_is_refreshed_before_it_expires_and_after_a_401(linkedin):
    clock = FakeClock()
    sandbox = linkedin([element(1, START + DAY)], clock=clock, token_expires_in=120)
    adapter, _ = adapter_for(sandbox, clock=clock, end=START + 42 * DAY)
    pages = adapter.pages()

    next(pages)
    clock.advance(59)  # 61 s left of 120: the margin is half the lifetime (60 s)
    next(pages)
    clock.advance(2)
    next(pages)
    sandbox.expire_tokens()
    assert list(pages) == []

    assert [(method, urlsplit(target).path, status) for method, target, status in sandbox.log] == [
        ("POST", TOKEN_PATH, 200),
        ("GET", REPORT_PATH, 200),
        ("GET", REPORT_PATH, 200),
        ("POST", TOKEN_PATH, 200),
        ("GET", REPORT_PATH, 200),
    ]


def test_a_token_that_stops_working_mid_run_gets_one_refresh(linkedin):
    sandbox = linkedin([element(1, START + DAY), element(2, START + 20 * DAY)])
    adapter, sleeps = adapter_for(sandbox)
    pages = adapter.pages()

    first = next(pages)
    sandbox.expire_tokens()
    rest = list(pages)

    assert [r.external_id for r in first + rest[0]] == ["L1", "L2"]
    assert [status for _, _, status in sandbox.log] == [200, 200, 401, 200, 200, 200]
    assert sleeps == []


def test_a_fresh_token_refused_again_is_a_configuration_error(linkedin):
    sandbox = linkedin([element(1, START)], token_expires_in=0)
    adapter, _ = adapter_for(sandbox)

    with pytest.raises(ProviderConfigurationError) as refused:
        all_records(adapter)

    assert str(refused.value) == (
        "LinkedIn Learning credentials rejected: a freshly issued access token was refused (HTTP 401). "
        "Check the client id and secret of this connection."
    )


def test_a_wrong_secret_is_refused_by_the_token_endpoint(linkedin):
    sandbox = linkedin([element(1, START)])
    adapter, sleeps = adapter_for(sandbox, client_secret="wrong-secret")

    with pytest.raises(ProviderConfigurationError) as refused:
        all_records(adapter)

    assert str(refused.value) == (
        "LinkedIn Learning credentials rejected by the token endpoint (HTTP 401). "
        "Check the client id and secret of this connection."
    )
    assert sandbox.log == [("POST", TOKEN_PATH, 401)]
    assert sleeps == []


def test_429_and_server_errors_are_retried(linkedin):
    # Requests: 1 token, 2 slice 1 (429), 3 slice 1, 4 slice 2 (429), 5 slice 2, 6 slice 3 (503), ...
    sandbox = linkedin([element(1, START + DAY)], rate_limit_every=2, retry_after=2)
    adapter, sleeps = adapter_for(sandbox, end=START + 20 * DAY)
    pages = adapter.pages()
    next(pages)
    sandbox.set_faults(rate_limit_every=0, fail_next=1)
    list(pages)

    assert sleeps == [2.0, 1.0]
    assert [status for *_, status in report_requests(sandbox)] == [429, 200, 503, 200]


# --- Through the pipeline: the window and the earliest completion -------------------------


@pytest.fixture
def linkedin_connection():
    def connect(sandbox: LinkedInSandbox, **fields: Any):
        values = {
            "name": "linkedin",
            "kind": "linkedin",
            "base_url": sandbox.base_url,
            "token_url": sandbox.token_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            **fields,
        }
        return ConnectionFactory(**values)

    return connect


@pytest.mark.django_db
def test_a_full_sync_starts_at_the_earliest_draft_or_active_program_in_company_time(settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    ProgramFactory(
        name="Old", starts_on=dt.date(2023, 1, 1), ends_on=dt.date(2023, 12, 31), status=ProgramStatus.CLOSED
    )
    ProgramFactory(
        name="Next", starts_on=dt.date(2025, 1, 1), ends_on=dt.date(2025, 12, 31), status=ProgramStatus.DRAFT
    )
    ProgramFactory(name="Now", starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2024, 12, 31))
    since = dt.datetime(2024, 11, 1, 9, tzinfo=dt.UTC)

    assert report_window_start(since=None) == dt.datetime(2024, 1, 1, 8, tzinfo=dt.UTC)
    assert report_window_start(since=since) == since


@pytest.mark.django_db
def test_a_full_sync_without_an_open_program_fails_saying_why(linkedin, linkedin_connection):
    sandbox = linkedin([element(1, START)])

    run = sync_api(connection=linkedin_connection(sandbox), full=True)

    assert (run.status, run.fetched) == ("failed", 0)
    assert run.error == (
        "LinkedIn Learning reports are read from the start of the earliest draft or active program, "
        "and there is none: create the program first, then sync."
    )
    assert sandbox.log == []


@pytest.mark.django_db
def test_the_earliest_completion_of_a_run_wins_across_slices(linkedin, linkedin_connection, settings):
    settings.TIME_ZONE = "UTC"
    wen = EmployeeFactory(email="learner5@acme.example", external_id="L5")
    hana = EmployeeFactory(email="learner6@acme.example", external_id="")
    ProgramFactory(starts_on=dt.date(2024, 12, 1), ends_on=dt.date(2025, 11, 30))
    first, again = dt.datetime(2024, 12, 20, 18, tzinfo=dt.UTC), dt.datetime(2025, 1, 20, 18, tzinfo=dt.UTC)
    sandbox = linkedin([element(5, again), element(6, first, completions=0, uniqueUserId=None), element(5, first)])

    run = sync_api(connection=linkedin_connection(sandbox), full=True)

    assert (run.status, run.fetched, run.created, run.merged, run.unmatched) == ("succeeded", 3, 2, 1, 0)
    asked = report_requests(sandbox)
    assert [day for day, *_ in asked[:4]] == ["12-01", "12-15", "12-29", "01-12"]
    assert {days for _, days, _, _ in asked[:-1]} == {"14"}
    assert len(asked) == run.pages > 50  # every slice from the program's start up to now, one page each
    assert sorted(Enrollment.objects.values_list("employee_id", "is_completed", "completed_at")) == sorted(
        [(wen.pk, True, first), (hana.pk, False, None)]
    )


@pytest.mark.django_db
def test_an_incremental_sync_keeps_a_completion_an_earlier_sync_stored(linkedin, linkedin_connection, settings):
    settings.TIME_ZONE = "UTC"
    wen = EmployeeFactory(email="learner5@acme.example", external_id="L5")
    ProgramFactory(starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2024, 12, 31))
    completed = dt.datetime(2024, 12, 20, 18, tzinfo=dt.UTC)
    connection = linkedin_connection(linkedin([element(5, completed)]))
    sync_api(connection=connection, full=True)
    rewatched = linkedin([element(5, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), completions=None)])
    connection.base_url, connection.token_url = rewatched.base_url, rewatched.token_url
    connection.save(update_fields=["base_url", "token_url"])

    run = sync_api(connection=connection)  # incremental: from the last sync minus a day

    assert run.status == "succeeded"
    assert Enrollment.objects.values_list("employee_id", "is_completed", "completed_at").get() == (
        wen.pk,
        True,
        completed,
    )


@pytest.mark.django_db
def test_a_re_sync_parses_only_the_elements_that_changed(linkedin, linkedin_connection, settings, monkeypatch):
    settings.TIME_ZONE = "UTC"
    for n in (5, 6, 7):
        EmployeeFactory(email=f"learner{n}@acme.example", external_id=f"L{n}")
    ProgramFactory(starts_on=dt.date(2024, 12, 1), ends_on=dt.date(2025, 11, 30))
    when = dt.datetime(2024, 12, 20, 18, tzinfo=dt.UTC)
    sandbox = linkedin([element(n, when) for n in (5, 6, 7)])
    connection = linkedin_connection(sandbox)
    sync_api(connection=connection, full=True)
    sandbox.elements[1]["learnerDetails"]["name"] = "Learner Six"  # the report now gives learner 6's full name
    parsed: list[dict[str, Any]] = []
    parse = LinkedInApiAdapter.record_from_raw
    monkeypatch.setattr(
        LinkedInApiAdapter, "record_from_raw", staticmethod(lambda raw: parsed.append(raw) or parse(raw))
    )

    run = sync_api(connection=connection, full=True)

    assert (run.status, run.fetched, run.created, run.updated, run.unchanged) == ("succeeded", 3, 0, 1, 2)
    assert [raw["learnerDetails"]["uniqueUserId"] for raw in parsed] == ["L6"]
    assert Enrollment.objects.get(learner_key="L6").raw["learnerDetails"]["name"] == "Learner Six"
