"""Employee pages: home, collections (browse + search), study groups (join/leave,
capacity, .ics) and "My story", with the shared personas."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from champions.ics import sessions_calendar
from champions.models import ExecutiveSponsor, LearnerStory, ProgressUpdate, StudyGroupMembership
from champions.services import JoinOutcome, study_group_join
from tests.factories import (
    CollectionFactory,
    CollectionItemFactory,
    ConnectionFactory,
    CourseFactory,
    EmployeeFactory,
    EnrollmentFactory,
    StudyGroupFactory,
    StudySessionFactory,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def completed(employee, course, when=dt.datetime(2026, 3, 1, 12, tzinfo=UTC), connection_name="coursera"):
    return EnrollmentFactory(
        connection=ConnectionFactory(name=connection_name),
        employee=employee,
        course=course,
        is_completed=True,
        completed_at=when,
    )


@pytest.fixture
def catalog(personas):
    """Engineering's collection (2 courses), a company-wide one, and Sales' collection."""
    p = personas
    python = CourseFactory(title="Python for Everybody", partner="University of Michigan", url="https://c.example/py")
    ml = CourseFactory(title="Machine Learning", partner="Stanford", url="https://c.example/ml")
    comms = CourseFactory(title="Speaking with Confidence", partner="Acme Academy")
    negotiation = CourseFactory(title="Negotiation Basics", partner="Yale")
    eng = CollectionFactory(program=p.program, organization=p.engineering, name="Engineering path", needs="Ship ML")
    company = CollectionFactory(program=p.program, organization=None, name="Everyone's skills")
    sales = CollectionFactory(program=p.program, organization=p.sales, name="Sales path")
    CollectionItemFactory(collection=eng, course=python, position=1)
    CollectionItemFactory(collection=eng, course=ml, position=2)
    CollectionItemFactory(collection=company, course=comms, position=1)
    CollectionItemFactory(collection=sales, course=negotiation, position=1)
    return {"python": python, "ml": ml, "comms": comms, "negotiation": negotiation, "eng": eng, "sales": sales}


# --- Home ------------------------------------------------------------------------------------


def test_anonymous_home_goes_to_sign_in(personas):
    response = Client().get("/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/"


def test_home_shows_my_status_org_rank_and_collections(personas, catalog):
    p = personas
    completed(p.outsider, catalog["negotiation"])  # Sales: 1 of 1 met -> rank 1
    EnrollmentFactory(employee=p.employee, course=catalog["ml"])  # started, not completed
    response = p.client_for(p.employee).get("/")
    page = response.context["page"]

    assert response.status_code == 200
    assert (page.status.counted, page.status.required, page.status.met) == (0, 1, False)
    assert page.status.deadline == dt.date(2026, 12, 31)
    assert page.standing.progress.name == "Engineering"
    assert (page.standing.progress.eligible, page.standing.progress.met) == (3, 0)
    assert (page.standing.rank, page.standing.of) == (2, 2)
    assert [c.name for c in page.collections] == ["Engineering path", "Everyone's skills"]
    items = {item.course.title: item.my_status for c in page.collections for item in c.items.all()}
    assert items == {
        "Python for Everybody": "not started",
        "Machine Learning": "in progress",
        "Speaking with Confidence": "not started",
    }
    html = response.content.decode()
    assert "Not yet" in html
    assert '<a href="https://c.example/py" rel="noopener">Python for Everybody</a>' in html
    assert "Rank <strong>2</strong> of 2 organizations." in html
    assert "Negotiation Basics" not in html


def test_home_status_done_after_a_counted_completion(personas, catalog):
    p = personas
    completed(p.employee, catalog["python"])
    completed(p.employee, catalog["python"], when=dt.datetime(2026, 4, 1, tzinfo=UTC), connection_name="csv")  # twice
    completed(p.employee, catalog["ml"], when=dt.datetime(2025, 12, 31, 12, tzinfo=UTC))  # before the window

    page = p.client_for(p.employee).get("/").context["page"]

    assert (page.status.counted, page.status.met) == (1, True)
    assert (page.standing.progress.met, page.standing.rank) == (1, 1)
    items = {item.course.title: item.my_status for c in page.collections for item in c.items.all()}
    assert items["Python for Everybody"] == "completed"
    assert items["Machine Learning"] == "in progress"


def test_home_lists_joinable_groups_updates_and_shareable_stories(personas, catalog):
    p = personas
    eng_group = StudyGroupFactory(program=p.program, organization=p.engineering, name="ML circle", is_open=False)
    StudySessionFactory(group=eng_group)
    full = StudyGroupFactory(program=p.program, organization=p.engineering, name="Full group", capacity=1)
    StudySessionFactory(group=full)
    StudyGroupMembership.objects.create(group=full, employee=p.champion)
    closed_sales = StudyGroupFactory(program=p.program, organization=p.sales, name="Sales only", is_open=False)
    StudySessionFactory(group=closed_sales)
    ProgressUpdate.objects.create(program=p.program, organization=p.engineering, title="Eng update", body="b")
    ProgressUpdate.objects.create(program=p.program, organization=None, title="Company update", body="b")
    ProgressUpdate.objects.create(program=p.program, organization=p.sales, title="Sales update", body="b")
    LearnerStory.objects.create(
        program=p.program, employee=p.outsider, title="Shared", body="b", consent_to_share=True, moderation="approved"
    )
    LearnerStory.objects.create(
        program=p.program, employee=p.outsider, title="Waiting", body="b", consent_to_share=True
    )
    LearnerStory.objects.create(program=p.program, employee=p.outsider, title="Private", body="b")
    LearnerStory.objects.create(
        program=p.program,
        employee=p.outsider,
        title="Gone",
        body="b",
        consent_to_share=True,
        withdrawn_at=timezone.now(),
    )

    page = p.client_for(p.employee).get("/").context["page"]

    assert [g.name for g in page.groups] == ["ML circle"]
    assert sorted(u.title for u in page.updates) == ["Company update", "Eng update"]
    assert [s.title for s in page.stories] == ["Shared"]


# --- Collections -------------------------------------------------------------------------------


def test_collections_page_browse_and_search(personas, catalog):
    p = personas
    ExecutiveSponsor.objects.filter(employee=p.sponsor).update(launch_video_url="https://video.example/launch")
    client = p.client_for(p.employee)

    everything = client.get("/champions/collections/")
    by_partner = client.get("/champions/collections/", {"q": "stanford"})
    nothing = client.get("/champions/collections/", {"q": "underwater basket"})

    assert [c.name for c in everything.context["collections"]] == ["Engineering path", "Everyone's skills"]
    assert "https://video.example/launch" in everything.content.decode()
    assert "Ship ML" in everything.content.decode()
    assert [c.name for c in by_partner.context["collections"]] == ["Engineering path"]
    assert nothing.context["collections"] == []
    assert "No collection matches “underwater basket”." in nothing.content.decode()


def test_collections_of_another_org_are_not_listed(personas, catalog):
    response = personas.client_for(personas.outsider).get("/champions/collections/", {"q": "path"})
    assert [c.name for c in response.context["collections"]] == ["Sales path"]


def test_collections_page_needs_sign_in(personas, catalog):
    response = Client().get("/champions/collections/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- Study groups --------------------------------------------------------------------------------


@pytest.fixture
def groups(personas):
    p = personas
    return {
        "eng_closed": StudyGroupFactory(
            program=p.program, organization=p.engineering, name="Eng closed", is_open=False
        ),
        "sales_open": StudyGroupFactory(program=p.program, organization=p.sales, name="Sales open", is_open=True),
        "sales_closed": StudyGroupFactory(program=p.program, organization=p.sales, name="Sales closed", is_open=False),
        "company": StudyGroupFactory(program=p.program, organization=None, name="Company", is_open=False),
    }


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("employee", ["Company", "Eng closed", "Sales open"]),
        ("outsider", ["Company", "Sales closed", "Sales open"]),
        ("champion", ["Company", "Eng closed", "Sales open"]),
        ("admin", ["Company", "Eng closed", "Sales closed", "Sales open"]),
    ],
)
def test_groups_list_shows_my_org_and_open_groups(personas, groups, who, expected):
    response = personas.client_for(getattr(personas, who)).get("/champions/groups/")
    assert response.status_code == 200
    assert sorted(g.name for g in response.context["groups"]) == expected


def test_closed_group_of_another_org_is_hidden_and_cannot_be_joined(personas, groups):
    client = personas.client_for(personas.outsider)
    group = groups["eng_closed"]

    assert client.get(f"/champions/groups/{group.pk}/").status_code == 404
    assert client.post(f"/champions/groups/{group.pk}/join/").status_code == 404
    assert client.get(f"/champions/groups/{group.pk}/calendar.ics").status_code == 404
    assert StudyGroupMembership.objects.filter(group=group).count() == 0


def test_join_and_leave_are_idempotent(personas, groups):
    group = groups["sales_open"]
    client = personas.client_for(personas.employee)

    client.post(f"/champions/groups/{group.pk}/join/")
    second = client.post(f"/champions/groups/{group.pk}/join/", follow=True)
    assert list(StudyGroupMembership.objects.filter(group=group).values_list("employee__email", flat=True)) == [
        "bob@acme.example"
    ]
    assert "You are already in “Sales open”." in second.content.decode()

    client.post(f"/champions/groups/{group.pk}/leave/")
    again = client.post(f"/champions/groups/{group.pk}/leave/", follow=True)
    assert StudyGroupMembership.objects.filter(group=group).count() == 0
    assert "You were not in “Sales open”." in again.content.decode()


def test_join_needs_post_and_sign_in(personas, groups):
    group = groups["sales_open"]
    assert personas.client_for(personas.employee).get(f"/champions/groups/{group.pk}/join/").status_code == 405
    anonymous = Client().post(f"/champions/groups/{group.pk}/join/")
    assert anonymous.status_code == 302
    assert StudyGroupMembership.objects.count() == 0


def test_full_group_refuses_a_join(personas):
    p = personas
    group = StudyGroupFactory(program=p.program, organization=p.engineering, name="Small", capacity=1)
    StudyGroupMembership.objects.create(group=group, employee=p.champion)

    response = p.client_for(p.employee).post(f"/champions/groups/{group.pk}/join/", follow=True)

    assert "“Small” is full: no place left." in response.content.decode()
    assert list(StudyGroupMembership.objects.filter(group=group).values_list("employee_id", flat=True)) == [
        p.champion.pk
    ]


@pytest.mark.django_db(transaction=True)
def test_two_joins_at_once_never_exceed_capacity():
    from tests.factories import ProgramFactory, org

    program = ProgramFactory()
    group = StudyGroupFactory(program=program, organization=org("Acme/Engineering"), capacity=1)
    people = [EmployeeFactory() for _ in range(4)]
    barrier = threading.Barrier(len(people))
    outcomes: list[JoinOutcome] = []

    def join(person):
        try:
            barrier.wait()
            outcomes.append(study_group_join(group=group, employee=person))
        finally:
            connection.close()

    threads = [threading.Thread(target=join, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert StudyGroupMembership.objects.filter(group=group).count() == 1
    assert sorted(o.value for o in outcomes) == ["full", "full", "full", "joined"]


def test_session_ics_content_is_exact(personas):
    p = personas
    group = StudyGroupFactory(
        program=p.program,
        organization=p.engineering,
        name="ML circle",
        location="Room 4; floor 2, east",
        video_url="https://meet.example/ml",
    )
    session = StudySessionFactory(
        group=group,
        starts_at=dt.datetime(2026, 3, 2, 17, 30, tzinfo=UTC),
        ends_at=dt.datetime(2026, 3, 2, 19, 0, tzinfo=UTC),
        topic="Week 1, regression",
    )
    stamp = dt.datetime(2026, 2, 1, 8, 0, tzinfo=UTC)

    ics = sessions_calendar(sessions=[session], domain="learnhub.example", stamp=stamp, name="ML circle")

    assert ics == (
        "BEGIN:VCALENDAR\r\n"
        "VERSION:2.0\r\n"
        "PRODID:-//LearnHub//Study groups//EN\r\n"
        "CALSCALE:GREGORIAN\r\n"
        "METHOD:PUBLISH\r\n"
        "X-WR-CALNAME:ML circle\r\n"
        "BEGIN:VEVENT\r\n"
        f"UID:session-{session.pk}@learnhub.example\r\n"
        "DTSTAMP:20260201T080000Z\r\n"
        "DTSTART:20260302T173000Z\r\n"
        "DTEND:20260302T190000Z\r\n"
        "SUMMARY:ML circle: Week 1\\, regression\r\n"
        "LOCATION:Room 4\\; floor 2\\, east\r\n"
        "DESCRIPTION:Video link: https://meet.example/ml\r\n"
        "URL:https://meet.example/ml\r\n"
        "END:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )


def test_ics_download_converts_company_time_to_utc_and_folds_long_lines(personas, settings):
    settings.TIME_ZONE = "Europe/Paris"
    p = personas
    group = StudyGroupFactory(program=p.program, organization=p.engineering, name="G" * 90, description="a\nb")
    paris = timezone.get_current_timezone()
    StudySessionFactory(
        group=group,
        starts_at=dt.datetime(2026, 7, 1, 18, 0, tzinfo=paris),
        ends_at=dt.datetime(2026, 7, 1, 19, 0, tzinfo=paris),
    )
    StudySessionFactory(
        group=group,
        starts_at=dt.datetime(2026, 1, 5, 18, 0, tzinfo=paris),
        ends_at=dt.datetime(2026, 1, 5, 19, 0, tzinfo=paris),
    )

    response = p.client_for(p.employee).get(f"/champions/groups/{group.pk}/calendar.ics")
    body = response.content.decode()

    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="study-group-{group.pk}.ics"'
    assert [line for line in body.split("\r\n") if line.startswith("DTSTART")] == [
        "DTSTART:20260105T170000Z",
        "DTSTART:20260701T160000Z",
    ]
    assert "DESCRIPTION:a\\nb" in body
    assert all(len(line.encode()) <= 75 for line in body.split("\r\n"))
    assert "\n" not in body.replace("\r\n", "")
    assert f"\r\nSUMMARY:{'G' * 67}\r\n {'G' * 23}\r\n" in body


# --- My story ---------------------------------------------------------------------------------------


def test_share_edit_withdraw_and_reshare_a_story(personas, catalog):
    p = personas
    client = p.client_for(p.employee)

    client.post(
        "/champions/stories/mine/",
        {
            "title": "Automated reports",
            "body": "Saved 2h a week",
            "course": catalog["python"].pk,
            "consent_to_share": "on",
        },
    )
    story = LearnerStory.objects.get(employee=p.employee)
    assert (story.title, story.body, story.course, story.consent_to_share, story.withdrawn_at) == (
        "Automated reports",
        "Saved 2h a week",
        catalog["python"],
        True,
        None,
    )
    assert p.client_for(p.outsider).get("/").context["page"].stories == []
    p.client_for(p.champion).post(f"/champions/stories/{story.pk}/moderate/", {"to": "approved"})
    assert [s.title for s in p.client_for(p.outsider).get("/").context["page"].stories] == ["Automated reports"]

    client.post(
        f"/champions/stories/{story.pk}/edit/",
        {"title": "Automated weekly reports", "body": "Saved 3h", "consent_to_share": "on"},
    )
    story.refresh_from_db()
    assert (story.title, story.body, story.course) == ("Automated weekly reports", "Saved 3h", None)
    p.client_for(p.champion).post(f"/champions/stories/{story.pk}/moderate/", {"to": "approved"})

    client.post(f"/champions/stories/{story.pk}/withdraw/")
    story.refresh_from_db()
    assert story.withdrawn_at is not None
    assert p.client_for(p.outsider).get("/").context["page"].stories == []
    assert "Withdrawn" in client.get("/champions/stories/mine/").content.decode()

    client.post(f"/champions/stories/{story.pk}/reshare/")
    story.refresh_from_db()
    assert story.withdrawn_at is None
    assert [s.title for s in p.client_for(p.outsider).get("/").context["page"].stories] == ["Automated weekly reports"]


def test_story_without_consent_stays_private(personas):
    p = personas
    p.client_for(p.employee).post("/champions/stories/mine/", {"title": "Mine", "body": "Only me"})
    assert LearnerStory.objects.get(employee=p.employee).consent_to_share is False
    assert p.client_for(p.outsider).get("/").context["page"].stories == []


def test_story_form_error_keeps_typed_text(personas):
    p = personas
    response = p.client_for(p.employee).post("/champions/stories/mine/", {"title": "", "body": "My long typed text"})
    html = response.content.decode()
    assert response.status_code == 200
    assert LearnerStory.objects.count() == 0
    assert "My long typed text</textarea>" in html
    assert response.context["form"].errors == {"title": ["This field is required."]}


def test_nobody_else_edits_or_withdraws_my_story(personas):
    p = personas
    story = LearnerStory.objects.create(
        program=p.program, employee=p.employee, title="Mine", body="b", consent_to_share=True
    )
    for who in (p.outsider, p.champion, p.admin):
        client = p.client_for(who)
        assert client.post(f"/champions/stories/{story.pk}/withdraw/").status_code == 404
        assert client.post(f"/champions/stories/{story.pk}/edit/", {"title": "Hacked", "body": "x"}).status_code == 404
    anonymous = Client().post(f"/champions/stories/{story.pk}/withdraw/")
    assert anonymous.status_code == 302
    story.refresh_from_db()
    assert (story.title, story.body, story.withdrawn_at) == ("Mine", "b", None)
