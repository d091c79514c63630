"""The L&D admin's home (/manage/): a to-do list of what waits for an admin, each item
linking to where it is fixed; "confirm all" for a clone's proposed appointments; admins
land there after signing in; a fixed number of queries at any size."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from champions.models import ExecutiveSponsor, LearningChampion
from learnhub.manage.selectors import FAILED_MESSAGES_DAYS
from programs.models import (
    ApprovalStatus,
    Employee,
    ImportJob,
    ImportKind,
    ImportStatus,
    InvalidRecord,
    ProgramStatus,
    SyncRun,
    SyncStatus,
    UnmatchedRecord,
)
from reports.models import MessageChannel, MessageKind, MessageStatus, SentMessage
from tests.conftest import PASSWORD
from tests.factories import (
    ChampionFactory,
    CollectionFactory,
    ConnectionFactory,
    EmployeeFactory,
    ProgramFactory,
    SponsorFactory,
    org,
)

pytestmark = pytest.mark.django_db


def appoint_everywhere(personas) -> None:
    """Sales gets a sponsor and a champion too: every organization is covered."""
    SponsorFactory(program=personas.program, organization=personas.sales, employee=personas.outsider)
    ChampionFactory(program=personas.program, organization=personas.sales, employee=personas.outsider)


def draft_clone(personas, *, proposals: int = 1):
    """Next year's draft with `proposals` sponsors and as many champions carried over."""
    clone = ProgramFactory(
        name="Learning Program 2027",
        starts_on=dt.date(2027, 1, 1),
        ends_on=dt.date(2027, 12, 31),
        status=ProgramStatus.DRAFT,
        cloned_from=personas.program,
    )
    for n in range(proposals):
        organization = org(f"Acme/Proposed {n}")
        SponsorFactory(program=clone, organization=organization, employee=personas.sponsor, is_confirmed=False)
        ChampionFactory(program=clone, organization=organization, employee=personas.champion, is_confirmed=False)
    return clone


def failed_message(program, n: int, channel: str, *, created_at: dt.datetime | None = None) -> SentMessage:
    return SentMessage.objects.create(
        program=program,
        kind=MessageKind.DIGEST,
        channel=channel,
        recipient_key=f"{channel}:{n}",
        period="2026-W48",
        recipient=f"someone{n}@acme.example",
        status=MessageStatus.FAILED,
        error="Connection refused",
        created_at=created_at or timezone.now(),
    )


def test_an_empty_to_do_says_so(personas):
    appoint_everywhere(personas)
    failed_message(personas.program, 1, MessageChannel.EMAIL, created_at=timezone.now() - dt.timedelta(days=8))

    page = personas.client_for(personas.admin).get("/manage/").content.decode()

    assert "Nothing waits for you" in page
    assert f"no message failed in the last {FAILED_MESSAGES_DAYS} days" in page
    assert "No provider connection yet" in page
    assert "The roster has never been imported here." in page
    assert 'href="/">Employee view</a>' in page


def test_the_to_do_lists_each_item_with_a_link_to_where_it_is_fixed(personas):
    program = personas.program
    changes = CollectionFactory(
        program=program, name="Cloud <basics>", approval_status=ApprovalStatus.CHANGES_REQUESTED
    )
    pending = CollectionFactory(program=program, name="Security", approval_status=ApprovalStatus.PENDING)
    CollectionFactory(program=program, name="Approved one", approval_status=ApprovalStatus.APPROVED)
    clone = draft_clone(personas, proposals=2)
    healthy = ConnectionFactory(name="Coursera")
    failing = ConnectionFactory(name="Udemy", kind="udemy")
    SyncRun.objects.create(
        connection=healthy, status=SyncStatus.SUCCEEDED, started_at=dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC)
    )
    SyncRun.objects.create(
        connection=failing, status=SyncStatus.SUCCEEDED, started_at=timezone.now() - dt.timedelta(days=2)
    )
    broken = SyncRun.objects.create(connection=failing, status=SyncStatus.FAILED, started_at=timezone.now())
    UnmatchedRecord.objects.create(connection=healthy, learner_key="x@else.example", provider_course_id="C1")
    UnmatchedRecord.objects.create(connection=healthy, learner_key="y@else.example", provider_course_id="C1")
    InvalidRecord.objects.create(
        connection=healthy, run=SyncRun.objects.filter(connection=healthy).get(), reason="No course id"
    )
    for n in range(3):
        failed_message(program, n, MessageChannel.EMAIL)
    failed_message(program, 9, MessageChannel.WEBHOOK)
    job = ImportJob.objects.create(
        kind=ImportKind.ROSTER, file_name="roster-<dec>.csv", status=ImportStatus.SUCCEEDED, created_by=personas.admin
    )

    page = personas.client_for(personas.admin).get("/manage/").content.decode()

    assert "Nothing waits for you" not in page
    assert '<span class="badge warn">2</span> Collections in review' in page
    assert f'<a href="/manage/collections/{changes.pk}/">Cloud &lt;basics&gt;</a>' in page
    assert f'<a href="/manage/collections/{pending.pk}/">Security</a>' in page
    assert page.index("Cloud &lt;basics&gt;") < page.index("Security")  # changes requested first
    assert "Approved one" not in page
    assert (
        '<span class="badge bad">3</span> Organizations without a sponsor or a champion in Learning Program 2026'
        in page
    )
    assert "Acme/Sales" in page
    assert f'href="/manage/programs/{program.pk}/appointments/">Appoint sponsors and champions' in page
    assert "Proposed appointments of Learning Program 2027 to confirm" in page
    assert "2 sponsors and 2 champions carried over" in page
    assert f'action="/manage/programs/{clone.pk}/appointments/confirm-all/"' in page
    assert '<a href="/providers/unmatched/">2 unmatched records</a>' in page
    assert '<a href="/providers/invalid/">1 invalid record</a>' in page
    assert "3 e-mails failed." in page
    assert "1 chat webhook post failed" in page
    assert 'href="/reports/messages/?status=failed"' in page
    assert f'<a href="/providers/{failing.pk}/">Udemy</a>' in page
    assert f'<span class="badge bad">Failing</span> since <time datetime="{broken.started_at.isoformat()}">' in page
    assert "30 Nov 2026 06:00</time>, succeeded" in page
    assert f'<a href="/imports/{job.pk}/">roster-&lt;dec&gt;.csv</a>' in page
    assert "Succeeded" in page


