"""The edX adapter, over real HTTP against the edX sandbox: the JWT token, DRF paging,
and a passed day read in the company time zone."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests

from programs.models import Enrollment
from programs.providers.base import ProviderConfigurationError, ProviderError, ProviderRecord
from programs.providers.edx_api import EdxApiAdapter
from programs.providers.edx_sandbox import TOKEN_PATH, EdxSandbox
from programs.sync.pipeline import sync_api
from reports.progress import program_progress
from tests.factories import ConnectionFactory, EmployeeFactory, ProgramFactory
from tests.http_faults import FaultyProxy
from tests.sandbox_fixtures import CLIENT_ID, CLIENT_SECRET, FakeClock, Sleeps

pytest_plugins = ["tests.sandbox_fixtures"]

CUSTOMER = "5c2e7a3b-8f14-4d2a-9b61-0e7d3f9a1c44"
REPORT_PATH = f"/enterprise/v3/enterprise-customer/{CUSTOMER}/learner-summary"
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def row(n: int, **overrides: Any) -> dict[str, Any]:
    """A `learner-summary` row: learner n (SSO uid S<n>) passed course DATA10<n> on 2024-06-03."""
    values = {
        "user_email": f"learner{n}@acme.example",
        "enterprise_sso_uid": f"S{n}",
        "course_key": f"course-v1:ACME+DATA10{n}+2024",
        "course_title": f"Data {n}",
        "has_passed": True,
        "passed_date": "2024-06-03",
        "progress_status": "Passed",
    }
    values.update(overrides)
    return values


def adapter_for(sandbox: EdxSandbox, **options: Any) -> tuple[EdxApiAdapter, Sleeps]:
    sleeps = Sleeps()
    settings: dict[str, Any] = {
        "base_url": sandbox.base_url,
        "token_url": sandbox.token_url,
        "org_id": CUSTOMER,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "zone": LOS_ANGELES,
        "sleep": sleeps,
    }
    settings.update(options)
    return EdxApiAdapter(**settings), sleeps


def all_records(adapter: EdxApiAdapter) -> list[ProviderRecord]:
    return [record for page in adapter.pages() for record in page]


@pytest.fixture
def edx(provider_sandbox):
    def start(rows: list[dict[str, Any]], **faults: Any) -> EdxSandbox:
        return provider_sandbox(EdxSandbox, rows=rows, org_id=CUSTOMER, **faults)

    return start


def test_pages_follow_next_with_a_jwt_and_accept_json(edx):
    sandbox = edx([row(n) for n in range(1, 4)], max_limit=2)
    adapter, sleeps = adapter_for(sandbox, page_size=500)

    pages = list(adapter.pages())

    assert [[r.external_id for r in page] for page in pages] == [["S1", "S2"], ["S3"]]
    assert [(urlsplit(t).path, parse_qs(urlsplit(t).query), status) for _, t, status in sandbox.log] == [
        (TOKEN_PATH, {}, 200),
        (REPORT_PATH, {"page_size": ["500"]}, 200),
        (REPORT_PATH, {"page": ["2"], "page_size": ["2"]}, 200),
    ]
    assert (adapter.stats.pages, sleeps) == (2, [])


def test_the_sandbox_answers_xml_without_accept_json_and_wants_a_jwt_token_type(edx):
    sandbox = edx([row(1)])
    form = {"grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}

    bearer = requests.post(sandbox.token_url, data=form, timeout=5)
    token = requests.post(sandbox.token_url, data={**form, "token_type": "jwt"}, timeout=5).json()
    xml = requests.get(
        sandbox.base_url + REPORT_PATH.lstrip("/"), headers={"Authorization": f"JWT {token['access_token']}"}, timeout=5
    )

    assert bearer.status_code == 400
    assert token["token_type"] == "JWT"
    assert (xml.status_code, xml.headers["Content-Type"]) == (200, "application/xml")


def test_a_row_is_normalized_and_a_passed_day_is_noon_of_that_day_in_the_company_time_zone(edx):
    rows = [
        row(1),
        row(2, passed_date="2024-12-31"),
        row(3, has_passed=False, passed_date=None, progress_status="In Progress"),
        row(4, enterprise_sso_uid=None),
        row(5, passed_date="2024-06-03T10:00:00Z"),  # a date and time is read as such
    ]
    sandbox = edx(rows)
    adapter, _ = adapter_for(sandbox)

    records = all_records(adapter)

    assert records[0] == ProviderRecord(
        raw=rows[0],
        email="learner1@acme.example",
        external_id="S1",
        provider_course_id="course-v1:ACME+DATA101+2024",
        course_title="Data 1",
        is_completed=True,
        completed_at=dt.datetime(2024, 6, 3, 19, tzinfo=dt.UTC),  # noon in Los Angeles (PDT, UTC-7)
    )
    assert [(r.is_completed, r.completed_at) for r in records[1:]] == [
        (True, dt.datetime(2024, 12, 31, 20, tzinfo=dt.UTC)),  # noon in Los Angeles (PST, UTC-8)
        (False, None),
        (True, dt.datetime(2024, 6, 3, 19, tzinfo=dt.UTC)),
        (True, dt.datetime(2024, 6, 3, 10, tzinfo=dt.UTC)),
    ]
    assert (records[3].external_id, records[3].email) == ("", "learner4@acme.example")
    assert {r.problem for r in records} == {""}


def test_bad_and_missing_values_carry_their_problem(edx):
    sandbox = edx(
        [row(1, passed_date=None), row(2, has_passed="maybe"), row(3), row(4)],
        malformed_every=3,
    )
    adapter, _ = adapter_for(sandbox)

    assert [r.problem for r in all_records(adapter)] == [
        "passed_date: missing although has_passed is true",
        "has_passed: expected Yes or No, got 'maybe'",
        "passed_date: cannot parse '31/12/2024'",
        "",
    ]


def test_the_token_is_refreshed_before_it_expires_and_after_a_401(edx):
    clock = FakeClock()
    sandbox = edx([row(n) for n in range(1, 4)], clock=clock, token_expires_in=1800, max_limit=1)
    adapter, _ = adapter_for(sandbox, clock=clock)
    pages = adapter.pages()

    next(pages)
    clock.advance(1741)  # 59 s left: inside the 60 s margin
    next(pages)
    sandbox.expire_tokens()
    next(pages)

    assert [(method, urlsplit(t).path, status) for method, t, status in sandbox.log] == [
        ("POST", TOKEN_PATH, 200),
        ("GET", REPORT_PATH, 200),
        ("POST", TOKEN_PATH, 200),
        ("GET", REPORT_PATH, 200),
        ("GET", REPORT_PATH, 401),
        ("POST", TOKEN_PATH, 200),
        ("GET", REPORT_PATH, 200),
    ]


def test_server_errors_then_429_are_retried(edx):
    # Requests: 1-2 token (503), 3 token, 4 report (429: every 2nd request), 5 report.
    sandbox = edx([row(1)], fail_next=2, rate_limit_every=4, retry_after=5)
    adapter, sleeps = adapter_for(sandbox)

    assert len(all_records(adapter)) == 1
    assert sleeps == [1.0, 2.0, 5.0]
    assert [status for *_, status in sandbox.log] == [503, 503, 200, 429, 200]
    assert adapter.stats.retries == 3


def test_a_wrong_secret_and_another_customer_are_configuration_errors(edx):
    sandbox = edx([row(1)])
    wrong_secret, _ = adapter_for(sandbox, client_secret="wrong-secret")
    other_customer, _ = adapter_for(sandbox, org_id="00000000-0000-0000-0000-000000000000")

    with pytest.raises(ProviderConfigurationError) as rejected:
        all_records(wrong_secret)
    with pytest.raises(ProviderConfigurationError) as forbidden:
        all_records(other_customer)

    assert str(rejected.value) == (
        "edX credentials rejected by the token endpoint (HTTP 401). Check the client id and secret of this connection."
    )
    assert str(forbidden.value) == (
        "edX accepted the credentials but they give no access to enterprise customer "
        "'00000000-0000-0000-0000-000000000000' (HTTP 403). Check the enterprise customer id (a UUID) of this "
        "connection."
    )


def test_an_answer_that_is_not_json_is_a_provider_error_naming_the_page(edx):
    sandbox = edx([row(1)])
    proxy = FaultyProxy(upstream=sandbox.address, faults={"learner-summary": ["not-json"]}).start()
    try:
        adapter, _ = adapter_for(sandbox, base_url=proxy.address + "/", token_url=proxy.address + TOKEN_PATH)
        with pytest.raises(ProviderError) as refused:
            all_records(adapter)
    finally:
        proxy.stop()

    assert str(refused.value) == "edX answered learner-summary (page 1) with something that is not JSON."


@pytest.mark.django_db
def test_a_pass_on_the_last_day_of_the_program_counts_west_of_utc(edx, settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    priya = EmployeeFactory(email="priya@acme.example", external_id="S1")
    program = ProgramFactory(starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2024, 12, 31))
    sandbox = edx([row(1, passed_date="2024-12-31"), row(2, has_passed=False, passed_date=None)])
    connection = ConnectionFactory(
        name="edx",
        kind="edx",
        base_url=sandbox.base_url,
        token_url=sandbox.token_url,
        provider_org_id=CUSTOMER,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )

    run = sync_api(connection=connection, full=True)

    assert (run.status, run.fetched, run.created, run.unmatched) == ("succeeded", 2, 1, 1)
    assert Enrollment.objects.get(employee=priya).completed_at == dt.datetime(2024, 12, 31, 20, tzinfo=dt.UTC)
    last_day = program_progress(program=program, as_of=dt.date(2024, 12, 31)).company
    day_before = program_progress(program=program, as_of=dt.date(2024, 12, 30)).company
    assert (last_day.eligible, last_day.met, last_day.completions) == (1, 1, 1)
    assert (day_before.eligible, day_before.met, day_before.completions) == (1, 0, 0)
