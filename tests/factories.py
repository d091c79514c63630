"""factory_boy factories for the whole domain. Organizations are built through the same
service the imports use, so `path` and `depth` are always right."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from champions.models import ExecutiveSponsor, LearningChampion, StudyGroup, StudySession
from programs.models import (
    Collection,
    CollectionItem,
    Course,
    Employee,
    Enrollment,
    LearningProgram,
    ProgramStatus,
    ProviderConnection,
)
from programs.organizations import organization_ensure


def org(path: str):
    return organization_ensure(path=path)


class EmployeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employee
        django_get_or_create = ("email",)

    email = factory.Sequence(lambda n: f"person{n}@acme.example")
    full_name = factory.Faker("name")
    external_id = factory.Sequence(lambda n: f"E{n:05d}")
    organization = factory.LazyFunction(lambda: org("Acme"))
    hired_on = dt.date(2020, 1, 1)
    password = factory.django.Password("correct-horse-battery-staple")


class ProgramFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LearningProgram

    name = factory.Sequence(lambda n: f"Learning Program {2024 + n}")
    starts_on = dt.date(2026, 1, 1)
    ends_on = dt.date(2026, 12, 31)
    target_rate = Decimal("0.900")
    required_completions = 1
    status = ProgramStatus.ACTIVE


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course
        django_get_or_create = ("provider", "provider_course_id")

    provider = "coursera"
    provider_course_id = factory.Sequence(lambda n: f"C{n:04d}")
    title = factory.Sequence(lambda n: f"Course {n}")


class CollectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Collection

    program = factory.SubFactory(ProgramFactory)
    organization = factory.LazyFunction(lambda: org("Acme/Engineering"))
    name = factory.Sequence(lambda n: f"Collection {n}")


class CollectionItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CollectionItem

    collection = factory.SubFactory(CollectionFactory)
    course = factory.SubFactory(CourseFactory)
    position = factory.Sequence(lambda n: n + 1)


class SponsorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExecutiveSponsor

    program = factory.SubFactory(ProgramFactory)
    organization = factory.LazyFunction(lambda: org("Acme/Engineering"))
    employee = factory.SubFactory(EmployeeFactory)


class ChampionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LearningChampion

    program = factory.SubFactory(ProgramFactory)
    organization = factory.LazyFunction(lambda: org("Acme/Engineering"))
    employee = factory.SubFactory(EmployeeFactory)


class StudyGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StudyGroup

    program = factory.SubFactory(ProgramFactory)
    organization = factory.LazyFunction(lambda: org("Acme/Engineering"))
    name = factory.Sequence(lambda n: f"Study group {n}")


class StudySessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StudySession

    group = factory.SubFactory(StudyGroupFactory)
    starts_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=7))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + dt.timedelta(hours=1))


class ConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProviderConnection
        django_get_or_create = ("name",)

    name = "coursera"
    kind = "coursera"


class EnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enrollment

    connection = factory.SubFactory(ConnectionFactory)
    employee = factory.SubFactory(EmployeeFactory)
    learner_key = factory.LazyAttribute(lambda o: o.employee.external_id or o.employee.email)
    course = factory.SubFactory(CourseFactory)
