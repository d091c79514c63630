"""The permission walk for someone who left: an L&D admin signed in before their departure
day keeps a browser session and an API token. From that day every URL of the app answers
that session as it answers a signed-out visitor, every API operation refuses that token
with 401, and none of those requests changes anything."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from learnhub.api.services import api_token_create
from programs.models import Employee
from tests.test_url_permissions import (  # noqa: F401 (world is a fixture)
    ANONYMOUS,
    EXPECTATIONS,
    LOGIN,
    World,
    _world_of_the_module,
    database_state,
    outcome_of,
    request_url,
    world,
)

pytestmark = pytest.mark.django_db

REFUSED = (LOGIN, 400, 401, 403, 404, 405)


def depart(person: Employee) -> None:
    """The departure day has come (no task has run yet: the request itself must refuse)."""
    Employee.objects.filter(pk=person.pk).update(departed_on=timezone.localdate())


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in EXPECTATIONS])
def test_a_departed_ld_admins_open_session_is_treated_as_signed_out(world: World, case):  # noqa: F811
    browser = world.p.client_for(world.p.admin)
    depart(world.p.admin)
    expected = case.expect[ANONYMOUS]
    before = database_state()

    response = (
        browser.get(request_url(case, world))
        if case.method == "GET"
        else browser.post(request_url(case, world), case.data(world))
    )

    assert outcome_of(response) == expected
    if case.method == "GET" or expected in REFUSED:
        assert database_state() == before


def api_operations() -> list[tuple[str, str]]:
    """(method, path) of every API route, ids filled with 1."""
    routes: list[str] = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
                routes.append(route)

    walk(get_resolver().url_patterns, "")
    operations = []
    for route in sorted(set(routes)):
        if "format" in route:
            continue  # DRF's ".json" suffix variants of the same views
        path = "/" + re.sub(r"\(\?P<\w+>[^)]*\)|<[^>]+>", "1", route).replace("^", "").replace("$", "")
        operations += [("get", path), ("post", path)]
    return operations


def test_a_departed_ld_admins_token_is_refused_by_every_api_operation(world: World):  # noqa: F811
    _, raw = api_token_create(created_by=world.p.admin, name="HR push", scope="read-write")
    assert Client().get("/api/v1/employees/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    depart(world.p.admin)
    before = database_state()

    statuses = {}
    for method, path in api_operations():
        client = Client()
        if method == "get":
            response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {raw}")
        else:
            response = client.post(
                path,
                json.dumps({"rows": [], "full": True}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {raw}",
            )
        statuses[f"{method.upper()} {path}"] = response.status_code

    assert len(statuses) >= 20
    assert {op: code for op, code in statuses.items() if code != 401} == {}
    assert database_state() == before
