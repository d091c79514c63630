"""What the xAPI tests share: a small Support team whose completions arrive as xAPI
statements, the statements themselves, and a client that posts them over real HTTP.

Support (Sade, Rui, Wen, Hana) in a 2024 program; an xapi connection "lrs" whose client id
is `lrs-client`. The statements: Sade completed Safety (mbox), Rui passed Privacy (account
name = his external id), Wen completed Ethics (later voided), Hana only attempted Safety,
and a contractor who is not on the roster completed Safety."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

from programs.models import Employee, LearningProgram, ProviderConnection
from tests.factories import ConnectionFactory, EmployeeFactory, ProgramFactory, org

CLIENT_ID, SECRET = "lrs-client", "lrs-secret-never-shown-4f2a"
VERB = "http://adlnet.gov/expapi/verbs/"
ACADEMY = "https://academy.acme.example/"
JSON = "application/json"


def statement(n: int, who: str | dict, verb: str, course: str, title: str, when: str | None, **more: Any) -> dict:
    """Statement number `n` (its id ends in n): `who` is an e-mail's local part at
    acme.example, or a whole actor."""
    actor = who if isinstance(who, dict) else {"mbox": f"mailto:{who}@acme.example"}
    data = {
        "id": f"6f1d2c3b-0a9e-4b7c-8d5e-{n:012d}",
        "actor": actor,
        "verb": {"id": VERB + verb, "display": {"en-US": verb}},
        "object": {"id": f"{ACADEMY}courses/{course}", "definition": {"name": {"en-US": title}}},
        **more,
    }
    if when is not None:
        data["timestamp"] = when
    return data


SAFETY = statement(1, "sade", "completed", "safety", "Workplace Safety", "2024-09-12T16:00:00Z")
PRIVACY = statement(
    2,
    {"account": {"homePage": ACADEMY, "name": "BW07"}},
    "passed",
    "privacy",
    "Privacy Basics",
    "2024-12-10T09:15:00-08:00",
    result={"success": True},
)
ETHICS = statement(3, "wen", "completed", "ethics", "Ethics at Work", "2024-08-01T12:00:00Z")
ATTEMPT = statement(4, "hana", "attempted", "safety", "Workplace Safety", "2024-09-30T10:00:00Z")
VOID_ETHICS = {
    **statement(5, "lrs-admin", "voided", "", "", "2024-08-02T09:00:00Z"),
    "object": {"objectType": "StatementRef", "id": ETHICS["id"]},
}
CONFLICT = {**SAFETY, "verb": {"id": VERB + "failed", "display": {"en-US": "failed"}}}
CONTRACTOR = statement(6, {"mbox": "mailto:Kim@Vendor.example"}, "completed", "safety", "Workplace Safety", None)

SAFETY_ID, ETHICS_ID = f"{ACADEMY}courses/safety", f"{ACADEMY}courses/ethics"


@dataclass
class Team:
    program: LearningProgram
    connection: ProviderConnection
    sade: Employee
    rui: Employee
    wen: Employee
    hana: Employee


def team_create() -> Team:
    support = org("Acme/Support")
    program = ProgramFactory(
        name="Learning 2024", starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2024, 12, 31), target_rate=Decimal("0.9")
    )
    people = {
        name: EmployeeFactory(email=f"{name}@acme.example", external_id=external, organization=support)
        for name, external in (("sade", "BW06"), ("rui", "BW07"), ("wen", "BW05"), ("hana", "BW08"))
    }
    connection = xapi_connection(name="lrs", client_id=CLIENT_ID, client_secret=SECRET)
    return Team(program=program, connection=connection, **people)


def xapi_connection(*, name: str, client_id: str, client_secret: str, is_active: bool = True) -> ProviderConnection:
    return ConnectionFactory(
        name=name, kind="xapi", client_id=client_id, client_secret=client_secret, is_active=is_active
    )


def basic(user: str = CLIENT_ID, password: str = SECRET) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Lrs:
    """Posts to a running LearnHub's xAPI addresses over real HTTP."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def send(
        self,
        connection: ProviderConnection | int,
        body: Any,
        *,
        method: str = "POST",
        version: str | None = "1.0.3",
        authorization: str | None = None,
        query: str = "",
        content_type: str = JSON,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        cid = connection if isinstance(connection, int) else connection.pk
        sent = {
            "Content-Type": content_type,
            "Authorization": basic() if authorization is None else authorization,
            **({"X-Experience-API-Version": version} if version else {}),
            **(headers or {}),
        }
        if not sent["Authorization"]:
            del sent["Authorization"]
        data = raw if raw is not None else json.dumps(body).encode()
        url = f"{self.base_url}/xapi/{cid}/statements{query}"
        return requests.request(method, url, data=data, headers=sent, timeout=30, allow_redirects=False)

    def token(
        self, connection: ProviderConnection | int, form: dict[str, str], *, headers: dict[str, str] | None = None
    ) -> requests.Response:
        cid = connection if isinstance(connection, int) else connection.pk
        url = f"{self.base_url}/xapi/{cid}/oauth2/token"
        return requests.post(url, data=form, headers=headers or {}, timeout=30, allow_redirects=False)


def token_form(client_id: str = CLIENT_ID, client_secret: str = SECRET, **more: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "scope": "xapi:write",
        "client_id": client_id,
        "client_secret": client_secret,
        **more,
    }
