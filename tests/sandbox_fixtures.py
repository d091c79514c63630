"""The provider sandboxes as pytest fixtures: a real HTTP server on a free port, in a
thread, stopped after the test (PYTEST_DONT_REWRITE: no assertions here). A test
module that uses them declares

    pytest_plugins = ["tests.sandbox_fixtures"]

`sandbox_factory(records=[...], **faults)` starts the Coursera sandbox (org "demo-org",
program "demo-program", client "demo"/"demo-secret") and returns it;
`provider_sandbox(UdemySandbox, rows=[...], **faults)` starts another provider's (the
keyword arguments that are SandboxFaults fields are faults, the others its data).
`sandbox.base_url` and `sandbox.token_url` go into the adapter or a ProviderConnection;
`sandbox_connection(sandbox)` saves a Coursera connection that reads the Coursera sandbox.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from programs.providers.coursera_sandbox import SandboxData, SandboxFaults, SandboxServer, sandbox_data_from_records
from programs.providers.sandbox import ProviderSandbox

CLIENT_ID = "demo"
CLIENT_SECRET = "demo-secret"
ORG_ID = "demo-org"
PROGRAM_ID = "demo-program"


def sandbox_connection(sandbox: SandboxServer, *, name: str = "sandbox") -> Any:
    """A saved Coursera connection that reads `sandbox` (its org, program and client)."""
    from tests.factories import ConnectionFactory

    return ConnectionFactory(
        name=name,
        base_url=sandbox.base_url,
        token_url=sandbox.token_url,
        provider_org_id=ORG_ID,
        provider_program_ids=[PROGRAM_ID],
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )


def coursera_element(n: int, email: str, /, **overrides: Any) -> dict[str, Any]:
    """One Coursera `enrollmentReports` element: learner `email` (also the external id,
    as Coursera defaults it) completed course "C<n>" on 2024-02-01; `overrides` replace or
    add fields (a value of `...` drops the field)."""
    element = {
        "id": f"{email}~C{n}~{PROGRAM_ID}",
        "externalId": email,
        "email": email,
        "fullName": f"Learner {n}",
        "programId": PROGRAM_ID,
        "contentId": f"C{n}",
        "contentType": "Course",
        "contentName": f"Course {n}",
        "enrolledAt": 1704103200000,  # 2024-01-01T10:00Z
        "isCompleted": True,
        "completedAt": 1706781600000,  # 2024-02-01T10:00Z
        "overallProgress": 100,
    }
    element.update(overrides)
    return {key: value for key, value in element.items() if value is not ...}


def child_env() -> dict[str, str]:
    """The environment of a `manage.py` child process (a sandbox command) that reads this
    test's database; the test needs `django_db(transaction=True)` so the child sees its rows."""
    database = settings.DATABASES["default"]
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    return {**os.environ, "DEBUG": "true", "DATABASE_URL": url}


class FakeClock:
    """A clock tests move by hand, for token lifetimes (shared by sandbox and adapter)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Sleeps(list[float]):
    """Records the delays an adapter asked for instead of waiting them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sandbox_factory() -> Iterator[Any]:
    started: list[SandboxServer] = []

    def start(
        *,
        records: list[dict[str, Any]] | None = None,
        data: SandboxData | None = None,
        program_ids: tuple[str, ...] = (PROGRAM_ID,),
        clock: Any = None,
        **faults: Any,
    ) -> SandboxServer:
        if data is None:
            data = sandbox_data_from_records(records=records or [], org_id=ORG_ID, program_ids=program_ids)
        options: dict[str, Any] = {"clock": clock} if clock is not None else {}
        server = SandboxServer(
            data=data, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, faults=SandboxFaults(**faults), **options
        ).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


FAULTS = {f.name for f in dataclasses.fields(SandboxFaults)}


@pytest.fixture
def provider_sandbox() -> Iterator[Any]:
    started: list[ProviderSandbox] = []

    def start(kind: type[ProviderSandbox], *, clock: Any = None, **options: Any) -> Any:
        faults = SandboxFaults(**{k: v for k, v in options.items() if k in FAULTS})
        data = {k: v for k, v in options.items() if k not in FAULTS}
        if clock is not None:
            data["clock"] = clock
        server = kind(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, faults=faults, **data).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
