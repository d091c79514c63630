"""A property-based run of schemathesis against /api/schema/ (part of the normal suite,
so `.ci/run` runs it): for every operation, bounded generated requests made as an L&D
admin with a read-write token must never get a server error, and every response must
match the schema (status code documented, content type, body shaped as documented).
Path ids are drawn both at random and from objects that exist, so the 200 paths run too."""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from learnhub.api.services import api_token_create
from reports.snapshots import snapshots_write
from tests.factories import CollectionItemFactory, ConnectionFactory, EnrollmentFactory, StudyGroupFactory

pytestmark = pytest.mark.django_db

SEEN = {}
MAX_EXAMPLES = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
GOOD_ROWS = {
    "rows": [
        {"email": "new@acme.example", "full_name": "New Person", "organization": "Acme/Research", "hired_on": None},
        {"email": "bob@acme.example", "full_name": "Bob Builder", "organization": "Acme/Engineering", "hired_on": ""},
    ],
    "dry_run": False,
}


@pytest.fixture
def wsgi_app():
    """The real WSGI application, kept on the test's database connection (inside the
    test transaction) the way Django's test client does it."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_api_conforms_to_its_schema(wsgi_app, personas, settings):
    settings.API_TOKEN_THROTTLE_RATE = "100000/hour"
    settings.ALLOWED_HOSTS = ["localhost", "testserver"]
    program = personas.program
    item = CollectionItemFactory(collection__program=program, collection__organization=None)
    group = StudyGroupFactory(program=program)
    connection = ConnectionFactory(name="coursera")
    EnrollmentFactory(
        employee=personas.employee, course=item.course, is_completed=True, completed_at=program.created_at
    )
    snapshots_write(program=program)
    _, raw = api_token_create(created_by=personas.admin, name="schemathesis", scope="read-write")
    headers = {"Authorization": f"Bearer {raw}"}
    existing = {
        "programs": program.pk,
        "collections": item.collection_id,
        "study-groups": group.pk,
        "connections": connection.pk,
        "employees": personas.employee.pk,
        "organizations": personas.engineering.pk,
        "sync-runs": None,
    }
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 19
    for operation in operations:
        strategy = operation.as_strategy()
        known = existing[operation.path.split("/")[3]]
        if "{id}" in operation.path and known is not None:
            strategy = st.one_of(strategy, operation.as_strategy(path_parameters={"id": known}))
        if operation.path.endswith("/bulk/"):
            strategy = st.one_of(st.just(operation.Case(body=GOOD_ROWS, media_type="application/json")), strategy)

        @given(case=strategy)
        @hypothesis_settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case: schemathesis.Case) -> None:
            response = case.call(headers=headers)
            SEEN.setdefault(operation.label, []).append(response.status_code)
            case.validate_response(response, checks=CHECKS)

        run()
    import collections
    for k, v in SEEN.items(): print("SEEN", k, dict(collections.Counter(v)))
