"""Every list of the API costs a fixed number of queries whatever its length: each list at
2 and at 20 rows (with the related rows its serializer shows: items of a collection,
members of a study group, managers of employees), read with its filtering parameters so
their lookups are counted too."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from champions.models import StudyGroupMembership
from learnhub.api.urls import router
from programs.models import SyncRun, SyncStatus
from tests.factories import (
    CollectionFactory,
    CollectionItemFactory,
    ConnectionFactory,
    EmployeeFactory,
    ProgramFactory,
    StudyGroupFactory,
    org,
)

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class ApiList:
    who: str  # the persona who reads it
    grow: Callable[..., str]  # (personas, rows) -> the URL that lists exactly `rows` rows
    queries: int


def programs(personas, rows: int) -> str:
    for year in range(rows - 1):  # the personas' program is the first
        ProgramFactory(
            name=f"Program {3000 + year}", starts_on=dt.date(3000 + year, 1, 1), ends_on=dt.date(3000 + year, 12, 31)
        )
    return "/api/v1/programs/?ordering=name"


def organizations(personas, rows: int) -> str:
    grown = org("Acme/Grown")
    for n in range(rows - 1):
        org(f"Acme/Grown/Team {n}")
    return f"/api/v1/organizations/?within={grown.pk}"


def employees(personas, rows: int) -> str:
    grown = org("Acme/Grown")
    manager = EmployeeFactory(email="boss@acme.example", organization=grown)
    for n in range(rows - 1):
        EmployeeFactory(organization=org(f"Acme/Grown/Team {n}"), manager=manager)
    return f"/api/v1/employees/?organization={grown.pk}&status=active&email=acme"


def collections(personas, rows: int) -> str:
    for n in range(rows):
        collection = CollectionFactory(
            program=personas.program, organization=personas.engineering if n % 2 else None, name=f"Path {n}"
        )
        CollectionItemFactory(collection=collection, position=1)
        CollectionItemFactory(collection=collection, position=2)
    return f"/api/v1/collections/?program={personas.program.pk}"


def study_groups(personas, rows: int) -> str:
    for n in range(rows):
        group = StudyGroupFactory(
            program=personas.program, organization=personas.engineering, name=f"Group {n}", champion=personas.champion
        )
        for member in (personas.employee, personas.sponsor):
            StudyGroupMembership.objects.create(group=group, employee=member)
    return "/api/v1/study-groups/"  # the current program


def connections(personas, rows: int) -> str:
    for n in range(rows):
        ConnectionFactory(name=f"coursera {n}")
    return "/api/v1/connections/"


def sync_runs(personas, rows: int) -> str:
    connection = ConnectionFactory(name="coursera")
    SyncRun.objects.create(connection=ConnectionFactory(name="other"), status=SyncStatus.SUCCEEDED)  # left out
    for n in range(rows):
        SyncRun.objects.create(connection=connection, status=SyncStatus.SUCCEEDED, fetched=n)
    return f"/api/v1/sync-runs/?connection={connection.pk}&status=succeeded"


# Each list: the session and its user, the role check where there is one (is_ld_admin: the
# user's and their groups' permissions, in one query), the FilterSet's lookups (the object of ?program=,
# ?organization=, ?within=, ?connection=; the current program by default), then the count,
# the page and one query per relation the rows show. Visibility adds the person's
# organization (collections), and their organization, championed and sponsored
# organizations (study groups). The programs list asks the role check too: drafts are
# listed to L&D admins only.
LISTS = {
    "programs": ApiList("employee", programs, queries=5),
    "organizations": ApiList("employee", organizations, queries=5),
    "employees": ApiList("admin", employees, queries=6),
    "collections": ApiList("employee", collections, queries=8),
    "study-groups": ApiList("employee", study_groups, queries=9),
    "connections": ApiList("admin", connections, queries=5),
    "sync-runs": ApiList("admin", sync_runs, queries=6),
}


@pytest.mark.parametrize("rows", [2, 20])
@pytest.mark.parametrize("name", sorted(LISTS))
def test_a_list_costs_the_same_queries_at_any_length(personas, django_assert_num_queries, name, rows):
    listed = LISTS[name]
    url = listed.grow(personas, rows)
    client = personas.client_for(getattr(personas, listed.who))
    client.get(url)  # warm the per-process caches (content types, permissions of the session)

    with django_assert_num_queries(listed.queries):
        response = client.get(url)

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], len(body["results"])) == (rows, rows)


def test_every_list_of_the_api_is_pinned():
    listed = {prefix for prefix, viewset, _ in router.registry if hasattr(viewset, "list")}
    assert listed == set(LISTS)
