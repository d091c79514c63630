"""Test connection (programs.connection_check.connection_test) against every provider's
sandbox over real HTTP: good settings, a wrong secret, a wrong organization, a host where
nothing answers, a provider too slow to answer. It says in words what worked or what is
wrong, never shows the secret, asks for one small page and writes nothing."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.urls import reverse

from programs.connection_check import connection_test
from programs.models import Enrollment, ProviderConnection, SyncRun, UnmatchedRecord
from programs.providers.edx_sandbox import EdxSandbox
from programs.providers.linkedin_sandbox import LinkedInSandbox
from programs.providers.udemy_sandbox import UdemySandbox
from tests.factories import ConnectionFactory
from tests.sandbox_fixtures import CLIENT_ID, CLIENT_SECRET, ORG_ID, PROGRAM_ID, coursera_element

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.sandbox_fixtures"]

WRONG_SECRET = "not-the-secret-1234"


@dataclass(frozen=True)
class Kind:
    """How a kind's sandbox starts and what a connection to it holds."""

    kind: str
    start: Callable[[Any, Any], Any]  # (sandbox_factory, provider_sandbox) -> a started sandbox
    settings: Callable[[Any], dict[str, Any]]  # sandbox -> connection fields
    wrong_org: dict[str, Any]  # fields that point at an organization (or path) the credentials do not reach
    wrong_org_says: str


UDEMY_ROW = {"user_email": "bob@acme.example", "course_id": 4101, "course_first_completion_date": "2024-03-05"}
EDX_ROW = {"user_email": "bob@acme.example", "course_key": "DATA101", "has_passed": True, "passed_date": "2024-03-05"}

KINDS = [
    Kind(
        "coursera",
        lambda coursera, other: coursera(records=[coursera_element(1, "bob@acme.example")]),
        lambda s: {
            "base_url": s.base_url,
            "token_url": s.token_url,
            "provider_org_id": ORG_ID,
            "provider_program_ids": [PROGRAM_ID],
        },
        {"provider_org_id": "someone-else"},
        "Coursera accepted the credentials but they give no access to organization 'someone-else'",
    ),
    Kind(
        "udemy",
        lambda coursera, other: other(UdemySandbox, rows=[UDEMY_ROW], org_id=ORG_ID),
        lambda s: {"base_url": s.base_url, "provider_org_id": ORG_ID},
        {"provider_org_id": "someone-else"},
        "Udemy Business accepted the credentials but they give no access to organization 'someone-else' (HTTP 403)",
    ),
    Kind(
        "linkedin",
        lambda coursera, other: other(LinkedInSandbox, elements=[]),
        lambda s: {"base_url": s.base_url, "token_url": s.token_url},
        {"base_url": "__sandbox__/v9/"},  # LinkedIn has no organization id: a wrong API address instead
        "LinkedIn Learning has no such address",
    ),
    Kind(
        "edx",
        lambda coursera, other: other(EdxSandbox, rows=[EDX_ROW], org_id=ORG_ID),
        lambda s: {"base_url": s.base_url, "token_url": s.token_url, "provider_org_id": ORG_ID},
        {"provider_org_id": "someone-else"},
        "edX accepted the credentials but they give no access to enterprise customer 'someone-else' (HTTP 403)",
    ),
]
IDS = [k.kind for k in KINDS]


