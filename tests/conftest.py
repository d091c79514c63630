"""Shared personas: an L&D admin, the sponsor and a champion of Acme/Engineering,
an employee of Engineering, an employee of Sales (another org), and anonymous visitors."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from learnhub.roles import ld_admin_grant
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


@pytest.fixture
def personas(db) -> Personas:
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
