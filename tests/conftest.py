"""Shared personas: an L&D admin, the sponsor and a champion of Acme/Engineering,
an employee of Engineering, an employee of Sales (another org), and anonymous visitors.

Run in parallel (pytest-xdist), each worker has its own PostgreSQL test database
(pytest-django) and its own Redis database (`_redis_database_of_this_worker`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.test import Client, override_settings

from learnhub.roles import ld_admin_grant, ld_admin_group
from programs.models import Employee, LearningProgram, Organization
from tests.factories import ChampionFactory, EmployeeFactory, ProgramFactory, SponsorFactory, org

PASSWORD = "correct-horse-battery-staple"


@dataclass
class Personas:
    program: LearningProgram
    engineering: Organization
    sales: Organization
    admin: Employee
    sponsor: Employee
    champion: Employee
    employee: Employee
    outsider: Employee

    def client_for(self, who: Employee | None) -> Client:
        client = Client()
        if who is not None:
            client.force_login(who)
        return client


def personas_create() -> Personas:
    """The personas' rows (see the module docstring)."""
    engineering = org("Acme/Engineering")
    sales = org("Acme/Sales")
    program = ProgramFactory(name="Learning Program 2026")
    admin = EmployeeFactory(email="alice@acme.example", full_name="Alice Admin", organization=org("Acme"))
    ld_admin_grant(employee=admin)
    sponsor = EmployeeFactory(email="sam@acme.example", full_name="Sam Sponsor", organization=engineering)
    champion = EmployeeFactory(email="chris@acme.example", full_name="Chris Champion", organization=engineering)
    SponsorFactory(program=program, organization=engineering, employee=sponsor)
    ChampionFactory(program=program, organization=engineering, employee=champion)
    employee = EmployeeFactory(email="bob@acme.example", full_name="Bob Builder", organization=engineering)
    outsider = EmployeeFactory(email="charlie@acme.example", full_name="Charlie Sales", organization=sales)
    return Personas(program, engineering, sales, admin, sponsor, champion, employee, outsider)


# Tests that run for many seconds, heaviest first: a marked one weighs more than the rest.
LONG_RUNNING = ("slow", "worker", "browser")


def pytest_collection_modifyitems(config, items):
    """The long-running tests first in each test process's share of the suite. xdist's
    worksteal scheduler gives each of the N processes a contiguous share of this list, and an
    idle process steals from the end of the others' shares: long tests left at the end
    would run last, on a few processes, while the others wait. Every process collects the
    same order (the scheduler requires it)."""

    def weight(item) -> int:
        return next((len(LONG_RUNNING) - n for n, mark in enumerate(LONG_RUNNING) if item.get_closest_marker(mark)), 0)

    long_running = sorted((item for item in items if weight(item)), key=weight, reverse=True)
    if not long_running:
        return
    rest = [item for item in items if not weight(item)]
    processes = getattr(config, "workerinput", {}).get("workercount", 1)
    # The shares as the scheduler cuts them: len // N for the first, then of what is left.
    shares, left = [], len(items)
    for remaining in range(processes, 0, -1):
        shares.append(left // remaining)
        left -= shares[-1]
    ordered: list = []
    for n, size in enumerate(shares):
        mine = long_running[n::processes]
        take = max(size - len(mine), 0)
        ordered += mine + rest[:take]
        rest = rest[take:]
    items[:] = ordered + rest


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """The "L&D admins" group and its permissions, once per test database: each test's
    `ld_admin_grant` then finds it instead of writing it again (a test that flushes the
    database, `transactional_db`, has it made again on first use)."""
    with django_db_blocker.unblock():
        ld_admin_group()


@pytest.fixture
def personas(db) -> Personas:
    return personas_create()


def redis_url_of_worker(url: str, worker: str) -> str:
    """redis://host:6379/15 for xdist worker gw0, /14 for gw1, ... (of Redis's 16 databases):
    the broker queues and the cache (allauth's rate limits, which tests clear) are then each
    worker's own."""
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{(base - int(worker.removeprefix('gw'))) % 16}"))


@pytest.fixture(scope="session", autouse=True)
def _redis_database_of_this_worker():
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker or not settings.REDIS_URL:
        yield
        return
    from learnhub.celery import app

    url = redis_url_of_worker(settings.REDIS_URL, worker)
    caches = {"default": {**settings.CACHES["default"], "LOCATION": url}}
    with override_settings(REDIS_URL=url, CELERY_BROKER_URL=url, CACHES=caches):
        previous, app.conf.broker_url = app.conf.broker_url, url
        yield
        app.conf.broker_url = previous


@pytest.fixture(autouse=True)
def _tasks_run_in_process(request):
    """Tasks run in process unless a test is about the real worker (marker `worker`)."""
    from learnhub.celery import app

    eager = request.node.get_closest_marker("worker") is None
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = eager
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _uploads_in_a_temporary_folder(settings, tmp_path):
    """Uploaded files (import jobs) go to this test's own folder, never to var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Real hashing costs ~0.3 s per password; tests need correctness, not cost."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