def test_confirm_all_confirms_every_proposal_of_the_program(personas):
    clone = draft_clone(personas, proposals=3)
    ExecutiveSponsor.objects.filter(program=clone).update(is_confirmed=False)

    response = personas.client_for(personas.admin).post(
        f"/manage/programs/{clone.pk}/appointments/confirm-all/", follow=True
    )

    assert response.redirect_chain == [("/manage/", 302)]
    assert "Confirmed 6 appointments of Learning Program 2027." in response.content.decode()
    assert ExecutiveSponsor.objects.filter(program=clone, is_confirmed=False).count() == 0
    assert LearningChampion.objects.filter(program=clone, is_confirmed=False).count() == 0
    again = personas.client_for(personas.admin).post(
        f"/manage/programs/{clone.pk}/appointments/confirm-all/", follow=True
    )
    assert "Nothing to confirm in Learning Program 2027: every appointment is confirmed." in again.content.decode()


@pytest.mark.parametrize("who", ["sponsor", "champion", "employee", "outsider", None])
def test_only_l_and_d_admins_see_the_home_and_confirm_all(personas, who):
    clone = draft_clone(personas, proposals=1)
    person = getattr(personas, who) if who else None
    client = personas.client_for(person)

    home = client.get("/manage/")
    confirm = client.post(f"/manage/programs/{clone.pk}/appointments/confirm-all/")

    expected = 403 if person else 302
    assert (home.status_code, confirm.status_code) == (expected, expected)
    assert ExecutiveSponsor.objects.filter(program=clone, is_confirmed=False).count() == 1
    assert LearningChampion.objects.filter(program=clone, is_confirmed=False).count() == 1


@pytest.mark.parametrize(("who", "lands_on"), [("admin", "/manage/"), ("employee", "/")])
def test_l_and_d_admins_land_on_their_home_after_signing_in(personas, client, who, lands_on):
    person = getattr(personas, who)
    EmailAddress.objects.create(user=person, email=person.email, primary=True, verified=True)

    response = client.post("/accounts/login/", {"login": person.email, "password": PASSWORD})

    assert (response.status_code, response.headers["Location"]) == (302, lands_on)


def test_a_next_address_still_wins_for_an_admin(personas, client):
    EmailAddress.objects.create(user=personas.admin, email=personas.admin.email, primary=True, verified=True)
    response = client.post("/accounts/login/?next=/reports/", {"login": personas.admin.email, "password": PASSWORD})

    assert response.headers["Location"] == "/reports/"


def grow(personas, people: int) -> None:
    """`people` employees, one organization without appointments per ten of them, and one
    waiting collection, proposal, unmatched record, invalid record and failed message per
    ten: everything the home lists grows with the company."""
    program = personas.program
    connection = ConnectionFactory(name="Coursera")
    run = SyncRun.objects.create(connection=connection, status=SyncStatus.SUCCEEDED)
    clone = draft_clone(personas, proposals=0)
    tens = max(1, people // 10)
    organizations = [org(f"Acme/Grown {n}") for n in range(tens)]
    Employee.objects.bulk_create(
        Employee(email=f"grown{n}@acme.example", full_name=f"Grown {n}", organization=organizations[n % tens])
        for n in range(people)
    )
    for n, organization in enumerate(organizations):
        CollectionFactory(program=program, organization=organization, approval_status=ApprovalStatus.PENDING)
        SponsorFactory(program=clone, organization=organization, employee=personas.sponsor, is_confirmed=False)
        UnmatchedRecord.objects.create(connection=connection, learner_key=f"u{n}", provider_course_id="C1")
        InvalidRecord.objects.create(connection=connection, run=run, reason="No course id")
        failed_message(program, n, MessageChannel.EMAIL)
        SyncRun.objects.create(connection=ConnectionFactory(name=f"Connection {n}"), status=SyncStatus.FAILED)
    ImportJob.objects.create(kind=ImportKind.ROSTER, file_name="roster.csv", created_by=EmployeeFactory())


# Session, user and the navigation (the current program, permissions, the sponsor's and
# champion's organizations), then the to-do: the waiting collections and their count, the
# organizations without appointments (organizations, held sponsors and champions, vacant
# ones of each role), the programs with proposals, the unmatched and invalid counts, the
# failed messages, the connections with their freshness and their latest runs, the
# roster's last import, and the messages framework's session read.
HOME_QUERIES = 21


@pytest.mark.parametrize("people", [10, 1000])
def test_the_home_costs_the_same_queries_at_any_size(personas, django_assert_num_queries, people):
    grow(personas, people)
    client = personas.client_for(personas.admin)
    client.get("/manage/")  # warm the per-process caches (content types, permissions of the session)

    with django_assert_num_queries(HOME_QUERIES):
        response = client.get("/manage/")

    assert response.status_code == 200
    assert f'<span class="badge warn">{max(1, people // 10)}</span> Collection' in response.content.decode()