def connection_to(sandbox: Any, kind: Kind, **changes: Any) -> ProviderConnection:
    fields = {**kind.settings(sandbox), "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **changes}
    fields = {k: v.replace("__sandbox__", sandbox.address) if isinstance(v, str) else v for k, v in fields.items()}
    return ConnectionFactory(name=f"{kind.kind} test", kind=kind.kind, **fields)


def written() -> tuple[int, int, int, list[tuple]]:
    return (
        SyncRun.objects.count(),
        Enrollment.objects.count(),
        UnmatchedRecord.objects.count(),
        list(ProviderConnection.objects.values_list()),
    )


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_good_settings_pass_reading_one_small_page_and_writing_nothing(kind, sandbox_factory, provider_sandbox):
    sandbox = kind.start(sandbox_factory, provider_sandbox)
    connection = connection_to(sandbox, kind)
    before = written()

    result = connection_test(connection=connection)

    assert result.ok, result.message
    assert result.message.startswith("The connection works: ")
    assert "Nothing was saved" in result.message
    assert written() == before
    calls = [(method, target.split("?")[0]) for method, target, _ in sandbox.log]
    token_calls = [c for c in calls if c[0] == "POST"]
    assert len(token_calls) == (0 if kind.kind == "udemy" else 1)
    assert len([c for c in calls if c[0] == "GET"]) == 1  # one page
    page_query = next(target for method, target, _ in sandbox.log if method == "GET")
    assert any(size in page_query for size in ("limit=1", "page_size=1", "count=1"))


def test_what_worked_names_the_token_or_the_accepted_credentials(sandbox_factory, provider_sandbox):
    coursera, udemy = KINDS[0], KINDS[1]
    with_token = connection_test(connection=connection_to(coursera.start(sandbox_factory, provider_sandbox), coursera))
    basic = connection_test(connection=connection_to(udemy.start(sandbox_factory, provider_sandbox), udemy))

    assert with_token.message == (
        "The connection works: its token URL issued an access token for the client id and secret, and the first "
        "page of its report was read (it has records). Nothing was saved: sync to bring the completions in."
    )
    assert basic.message.startswith(
        "The connection works: Udemy Business accepted the client id and secret, and the first page"
    )


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_a_wrong_secret_is_a_401_that_says_to_check_the_client_id_and_secret(kind, sandbox_factory, provider_sandbox):
    sandbox = kind.start(sandbox_factory, provider_sandbox)
    connection = connection_to(sandbox, kind, client_secret=WRONG_SECRET)
    before = written()

    result = connection_test(connection=connection)

    assert not result.ok
    assert "credentials rejected" in result.message and "(HTTP 401)" in result.message
    assert "Check the client id and secret of this connection." in result.message
    assert WRONG_SECRET not in result.message
    assert written() == before


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_a_wrong_organization_is_a_403_or_404_naming_what_to_check(kind, sandbox_factory, provider_sandbox):
    sandbox = kind.start(sandbox_factory, provider_sandbox)

    result = connection_test(connection=connection_to(sandbox, kind, **kind.wrong_org))

    assert not result.ok
    assert kind.wrong_org_says in result.message
    assert "(HTTP 403)" in result.message or "(HTTP 404)" in result.message


@pytest.mark.parametrize("kind", KINDS, ids=IDS)
def test_a_host_where_nothing_answers_says_so(kind, sandbox_factory, provider_sandbox):
    sandbox = kind.start(sandbox_factory, provider_sandbox)
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = {k: v.replace(sandbox.address, nowhere) for k, v in kind.settings(sandbox).items() if isinstance(v, str)}

    result = connection_test(connection=connection_to(sandbox, kind, **settings))

    assert not result.ok
    assert result.message == (
        f"Cannot connect to {nowhere.removeprefix('http://')}: nothing answers there. Check the base URL and token "
        "URL of this connection, and that this server may reach it."
    )


def test_an_unknown_host_name_says_so(sandbox_factory, provider_sandbox):
    udemy = KINDS[1]
    sandbox = udemy.start(sandbox_factory, provider_sandbox)

    result = connection_test(connection=connection_to(sandbox, udemy, base_url="http://no-such-host.invalid/api-2.0/"))

    assert (result.ok, result.message) == (
        False,
        "The host name no-such-host.invalid is not known. Check the base URL and token URL of this connection.",
    )


def test_a_provider_slower_than_the_timeout_is_a_timeout(provider_sandbox):
    udemy = KINDS[1]
    sandbox = provider_sandbox(UdemySandbox, rows=[UDEMY_ROW], org_id=ORG_ID, slow_seconds=1.0)

    result = connection_test(connection=connection_to(sandbox, udemy), timeout=0.2)

    assert not result.ok
    assert result.message.startswith(f"{sandbox.address.removeprefix('http://')} did not answer within 0.2 seconds.")


def test_a_server_error_is_not_retried_and_says_to_try_later(provider_sandbox):
    udemy = KINDS[1]
    sandbox = provider_sandbox(UdemySandbox, rows=[UDEMY_ROW], org_id=ORG_ID, fail_next=5)

    result = connection_test(connection=connection_to(sandbox, udemy))

    assert not result.ok
    assert "Udemy Business answered with a server error" in result.message and "Try again later." in result.message
    assert len(sandbox.log) == 1


def test_missing_settings_are_named_without_asking_anything():
    connection = ConnectionFactory(name="half", kind="edx", base_url="http://127.0.0.1:9/", client_id="x")

    result = connection_test(connection=connection)

    assert (result.ok, result.message) == (
        False,
        "The edX connection is missing: token URL, organization id, client secret.",
    )


@pytest.mark.parametrize("kind", ["xapi", "other"])
def test_kinds_without_an_api_say_where_their_completions_come_from(kind):
    result = connection_test(connection=ConnectionFactory(name=kind, kind=kind))

    assert not result.ok
    assert "connections are not synced from an API" in result.message


def test_the_button_shows_the_result_on_the_connection_page(personas, provider_sandbox):
    udemy = KINDS[1]
    sandbox = provider_sandbox(UdemySandbox, rows=[UDEMY_ROW], org_id=ORG_ID)
    good = connection_to(sandbox, udemy)
    bad = ConnectionFactory(name="bad", kind="udemy", base_url=sandbox.base_url, provider_org_id=ORG_ID,
                            client_id=CLIENT_ID, client_secret=WRONG_SECRET)  # fmt: skip
    client = personas.client_for(personas.admin)
    before = written()

    passed = client.post(reverse("programs:providers:test", args=[good.pk]), follow=True)
    failed = client.post(reverse("programs:providers:test", args=[bad.pk]), follow=True)

    assert passed.redirect_chain == [(reverse("programs:providers:detail", args=[good.pk]), 302)]
    assert "The connection works: Udemy Business accepted the client id and secret" in passed.content.decode()
    page = failed.content.decode()
    assert "The connection test failed. Udemy Business credentials rejected" in page
    assert WRONG_SECRET not in page and CLIENT_SECRET not in passed.content.decode()
    assert written() == before
