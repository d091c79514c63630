"""xAPI statement intake over REAL HTTP: pytest-django's live server (the whole WSGI stack:
security, CSRF and CSP middleware, the URL resolver) with committed data, posted to with
`requests` as a provider's LRS client would. Tasks run in process, so each accepted request
is taken in through the sync pipeline before its answer.

Every refused request is checked to have changed nothing (`state`)."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from django.utils import timezone

from programs.models import (
    Enrollment,
    InvalidRecord,
    SyncRun,
    UnmatchedRecord,
    XapiStatement,
    XapiToken,
)
from programs.xapi.adapter import UNMATCHABLE
from programs.xapi.selectors import xapi_statement_counts
from reports.progress import program_progress
from tests.factories import ConnectionFactory, EmployeeFactory
from tests.xapi_support import (
    ATTEMPT,
    CLIENT_ID,
    CONFLICT,
    CONTRACTOR,
    ETHICS,
    ETHICS_ID,
    PRIVACY,
    SAFETY,
    SAFETY_ID,
    SECRET,
    VOID_ETHICS,
    Lrs,
    Team,
    basic,
    statement,
    team_create,
    token_form,
    xapi_connection,
)

pytestmark = pytest.mark.django_db(transaction=True)

END = dt.date(2024, 12, 31)


@pytest.fixture
def team() -> Team:
    return team_create()


@pytest.fixture
def lrs(live_server) -> Lrs:
    return Lrs(live_server.url)


def state() -> list:
    """Everything an xAPI request can write, in a comparable form."""
    return [
        sorted(XapiStatement.objects.values_list("statement_id", "canonical_hash", "voided", "processed_at")),
        sorted(Enrollment.objects.values_list("learner_key", "course__provider_course_id", "is_completed")),
        SyncRun.objects.count(),
        UnmatchedRecord.objects.count(),
        InvalidRecord.objects.count(),
        sorted(XapiToken.objects.values_list("token_hash", flat=True)),
    ]


def completions(team: Team) -> dict[str, dt.datetime | None]:
    """The completion time of each enrollment on the connection, by e-mail and course slug."""
    return {
        f"{e.employee.email.split('@')[0]}:{e.course.provider_course_id.rsplit('/', 1)[-1]}": e.completed_at
        for e in Enrollment.objects.filter(connection=team.connection).select_related("employee", "course")
    }


def assert_json_error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Experience-API-Version"] == "1.0.3"
    body = response.json()
    assert isinstance(body["error"], str) and body["error"]
    return body


def test_a_completed_statement_counts_and_the_same_statement_again_changes_nothing(team, lrs):
    first = lrs.send(team.connection, SAFETY)

    assert first.status_code == 200
    assert first.json() == [SAFETY["id"]]
    assert first.headers["X-Experience-API-Version"] == "1.0.3"
    assert completions(team) == {"sade:safety": dt.datetime(2024, 9, 12, 16, 0, tzinfo=dt.UTC)}
    run = SyncRun.objects.get()
    assert (run.source, run.status, run.fetched, run.created, run.updated, run.unmatched, run.invalid) == (
        "xapi",
        "succeeded",
        1,
        1,
        0,
        0,
        0,
    )
    stored = XapiStatement.objects.get()
    assert stored.statement == SAFETY and stored.processed_at is not None
    before = state()

    again = lrs.send(team.connection, SAFETY)

    assert again.status_code == 200
    assert again.json() == [SAFETY["id"]]
    assert state() == before  # no second statement, no second run, the same enrollment
    company = program_progress(program=team.program, as_of=END).company
    assert (company.eligible, company.met, company.completions) == (4, 1, 1)


def test_a_batch_answers_its_ids_in_order_and_only_completions_count(team, lrs):
    response = lrs.send(team.connection, [PRIVACY, ETHICS, ATTEMPT])

    assert response.status_code == 200
    assert response.json() == [PRIVACY["id"], ETHICS["id"], ATTEMPT["id"]]
    # Rui by his account name (external id BW07), Wen by e-mail; Hana's attempt is stored, not counted.
    assert completions(team) == {
        "rui:privacy": dt.datetime(2024, 12, 10, 17, 15, tzinfo=dt.UTC),
        "wen:ethics": dt.datetime(2024, 8, 1, 12, 0, tzinfo=dt.UTC),
    }
    assert XapiStatement.objects.count() == 3
    run = SyncRun.objects.get()
    assert (run.fetched, run.created, run.unmatched, run.invalid) == (2, 2, 0, 0)
    counts = xapi_statement_counts(connection=team.connection)
    assert (counts.received, counts.completions, counts.voided, counts.pending) == (3, 2, 0, 0)
    assert Enrollment.objects.get(employee=team.rui).course.title == "Privacy Basics"


def test_a_voided_completion_stops_counting(team, lrs):
    assert lrs.send(team.connection, ETHICS).status_code == 200
    company = program_progress(program=team.program, as_of=END).company
    assert (company.met, company.completions) == (1, 1)

    response = lrs.send(team.connection, VOID_ETHICS)

    assert response.status_code == 200
    assert response.json() == [VOID_ETHICS["id"]]
    assert completions(team) == {"wen:ethics": None}
    enrollment = Enrollment.objects.get(employee=team.wen)
    assert (enrollment.is_completed, enrollment.course.provider_course_id) == (False, ETHICS_ID)
    company = program_progress(program=team.program, as_of=END).company
    assert (company.eligible, company.met, company.completions) == (4, 0, 0)
    assert XapiStatement.objects.get(statement_id=ETHICS["id"]).voided is True
    counts = xapi_statement_counts(connection=team.connection)
    assert (counts.received, counts.completions, counts.voided) == (2, 0, 1)
    assert [(r.fetched, r.created, r.updated) for r in SyncRun.objects.order_by("pk")] == [(1, 1, 0), (1, 0, 1)]


def test_a_voided_statement_that_arrives_after_its_voiding_statement_never_counts(team, lrs):
    assert lrs.send(team.connection, VOID_ETHICS).status_code == 200
    assert lrs.send(team.connection, ETHICS).status_code == 200

    assert completions(team) == {"wen:ethics": None}
    assert XapiStatement.objects.get(statement_id=ETHICS["id"]).voided is True
    assert program_progress(program=team.program, as_of=END).company.completions == 0


def test_the_earliest_standing_completion_wins_and_voiding_it_falls_back_to_the_next(team, lrs):
    later = statement(7, "wen", "passed", "ethics", "Ethics at Work", "2024-10-01T08:00:00Z")
    assert lrs.send(team.connection, [later, ETHICS]).status_code == 200
    assert completions(team) == {"wen:ethics": dt.datetime(2024, 8, 1, 12, 0, tzinfo=dt.UTC)}

    assert lrs.send(team.connection, VOID_ETHICS).status_code == 200

    assert completions(team) == {"wen:ethics": dt.datetime(2024, 10, 1, 8, 0, tzinfo=dt.UTC)}


def test_a_different_statement_under_a_used_id_is_a_conflict_and_nothing_of_its_request_is_stored(team, lrs):
    assert lrs.send(team.connection, SAFETY).status_code == 200
    before = state()

    alone = lrs.send(team.connection, CONFLICT)
    in_a_batch = lrs.send(team.connection, [PRIVACY, CONFLICT])

    for response in (alone, in_a_batch):
        body = assert_json_error(response, 409)
        assert body["statements"] == [SAFETY["id"]]
        assert body["error"] == (
            f"A different statement is already stored under the id {SAFETY['id']}: a statement id names one "
            "statement for good. Nothing of this request was stored."
        )
    assert state() == before  # Privacy, which came with the conflict, was not kept either
    assert completions(team) == {"sade:safety": dt.datetime(2024, 9, 12, 16, 0, tzinfo=dt.UTC)}


@pytest.mark.parametrize(
    ("version", "message"),
    [
        (None, "The X-Experience-API-Version header is required: send 1.0.3 (any 1.0.x is accepted)."),
        ("0.9", "X-Experience-API-Version '0.9' is not supported: send 1.0.3 (any 1.0.x)."),
    ],
)
def test_a_missing_or_unsupported_version_is_refused(team, lrs, version, message):
    before = state()

    response = lrs.send(team.connection, SAFETY, version=version)

    assert assert_json_error(response, 400) == {"error": message}
    assert state() == before


@pytest.mark.parametrize(
    ("authorization", "message"),
    [
        (basic(CLIENT_ID, "not-the-secret"), "Wrong client id or secret for this connection."),
        (basic("someone-else", SECRET), "Wrong client id or secret for this connection."),
        (basic(CLIENT_ID, ""), "Wrong client id or secret for this connection."),
        (
            "",
            "Authenticate with HTTP Basic (the connection's client id and secret) or with an access token "
            "from the token URL (Authorization: Bearer ...).",
        ),
        (
            "Basic not-base64!",
            "Authenticate with HTTP Basic (the connection's client id and secret) or with an access token "
            "from the token URL (Authorization: Bearer ...).",
        ),
    ],
)
def test_bad_credentials_are_refused_with_a_challenge(team, lrs, authorization, message):
    before = state()

    response = lrs.send(team.connection, SAFETY, authorization=authorization)

    assert assert_json_error(response, 401) == {"error": message}
    assert response.headers["WWW-Authenticate"] == 'Basic realm="LearnHub xAPI", Bearer realm="LearnHub xAPI"'
    assert SECRET not in response.text
    assert state() == before


def test_the_oauth2_token_flow_then_a_bearer_post(team, lrs):
    answer = lrs.token(team.connection, token_form())

    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert sorted(body) == ["access_token", "expires_in", "scope", "token_type"]
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 3600, "xapi:write")
    token = XapiToken.objects.get()
    assert token.token_hash != body["access_token"] and len(token.token_hash) == 64  # stored hashed
    assert token.expires_at == token.created_at + dt.timedelta(hours=1)

    response = lrs.send(team.connection, SAFETY, authorization=f"Bearer {body['access_token']}")

    assert response.status_code == 200
    assert completions(team) == {"sade:safety": dt.datetime(2024, 9, 12, 16, 0, tzinfo=dt.UTC)}


def test_the_token_url_takes_the_client_credentials_as_http_basic_too(team, lrs):
    form = {"grant_type": "client_credentials", "scope": "xapi:all"}
    answer = lrs.token(team.connection, form, headers={"Authorization": basic()})

    assert answer.status_code == 200
    assert answer.json()["scope"] == "xapi:write"
    response = lrs.send(team.connection, SAFETY, authorization=f"Bearer {answer.json()['access_token']}")
    assert response.status_code == 200


def test_an_expired_token_another_connections_token_and_a_token_from_before_a_new_secret_are_refused(team, lrs):
    other = xapi_connection(name="other-lrs", client_id="other-client", client_secret="other-secret")
    theirs = lrs.token(other, token_form("other-client", "other-secret")).json()["access_token"]
    expired = lrs.token(team.connection, token_form()).json()["access_token"]
    issued = timezone.now() - dt.timedelta(hours=1, seconds=1)  # an hour-long token, expired a second ago
    XapiToken.objects.filter(connection=team.connection).update(
        created_at=issued, expires_at=issued + dt.timedelta(hours=1)
    )
    rotated = lrs.token(team.connection, token_form()).json()["access_token"]
    team.connection.client_secret = "a-new-secret"
    team.connection.save(update_fields=["client_secret"])
    before = state()

    for token in (theirs, expired, rotated, "made-up"):
        response = lrs.send(team.connection, SAFETY, authorization=f"Bearer {token}")
        body = assert_json_error(response, 401)
        assert body["error"].startswith("The access token is not valid for this connection")
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="LearnHub xAPI", error="invalid_token"'
    assert state() == before
    assert lrs.send(other, SAFETY, authorization=f"Bearer {theirs}").status_code == 200  # on its own connection


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        (token_form(client_secret="wrong"), 401, "invalid_client"),
        (token_form(client_id="wrong"), 401, "invalid_client"),
        ({"grant_type": "client_credentials", "scope": "xapi:write"}, 401, "invalid_client"),
        (token_form(grant_type="password"), 400, "unsupported_grant_type"),
        (token_form(scope="xapi:read"), 400, "invalid_scope"),
    ],
)
def test_the_token_url_refuses_as_oauth2_says(team, lrs, form, status, error):
    before = state()

    response = lrs.token(team.connection, form)

    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.headers["Cache-Control"] == "no-store"
    assert ("WWW-Authenticate" in response.headers) is (status == 401)
    assert SECRET not in response.text
    assert state() == before


def test_put_with_a_statement_id(team, lrs):
    body = {k: v for k, v in SAFETY.items() if k != "id"}

    created = lrs.send(team.connection, body, method="PUT", query=f"?statementId={SAFETY['id']}")
    again = lrs.send(team.connection, body, method="PUT", query=f"?statementId={SAFETY['id']}")
    conflict = lrs.send(team.connection, CONFLICT, method="PUT", query=f"?statementId={SAFETY['id']}")
    nameless = lrs.send(team.connection, body, method="PUT")

    assert (created.status_code, created.content, again.status_code) == (204, b"", 204)
    assert created.headers["X-Experience-API-Version"] == "1.0.3"
    assert assert_json_error(conflict, 409)["statements"] == [SAFETY["id"]]
    assert assert_json_error(nameless, 400) == {
        "error": "A PUT names its statement: /statements?statementId=<the statement's id>."
    }
    assert str(XapiStatement.objects.get().statement_id) == SAFETY["id"]
    assert completions(team) == {"sade:safety": dt.datetime(2024, 9, 12, 16, 0, tzinfo=dt.UTC)}


def test_someone_not_on_the_roster_is_kept_as_unmatched_and_matched_once_they_join(team, lrs):
    response = lrs.send(team.connection, CONTRACTOR)

    assert response.status_code == 200
    unmatched = UnmatchedRecord.objects.get()
    assert (unmatched.email, unmatched.provider_course_id, unmatched.record["is_completed"]) == (
        "kim@vendor.example",
        SAFETY_ID,
        True,
    )
    run = SyncRun.objects.get()
    assert (run.fetched, run.created, run.unmatched) == (1, 0, 1)
    assert Enrollment.objects.count() == 0
    # No timestamp, no stored: the time LearnHub received it.
    stored = XapiStatement.objects.get()
    assert stored.occurred_at == stored.received_at

    from programs.sync.pipeline import unmatched_rematch

    kim = EmployeeFactory(email="kim@vendor.example", external_id="", organization=team.sade.organization)
    assert unmatched_rematch(employee_ids=[kim.pk]) == 1
    assert Enrollment.objects.get(employee=kim).completed_at == stored.received_at


def test_a_completion_whose_actor_cannot_be_matched_is_an_invalid_record(team, lrs):
    hashed = statement(
        8, {"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}, "completed", "safety", "S", None
    )

    response = lrs.send(team.connection, hashed)

    assert response.status_code == 200
    invalid = InvalidRecord.objects.get()
    assert (invalid.reason, invalid.raw["id"], invalid.run.source) == (UNMATCHABLE, hashed["id"], "xapi")
    run = SyncRun.objects.get()
    assert (run.fetched, run.invalid, run.created) == (1, 1, 0)


def test_a_malformed_statement_is_refused_with_a_clear_message_and_nothing_is_half_applied(team, lrs):
    broken = {**ATTEMPT, "actor": {"mbox": "hana@acme.example"}}
    before = state()

    response = lrs.send(team.connection, [SAFETY, PRIVACY, broken])

    assert assert_json_error(response, 400) == {
        "error": "Statement 2 of the batch (counted from 0), actor.mbox: must be a mailto: IRI such as "
        "mailto:sade@example.com. Nothing of this request was stored.",
        "statement": 2,
        "field": "actor.mbox",
    }
    assert state() == before


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "message"),
    [
        (b"{not json", "application/json", 400, "The body is not valid JSON"),
        (b"[]", "application/json", 400, "The body must be a statement (a JSON object) or a non-empty list"),
        (b"statement=1", "application/x-www-form-urlencoded", 415, "Send statements as application/json"),
    ],
)
def test_bodies_that_are_not_statements(team, lrs, raw, content_type, status, message):
    before = state()

    response = lrs.send(team.connection, None, raw=raw, content_type=content_type)

    assert assert_json_error(response, status)["error"].startswith(message)
    assert state() == before


def test_a_body_over_the_limit_is_refused_before_it_is_read(team, lrs, settings):
    settings.XAPI_MAX_BODY_KB = 1
    before = state()
    big = [statement(100 + n, "sade", "attempted", f"course-{n}", "A course with a long title", None) for n in range(9)]
    assert len(json.dumps(big)) > 1024

    response = lrs.send(team.connection, big)

    assert assert_json_error(response, 413) == {
        "error": "The body is larger than 1 KB: send fewer statements per request."
    }
    assert state() == before


def test_paused_connections_other_kinds_and_unknown_ids_take_nothing(team, lrs):
    paused = xapi_connection(name="paused", client_id=CLIENT_ID, client_secret=SECRET, is_active=False)
    coursera = ConnectionFactory(name="coursera", kind="coursera", client_id=CLIENT_ID, client_secret=SECRET)
    before = state()

    refused_paused = lrs.send(paused, SAFETY)
    token_paused = lrs.token(paused, token_form())
    other_kind = lrs.send(coursera, SAFETY)
    token_other_kind = lrs.token(coursera, token_form())
    unknown = lrs.send(coursera.pk + 1000, SAFETY)
    wrong_secret_paused = lrs.send(paused, SAFETY, authorization=basic(CLIENT_ID, "nope"))

    assert assert_json_error(refused_paused, 403) == {
        "error": "This connection is paused in LearnHub: it takes nothing until an L&D admin resumes it."
    }
    assert (token_paused.status_code, token_paused.json()["error"]) == (400, "unauthorized_client")
    for response in (other_kind, unknown):
        assert assert_json_error(response, 404) == {
            "error": "No xAPI connection has this address: check the connection id on its page in LearnHub (Providers)."
        }
    assert (token_other_kind.status_code, token_other_kind.json()["error"]) == (404, "invalid_request")
    assert wrong_secret_paused.status_code == 401  # a stranger does not learn that it is paused
    assert state() == before


def test_other_methods_are_refused_and_about_says_the_version(team, lrs, live_server):
    import requests

    base = f"{live_server.url}/xapi/{team.connection.pk}"
    listed = requests.get(f"{base}/statements", headers={"Authorization": basic()}, timeout=10)
    token_get = requests.get(f"{base}/oauth2/token", timeout=10)
    about = requests.get(f"{base}/about", timeout=10)
    nowhere = requests.post(f"{base}/statementz", timeout=10)

    assert assert_json_error(listed, 405)["error"].startswith("Send statements with POST")
    assert listed.headers["Allow"] == "POST, PUT"
    assert (assert_json_error(token_get, 405), token_get.headers["Allow"]) == (
        {"error": "Ask for a token with a form POST (grant_type=client_credentials)."},
        "POST",
    )
    assert (about.status_code, about.json()) == (200, {"version": ["1.0.3"], "extensions": {}})
    assert nowhere.status_code == 404 and "<html" not in nowhere.text.lower()


def test_statements_without_an_id_get_one_each(team, lrs):
    nameless = {k: v for k, v in SAFETY.items() if k != "id"}

    first = lrs.send(team.connection, nameless).json()
    second = lrs.send(team.connection, nameless).json()

    assert len(first) == len(second) == 1 and first != second
    assert sorted(str(i) for i in XapiStatement.objects.values_list("statement_id", flat=True)) == sorted(
        first + second
    )
    assert all(uuid.UUID(i).version == 4 for i in first + second)
    # Two statements, one course: it counts once.
    assert program_progress(program=team.program, as_of=END).company.completions == 1
