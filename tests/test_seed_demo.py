"""`manage.py seed_demo`: the Acme demo, deterministic for a seed, never duplicated."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from champions.models import (
    Attendance,
    ExecutiveSponsor,
    LearnerStory,
    LearningChampion,
    ProgressUpdate,
    StudyGroup,
    StudySession,
)
from learnhub.demo.company import DEMO_PASSWORD
from learnhub.demo.history import demo_activity_records, demo_seeded_records
from learnhub.roles import is_champion_of, is_ld_admin, is_sponsor_of
from programs.models import (
    Collection,
    CollectionItem,
    Course,
    Employee,
    Enrollment,
    LearningProgram,
    Organization,
    ProgramStatus,
    ProviderConnection,
)
from reports.progress import program_progress
from tests.factories import EmployeeFactory
from tests.test_demo_sandbox import demo_syncs

TOP_LEVEL = [
    "Acme/Customer Success",
    "Acme/Engineering",
    "Acme/Marketing",
    "Acme/People & Operations",
    "Acme/Sales",
]
ALL_ORGS = [
    "Acme",
    "Acme/Customer Success",
    "Acme/Engineering",
    "Acme/Engineering/Data",
    "Acme/Engineering/Platform",
    "Acme/Engineering/Product",
    "Acme/Marketing",
    "Acme/People & Operations",
    "Acme/Sales",
    "Acme/Sales/Commercial",
    "Acme/Sales/Enterprise",
]
COURSERA_RECORD_KEYS = {
    "id",
    "externalId",
    "email",
    "fullName",
    "programId",
    "programName",
    "membershipState",
    "contentId",
    "contentType",
    "contentName",
    "contentSlug",
    "partnerNames",
    "approxTotalCourseHrs",
    "enrolledAt",
    "lastActivityAt",
    "isCompleted",
    "completedAt",
    "overallProgress",
    "grade",
    "collectionId",
    "collectionName",
    "deletedAt",
    "updatedAt",
}


def seed(**options: object) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def everything_counted() -> dict[str, int]:
    models = [
        Organization,
        Employee,
        LearningProgram,
        Course,
        Collection,
        CollectionItem,
        ProviderConnection,
        Enrollment,
        ExecutiveSponsor,
        LearningChampion,
        StudyGroup,
        StudySession,
        Attendance,
        ProgressUpdate,
        LearnerStory,
        EmailAddress,
    ]
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture
def demo(db) -> str:
    return seed()


@pytest.fixture
def synced_demo(db) -> str:
    """seed_demo, then the demo's Coursera and Udemy connections synced once from their
    sandboxes over HTTP (the completion history arrives through the real pipeline, as under
    `make run`)."""
    output = seed()
    runs = demo_syncs()
    assert [run.status for run in runs] == ["succeeded", "succeeded"]
    return output


@pytest.mark.django_db
def test_the_company_people_and_programs(demo):
    year = timezone.localdate().year

    assert list(Organization.objects.order_by("path").values_list("path", flat=True)) == ALL_ORGS
    assert Counter(Organization.objects.values_list("depth", flat=True)) == {0: 1, 1: 5, 2: 5}
    assert Employee.objects.count() == 420
    assert Employee.objects.filter(organization=None).count() == 0
    assert Employee.objects.exclude(external_id="").count() == 420
    assert Employee.objects.filter(manager=None).values_list("email", flat=True).get() == "alex.morgan@acme.example"
    assert Employee.objects.filter(departed_on__isnull=False).count() >= 5
    assert Employee.objects.filter(hired_on__year=year).count() >= 5

    current = LearningProgram.objects.get(name=f"Learning Program {year}")
    last = LearningProgram.objects.get(name=f"Learning Program {year - 1}")
    assert (current.starts_on, current.ends_on, current.target_rate, current.required_completions) == (
        dt.date(year, 1, 1),
        dt.date(year, 12, 31),
        Decimal("0.900"),
        1,
    )
    assert (current.status, current.cloned_from, last.status) == (ProgramStatus.ACTIVE, last, ProgramStatus.CLOSED)

    assert Counter(Course.objects.values_list("provider", flat=True)) == {"coursera": 42, "udemy": 8}
    assert (
        Course.objects.filter(provider="coursera").exclude(url__startswith="https://www.coursera.org/learn/").count()
        == 0
    )
    assert Course.objects.filter(provider="udemy").exclude(url__startswith="https://www.udemy.com/course/").count() == 0


@pytest.mark.django_db
def test_collections_sponsors_champions_groups_and_stories(demo):
    program = LearningProgram.objects.get(status=ProgramStatus.ACTIVE)
    collections = Collection.objects.filter(program=program)

    per_org = Counter(collections.values_list("organization__path", flat=True))
    assert per_org == dict.fromkeys([None, *ALL_ORGS[1:]], 1)
    sizes = [c.items.count() for c in collections]
    assert min(sizes) >= 5
    assert max(sizes) <= 8
    # The collections mix providers: every Udemy course is in one, and most collections hold one.
    curated = CollectionItem.objects.filter(collection__program=program)
    assert set(curated.values_list("course__provider", flat=True)) == {"coursera", "udemy"}
    assert curated.filter(course__provider="udemy").values("course").distinct().count() == 8
    assert collections.filter(items__course__provider="udemy").distinct().count() >= 8
    assert collections.filter(approval_status="approved").count() == 8
    assert collections.exclude(organization=None).filter(launch_video_url="").count() == 0
    assert collections.exclude(organization=None).filter(needs="").count() == 0

    sponsors = ExecutiveSponsor.objects.filter(program=program)
    assert sorted(sponsors.values_list("organization__path", flat=True)) == TOP_LEVEL
    champions = Counter(LearningChampion.objects.filter(program=program).values_list("organization__path", flat=True))
    assert champions == {
        "Acme/Customer Success": 2,
        "Acme/Engineering": 2,
        "Acme/Marketing": 1,
        "Acme/People & Operations": 1,
        "Acme/Sales": 2,
    }

    assert StudyGroup.objects.filter(program=program).count() == 10
    now = timezone.now()
    sessions = StudySession.objects.filter(group__program=program)
    assert (sessions.filter(starts_at__lt=now).count(), sessions.filter(starts_at__gt=now).count()) == (20, 20)
    assert Attendance.objects.filter(session__starts_at__gt=now).count() == 0
    assert Attendance.objects.filter(session__starts_at__lt=now).count() > 20

    stories = LearnerStory.objects.filter(program=program)
    assert stories.count() == 8
    assert stories.filter(consent_to_share=True).count() == 6
    assert stories.filter(withdrawn_at__isnull=False).count() == 1
    assert ProgressUpdate.objects.filter(program=program, organization=None, for_all_hands=True).count() == 2


@pytest.mark.django_db
def test_demo_logins_can_sign_in_with_their_roles(demo):
    program = LearningProgram.objects.get(status=ProgramStatus.ACTIVE)
    engineering = Organization.objects.get(path="Acme/Engineering")
    logins = {
        "L&D admin": "morgan.lee@acme.example",
        "executive sponsor": "priya.raman@acme.example",
        "learning champion": "diego.alvarez@acme.example",
        "employee": "jamie.chen@acme.example",
        "sponsor, German": "marcus.webb@acme.example",
    }
    people = {role: Employee.objects.get(email=email) for role, email in logins.items()}

    for role, email in logins.items():
        assert f"{role:<18} {email}" in demo
        assert people[role].check_password(DEMO_PASSWORD)
        assert EmailAddress.objects.filter(user=people[role], email=email, verified=True, primary=True).count() == 1
    assert f"password for all: {DEMO_PASSWORD}" in demo
    assert demo.rstrip().endswith("Open http://127.0.0.1:8000/")
    assert [is_ld_admin(p) for p in people.values()] == [True, False, False, False, False]
    assert is_sponsor_of(people["executive sponsor"], program, engineering)
    assert is_champion_of(people["learning champion"], program, engineering)
    assert not is_sponsor_of(people["employee"], program, engineering)
    assert not is_champion_of(people["employee"], program, engineering)
    assert is_sponsor_of(people["sponsor, German"], program, Organization.objects.get(path="Acme/Sales"))
    assert list(Employee.objects.exclude(language="").values_list("email", "language")) == [
        ("marcus.webb@acme.example", "de")
    ]
    # Everyone else has no usable password: they claim their account by signing up.
    assert sum(e.has_usable_password() for e in Employee.objects.all()) == 5


@pytest.mark.django_db
def test_completion_history_is_believable(synced_demo):
    program = LearningProgram.objects.get(status=ProgramStatus.ACTIVE)
    if timezone.localdate() < dt.date(program.starts_on.year, 6, 1):
        pytest.skip("org rates only spread out once the year is under way")
    progress = program_progress(program=program)
    rates = [o.rate for o in progress.organizations if o.depth > 0]

    assert 0.2 <= min(rates) <= 0.45
    assert 0.75 <= max(rates) <= 0.95
    assert progress.company.curated_share is not None
    assert progress.company.curated_share > 0.5
    assert sorted((e.organization_path, e.met) for e in progress.executives) == [
        ("Acme/Customer Success", False),
        ("Acme/Engineering", True),
        ("Acme/Marketing", True),
        ("Acme/People & Operations", True),
        ("Acme/Sales", False),
    ]
    assert Enrollment.objects.filter(is_completed=False).count() > 100  # people part-way through a course
    last = LearningProgram.objects.get(status=ProgramStatus.CLOSED)
    assert program_progress(program=last).company.rate < 0.25  # the old, low ceiling


@pytest.mark.django_db
def test_enrollments_keep_a_coursera_shaped_raw_record(synced_demo):
    coursera = Enrollment.objects.filter(is_completed=True, connection__kind="coursera")
    enrollment = coursera.select_related("employee", "course").first()
    raw = enrollment.raw

    assert set(raw) == COURSERA_RECORD_KEYS
    assert (raw["email"], raw["externalId"], raw["contentId"], raw["contentType"]) == (
        enrollment.employee.email,
        enrollment.employee.external_id,
        enrollment.course.provider_course_id,
        "Course",
    )
    assert raw["id"] == f"{raw['externalId']}~{raw['contentId']}~{raw['programId']}"
    assert raw["completedAt"] == int(enrollment.completed_at.timestamp() * 1000)
    assert raw["isCompleted"] is True
    assert enrollment.learner_key == enrollment.employee.external_id
    assert enrollment.connection.name == "Coursera (demo)"


@pytest.mark.django_db
def test_activity_records_repeat_for_the_same_random_stream(demo):
    import random

    program = LearningProgram.objects.get(status=ProgramStatus.ACTIVE)
    today = timezone.localdate()
    first = demo_activity_records(program=program, rng=random.Random(5), as_of=today)
    second = demo_activity_records(program=program, rng=random.Random(5), as_of=today)
    other = demo_activity_records(program=program, rng=random.Random(6), as_of=today)
    assert first == second
    assert first != other
    assert {r["contentType"] for r in first} == {"Course"}
    latest = max(r["completedAt"] for r in first if r["isCompleted"])
    assert latest < int(timezone.now().timestamp() * 1000)


@pytest.mark.django_db
def test_seeded_records_reproduce_the_enrollments(synced_demo):
    programs = list(LearningProgram.objects.order_by("starts_on"))
    records = demo_seeded_records(seed=42, programs=programs, as_of=timezone.localdate())
    enrolled = Enrollment.objects.values_list("employee__external_id", "course__provider_course_id")
    assert sorted((r["externalId"], r["contentId"]) for r in records) == sorted(enrolled)
    assert Counter(Enrollment.objects.values_list("course__provider", flat=True))["udemy"] > 50


def seeded_data(seed_value: int) -> tuple[list, list, list]:
    """Seed inside a transaction that is rolled back, so each call starts from an empty
    database, and return what the seed decides."""
    with transaction.atomic():
        seed(seed=seed_value)
        emails = sorted(Employee.objects.values_list("email", "full_name", "organization__path", "manager__email"))
        programs = list(LearningProgram.objects.order_by("starts_on"))
        enrollments = sorted(
            (r["email"], r["contentId"], r["isCompleted"], r["completedAt"])
            for r in demo_seeded_records(seed=seed_value, programs=programs, as_of=timezone.localdate())
        )
        assert Enrollment.objects.count() == 0  # the sync writes them (tests/test_demo_sandbox.py)
        appointments = sorted(LearningChampion.objects.values_list("employee__email", "organization__path"))
        transaction.set_rollback(True)
    return emails, enrollments, appointments


@pytest.mark.django_db
def test_same_seed_same_data_on_fresh_databases():
    first = seeded_data(42)
    assert Employee.objects.count() == 0  # rolled back: the next run starts fresh
    second = seeded_data(42)
    other = seeded_data(7)

    assert first == second
    assert len(first[0]) == 420
    assert len(first[1]) > 600
    assert [e[0] for e in first[0]] != [e[0] for e in other[0]]


@pytest.mark.django_db
def test_second_run_changes_nothing(synced_demo):
    before = everything_counted()
    output = seed()
    assert everything_counted() == before
    assert "The demo data is already loaded; nothing changed." in output
    assert "Open http://127.0.0.1:8000/" in output


@pytest.mark.django_db
def test_refuses_a_database_with_other_people_and_changes_nothing():
    EmployeeFactory(email="real.person@acme.example")
    before = everything_counted()

    with pytest.raises(
        CommandError, match=r"The database already holds a roster \(1 people\); seed_demo only fills an empty database"
    ):
        seed()

    assert everything_counted() == before


@pytest.mark.django_db
def test_too_few_employees_is_refused_with_a_message():
    with pytest.raises(CommandError, match="--employees must be at least 60"):
        seed(employees=10)
    assert Employee.objects.count() == 0


@pytest.mark.django_db
def test_a_smaller_roster(db):
    seed(seed=3, employees=120)
    assert Employee.objects.count() == 120
    assert Organization.objects.count() == 11
