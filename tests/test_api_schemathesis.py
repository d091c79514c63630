"""Schemathesis against the live API over HTTP (part of the normal suite, so `.ci/run` runs
it): pytest-django's live server with committed data, the schema read from /api/schema/
with an L&D admin's read-write token, then

- every operation with the schema's request examples, schema-valid (positive) and
  schema-invalid (negative) generated requests, each answer run through every check
  schemathesis has (server errors, status codes, content types, headers and bodies as
  documented, invalid requests refused, valid ones accepted, methods, authentication,
  resources after use, ...);
- the stateful run over the links schemathesis infers from the schema (POST /programs/ ->
  its id -> GET/PATCH /programs/{id}/, a list -> its items -> their sub-resources). Each
  of its scenarios starts from the same committed data: hypothesis replays the choices
  of earlier scenarios and needs the same answers to them (a program created twice is a
  201, then a 400), so what a scenario wrote is undone before the next one.

Bounded (examples per operation, steps per scenario) and seeded, so it costs well under a
minute and the same code sends the same requests. Every operation must also have
answered at least once with success, so a run that only ever hit 401s or 404s fails."""

from __future__ import annotations

import datetime as dt
import importlib
import pkgutil
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import factory
import pytest
import schemathesis
from django.db.models import Model
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from learnhub.api.services import api_token_create
from learnhub.roles import has_access
from programs.models import (
    Employee,
    LearningProgram,
    Organization,
    ProgramChange,
    ProviderConnection,
    SyncRun,
    SyncStatus,
)
from reports.models import ProgressSnapshot
from reports.snapshots import snapshots_write
from tests import factories
from tests.factories import CollectionItemFactory, EnrollmentFactory, StudyGroupFactory
from tests.sandbox_fixtures import sandbox_connection

pytest_plugins = ["tests.sandbox_fixtures"]
# Ids from 1 (reset_sequences) and factory sequences from 0, as if this module ran alone:
# schemathesis draws on the answers (ids, names), so the same code sends the same requests
# only over the same data (and see _every_app_module_loaded).
pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, reset_sequences=True)]

SEED = 20260101
MAX_EXAMPLES = 20  # per operation
STATEFUL_EXAMPLES = 30  # scenarios: enough that a created program is read back through its link
STATEFUL_STEPS = 8  # calls per scenario at most
OPERATIONS = 20
BULK = "/api/v1/employees/bulk/"
# The write operations whose bodies go through the domain's rules, which no JSON schema
# can say: a program's name is unique and it ends after it starts, a status moves only
# draft -> active -> closed, roster rows follow the CSV import's rules (valid e-mails, one
# set of fields per push, ...). There a schema-valid body may get the 400 that names the
# rule; everywhere else a schema-valid request must be accepted.
DOMAIN_RULES = [("POST", "/api/v1/programs/"), ("PATCH", "/api/v1/programs/{id}/"), ("POST", BULK)]
ACCEPTED_OR_DOMAIN_400 = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
CONFIG: dict[str, Any] = {
    "seed": SEED,
    "suppress-health-check": ["all"],
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
    "checks": {"enabled": True},
    "operations": [
        {
            "include-method": method,
            "include-path": path,
            "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED_OR_DOMAIN_400}},
        }
        for method, path in DOMAIN_RULES
    ],
}


@dataclass
class ApiWorld:
    token: str
    ids: dict[str, int]  # an existing object per resource (the path's first part after /api/v1/)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _every_app_module_loaded() -> None:
    """Hypothesis also draws constants found in the project's modules loaded at the time
    (hypothesis.internal.constants_ast), so what other tests imported before would change
    the requests: load them all first."""
    for package in ("learnhub", "programs", "champions", "reports"):
        for module in pkgutil.walk_packages(importlib.import_module(package).__path__, prefix=f"{package}."):
            importlib.import_module(module.name)


@pytest.fixture(autouse=True)
def _factory_sequences_from_zero() -> None:
    for factory_class in vars(factories).values():
        if isinstance(factory_class, type) and issubclass(factory_class, factory.django.DjangoModelFactory):
            factory_class.reset_sequence()


@pytest.fixture
def api_world(personas, sandbox_factory, settings) -> ApiWorld:
    """Committed data for every operation to find (a collection with a course, a study
    group, a completion, snapshots, a sync run, a Coursera connection on a real local
    sandbox, so a queued sync really runs) and the admin's read-write token."""
    settings.API_TOKEN_THROTTLE_RATE = "100000/hour"
    program = personas.program
    item = CollectionItemFactory(collection__program=program, collection__organization=None)
    group = StudyGroupFactory(program=program, collection=item.collection)
    sandbox = sandbox_factory(records=[])
    connection = sandbox_connection(sandbox, name="coursera")
    run = SyncRun.objects.create(
        connection=connection, status=SyncStatus.SUCCEEDED, started_at=dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    )
    EnrollmentFactory(
        employee=personas.employee, course=item.course, is_completed=True, completed_at=program.created_at
    )
    snapshots_write(program=program)
    _, raw = api_token_create(created_by=personas.admin, name="schemathesis", scope="read-write")
    ids = {
        "programs": program.pk,
        "collections": item.collection_id,
        "study-groups": group.pk,
        "connections": connection.pk,
        "employees": personas.employee.pk,
        "organizations": personas.engineering.pk,
        "sync-runs": run.pk,
    }
    return ApiWorld(token=raw, ids=ids)


