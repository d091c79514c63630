"""The Udemy Business adapter, over real HTTP against the Udemy sandbox."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from programs.models import Enrollment, SyncRun
from programs.providers.base import ProviderConfigurationError, ProviderError, ProviderRecord, ProviderUnavailableError
from programs.providers.udemy_api import UdemyApiAdapter
from programs.providers.udemy_sandbox import UdemySandbox
from programs.sync.pipeline import sync_api
from tests.factories import ConnectionFactory, EmployeeFactory
from tests.sandbox_fixtures import CLIENT_ID, CLIENT_SECRET, ORG_ID, Sleeps

pytest_plugins = ["tests.sandbox_fixtures"]

REPORT_PATH = f"/api-2.0/organizations/{ORG_ID}/analytics/user-course-activity/"
FIRST = "2024-03-05T17:00:00Z"


def row(n: int, **overrides: Any) -> dict[str, Any]:
    """A `user-course-activity` row: learner n (external id U<n>) completed course 4100+n
    on 2024-03-05 17:00 UTC; `overrides` replace fields (`...` drops one)."""
    values = {
        "user_email": f"learner{n}@acme.example",
        "user_external_id": f"U{n}",
        "user_name": "Learner",
        "user_surname": str(n),
        "user_is_deactivated": False,
        "course_id": 4100 + n,
        "course_title": f"Course {n}",
        "course_category": "Development",
        "completion_ratio": 100,
        "course_enroll_date": "2024-02-01T09:00:00Z",
        "course_start_date": "2024-02-01T09:05:00Z",
        "course_completion_date": FIRST,
        "course_first_completion_date": FIRST,
        "course_last_accessed_date": FIRST,
        "is_assigned": False,
        "assigned_by": None,
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not ...}


def adapter_for(sandbox: UdemySandbox, **options: Any) -> tuple[UdemyApiAdapter, Sleeps]:
    sleeps = Sleeps()
    settings: dict[str, Any] = {
        "base_url": sandbox.base_url,
        "org_id": ORG_ID,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "sleep": sleeps,
        "page_size": 100,
    }
    settings.update(options)
    return UdemyApiAdapter(**settings), sleeps


def all_records(adapter: UdemyApiAdapter) -> list[ProviderRecord]:
    return [record for page in adapter.pages() for record in page]


def requests_of(sandbox: UdemySandbox) -> list[tuple[dict[str, list[str]], int]]:
    """(query, status) of every report request, in order."""
    return [
        (parse_qs(urlsplit(target).query), status)
        for _, target, status in sandbox.log
        if urlsplit(target).path == REPORT_PATH
    ]


@pytest.fixture
def udemy(provider_sandbox):
    def start(rows: list[dict[str, Any]], **faults: Any) -> UdemySandbox:
        return provider_sandbox(UdemySandbox, rows=rows, org_id=ORG_ID, **faults)

    return start


# --- Paging and normalization ------------------------------------------------------------


def test_pages_follow_next_to_the_end(udemy):
    sandbox = udemy([row(n) for n in range(1, 6)], max_limit=2)
    adapter, sleeps = adapter_for(sandbox, page_size=1000)

    pages = list(adapter.pages())

    assert [[r.provider_course_id for r in page] for page in pages] == [["4101", "4102"], ["4103", "4104"], ["4105"]]
    assert requests_of(sandbox) == [
        ({"page_size": ["1000"]}, 200),
        ({"page": ["2"], "page_size": ["2"]}, 200),
        ({"page": ["3"], "page_size": ["2"]}, 200),
    ]
    assert (adapter.stats.pages, adapter.stats.retries, sleeps) == (3, 0, [])


def test_a_row_is_normalized_field_by_field(udemy):
    raw = row(1, user_email=" Learner1@Acme.example ")
    sandbox = udemy([raw])
    adapter, _ = adapter_for(sandbox)

    assert all_records(adapter) == [
        ProviderRecord(
            raw=raw,
            email="Learner1@Acme.example",
            external_id="U1",
            full_name="Learner 1",
            provider_course_id="4101",
            course_title="Course 1",
            enrolled_at=dt.datetime(2024, 2, 1, 9, tzinfo=dt.UTC),
            last_activity_at=dt.datetime(2024, 3, 5, 17, tzinfo=dt.UTC),
            is_completed=True,
            completed_at=dt.datetime(2024, 3, 5, 17, tzinfo=dt.UTC),
            progress=Decimal("100"),
        )
    ]


def test_a_retake_keeps_the_first_completion_and_the_ratio_decides_nothing(udemy):
    sandbox = udemy(
        [
            row(1, course_completion_date="2025-02-10T09:00:00Z", completion_ratio=83),  # retaken
            row(2, course_first_completion_date=None, course_completion_date=None, completion_ratio=100),
            row(3, course_first_completion_date=..., course_completion_date="2024-06-01T08:00:00Z"),
            row(4, course_first_completion_date=None, course_completion_date=None, completion_ratio=12),
        ]
    )
    adapter, _ = adapter_for(sandbox)

    assert [(r.is_completed, r.completed_at, r.progress) for r in all_records(adapter)] == [
        (True, dt.datetime(2024, 3, 5, 17, tzinfo=dt.UTC), Decimal("83")),
        (False, None, Decimal("100")),
        (True, dt.datetime(2024, 6, 1, 8, tzinfo=dt.UTC), Decimal("100")),
        (False, None, Decimal("12")),
    ]


def test_dates_with_z_an_offset_or_no_zone(udemy):
    sandbox = udemy(
        [
            row(1, course_first_completion_date="2024-04-02T10:00:00Z"),
            row(2, course_first_completion_date="2024-04-02T12:00:00+02:00"),
            row(3, course_first_completion_date="2024-04-02T10:00:00"),  # no zone: UTC
            row(4, course_first_completion_date="2024-04-02T10:00:00.000Z"),
        ]
    )
    adapter, _ = adapter_for(sandbox)

    records = all_records(adapter)

    assert [r.completed_at for r in records] == [dt.datetime(2024, 4, 2, 10, tzinfo=dt.UTC)] * 4
    assert [r.problem for r in records] == [""] * 4


def test_learner_by_external_id_else_email(udemy):
    sandbox = udemy(
        [row(1, user_external_id=None), row(2, user_email=None), row(3, user_email="", user_external_id="")]
    )
    adapter, _ = adapter_for(sandbox)

    records = all_records(adapter)

    assert [(r.email, r.external_id, r.problem) for r in records] == [
        ("learner1@acme.example", "", ""),
        ("", "U2", ""),
        ("", "", "no learner: user_email and user_external_id are both empty"),
    ]


def test_malformed_rows_carry_their_problem(udemy):
    sandbox = udemy([row(n) for n in range(1, 5)], malformed_every=2)
    adapter, _ = adapter_for(sandbox)

    assert [r.problem for r in all_records(adapter)] == [
        "",
        "course_first_completion_date: cannot parse '2024-13-45T00:00:00Z'",
        "",
        "course_id: missing",
    ]


# --- Errors and retries ------------------------------------------------------------------


def test_429_waits_for_retry_after(udemy):
    # Requests: 1 page 1, 2 page 2 (429), 3 page 2, 4 page 3 (429), 5 page 3.
    sandbox = udemy([row(n) for n in range(1, 6)], max_limit=2, rate_limit_every=2, retry_after=3)
    adapter, sleeps = adapter_for(sandbox)

    assert len(all_records(adapter)) == 5
    assert sleeps == [3.0, 3.0]
    assert [status for _, status in requests_of(sandbox)] == [200, 429, 200, 429, 200]
    assert (adapter.stats.pages, adapter.stats.retries) == (3, 2)


@pytest.mark.parametrize("status", [503, 524])
def test_server_errors_and_524_timeouts_back_off_then_succeed(udemy, status):
    sandbox = udemy([row(1)], fail_next=2, fail_status=status)
    adapter, sleeps = adapter_for(sandbox)

    assert [r.provider_course_id for r in all_records(adapter)] == ["4101"]
    assert sleeps == [1.0, 2.0]
    assert [code for _, code in requests_of(sandbox)] == [status, status, 200]


def test_server_errors_forever_give_up_after_bounded_retries(udemy):
    sandbox = udemy([row(1)], fail_next=100, fail_status=524)
    adapter, sleeps = adapter_for(sandbox, max_retries=3)

    with pytest.raises(ProviderUnavailableError) as unavailable:
        all_records(adapter)

    assert str(unavailable.value) == (
        "Udemy Business is not answering properly: server error (HTTP 524), still after 3 retries. "
        "The next sync will try again."
    )
    assert sleeps == [1.0, 2.0, 4.0]


def test_a_wrong_secret_is_a_configuration_error_not_retried(udemy):
    sandbox = udemy([row(1)])
    adapter, sleeps = adapter_for(sandbox, client_secret="wrong-secret")

    with pytest.raises(ProviderConfigurationError) as refused:
        all_records(adapter)

    assert str(refused.value) == (
        "Udemy Business credentials rejected: the API refused them (HTTP 401). "
        "Check the client id and secret of this connection."
    )
    assert [status for _, status in requests_of(sandbox)] == [401]
    assert sleeps == []
    assert "wrong-secret" not in repr(adapter)


def test_another_organization_is_a_configuration_error_naming_it(udemy):
    sandbox = udemy([row(1)])
    adapter, _ = adapter_for(sandbox, org_id="99999")

    with pytest.raises(ProviderConfigurationError) as refused:
        all_records(adapter)

    assert str(refused.value) == (
        "Udemy Business accepted the credentials but they give no access to organization '99999' (HTTP 403). "
        "Check the organization id, and that this API client may read the reporting API."
    )


def test_missing_connection_settings_are_named():
    with pytest.raises(ProviderConfigurationError) as missing:
        UdemyApiAdapter(base_url="https://acme.udemy.com/api-2.0/", org_id=" ", client_id="id", client_secret="")

    assert str(missing.value) == "The Udemy Business connection is missing: organization id, client secret."


# --- Through the pipeline -------------------------------------------------------------------


@pytest.fixture
def udemy_connection(udemy):
    def connect(sandbox: UdemySandbox, **fields: Any):
        values = {
            "name": "udemy",
            "kind": "udemy",
            "base_url": sandbox.base_url,
            "provider_org_id": ORG_ID,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            **fields,
        }
        return ConnectionFactory(**values)

    return connect


@pytest.mark.django_db
def test_a_sync_writes_enrollments_and_a_resync_after_a_retake_changes_nothing(udemy, udemy_connection):
    ada = EmployeeFactory(email="learner1@acme.example", external_id="U1")
    EmployeeFactory(email="learner2@acme.example", external_id="")
    rows = [row(1), row(2, user_external_id=None, user_email="Learner2@ACME.example"), row(3)]
    sandbox = udemy(rows, max_limit=2)
    connection = udemy_connection(sandbox)

    first = sync_api(connection=connection, full=True)
    rows[0]["course_completion_date"] = "2025-02-10T09:00:00Z"  # Ada retakes the course
    rows[0]["completion_ratio"] = 83
    before = dict(Enrollment.objects.filter(employee=ada).values_list("course__provider_course_id", "completed_at"))
    second = sync_api(connection=connection)

    assert (first.status, first.fetched, first.created, first.unmatched, first.pages) == ("succeeded", 3, 2, 1, 2)
    assert (second.status, second.created, second.updated, second.unchanged) == ("succeeded", 0, 1, 1)
    assert before == {"4101": dt.datetime(2024, 3, 5, 17, tzinfo=dt.UTC)}
    assert dict(Enrollment.objects.filter(employee=ada).values_list("course__provider_course_id", "completed_at")) == {
        "4101": dt.datetime(2024, 3, 5, 17, tzinfo=dt.UTC)
    }
    assert sorted(Enrollment.objects.values_list("learner_key", "course__provider", "course__title")) == [
        ("U1", "udemy", "Course 1"),
        ("learner2@acme.example", "udemy", "Course 2"),
    ]


@pytest.mark.django_db
def test_a_sync_with_a_rejected_secret_fails_with_a_message_for_the_admin(udemy, udemy_connection):
    sandbox = udemy([row(1)])
    connection = udemy_connection(sandbox, client_secret="not-the-right-s3cret")

    run = sync_api(connection=connection)

    assert (run.status, run.fetched) == ("failed", 0)
    assert run.error == (
        "Udemy Business credentials rejected: the API refused them (HTTP 401). "
        "Check the client id and secret of this connection."
    )
    assert SyncRun.objects.get().error == run.error
    assert Enrollment.objects.count() == 0


class ElsewhereSandbox(UdemySandbox):
    """A Udemy sandbox whose `next` links point to another host."""

    def endpoint(self, request, faults):  # type: ignore[no-untyped-def]
        answer = super().endpoint(request, faults)
        if isinstance(answer.body, dict) and answer.body.get("next"):
            answer.body["next"] = "https://collector.example/steal?page=2"
        return answer


def test_a_next_link_to_another_host_is_not_followed_with_the_credentials(provider_sandbox):
    sandbox = provider_sandbox(ElsewhereSandbox, rows=[row(1), row(2)], org_id=ORG_ID, max_limit=1)
    adapter, _ = adapter_for(sandbox)
    pages = adapter.pages()

    first = next(pages)
    with pytest.raises(ProviderError) as refused:
        next(pages)

    assert [r.provider_course_id for r in first] == ["4101"]
    assert str(refused.value) == (
        "Udemy Business's paging of user-course-activity points to another host (https://collector.example); "
        "stopped reading rather than send the connection's credentials there."
    )
    assert [status for _, status in requests_of(sandbox)] == [200]


@pytest.mark.django_db
def test_a_re_sync_parses_only_the_rows_that_changed(udemy, udemy_connection, monkeypatch):
    for n in range(1, 5):
        EmployeeFactory(email=f"learner{n}@acme.example", external_id=f"U{n}")
    rows = [row(n) for n in range(1, 5)] + [row(9, user_email="stranger@elsewhere.example", user_external_id="X9")]
    sandbox = udemy(rows, max_limit=2)
    connection = udemy_connection(sandbox)
    sync_api(connection=connection, full=True)
    sandbox.rows[1]["course_last_accessed_date"] = "2024-04-01T08:00:00Z"  # learner 2 came back to the course
    parsed: list[dict[str, Any]] = []
    parse = UdemyApiAdapter.record_from_raw
    monkeypatch.setattr(UdemyApiAdapter, "record_from_raw", staticmethod(lambda raw: parsed.append(raw) or parse(raw)))

    run = sync_api(connection=connection, full=True)

    assert (run.status, run.fetched, run.created, run.updated, run.unchanged, run.unmatched) == (
        "succeeded",
        5,
        0,
        1,
        3,
        1,
    )
    assert sorted(raw["user_external_id"] for raw in parsed) == ["U2", "X9"]  # the change, and no one on the roster
    learner2 = Enrollment.objects.get(learner_key="U2")
    assert learner2.last_activity_at == dt.datetime(2024, 4, 1, 8, tzinfo=dt.UTC)
