"""Query counts of the digest and nudge sends, pinned (the database does the looking up):
a fixed number for the whole batch, plus each e-mail's claim and record in the ledger,
whatever the size of the organization. Checked with 10 and 120 people."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from champions.models import StudyGroupMembership
from reports.kept import figures_keep
from reports.messaging.digests import digests_send
from reports.messaging.nudges import nudges_send
from reports.messaging.settings import settings_for
from reports.models import OrgWebhook, SentMessage, Unsubscribe
from tests.factories import (
    CollectionFactory,
    CollectionItemFactory,
    CourseFactory,
    EmployeeFactory,
    EnrollmentFactory,
    StudyGroupFactory,
    StudySessionFactory,
    org,
)

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)
NUDGE_TIME = dt.datetime(2026, 11, 30, 10, 30, tzinfo=dt.UTC)

# One e-mail's own queries in the ledger: the claim (SAVEPOINT, INSERT, RELEASE: the test
# runs in a transaction; in autocommit only the INSERT) and its record (UPDATE).
PER_EMAIL = 4


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://learnhub.example"
    settings.TIME_ZONE = "UTC"
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True


def company_of(personas, people: int):
    """`people` more employees over Engineering, its Data team and Sales; every third has
    completed a course; a few have unsubscribed from nudges; each organization has a
    collection of two courses, and there is a company-wide one."""
    data = org("Acme/Engineering/Data")
    homes = [personas.engineering, data, personas.sales]
    staff = [
        EmployeeFactory(email=f"p{i}@acme.example", full_name=f"Person {i}", organization=homes[i % 3])
        for i in range(people)
    ]
    courses = {}
    for organization in [None, *homes]:
        name = "Company picks" if organization is None else f"{organization.name} picks"
        collection = CollectionFactory(program=personas.program, organization=organization, name=name)
        for position in range(2):
            courses[f"{name} {position}"] = CourseFactory(title=f"{name} {position}")
            CollectionItemFactory(collection=collection, course=courses[f"{name} {position}"], position=position)
    for person in staff[::3]:
        EnrollmentFactory(
            employee=person,
            course=courses["Company picks 1"],
            is_completed=True,
            completed_at=MONDAY - dt.timedelta(days=5),
        )
    for person in staff[1:7:3]:
        Unsubscribe.objects.create(employee=person, kind="nudge")
    EnrollmentFactory(employee=staff[2], course=courses["Sales picks 1"], progress=40)
    group = StudyGroupFactory(program=personas.program, organization=personas.engineering, name="SQL circle")
    StudySessionFactory(group=group, starts_at=MONDAY + dt.timedelta(days=2))
    StudyGroupMembership.objects.create(group=group, employee=staff[5])
    OrgWebhook.objects.create(
        program=personas.program, organization=personas.engineering, url="http://127.0.0.1:9/engineering"
    )
    message_settings = settings_for(program=personas.program)
    message_settings.company_webhook_url = "http://127.0.0.1:9/company"
    message_settings.save()
    return staff


@pytest.mark.parametrize("people", [10, 120])
def test_the_digest_send_makes_the_same_queries_however_many_people(
    personas, mailoutbox, django_assert_num_queries, people
):
    company_of(personas, people)

    # 4 the progress, 2 the champions and sponsors, 3 Engineering's digest (last week's
    # snapshot, the sessions, the people still to complete), 1 the unsubscribes, each
    # e-mail's claim and record, then the org's webhook and the company's (1 + a claim each).
    with django_assert_num_queries(4 + 2 + 3 + 1 + PER_EMAIL * 2 + (1 + 3) * 2):
        sent = digests_send(program=personas.program, now=MONDAY)

    assert sent == 2
    assert sorted(m.to[0] for m in mailoutbox) == ["chris@acme.example", "sam@acme.example"]
    to_champion = next(m for m in mailoutbox if m.to == ["chris@acme.example"])
    in_data = len(range(1, people, 3))  # nobody in Data has completed; every engineer has
    assert f"Still to complete ({3 + in_data}):" in to_champion.body  # Sam, Chris, Bob and Data
    assert SentMessage.objects.filter(channel="webhook").count() == 2


@pytest.mark.parametrize("people", [10, 120])
def test_the_nudge_send_makes_a_fixed_number_of_queries_plus_each_emails_claim_and_record(
    personas, mailoutbox, django_assert_num_queries, people
):
    staff = company_of(personas, people)
    to_nudge = [p for i, p in enumerate(staff) if i % 3 != 0 and p.pk not in {staff[1].pk, staff[4].pk}]
    everyone_else = [personas.admin, personas.sponsor, personas.champion, personas.employee, personas.outsider]

    # 1 the people, 1 the settings, 3 who is eligible, has met the goal, was nudged
    # recently, 1 the unsubscribes (for the outcome); the e-mails: 1 the settings, 1 the
    # home organizations, 1 the courses in progress, 2 the study groups joined and their
    # sessions, 1 the kept counts and 1 the top-level organizations (the standing), 1 the
    # most completed courses of each home organization; 1 the unsubscribes again as the
    # batch is sent, then each e-mail's claim and record.
    homes = {p.organization_id for p in [*to_nudge, *everyone_else]}  # Acme, Engineering, Data, Sales
    nudged = len(to_nudge) + len(everyone_else)
    figures_keep(program=personas.program)
    with django_assert_num_queries(1 + 1 + 3 + 1 + 1 + 1 + 1 + 2 + 1 + 1 + len(homes) + 1 + PER_EMAIL * nudged):
        outcome = nudges_send(program=personas.program, now=NUDGE_TIME)

    assert sorted(outcome.sent) == sorted(p.pk for p in [*to_nudge, *everyone_else])
    assert sorted(outcome.unsubscribed) == sorted([staff[1].pk, staff[4].pk])
    assert len(homes) == 4 and len(mailoutbox) == nudged
    by_person = {m.to[0]: m.body for m in mailoutbox}
    # A course in progress leads the e-mail, then a study group joined, else the most
    # completed courses of the collections the person browses (then by title).
    assert "Your next step: finish Sales picks 1. You are 40% through." in by_person[staff[2].email]
    assert (
        "Your next step: your study group SQL circle meets next on Wed 2 Dec 2026, 09:30" in (by_person[staff[5].email])
    )
    in_data = next(p for p in to_nudge if p.organization.name == "Data")
    assert popular(by_person[in_data.email]) == ["Company picks 1", "Company picks 0", "Data picks 0"]
    in_sales = next(p for p in to_nudge if p.organization.name == "Sales" and p.pk not in {staff[2].pk, staff[5].pk})
    assert popular(by_person[in_sales.email]) == ["Company picks 1", "Company picks 0", "Sales picks 0"]
    # The L&D admin, who may browse every collection, is pointed to her own organization's
    # (Acme has none of its own: the company-wide ones), like everyone.
    assert popular(by_person["alice@acme.example"]) == ["Company picks 1", "Company picks 0"]
    # Then the deadline and the standing of the person's organization.
    assert "Learning Program 2026 ends on 31 December 2026." in by_person[in_data.email]
    assert "Engineering: " in by_person[in_data.email]


def popular(body: str) -> list[str]:
    """The course titles a nudge lists as the most completed ones."""
    return re.findall(r"^- (.+?)(?::|$)", body, flags=re.MULTILINE)
