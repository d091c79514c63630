"""xAPI statements as LearnHub reads them (xAPI 1.0.3, "Data" and "Communication" parts):
the version header, the checks a request body must pass before anything is stored, what a
statement says (learner, course, completion, voiding, time) and its canonical hash.

Pure functions: no query, no write.

What counts (the rule of the whole intake):
- A statement is a **completion** when its object is an activity (the course: `object.id`)
  and its verb is `http://adlnet.gov/expapi/verbs/completed` or `.../passed`, or its
  `result.completion` is true.
- The **learner** is `actor.account.name` (an external id) or `actor.mbox` without its
  `mailto:` (an e-mail, compared in lower case). An actor known only by `mbox_sha1sum` or
  `openid` is a valid statement that LearnHub cannot match: its completion is kept as an
  invalid record by the pipeline.
- The **title** is `object.definition.name`, a language map: en-US, else en, else the first
  language in alphabetical order.
- The **time** is `timestamp`, else `stored`, else when LearnHub received the statement; a
  time without a zone is UTC.
- A statement whose verb is `http://adlnet.gov/expapi/verbs/voided` and whose object is a
  `StatementRef` **voids** the statement it names (unless that one is itself a voiding
  statement, as the specification says).
- Everything else is stored and ignored.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

XAPI_VERSION = "1.0.3"  # what LearnHub answers in X-Experience-API-Version
VERBS = "http://adlnet.gov/expapi/verbs/"
VERB_COMPLETED = VERBS + "completed"
VERB_PASSED = VERBS + "passed"
VERB_VOIDED = VERBS + "voided"
COMPLETION_VERBS = frozenset({VERB_COMPLETED, VERB_PASSED})
# Properties an LRS sets itself: left out when two statements with one id are compared.
LRS_PROPERTIES = ("stored", "authority", "version")
IRI_MAX = 2000  # XapiStatement.verb_id and object_id
ACCOUNT_NAME_MAX = 500  # XapiStatement.learner_key
EMAIL_MAX = 254  # XapiStatement.email
AGENT_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")
ACTIVITY, STATEMENT_REF, AGENT, GROUP, SUB_STATEMENT = "Activity", "StatementRef", "Agent", "Group", "SubStatement"

_VERSION = re.compile(r"1\.0(\.\d+)?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_IRI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")


class StatementError(ValueError):
    """The request body or one of its statements is refused (400). The message says what is
    wrong and where: `index` is the statement's position in a batch (from 0; None for a
    single statement or the body as a whole) and `field` its dotted property path."""

    def __init__(self, message: str, *, index: int | None = None, field: str = "") -> None:
        self.problem = message
        self.index = index
        self.field = field
        where = f"Statement {index} of the batch (counted from 0)" if index is not None else ""
        if field:
            where = f"{where}, {field}" if where else field
        super().__init__(f"{where}: {message}" if where else message)


def version_problem(header: str | None) -> str:
    """Why an X-Experience-API-Version header is refused ("" when it is fine): LearnHub
    speaks 1.0.x (1.0.0 to 1.0.3 are the same data model), and the header is required."""
    if header is None or not header.strip():
        return "The X-Experience-API-Version header is required: send 1.0.3 (any 1.0.x is accepted)."
    if not _VERSION.fullmatch(header.strip()):
        return f"X-Experience-API-Version {header.strip()[:20]!r} is not supported: send 1.0.3 (any 1.0.x)."
    return ""


@dataclass(frozen=True)
class ParsedStatement:
    """One checked statement and what LearnHub reads from it (see the module docstring)."""

    statement_id: uuid.UUID
    data: dict[str, Any]
    canonical_hash: str
    verb_id: str
    email: str
    external_id: str
    full_name: str
    object_id: str
    course_title: str
    is_completion: bool
    voids: uuid.UUID | None
    occurred_at: dt.datetime | None

    @property
    def learner_key(self) -> str:
        """The learner within the connection: the account name, else the e-mail ("" when
        the actor has neither). An account name that looks like an e-mail is compared in
        lower case, as the sync pipeline keys its learners."""
        key = self.external_id or self.email
        return key.lower() if "@" in key else key


def body_parsed(raw: bytes) -> Any:
    """The JSON of a request body. Refused: not UTF-8, not JSON, NaN or Infinity (not JSON,
    though Python reads them) and the NUL character (a database cannot store it in JSON)."""

    def no_constant(name: str) -> Any:
        raise StatementError(f"The body is not valid JSON: {name} is not a JSON value.")

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise StatementError("The body is not UTF-8 text.") from None
    try:
        data = json.loads(text, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        raise StatementError(
            f"The body is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
        ) from None
    if "\\u0000" in json.dumps(data):
        raise StatementError("The body contains a NUL character (\\u0000), which LearnHub cannot store.")
    return data


def statements_parsed(body: Any, *, statement_id: str | None = None) -> list[ParsedStatement]:
    """The statements of a request body, each checked, in order.

    POST (`statement_id` None): one statement object or a non-empty list of them; a
    statement without an `id` gets a new one (the list of ids in the answer says which).
    PUT (`statement_id` from `?statementId=`): one statement object, whose `id`, if any,
    must be that id. Two statements of one batch may not share an id.

    Raises StatementError on the first problem: the request is refused as a whole."""
    if statement_id is not None:
        wanted = _uuid(statement_id, field="statementId")
        if not isinstance(body, dict):
            raise StatementError("A PUT carries one statement: a JSON object.")
        given = body.get("id")
        if given is not None and _uuid(given, field="id") != wanted:
            raise StatementError("The statement's id differs from the statementId parameter.", field="id")
        return [statement_parsed({**body, "id": str(wanted)})]
    if isinstance(body, dict):
        return [statement_parsed(body)]
    if not isinstance(body, list) or not body:
        raise StatementError("The body must be a statement (a JSON object) or a non-empty list of statements.")
    parsed = [statement_parsed(item, index=index) for index, item in enumerate(body)]
    seen: dict[uuid.UUID, int] = {}
    for index, statement in enumerate(parsed):
        if statement.statement_id in seen:
            raise StatementError(
                f"the id {statement.statement_id} is also the id of statement {seen[statement.statement_id]}.",
                index=index,
                field="id",
            )
        seen[statement.statement_id] = index
    return parsed


def statement_parsed(data: Any, *, index: int | None = None) -> ParsedStatement:
    """One statement checked and read (see the module docstring for what counts). The
    checks are the xAPI data rules LearnHub relies on: an actor with exactly one
    identifier (a group may be anonymous), a verb IRI, an activity, agent, group,
    sub-statement or StatementRef object, a voiding statement whose object is a
    StatementRef, well-formed ids, times and results. Properties LearnHub does not read
    are kept as they came. Raises StatementError."""

    def problem(message: str, field: str = "") -> StatementError:
        return StatementError(message, index=index, field=field)

    if not isinstance(data, dict):
        raise problem("a statement must be a JSON object.")
    try:
        statement_id = _uuid(data["id"], field="id") if data.get("id") is not None else uuid.uuid4()
        email, external_id, full_name = _agent(_required(data, "actor"), field="actor")
        verb = _required(data, "verb")
        verb_id = _iri(_required(verb, "id", field="verb"), field="verb.id")
        target = _required(data, "object")
        object_type = _object_type(target)
        object_id, course_title, voids = "", "", None
        if object_type == ACTIVITY:
            object_id = _iri(_required(target, "id", field="object"), field="object.id")
            course_title = activity_title(target.get("definition"))
        elif object_type == STATEMENT_REF:
            voids = _uuid(_required(target, "id", field="object"), field="object.id")
        elif object_type in (AGENT, GROUP):
            _agent(target, field="object")
        else:
            _sub_statement(target)
        if verb_id == VERB_VOIDED and object_type != STATEMENT_REF:
            raise StatementError("a voided statement's object must be a StatementRef to the statement it voids.")
        if verb_id != VERB_VOIDED:
            voids = None
        result = _optional_object(data, "result")
        completion = _optional_bool(result, "completion", field="result")
        _optional_bool(result, "success", field="result")
        _optional_object(data, "context")
        timestamp = _optional_time(data, "timestamp")
        stored = _optional_time(data, "stored")
        version = data.get("version")
        if version is not None and (not isinstance(version, str) or not _VERSION.fullmatch(version)):
            raise StatementError("must be 1.0.x.", field="version")
    except StatementError as exc:
        raise StatementError(exc.problem, index=index, field=exc.field) from None
    received = {**data, "id": str(statement_id)}
    return ParsedStatement(
        statement_id=statement_id,
        data=received,
        canonical_hash=statement_hash(received),
        verb_id=verb_id,
        email=email,
        external_id=external_id,
        full_name=full_name,
        object_id=object_id,
        course_title=course_title,
        is_completion=object_type == ACTIVITY and (verb_id in COMPLETION_VERBS or completion is True),
        voids=voids,
        occurred_at=timestamp or stored,
    )


def statement_hash(data: dict[str, Any]) -> str:
    """The sha256 of a statement as the xAPI "same statement" rule compares it: without
    the properties an LRS sets (`stored`, `authority`, `version`), ids in lower case, the
    timestamp as an instant (`Z` and `+00:00` are the same), keys in any order. Two posts
    of one statement give the same hash; a changed verb, result, actor, ... does not."""
    canonical = {key: value for key, value in data.items() if key not in LRS_PROPERTIES}
    if isinstance(canonical.get("id"), str):
        canonical["id"] = canonical["id"].lower()
    target = canonical.get("object")
    if isinstance(target, dict) and target.get("objectType") == STATEMENT_REF and isinstance(target.get("id"), str):
        canonical["object"] = {**target, "id": target["id"].lower()}
    if isinstance(canonical.get("timestamp"), str):
        with contextlib.suppress(StatementError):  # a statement stored is already checked
            canonical["timestamp"] = _datetime(canonical["timestamp"], field="timestamp").isoformat()
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


# --- Checks of the parts ----------------------------------------------------------------


def _required(data: dict[str, Any], key: str, *, field: str = "") -> Any:
    name = f"{field}.{key}" if field else key
    value = data.get(key)
    if value is None:
        raise StatementError("is required.", field=name)
    if key != "id" and not isinstance(value, dict):
        raise StatementError("must be a JSON object.", field=name)
    return value


def _uuid(value: Any, *, field: str) -> uuid.UUID:
    if not isinstance(value, str) or not _UUID.fullmatch(value.strip()):
        raise StatementError("must be a UUID such as 6f1d2c3b-0a9e-4b7c-8d5e-000000000001.", field=field)
    return uuid.UUID(value.strip())


def _iri(value: Any, *, field: str) -> str:
    if not isinstance(value, str) or not _IRI_SCHEME.fullmatch(value.strip()):
        raise StatementError("must be an IRI such as https://example.com/courses/safety.", field=field)
    if len(value.strip()) > IRI_MAX:
        raise StatementError(f"is longer than {IRI_MAX} characters.", field=field)
    return value.strip()


def _datetime(value: Any, *, field: str) -> dt.datetime:
    """An ISO 8601 time, aware: one without a zone is UTC."""
    if not isinstance(value, str):
        raise StatementError("must be an ISO 8601 time such as 2024-09-12T16:00:00Z.", field=field)
    try:
        moment = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise StatementError(f"{value[:40]!r} is not an ISO 8601 time.", field=field) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _optional_time(data: dict[str, Any], key: str) -> dt.datetime | None:
    return None if data.get(key) is None else _datetime(data[key], field=key)


def _optional_object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise StatementError("must be a JSON object.", field=key)
    return value


def _optional_bool(data: dict[str, Any], key: str, *, field: str) -> bool | None:
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        raise StatementError("must be true or false.", field=f"{field}.{key}")
    return value


def _object_type(target: dict[str, Any]) -> str:
    kind = target.get("objectType", ACTIVITY)
    if kind not in (ACTIVITY, STATEMENT_REF, AGENT, GROUP, SUB_STATEMENT):
        raise StatementError(
            f"{str(kind)[:40]!r} is not an object type: Activity, Agent, Group, SubStatement or StatementRef.",
            field="object.objectType",
        )
    return str(kind)


def _agent(actor: dict[str, Any], *, field: str) -> tuple[str, str, str]:
    """(e-mail, account name, name) of an agent or identified group: exactly one
    identifier for an agent; a group has at most one, and an anonymous group lists its
    members (then no learner is known)."""
    kind = actor.get("objectType", AGENT)
    if kind not in (AGENT, GROUP):
        raise StatementError("must be Agent or Group.", field=f"{field}.objectType")
    ifis = [key for key in AGENT_IFIS if actor.get(key) is not None]
    if kind == AGENT and len(ifis) != 1:
        raise StatementError("an agent needs exactly one of mbox, mbox_sha1sum, openid or account.", field=field)
    if kind == GROUP and (len(ifis) > 1 or (not ifis and not isinstance(actor.get("member"), list))):
        raise StatementError("a group needs one identifier, or a member list when it is anonymous.", field=field)
    name = actor.get("name")
    if name is not None and not isinstance(name, str):
        raise StatementError("must be a string.", field=f"{field}.name")
    email = external_id = ""
    if "mbox" in ifis:
        mbox = actor["mbox"]
        if not isinstance(mbox, str) or not mbox.startswith("mailto:") or "@" not in mbox:
            raise StatementError("must be a mailto: IRI such as mailto:sade@example.com.", field=f"{field}.mbox")
        email = mbox.removeprefix("mailto:").strip().lower()
        if len(email) > EMAIL_MAX:
            raise StatementError(f"is longer than {EMAIL_MAX} characters.", field=f"{field}.mbox")
    elif "account" in ifis:
        account = actor["account"]
        if not isinstance(account, dict):
            raise StatementError("must be a JSON object with homePage and name.", field=f"{field}.account")
        home, account_name = account.get("homePage"), account.get("name")
        if not isinstance(home, str) or not _IRI_SCHEME.fullmatch(home.strip()):
            raise StatementError("must be an IRI.", field=f"{field}.account.homePage")
        if not isinstance(account_name, str) or not account_name.strip():
            raise StatementError("must be a non-empty string.", field=f"{field}.account.name")
        external_id = account_name.strip()
        if len(external_id) > ACCOUNT_NAME_MAX:
            raise StatementError(f"is longer than {ACCOUNT_NAME_MAX} characters.", field=f"{field}.account.name")
    elif ifis and not isinstance(actor[ifis[0]], str):
        raise StatementError("must be a string.", field=f"{field}.{ifis[0]}")
    return email, external_id, (name or "").strip()


def _sub_statement(target: dict[str, Any]) -> None:
    for key in ("actor", "verb", "object"):
        _required(target, key, field="object")
    _agent(target["actor"], field="object.actor")
    _iri(_required(target["verb"], "id", field="object.verb"), field="object.verb.id")


def activity_title(definition: Any) -> str:
    """The activity's name from its language map: en-US, else en, else the first language
    in alphabetical order ("" when there is none)."""
    if not isinstance(definition, dict):
        return ""
    names = definition.get("name")
    if not isinstance(names, dict):
        return ""
    texts = {str(lang): text.strip() for lang, text in names.items() if isinstance(text, str) and text.strip()}
    for lang in ("en-US", "en"):
        if lang in texts:
            return texts[lang]
    return texts[min(texts)] if texts else ""