@pytest.fixture
def api_schema(live_server, api_world, personas):
    _every_app_module_loaded()
    schema = schemathesis.openapi.from_url(
        f"{live_server.url}/api/schema/?format=json",
        config=schemathesis.Config.from_dict({**CONFIG, "headers": api_world.headers}),
        headers=api_world.headers,
        timeout=10,
    )

    @schema.hook
    def filter_body(context: schemathesis.HookContext, body: Any) -> bool:
        # A real push that departs everyone not in its rows would depart the token's own
        # admin, and every later request would be a 401 (tests/test_api.py covers it).
        departs = (
            isinstance(body, dict) and body.get("mark_missing_departed") is True and body.get("dry_run") is not True
        )
        return not (context.operation is not None and context.operation.path == BULK and departs)

    yield schema
    assert has_access(type(personas.admin).objects.get(pk=personas.admin.pk))


# What the API's writes can change, in the order new rows are deleted: people before
# organizations (they protect them), deepest organizations first.
WRITTEN: tuple[type[Model], ...] = (
    ProgramChange,
    ProgressSnapshot,
    SyncRun,
    LearningProgram,
    Employee,
    ProviderConnection,
    Organization,
)


@dataclass(frozen=True)
class Committed:
    """The rows of WRITTEN as committed before a run, to put back: new rows are deleted and
    the others get their values back."""

    rows: dict[type[Model], list[Model]]

    @classmethod
    def take(cls) -> Committed:
        return cls({model: list(model._default_manager.order_by("pk")) for model in WRITTEN})

    def restore(self) -> None:
        for model, rows in self.rows.items():
            added = model._default_manager.exclude(pk__in=[row.pk for row in rows])
            if model is Organization:
                for organization in added.order_by("-depth"):
                    organization.delete()
            else:
                added.delete()
            if rows:
                model._default_manager.bulk_update(
                    rows, [f.name for f in model._meta.concrete_fields if not f.primary_key]
                )


def _bounded(max_examples: int, **extra: Any) -> hypothesis_settings:
    return hypothesis_settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        **extra,
    )


def _without_success(answered: dict[str, set[int]]) -> list[str]:
    return sorted(label for label, codes in answered.items() if not any(200 <= code < 300 for code in codes))


def _cases(operation: schemathesis.APIOperation, ids: dict[str, int]) -> st.SearchStrategy[schemathesis.Case]:
    """The schema's request examples, then positive and negative requests; a path id is
    drawn at random or is the id of an object that exists, so the success paths run too."""
    strategies = [*operation.get_strategies_from_examples()]
    for mode in GenerationMode:
        strategies.append(operation.as_strategy(generation_mode=mode))
        if "{id}" in operation.path:
            existing = {"id": ids[operation.path.split("/")[3]]}
            strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=existing))
    return st.one_of(strategies)


def test_every_operation_conforms_to_the_schema(api_schema, api_world):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) == OPERATIONS
    answered: dict[str, set[int]] = defaultdict(set)
    failures: dict[str, str] = {}
    for operation in operations:

        @given(case=_cases(operation, api_world.ids))
        @_bounded(MAX_EXAMPLES)
        def conforms(case: schemathesis.Case) -> None:
            # Example cases carry a generated Authorization header of their own: send the token.
            response = case.call_and_validate(headers=api_world.headers)
            answered[case.operation.label].add(response.status_code)

        try:
            conforms()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis raises a group; collect and go on
            failures[operation.label] = str(exc)
    assert failures == {}, "\n\n".join(f"{label}:\n{text}" for label, text in failures.items())
    assert (len(answered), _without_success(answered)) == (OPERATIONS, [])


def test_linked_operations_conform_to_the_schema(api_schema):
    answered: dict[str, set[int]] = defaultdict(set)

    committed = Committed.take()

    class Links(api_schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            super().setup()
            committed.restore()

        def after_call(self, response: schemathesis.Response, case: schemathesis.Case) -> None:
            super().after_call(response, case)
            answered[case.operation.label].add(response.status_code)

    Links.run(settings=_bounded(STATEFUL_EXAMPLES, stateful_step_count=STATEFUL_STEPS))
    # Created programs were then read and changed through the links (not only guessed ids).
    # A generated change may break a program rule (400): the run must make the call, and
    # every answer was checked against the schema above.
    created, read, changed = (
        answered[label]
        for label in ("POST /api/v1/programs/", "GET /api/v1/programs/{id}/", "PATCH /api/v1/programs/{id}/")
    )
    assert (201 in created, 200 in read, bool(changed), max(changed, default=0) < 500) == (True, True, True, True)
