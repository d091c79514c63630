"""What LearnHub reads from an xAPI statement (programs/xapi/statements.py): which ones are
completions, the learner, the course and its title, the time, voiding, the canonical hash
of the "same statement" rule, and the exact message of every refusal. Pure: no database."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from programs.xapi.statements import (
    StatementError,
    body_parsed,
    statement_hash,
    statement_parsed,
    statements_parsed,
    version_problem,
)

VERB = "http://adlnet.gov/expapi/verbs/"
SID = "6f1d2c3b-0a9e-4b7c-8d5e-000000000001"


def stmt(verb_name: str = "completed", **more) -> dict:
    return {
        "id": SID,
        "actor": {"mbox": "mailto:Sade@Acme.example", "name": "Sade Okafor"},
        "verb": {"id": VERB + verb_name, "display": {"en-US": verb_name}},
        "object": {"id": "https://academy.acme.example/courses/safety", "definition": {"name": {"en-US": "Safety"}}},
        "timestamp": "2024-09-12T16:00:00Z",
        **more,
    }


def error_of(body, **kwargs) -> tuple[str, int | None, str]:
    with pytest.raises(StatementError) as caught:
        statements_parsed(body, **kwargs)
    return str(caught.value), caught.value.index, caught.value.field


@pytest.mark.parametrize(
    ("changes", "completion"),
    [
        ({}, True),
        ({"verb": {"id": VERB + "passed"}}, True),
        ({"verb": {"id": VERB + "attempted"}}, False),
        ({"verb": {"id": VERB + "experienced"}, "result": {"completion": True}}, True),
        ({"verb": {"id": VERB + "experienced"}, "result": {"completion": False}}, False),
        ({"verb": {"id": VERB + "failed"}, "result": {"success": False}}, False),
        # A completion needs an activity: a completed agent or sub-statement is no course.
        ({"object": {"objectType": "Agent", "mbox": "mailto:x@acme.example"}}, False),
    ],
)
def test_which_statements_are_completions(changes, completion):
    assert statement_parsed(stmt(**changes)).is_completion is completion


def test_learner_course_title_and_time_of_an_mbox_statement():
    parsed = statement_parsed(stmt())
    assert (parsed.email, parsed.external_id, parsed.learner_key, parsed.full_name) == (
        "sade@acme.example",
        "",
        "sade@acme.example",
        "Sade Okafor",
    )
    assert (parsed.object_id, parsed.course_title) == ("https://academy.acme.example/courses/safety", "Safety")
    assert parsed.occurred_at == dt.datetime(2024, 9, 12, 16, 0, tzinfo=dt.UTC)
    assert parsed.statement_id == uuid.UUID(SID)
    assert parsed.voids is None


def test_an_account_name_is_the_external_id():
    actor = {"account": {"homePage": "https://academy.acme.example/", "name": " BW07 "}}
    parsed = statement_parsed(stmt(actor=actor))
    assert (parsed.email, parsed.external_id, parsed.learner_key) == ("", "BW07", "BW07")


def test_an_account_name_that_is_an_e_mail_is_keyed_in_lower_case():
    actor = {"account": {"homePage": "https://academy.acme.example/", "name": "Rui@Acme.example"}}
    parsed = statement_parsed(stmt(actor=actor))
    assert (parsed.external_id, parsed.learner_key) == ("Rui@Acme.example", "rui@acme.example")


def test_an_actor_known_only_by_its_sha1_is_valid_but_has_no_learner():
    parsed = statement_parsed(stmt(actor={"mbox_sha1sum": "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}))
    assert (parsed.learner_key, parsed.is_completion) == ("", True)


@pytest.mark.parametrize(
    ("names", "title"),
    [
        ({"fr-FR": "Sécurité", "en-US": "Safety", "en": "Safety (en)"}, "Safety"),
        ({"fr-FR": "Sécurité", "en": "Safety (en)"}, "Safety (en)"),
        ({"fr-FR": "Sécurité", "de-DE": "Sicherheit"}, "Sicherheit"),
        ({}, ""),
    ],
)
def test_the_title_prefers_en_us_then_en_then_any(names, title):
    target = {"id": "https://academy.acme.example/courses/safety", "definition": {"name": names}}
    assert statement_parsed(stmt(object=target)).course_title == title


@pytest.mark.parametrize(
    ("times", "when"),
    [
        ({"timestamp": "2024-12-10T09:15:00-08:00"}, dt.datetime(2024, 12, 10, 17, 15, tzinfo=dt.UTC)),
        ({"timestamp": "2024-12-10T09:15:00"}, dt.datetime(2024, 12, 10, 9, 15, tzinfo=dt.UTC)),  # no zone: UTC
        ({"timestamp": None, "stored": "2024-12-11T08:00:00.250Z"}, dt.datetime(2024, 12, 11, 8, 0, 0, 250000, dt.UTC)),
        ({"timestamp": None}, None),  # neither: the time it is received (services)
    ],
)
def test_the_time_is_the_timestamp_else_stored(times, when):
    parsed = statement_parsed(stmt(**times))
    assert parsed.occurred_at == when
    assert parsed.occurred_at is None or parsed.occurred_at.tzinfo is not None


def test_a_voiding_statement_names_the_statement_it_voids():
    voiding = stmt("voided", id=str(uuid.uuid4()), object={"objectType": "StatementRef", "id": SID.upper()})
    parsed = statement_parsed(voiding)
    assert (parsed.voids, parsed.is_completion, parsed.object_id) == (uuid.UUID(SID), False, "")


def test_a_statement_ref_without_the_voided_verb_voids_nothing():
    ref = stmt("experienced", object={"objectType": "StatementRef", "id": SID})
    assert statement_parsed(ref).voids is None


def test_a_statement_without_an_id_gets_one():
    data = stmt()
    del data["id"]
    parsed = statement_parsed(data)
    assert parsed.statement_id.version == 4
    assert parsed.data["id"] == str(parsed.statement_id)


def test_the_same_statement_has_the_same_hash_whatever_the_lrs_added():
    again = {
        **stmt(),
        "id": SID.upper(),
        "timestamp": "2024-09-12T16:00:00.000+00:00",
        "stored": "2024-09-12T16:00:05Z",
        "authority": {"mbox": "mailto:lrs@acme.example"},
        "version": "1.0.3",
    }
    reordered = dict(reversed(list(stmt().items())))
    assert statement_hash(again) == statement_hash(stmt()) == statement_hash(reordered)


@pytest.mark.parametrize(
    "changes",
    [
        {"verb": {"id": VERB + "failed", "display": {"en-US": "failed"}}},
        {"result": {"completion": True}},
        {"timestamp": "2024-09-12T16:00:01Z"},
        {"actor": {"mbox": "mailto:someone.else@acme.example"}},
    ],
)
def test_a_different_statement_has_another_hash(changes):
    assert statement_hash(stmt(**changes)) != statement_hash(stmt())


def test_a_batch_keeps_its_order():
    second = stmt("attempted", id="6f1d2c3b-0a9e-4b7c-8d5e-000000000002")
    assert [str(p.statement_id)[-2:] for p in statements_parsed([stmt(), second])] == ["01", "02"]


def test_put_takes_the_id_from_the_query():
    data = stmt()
    del data["id"]
    (parsed,) = statements_parsed(data, statement_id=SID)
    assert parsed.statement_id == uuid.UUID(SID)
    assert parsed.data["id"] == SID


@pytest.mark.parametrize(
    ("body", "kwargs", "message", "index", "field"),
    [
        ([], {}, "The body must be a statement (a JSON object) or a non-empty list of statements.", None, ""),
        ("x", {}, "The body must be a statement (a JSON object) or a non-empty list of statements.", None, ""),
        (
            [stmt(), 3],
            {},
            "Statement 1 of the batch (counted from 0): a statement must be a JSON object.",
            1,
            "",
        ),
        (
            [stmt(), stmt("attempted")],
            {},
            f"Statement 1 of the batch (counted from 0), id: the id {SID} is also the id of statement 0.",
            1,
            "id",
        ),
        (
            stmt(actor={"mbox": "sade@acme.example"}),
            {},
            "actor.mbox: must be a mailto: IRI such as mailto:sade@example.com.",
            None,
            "actor.mbox",
        ),
        (
            stmt(actor={"mbox": "mailto:a@acme.example", "account": {"homePage": "https://x.example", "name": "A"}}),
            {},
            "actor: an agent needs exactly one of mbox, mbox_sha1sum, openid or account.",
            None,
            "actor",
        ),
        (
            stmt(actor={"account": {"homePage": "https://x.example", "name": ""}}),
            {},
            "actor.account.name: must be a non-empty string.",
            None,
            "actor.account.name",
        ),
        ({**stmt(), "actor": None}, {}, "actor: is required.", None, "actor"),
        (stmt(verb={"display": {}}), {}, "verb.id: is required.", None, "verb.id"),
        (
            stmt(verb={"id": "completed"}),
            {},
            "verb.id: must be an IRI such as https://example.com/courses/safety.",
            None,
            "verb.id",
        ),
        (
            stmt(object={"objectType": "Course", "id": "https://x.example/c"}),
            {},
            "object.objectType: 'Course' is not an object type: Activity, Agent, Group, SubStatement or StatementRef.",
            None,
            "object.objectType",
        ),
        (
            stmt(object={"id": "https://x.example/" + "c" * 2000}),
            {},
            "object.id: is longer than 2000 characters.",
            None,
            "object.id",
        ),
        (
            stmt("voided"),
            {},
            "a voided statement's object must be a StatementRef to the statement it voids.",
            None,
            "",
        ),
        (
            stmt(id="42"),
            {},
            "id: must be a UUID such as 6f1d2c3b-0a9e-4b7c-8d5e-000000000001.",
            None,
            "id",
        ),
        (stmt(timestamp="yesterday"), {}, "timestamp: 'yesterday' is not an ISO 8601 time.", None, "timestamp"),
        (
            stmt(result={"completion": "yes"}),
            {},
            "result.completion: must be true or false.",
            None,
            "result.completion",
        ),
        (stmt(result=[]), {}, "result: must be a JSON object.", None, "result"),
        (stmt(version="2.0.0"), {}, "version: must be 1.0.x.", None, "version"),
        ([stmt()], {"statement_id": SID}, "A PUT carries one statement: a JSON object.", None, ""),
        (
            stmt(),
            {"statement_id": "6f1d2c3b-0a9e-4b7c-8d5e-000000000009"},
            "id: The statement's id differs from the statementId parameter.",
            None,
            "id",
        ),
        (
            stmt(),
            {"statement_id": "nope"},
            "statementId: must be a UUID such as 6f1d2c3b-0a9e-4b7c-8d5e-000000000001.",
            None,
            "statementId",
        ),
    ],
)
def test_refusals_say_what_and_where(body, kwargs, message, index, field):
    assert error_of(body, **kwargs) == (message, index, field)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfe", "The body is not UTF-8 text."),
        (b"{", "The body is not valid JSON (Expecting property name enclosed in double quotes at line 1, column 2)."),
        (b'{"a": NaN}', "The body is not valid JSON: NaN is not a JSON value."),
        (b'{"a": "\\u0000"}', "The body contains a NUL character (\\u0000), which LearnHub cannot store."),
    ],
)
def test_bodies_that_are_not_json(raw, message):
    with pytest.raises(StatementError) as caught:
        body_parsed(raw)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("1.0.3", ""),
        ("1.0.0", ""),
        ("1.0", ""),
        (None, "The X-Experience-API-Version header is required: send 1.0.3 (any 1.0.x is accepted)."),
        ("", "The X-Experience-API-Version header is required: send 1.0.3 (any 1.0.x is accepted)."),
        ("2.0.0", "X-Experience-API-Version '2.0.0' is not supported: send 1.0.3 (any 1.0.x)."),
        ("0.95", "X-Experience-API-Version '0.95' is not supported: send 1.0.3 (any 1.0.x)."),
    ],
)
def test_the_version_header(header, problem):
    assert version_problem(header) == problem
