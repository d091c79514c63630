"""The Coursera API adapter, over real HTTP against the sandbox provider."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command

from learnhub.demo.sandbox_data import sandbox_data_from_database
from programs.models import Employee, Enrollment
from programs.providers.base import (
    ProviderConfigurationError,
    ProviderRecord,
    ProviderUnavailableError,
)
from programs.providers.coursera_api import CourseraApiAdapter, parse_timestamp, record_from_element
from programs.providers.coursera_sandbox import TOKEN_PATH, SandboxServer
from programs.providers.http import retry_after_seconds, url_join
from programs.sync.pipeline import sync_run
from tests.factories import ConnectionFactory, CourseFactory, EmployeeFactory, ProgramFactory
from tests.http_faults import FaultyProxy
from tests.sandbox_fixtures import (
    CLIENT_ID,
    CLIENT_SECRET,
    ORG_ID,
    PROGRAM_ID,
    FakeClock,
    Sleeps,
    child_env,
    coursera_element,
    sandbox_connection,
)

pytest_plugins = ["tests.sandbox_fixtures"]

REPORTS_PATH = f"/api/businesses.v1/{ORG_ID}/enrollmentReports"
# 2019-09-10T18:00:49.555Z in every shape Coursera has been seen to use.
ENROLLED = dt.datetime(2019, 9, 10, 18, 0, 49, 555000, tzinfo=dt.UTC)
ENROLLED_MS = 1568138449555
COMPLETED = dt.datetime(2019, 9, 17, 19, 26, 6, 896000, tzinfo=dt.UTC)
COMPLETED_MS = 1568748366896


def element(n: int, **overrides: Any) -> dict[str, Any]:
    """`coursera_element` with every field Coursera sends, for learner n (external id E<n>)."""
    rich = {
        "id": f"E{n:05d}~C{n:03d}~{PROGRAM_ID}",
        "externalId": f"E{n:05d}",
        "membershipState": "MEMBER",
        "contentId": f"C{n:03d}",
        "contentSlug": f"course-{n}",
        "partnerNames": ["Stanford University", "DeepLearning.AI"],
        "enrolledAt": ENROLLED_MS,
        "lastActivityAt": COMPLETED_MS,
        "completedAt": COMPLETED_MS,
        "grade": 0.92,
        "approxTotalCourseHrs": 12.5,
    }
    return coursera_element(n, f"learner{n}@acme.example", **{**rich, **overrides})


def adapter_for(sandbox: SandboxServer, **options: Any) -> tuple[CourseraApiAdapter, Sleeps]:
    sleeps = Sleeps()
    settings: dict[str, Any] = {
        "base_url": sandbox.base_url,
        "token_url": sandbox.token_url,
        "org_id": ORG_ID,
        "program_ids": [PROGRAM_ID],
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "sleep": sleeps,
        "page_size": 100,
    }
    settings.update(options)
    return CourseraApiAdapter(**settings), sleeps


def report_starts(sandbox: SandboxServer) -> list[tuple[str, str, int]]:
    """(programId, start, status) of every enrollmentReports request, in order."""
    out = []
    for method, target, status in sandbox.log:
        url = urlsplit(target)
        if method == "GET" and url.path == REPORTS_PATH:
            query = parse_qs(url.query)
            out.append((query["programId"][0], query["start"][0], status))
    return out


def all_records(adapter: CourseraApiAdapter) -> list[ProviderRecord]:
    return [record for page in adapter.pages() for record in page]


# --- Paging --------------------------------------------------------------------------


def test_pages_follow_string_next_offsets_across_programs(sandbox_factory):
    records = [element(n) for n in range(1, 8)] + [element(n, programId="second") for n in range(8, 10)]
    sandbox = sandbox_factory(records=records, program_ids=(PROGRAM_ID, "second"), max_limit=3)
    adapter, sleeps = adapter_for(sandbox, program_ids=[PROGRAM_ID, "second"], page_size=5)

    pages = list(adapter.pages())

    assert [[r.email for r in page] for page in pages] == [
        ["learner1@acme.example", "learner2@acme.example", "learner3@acme.example"],
        ["learner4@acme.example", "learner5@acme.example", "learner6@acme.example"],
        ["learner7@acme.example"],
        ["learner8@acme.example", "learner9@acme.example"],
    ]
    assert report_starts(sandbox) == [
        (PROGRAM_ID, "0", 200),
        (PROGRAM_ID, "3", 200),
        (PROGRAM_ID, "6", 200),
        ("second", "0", 200),
    ]
    assert adapter.stats.pages == 4
    assert adapter.stats.retries == 0
    assert sleeps == []
    assert sandbox.counts[TOKEN_PATH] == 1


def test_the_sandbox_sends_next_as_a_string_and_none_on_the_last_page(sandbox_factory):
    sandbox = sandbox_factory(records=[element(n) for n in range(1, 4)])
    adapter, _ = adapter_for(sandbox, page_size=2)
    headers = adapter.api.headers()

    first = adapter.api.http.send(
        "GET",
        f"{sandbox.base_url}businesses.v1/{ORG_ID}/enrollmentReports",
        params={"q": "byProgramId", "programId": PROGRAM_ID, "start": "0", "limit": "2"},
        headers=headers,
    ).json()
    last = adapter.api.http.send(
        "GET",
        f"{sandbox.base_url}businesses.v1/{ORG_ID}/enrollmentReports",
        params={"q": "byProgramId", "programId": PROGRAM_ID, "start": "2", "limit": "2"},
        headers=headers,
    ).json()

    assert first["paging"] == {"next": "2", "total": 3}
    assert last["paging"] == {"total": 3}


@pytest.mark.parametrize("trailing", ["/", ""])
def test_base_url_with_or_without_trailing_slash(sandbox_factory, trailing):
    sandbox = sandbox_factory(records=[element(1)])
    adapter, _ = adapter_for(sandbox, base_url=sandbox.base_url.rstrip("/") + trailing)

    assert [r.email for r in all_records(adapter)] == ["learner1@acme.example"]


def test_url_join_keeps_both_coursera_base_url_styles():
    assert url_join("https://api.coursera.org/api/", "businesses.v1/o/programs") == (
        "https://api.coursera.org/api/businesses.v1/o/programs"
    )
    assert url_join("https://api.coursera.com/ent/api", "/businesses.v1/o/programs") == (
        "https://api.coursera.com/ent/api/businesses.v1/o/programs"
    )


# --- Normalization -------------------------------------------------------------------


def test_an_element_is_normalized_field_by_field(sandbox_factory):
    raw = element(1, email="  learner1@acme.example ", externalId=" E00001 ")
    sandbox = sandbox_factory(records=[raw])
    adapter, _ = adapter_for(sandbox)

    [record] = all_records(adapter)

    assert record == ProviderRecord(
        raw=raw,
        email="learner1@acme.example",
        external_id="E00001",
        full_name="Learner 1",
        provider_course_id="C001",
        content_type="course",
        course_title="Course 1",
        partner="Stanford University, DeepLearning.AI",
        course_url="https://www.coursera.org/learn/course-1",
        course_hours=Decimal("12.5"),
        enrolled_at=ENROLLED,
        last_activity_at=COMPLETED,
        is_completed=True,
        completed_at=COMPLETED,
        progress=Decimal("100"),
        is_removed=False,
        problem="",
    )


def test_external_id_that_only_echoes_the_email_is_left_empty():
    record = record_from_element(element(1, externalId="Learner1@Acme.example"))

    assert record.external_id == ""
    assert record.email == "learner1@acme.example"
    assert record.raw["externalId"] == "Learner1@Acme.example"


def test_epoch_milliseconds_and_iso_timestamps_give_the_same_aware_datetimes(sandbox_factory):
    shapes = [
        ENROLLED_MS,
        str(ENROLLED_MS),
        "2019-09-10T18:00:49.555Z",
        "2019-09-10T20:00:49.555+02:00",
        "2019-09-10T18:00:49.555",
        "2019-09-10 18:00:49.555",
        ENROLLED_MS / 1000 * 1000.0,
    ]
    sandbox = sandbox_factory(
        records=[element(n, enrolledAt=shape, completedAt=shape) for n, shape in enumerate(shapes, start=1)]
    )
    adapter, _ = adapter_for(sandbox)

    records = all_records(adapter)

    assert [r.enrolled_at for r in records] == [ENROLLED] * len(shapes)
    assert [r.completed_at for r in records] == [ENROLLED] * len(shapes)
    assert {r.enrolled_at.utcoffset() for r in records} == {dt.timedelta(0)}
    assert [r.problem for r in records] == [""] * len(shapes)


def test_sandbox_timestamp_mix_reads_the_same_as_epoch_only(sandbox_factory):
    records = [element(n, lastActivityAt=COMPLETED_MS + n) for n in range(1, 6)]
    mixed = sandbox_factory(records=records, timestamps="mixed")
    epoch = sandbox_factory(records=records, timestamps="epoch")
    from_mixed = all_records(adapter_for(mixed)[0])
    from_epoch = all_records(adapter_for(epoch)[0])

    assert [r.raw["completedAt"] for r in from_mixed] == [
        COMPLETED_MS,
        "2019-09-17T19:26:06.896Z",
        COMPLETED_MS,
        "2019-09-17T19:26:06.896Z",
        COMPLETED_MS,
    ]
    assert [(r.enrolled_at, r.last_activity_at, r.completed_at) for r in from_mixed] == [
        (r.enrolled_at, r.last_activity_at, r.completed_at) for r in from_epoch
    ]
    assert from_mixed[1].last_activity_at == COMPLETED + dt.timedelta(milliseconds=2)


def test_completion_comes_from_is_completed_never_from_progress(sandbox_factory):
    sandbox = sandbox_factory(
        records=[
            element(1, isCompleted=True, overallProgress=37),
            element(2, isCompleted=False, completedAt=None, overallProgress=100),
            element(3, isCompleted=..., completedAt=COMPLETED_MS, overallProgress=12.5),
            element(4, isCompleted=..., completedAt=..., overallProgress="99.5"),
        ]
    )
    adapter, _ = adapter_for(sandbox)

    records = all_records(adapter)

    assert [(r.is_completed, r.completed_at, r.progress) for r in records] == [
        (True, COMPLETED, Decimal("37")),
        (False, None, Decimal("100")),
        (True, COMPLETED, Decimal("12.5")),
        (False, None, Decimal("99.5")),
    ]
    assert [r.problem for r in records] == ["", "", "", ""]


def test_specialization_and_video_content_types_are_kept_lower_case(sandbox_factory):
    sandbox = sandbox_factory(
        records=[element(1, contentType="Specialization"), element(2, contentType="VIDEO"), element(3)]
    )
    adapter, _ = adapter_for(sandbox)

    assert [r.content_type for r in all_records(adapter)] == ["specialization", "video", "course"]


def test_removed_learners_are_flagged(sandbox_factory):
    sandbox = sandbox_factory(
        records=[
            element(1, deletedAt="2024-05-01T00:00:00Z"),
            element(2, membershipState="DELETED"),
            element(3, membershipState="ACTIVE"),
        ]
    )
    adapter, _ = adapter_for(sandbox)

    assert [r.is_removed for r in all_records(adapter)] == [True, True, False]


def test_unparseable_values_become_the_record_problem_not_an_exception(sandbox_factory):
    sandbox = sandbox_factory(
        records=[
            element(1, completedAt="xyz"),
            element(2, isCompleted=True, completedAt=None),
            element(3, overallProgress="lots", enrolledAt="yesterday"),
            element(4),
        ]
    )
    adapter, _ = adapter_for(sandbox)

    records = all_records(adapter)

    assert [r.problem for r in records] == [
        "completedAt: cannot parse 'xyz'",
        "completedAt: missing although the course is completed",
        "enrolledAt: cannot parse 'yesterday'; overallProgress: cannot parse 'lots'",
        "",
    ]
    assert records[0].is_completed is True
    assert records[0].completed_at is None


def test_sandbox_malformed_records_carry_a_problem(sandbox_factory):
    sandbox = sandbox_factory(records=[element(n) for n in range(1, 7)], malformed_every=2)
    adapter, _ = adapter_for(sandbox, page_size=4)

    records = all_records(adapter)

    assert [(r.provider_course_id, r.content_type, r.problem) for r in records] == [
        ("C001", "course", ""),
        ("C002", "course", "completedAt: cannot parse 'not-a-date'"),
        ("C003", "course", ""),
        ("", "course", "contentId: missing"),
        ("C005", "course", ""),
        ("C006", "hologram", ""),
    ]


# --- The access token ----------------------------------------------------------------


def test_token_is_refreshed_before_it_expires(sandbox_factory):
    clock = FakeClock()
    sandbox = sandbox_factory(records=[element(n) for n in range(1, 4)], clock=clock, token_expires_in=1800)
    adapter, _ = adapter_for(sandbox, page_size=1, clock=clock)
    pages = adapter.pages()

    next(pages)
    clock.advance(1739)  # 61 s left: still good
    next(pages)
    tokens_after_second_page = sandbox.counts[TOKEN_PATH]
    clock.advance(2)  # 59 s left: inside the 60 s margin
    next(pages)

    assert tokens_after_second_page == 1
    assert sandbox.counts[TOKEN_PATH] == 2
    assert [status for _, _, status in sandbox.log] == [200, 200, 200, 200, 200]
    assert list(pages) == []


def test_token_that_stops_working_mid_run_gets_one_refresh_and_the_run_continues(sandbox_factory):
    sandbox = sandbox_factory(records=[element(n) for n in range(1, 4)])
    adapter, sleeps = adapter_for(sandbox, page_size=2)
    pages = adapter.pages()

    first = next(pages)
    sandbox.expire_tokens()
    rest = list(pages)

    assert [r.email for r in first + rest[0]] == [
        "learner1@acme.example",
        "learner2@acme.example",
        "learner3@acme.example",
    ]
    assert [(method, urlsplit(target).path, status) for method, target, status in sandbox.log] == [
        ("POST", TOKEN_PATH, 200),
        ("GET", REPORTS_PATH, 200),
        ("GET", REPORTS_PATH, 401),
        ("POST", TOKEN_PATH, 200),
        ("GET", REPORTS_PATH, 200),
    ]
    assert report_starts(sandbox)[-1] == (PROGRAM_ID, "2", 200)
    assert adapter.stats.pages == 2
    assert adapter.stats.retries == 0
    assert sleeps == []


def test_a_fresh_token_refused_again_is_a_configuration_error(sandbox_factory):
    sandbox = sandbox_factory(records=[element(1)], token_expires_in=0)
    adapter, _ = adapter_for(sandbox)

    with pytest.raises(ProviderConfigurationError) as refused:
        all_records(adapter)

    assert str(refused.value) == (
        "Coursera credentials rejected: a freshly issued access token was refused (HTTP 401). "
        "Check the client id and secret of this connection."
    )
    assert [(method, urlsplit(target).path, status) for method, target, status in sandbox.log] == [
        ("POST", TOKEN_PATH, 200),
        ("GET", REPORTS_PATH, 401),
        ("POST", TOKEN_PATH, 200),
        ("GET", REPORTS_PATH, 401),
    ]


def test_bad_secret_is_a_configuration_error_and_is_not_retried(sandbox_factory):
    sandbox = sandbox_factory(records=[element(1)])
    adapter, sleeps = adapter_for(sandbox, client_secret="wrong")

    with pytest.raises(ProviderConfigurationError) as refused:
        all_records(adapter)

    assert str(refused.value) == (
        "Coursera credentials rejected by the token endpoint (HTTP 401). "
        "Check the client id and secret of this connection."
    )
    assert sandbox.log == [("POST", TOKEN_PATH, 401)]
    assert sleeps == []
    assert "wrong" not in repr(adapter)


def test_unknown_org_is_a_configuration_error_naming_it(sandbox_factory):
    sandbox = sandbox_factory(records=[element(1)])
    adapter, sleeps = adapter_for(sandbox, org_id="other-org")

    with pytest.raises(ProviderConfigurationError) as refused:
        all_records(adapter)

    assert str(refused.value) == (
        "Coursera accepted the credentials but they give no access to organization 'other-org' / program "
        "'demo-program' (HTTP 403). Check the organization and program ids, or ask Coursera to grant API access."
    )
    assert sandbox.counts["/api/businesses.v1/other-org/enrollmentReports"] == 1
    assert sleeps == []


def test_unknown_program_is_a_configuration_error_naming_it(sandbox_factory):
    sandbox = sandbox_factory(records=[element(1)])
    adapter, _ = adapter_for(sandbox, program_ids=["not-ours"])

    with pytest.raises(ProviderConfigurationError, match="organization 'demo-org' / program 'not-ours' \\(HTTP 403\\)"):
        all_records(adapter)


def test_missing_connection_settings_are_named():
    with pytest.raises(ProviderConfigurationError) as missing:
        CourseraApiAdapter(
            base_url="https://api.coursera.org/api/",
            token_url="",
            org_id="org",
            program_ids=[" "],
            client_id="id",
            client_secret="",
        )

    assert str(missing.value) == "The Coursera connection is missing: token URL, client secret, program id(s)."


# --- Retries ---------------------------------------------------------------------------


def test_429_waits_for_retry_after_then_continues(sandbox_factory):
    # Requests: 1 token, 2 GET (429), 3 GET, 4 GET (429), 5 GET.
    sandbox = sandbox_factory(records=[element(n) for n in range(1, 4)], rate_limit_every=2, retry_after=3)
    adapter, sleeps = adapter_for(sandbox, page_size=2)

    records = all_records(adapter)

    assert [r.provider_course_id for r in records] == ["C001", "C002", "C003"]
    assert sleeps == [3.0, 3.0]
    assert adapter.stats.retries == 2
    assert adapter.stats.pages == 2
    assert [status for _, _, status in sandbox.log] == [200, 429, 200, 429, 200]


def test_retry_after_is_capped(sandbox_factory):
    sandbox = sandbox_factory(records=[element(1)], rate_limit_every=2, retry_after=3600)
    adapter, sleeps = adapter_for(sandbox)

    assert len(all_records(adapter)) == 1
    assert sleeps == [60.0]


def test_server_errors_back_off_exponentially_then_succeed(sandbox_factory):
    sandbox = sandbox_factory(records=[element(n) for n in range(1, 4)])
    adapter, sleeps = adapter_for(sandbox, page_size=2)
    pages = adapter.pages()

    first = next(pages)
    sandbox.set_faults(fail_next=3)
    rest = list(pages)

    assert [r.provider_course_id for r in first + rest[0]] == ["C001", "C002", "C003"]
    assert sleeps == [1.0, 2.0, 4.0]
    assert adapter.stats.retries == 3
    assert report_starts(sandbox) == [
        (PROGRAM_ID, "0", 200),
        (PROGRAM_ID, "2", 503),
        (PROGRAM_ID, "2", 503),
        (PROGRAM_ID, "2", 503),
        (PROGRAM_ID, "2", 200),
    ]


def test_token_endpoint_errors_are_retried_too(sandbox_factory):
    sandbox = sandbox_factory(records=[element(1)], fail_next=2)
    adapter, sleeps = adapter_for(sandbox)

    assert len(all_records(adapter)) == 1
    assert sleeps == [1.0, 2.0]
    assert sandbox.log[:3] == [("POST", TOKEN_PATH, 503), ("POST", TOKEN_PATH, 503), ("POST", TOKEN_PATH, 200)]


def test_server_errors_forever_give_up_after_bounded_retries(sandbox_factory):
    sandbox = sandbox_factory(records=[element(n) for n in range(1, 4)])
    adapter, sleeps = adapter_for(sandbox, page_size=2, max_retries=4)
    pages = adapter.pages()
    next(pages)
    sandbox.set_faults(server_error_every=1)

    with pytest.raises(ProviderUnavailableError) as unavailable:
        next(pages)

    assert str(unavailable.value) == (
        "Coursera is not answering properly: server error (HTTP 500), still after 4 retries. "
        "The next sync will try again."
    )
    assert sleeps == [1.0, 2.0, 4.0, 8.0]
    assert adapter.stats.retries == 4
    assert adapter.stats.pages == 1
    assert [status for _, _, status in report_starts(sandbox)] == [200, 500, 500, 500, 500, 500]


def test_default_retries_are_bounded_at_five_with_capped_backoff(sandbox_factory):
    sandbox = sandbox_factory(records=[element(1)], fail_next=1000)
    adapter, sleeps = adapter_for(sandbox)

    with pytest.raises(ProviderUnavailableError, match="server error \\(HTTP 503\\), still after 5 retries"):
        all_records(adapter)

    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert sandbox.counts[TOKEN_PATH] == 6


def test_refused_connection_is_retried_then_unavailable(sandbox_factory):
    sandbox = sandbox_factory(records=[element(1)])
    base_url, token_url = sandbox.base_url, sandbox.token_url
    sandbox.stop()
    adapter, sleeps = adapter_for(sandbox, base_url=base_url, token_url=token_url, max_retries=2)

    with pytest.raises(ProviderUnavailableError, match="cannot connect \\(ConnectionError\\), still after 2 retries"):
        all_records(adapter)

    assert sleeps == [1.0, 2.0]
    assert adapter.stats.retries == 2


def test_timeouts_are_retried_then_unavailable(sandbox_factory):
    sandbox = sandbox_factory(records=[element(1)], slow_seconds=0.5)
    adapter, sleeps = adapter_for(sandbox, timeout=0.1, max_retries=1)

    with pytest.raises(ProviderUnavailableError, match=r"no answer within 0\.1 s, still after 1 retries"):
        all_records(adapter)

    assert sleeps == [1.0]


@pytest.fixture
def faulty(sandbox_factory):
    """The sandbox behind a proxy that damages chosen answers (tests/http_faults.py)."""
    started: list[FaultyProxy] = []

    def start(*, records: list[dict[str, Any]], faults: dict[str, list[str]]) -> FaultyProxy:
        sandbox = sandbox_factory(records=records)
        proxy = FaultyProxy(upstream=sandbox.address, faults=faults).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


def through(proxy: FaultyProxy, **options: Any) -> tuple[CourseraApiAdapter, Sleeps]:
    """An adapter that reads the sandbox through the proxy (see `adapter_for`)."""
    sleeps = Sleeps()
    settings: dict[str, Any] = {
        "base_url": proxy.address + "/api/",
        "token_url": proxy.address + TOKEN_PATH,
        "org_id": ORG_ID,
        "program_ids": [PROGRAM_ID],
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "sleep": sleeps,
        "page_size": 100,
    }
    settings.update(options)
    return CourseraApiAdapter(**settings), sleeps


def fates(proxy: FaultyProxy) -> list[str]:
    return [fate for path, fate in proxy.log if path == REPORTS_PATH]


def test_an_answer_cut_short_is_retried_like_a_server_error(faulty):
    proxy = faulty(records=[element(n) for n in range(1, 4)], faults={"enrollmentReports": ["ok", "cut", "cut"]})
    adapter, sleeps = through(proxy, page_size=2)

    records = all_records(adapter)

    assert [r.provider_course_id for r in records] == ["C001", "C002", "C003"]
    assert fates(proxy) == ["ok", "cut", "cut", "ok"]
    assert sleeps == [1.0, 2.0]
    assert (adapter.stats.retries, adapter.stats.pages) == (2, 2)


def test_a_token_answer_cut_short_is_retried_too(faulty):
    proxy = faulty(records=[element(1)], faults={TOKEN_PATH: ["cut"]})
    adapter, sleeps = through(proxy)

    assert len(all_records(adapter)) == 1
    assert [fate for path, fate in proxy.log if path == TOKEN_PATH] == ["cut", "ok"]
    assert sleeps == [1.0]


def test_answers_cut_short_every_time_give_up_as_unavailable(faulty):
    proxy = faulty(records=[element(1)], faults={"enrollmentReports": ["cut"] * 10})
    adapter, sleeps = through(proxy, max_retries=3)

    with pytest.raises(ProviderUnavailableError) as unavailable:
        all_records(adapter)

    assert str(unavailable.value) == (
        "Coursera is not answering properly: the answer was cut short (its body did not arrive whole), "
        "still after 3 retries. The next sync will try again."
    )
    assert fates(proxy) == ["cut"] * 4
    assert sleeps == [1.0, 2.0, 4.0]


@pytest.mark.django_db
def test_a_sync_whose_page_keeps_arriving_cut_short_fails_cleanly_and_says_what_was_kept(faulty, caplog):
    people = [EmployeeFactory(email=f"learner{n}@acme.example", external_id=f"E{n:05d}") for n in range(1, 4)]
    proxy = faulty(records=[element(n) for n in range(1, 4)], faults={"enrollmentReports": ["ok"] + ["cut"] * 10})
    connection = proxied_connection(proxy)
    adapter = CourseraApiAdapter.from_connection(connection, sleep=Sleeps(), page_size=2, max_retries=2)

    run = sync_run(connection=connection, adapter=adapter)

    assert (run.status, run.fetched, run.created, run.retries) == ("failed", 2, 2, 2)
    assert run.error == (
        "Coursera is not answering properly: the answer was cut short (its body did not arrive whole), still "
        "after 2 retries. The next sync will try again. Kept: page 1, written before the error (fetched 2, "
        "created 2, updated 0, unchanged 0, merged 0, skipped 0, invalid 0, unmatched 0). The next sync re-reads "
        "it and completes the rest."
    )
    assert sorted(Enrollment.objects.values_list("employee__email", flat=True)) == [p.email for p in people[:2]]
    assert [r.exc_info for r in caplog.records if r.exc_info] == []  # no traceback: a provider problem, logged as one
    assert [r.levelname for r in caplog.records if r.name == "programs.sync.pipeline"] == ["WARNING"]


@pytest.mark.django_db
def test_a_malformed_page_after_written_pages_says_what_was_kept(faulty):
    for n in range(1, 6):
        EmployeeFactory(email=f"learner{n}@acme.example", external_id=f"E{n:05d}")
    proxy = faulty(records=[element(n) for n in range(1, 6)], faults={"enrollmentReports": ["ok", "ok", "not-json"]})
    connection = proxied_connection(proxy)
    adapter = CourseraApiAdapter.from_connection(connection, sleep=Sleeps(), page_size=2)

    run = sync_run(connection=connection, adapter=adapter)

    assert run.status == "failed"
    assert run.error == (
        f"Coursera answered enrollmentReports of program '{PROGRAM_ID}' (start=4) with something that is not JSON. "
        "Kept: pages 1-2, written before the error (fetched 4, created 4, updated 0, unchanged 0, merged 0, "
        "skipped 0, invalid 0, unmatched 0). The next sync re-reads them and completes the rest."
    )
    assert Enrollment.objects.count() == 4
    assert "nothing was changed" not in run.error


@pytest.mark.django_db
def test_a_malformed_first_page_writes_nothing_and_names_the_page(faulty):
    proxy = faulty(records=[element(1)], faults={"enrollmentReports": ["not-json"]})
    connection = proxied_connection(proxy)

    run = sync_run(connection=connection, adapter=CourseraApiAdapter.from_connection(connection, sleep=Sleeps()))

    assert (run.status, run.fetched, run.pages) == ("failed", 0, 0)
    assert run.error == (
        f"Coursera answered enrollmentReports of program '{PROGRAM_ID}' (start=0) with something that is not JSON."
    )
    assert Enrollment.objects.count() == 0


def proxied_connection(proxy: FaultyProxy):
    return ConnectionFactory(
        name="sandbox",
        base_url=proxy.address + "/api/",
        token_url=proxy.address + TOKEN_PATH,
        provider_org_id=ORG_ID,
        provider_program_ids=[PROGRAM_ID],
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )


def proxy_environment(monkeypatch: pytest.MonkeyPatch, *, proxy: str, no_proxy: str = "") -> None:
    for name in ("http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, proxy)
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, no_proxy)


def test_the_proxy_the_environment_names_is_used_as_read_when_the_run_started(faulty, monkeypatch):
    proxy = faulty(records=[element(n) for n in range(1, 6)], faults={})
    proxy_environment(monkeypatch, proxy=proxy.address)
    hidden = "http://coursera.behind-the-proxy.invalid"  # only the proxy can reach it
    adapter, _ = through(proxy, page_size=2, base_url=hidden + "/api/", token_url=hidden + TOKEN_PATH)

    pages = adapter.raw_pages()
    first = next(pages)
    proxy_environment(monkeypatch, proxy="http://127.0.0.1:9")  # changed meanwhile: the run's next one reads it
    rest = list(pages)

    assert [e["contentId"] for page in [first, *rest] for e in page] == ["C001", "C002", "C003", "C004", "C005"]
    assert [path for path, _ in proxy.log] == [TOKEN_PATH] + [REPORTS_PATH] * 3
    with pytest.raises(ProviderUnavailableError):  # a new run reads the environment again: nothing listens there
        list(through(proxy, base_url=hidden + "/api/", token_url=hidden + TOKEN_PATH, max_retries=0)[0].raw_pages())


def test_a_host_no_proxy_names_is_reached_directly(sandbox_factory, monkeypatch):
    sandbox = sandbox_factory(records=[element(n) for n in range(1, 4)])
    proxy_environment(monkeypatch, proxy="http://127.0.0.1:9", no_proxy="127.0.0.1")  # nothing listens on port 9
    adapter, sleeps = adapter_for(sandbox)
    assert [e["contentId"] for page in adapter.raw_pages() for e in page] == ["C001", "C002", "C003"]
    assert sleeps == []


def test_retry_after_accepts_seconds_and_http_dates():
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)

    assert retry_after_seconds("7", now=now) == 7.0
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon", now=now) is None
    assert retry_after_seconds(None, now=now) is None


# --- Catalog, programs, connections ------------------------------------------------------


def test_catalog_and_programs(sandbox_factory):
    sandbox = sandbox_factory(
        records=[element(1), element(2, contentType="Specialization"), element(3, contentId="C001")]
    )
    adapter, _ = adapter_for(sandbox, page_size=1)

    assert adapter.programs() == [{"id": PROGRAM_ID, "name": f"Program {PROGRAM_ID}", "slug": PROGRAM_ID}]
    assert [(c["contentId"], c["contentType"], c["name"]) for c in adapter.catalog()] == [
        ("C001", "Course", "Course 1"),
        ("C002", "Specialization", "Course 2"),
    ]


@pytest.mark.django_db
def test_adapter_from_a_saved_connection(sandbox_factory):
    sandbox = sandbox_factory(records=[element(1), element(2)])
    connection = sandbox_connection(sandbox)
    since = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    adapter = CourseraApiAdapter.from_connection(connection, since=since, sleep=Sleeps())

    assert adapter.since == since
    assert [r.provider_course_id for r in all_records(adapter)] == ["C001", "C002"]


def test_timestamps_that_do_not_parse_raise_value_error():
    for bad in ("xyz", "2024-13-45", True, -5, "nan"):
        with pytest.raises(ValueError, match="cannot parse"):
            parse_timestamp(bad)
    assert parse_timestamp("") is None
    assert parse_timestamp(None) is None
    assert parse_timestamp(1568138449) == dt.datetime(2019, 9, 10, 18, 0, 49, tzinfo=dt.UTC)
    assert parse_timestamp("2024-08-15") == dt.datetime(2024, 8, 15, tzinfo=dt.UTC)


# --- The sandbox fed from the database ------------------------------------------------------


@pytest.mark.django_db
def test_database_sandbox_is_deterministic_and_reads_cleanly(sandbox_factory):
    ProgramFactory(name="Program 2026", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    Employee.objects.bulk_create(
        [
            Employee(email=f"person{n:02d}@acme.example", full_name=f"Person {n}", external_id=f"X{n:03d}")
            for n in range(40)
        ]
        + [Employee(email="gone@acme.example", hired_on=dt.date(2020, 1, 1), departed_on=dt.date(2026, 2, 1))]
    )
    today = dt.date(2026, 6, 30)

    data = sandbox_data_from_database(seed=7, today=today)
    again = sandbox_data_from_database(seed=7, today=today)
    other = sandbox_data_from_database(seed=8, today=today)
    sandbox = sandbox_factory(data=data, timestamps="mixed")
    adapter, _ = adapter_for(sandbox, page_size=25)
    records = all_records(adapter)

    assert data.elements == again.elements
    assert data.elements != other.elements
    assert len(records) == len(data.elements) > 20
    assert {r.problem for r in records} == {""}
    assert "gone@acme.example" not in {r.email for r in records}
    assert {r.email for r in records} <= {f"person{n:02d}@acme.example" for n in range(40)}
    assert any(r.is_completed for r in records)
    assert any(not r.is_completed for r in records)
    window = (dt.datetime(2026, 1, 1, 8, tzinfo=dt.UTC), dt.datetime(2026, 6, 30, 8, tzinfo=dt.UTC))
    assert all(window[0] <= r.completed_at <= window[1] for r in records if r.is_completed)
    assert all(r.completed_at is not None for r in records if r.is_completed)
    assert adapter.stats.pages == -(-len(records) // 25)


@pytest.mark.django_db
def test_database_sandbox_uses_the_demo_generator_when_there_is_a_catalog(sandbox_factory, personas):
    for n in range(1, 6):
        CourseFactory(provider_course_id=f"course-{n}", title=f"Course {n}", url=f"https://www.coursera.org/learn/c{n}")
    roster = {p.email for p in (personas.admin, personas.sponsor, personas.champion, personas.employee)}
    roster.add(personas.outsider.email)
    today = dt.date(2026, 10, 31)

    data = sandbox_data_from_database(seed=3, program_id="prog-x", today=today)
    again = sandbox_data_from_database(seed=3, program_id="prog-x", today=today)
    sandbox = sandbox_factory(data=data, timestamps="mixed")
    adapter, _ = adapter_for(sandbox, program_ids=["prog-x"], page_size=2)
    records = all_records(adapter)

    assert data.elements == again.elements
    assert len(records) == len(data.elements) > 0
    assert {r.raw["programId"] for r in records} == {"prog-x"}
    assert {r.problem for r in records} == {""}
    assert {r.email for r in records} <= roster
    assert {r.provider_course_id for r in records} <= {f"course-{n}" for n in range(1, 6)}
    assert all(
        dt.datetime(2026, 1, 1, tzinfo=dt.UTC) <= r.completed_at < dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        for r in records
        if r.is_completed
    )


# --- The command ----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_run_sandbox_provider_command_serves_the_roster():
    ProgramFactory(name="Program 2026", starts_on=dt.date(2026, 1, 1), ends_on=dt.date(2026, 12, 31))
    Employee.objects.bulk_create(
        [Employee(email=f"person{n:02d}@acme.example", full_name=f"Person {n}") for n in range(30)]
    )
    env = child_env()
    command = [sys.executable, "manage.py", "run_sandbox_provider", "--port", "0", "--client-secret", "s3cret"]
    command += ["--org-id", "acme", "--program-id", "p1", "--malformed-every", "5", "--quiet"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = [process.stdout.readline() for _ in range(3)]  # type: ignore[union-attr]
        base_url = banner[1].split("base URL:")[1].strip()
        token_url = banner[2].split("token URL:")[1].strip()
        adapter = CourseraApiAdapter(
            base_url=base_url,
            token_url=token_url,
            org_id="acme",
            program_ids=["p1"],
            client_id="demo",
            client_secret="s3cret",
            sleep=Sleeps(),
        )
        records = all_records(adapter)
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert banner[0].startswith("Coursera sandbox: ")
    assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/api/")
    assert token_url == base_url.removesuffix("/api/") + TOKEN_PATH
    assert len(records) > 10
    assert {r.email for r in records} <= {f"person{n:02d}@acme.example" for n in range(30)}
    assert [bool(r.problem) for r in records[:10]] == [False] * 4 + [True] + [False] * 4 + [True]


@pytest.mark.django_db
def test_run_sandbox_provider_refuses_a_port_in_use(sandbox_factory):
    busy = sandbox_factory(records=[])

    with pytest.raises(CommandError, match=f"^Cannot listen on 127.0.0.1:{busy.port}: "):
        call_command("run_sandbox_provider", "--port", str(busy.port), "--quiet")
