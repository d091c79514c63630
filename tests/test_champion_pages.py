"""Learning Champion pages: study groups, sessions, attendance, updates, "not yet
completed" with nudges, the champions' network. Every refused write changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from champions.models import Attendance, PracticeNote, ProgressUpdate, StudyGroup, StudyGroupMembership, StudySession
from reports.models import ProgressSnapshot
from tests.factories import (
    ChampionFactory,
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


def group_snapshot():
    return sorted(
        StudyGroup.objects.values_list(
            "pk", "name", "organization_id", "capacity", "is_open", "location", "course_id", "collection_id"
        )
    )


@pytest.fixture
def course(personas):
    course = CourseFactory(title="Machine Learning", url="https://c.example/ml")
    collection = CollectionFactory(program=personas.program, organization=personas.engineering, name="Eng path")
    CollectionItemFactory(collection=collection, course=course)
    return course


@pytest.fixture
def eng_group(personas, course):
    group = StudyGroupFactory(
        program=personas.program,
        organization=personas.engineering,
        name="ML circle",
        course=course,
        capacity=5,
        is_open=False,
    )
    StudyGroupMembership.objects.create(group=group, employee=personas.employee)
    return group


@pytest.fixture
def sales_group(personas):
    return StudyGroupFactory(program=personas.program, organization=personas.sales, name="Sales circle", is_open=False)


# --- Study groups ---------------------------------------------------------------------------------


def test_champion_creates_a_study_group(personas, course):
    response = personas.client_for(personas.champion).post(
        "/champions/groups/new/",
        {
            "organization": personas.engineering.pk,
            "name": "ML circle",
            "course": course.pk,
            "location": "Room 4",
            "video_url": "https://meet.example/ml",
            "capacity": "8",
            "is_open": "on",
        },
    )
    group = StudyGroup.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/champions/groups/{group.pk}/"
    assert (group.program, group.organization, group.champion, group.course, group.capacity, group.is_open) == (
        personas.program,
        personas.engineering,
        personas.champion,
        course,
        8,
        True,
    )


def test_group_needs_a_course_or_collection_and_keeps_typed_text(personas, course):
    response = personas.client_for(personas.champion).post(
        "/champions/groups/new/", {"organization": personas.engineering.pk, "name": "My typed name", "capacity": "0"}
    )
    assert response.status_code == 200
    assert StudyGroup.objects.count() == 0
    assert response.context["form"].errors == {
        "capacity": ["Ensure this value is greater than or equal to 1."],
    }
    response = personas.client_for(personas.champion).post(
        "/champions/groups/new/", {"organization": personas.engineering.pk, "name": "My typed name"}
    )
    assert response.context["form"].errors == {"course": ["Choose a course or a collection for the group."]}
    assert 'value="My typed name"' in response.content.decode()
    assert StudyGroup.objects.count() == 0


def test_champion_cannot_create_a_group_for_another_org(personas, course):
    response = personas.client_for(personas.champion).post(
        "/champions/groups/new/", {"organization": personas.sales.pk, "name": "Sneaky", "course": course.pk}
    )
    assert response.status_code == 200
    assert "organization" in response.context["form"].errors
    assert StudyGroup.objects.count() == 0


def test_champion_of_engineering_cannot_edit_a_sales_group(personas, sales_group, course):
    before = group_snapshot()
    response = personas.client_for(personas.champion).post(
        f"/champions/groups/{sales_group.pk}/edit/",
        {"organization": personas.engineering.pk, "name": "Taken over", "course": course.pk},
    )
    assert response.status_code == 403
    assert group_snapshot() == before


def test_champion_edits_own_group_but_not_below_members(personas, eng_group, course):
    StudyGroupMembership.objects.create(group=eng_group, employee=personas.sponsor)
    client = personas.client_for(personas.champion)
    data = {"organization": personas.engineering.pk, "name": "ML circle", "course": course.pk, "capacity": "1"}

    refused = client.post(f"/champions/groups/{eng_group.pk}/edit/", data)
    assert refused.context["form"].errors == {"capacity": ["The group already has 2 members; raise the capacity."]}
    eng_group.refresh_from_db()
    assert eng_group.capacity == 5

    client.post(f"/champions/groups/{eng_group.pk}/edit/", {**data, "capacity": "", "name": "ML circle II"})
    eng_group.refresh_from_db()
    assert (eng_group.name, eng_group.capacity) == ("ML circle II", None)


# --- Sessions and attendance --------------------------------------------------------------------------


def test_champion_adds_a_session_in_the_company_time_zone(personas, eng_group, settings):
    settings.TIME_ZONE = "America/New_York"
    response = personas.client_for(personas.champion).post(
        f"/champions/groups/{eng_group.pk}/sessions/new/",
        {"starts_at": "2026-03-10T18:00", "ends_at": "2026-03-10T19:30", "topic": "Week 1", "notes": "Bring laptops"},
    )
    session = StudySession.objects.get()
    assert response.status_code == 302
    assert (session.starts_at, session.ends_at) == (
        dt.datetime(2026, 3, 10, 22, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 10, 23, 30, tzinfo=UTC),
    )
    assert (session.topic, session.notes) == ("Week 1", "Bring laptops")
    page = personas.client_for(personas.employee).get(f"/champions/groups/{eng_group.pk}/").content.decode()
    assert "Tue 10 Mar 2026, 18:00\N{EN DASH}19:30" in page


def test_session_ending_before_it_starts_is_refused_with_text_kept(personas, eng_group):
    response = personas.client_for(personas.champion).post(
        f"/champions/groups/{eng_group.pk}/sessions/new/",
        {"starts_at": "2026-03-10T18:00", "ends_at": "2026-03-10T17:00", "topic": "My topic"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"ends_at": ["The session must end after it starts."]}
    assert 'value="My topic"' in response.content.decode()
    assert StudySession.objects.count() == 0


def test_champion_records_attendance_as_a_set(personas, eng_group):
    session = StudySessionFactory(group=eng_group)
    newcomer = EmployeeFactory(email="nina@acme.example", full_name="Nina New", organization=personas.engineering)
    client = personas.client_for(personas.champion)

    found = client.get(f"/champions/sessions/{session.pk}/attendance/", {"q": "nina"})
    assert [p.email for p in found.context["people"]] == ["bob@acme.example", "nina@acme.example"]

    client.post(f"/champions/sessions/{session.pk}/attendance/", {"attendees": [personas.employee.pk, newcomer.pk]})
    assert sorted(Attendance.objects.filter(session=session).values_list("employee__email", flat=True)) == [
        "bob@acme.example",
        "nina@acme.example",
    ]
    client.post(f"/champions/sessions/{session.pk}/attendance/", {"attendees": [newcomer.pk]})
    client.post(f"/champions/sessions/{session.pk}/attendance/", {"attendees": [newcomer.pk]})
    assert list(Attendance.objects.filter(session=session).values_list("employee__email", flat=True)) == [
        "nina@acme.example"
    ]
    page = client.get(f"/champions/sessions/{session.pk}/attendance/").content.decode()
    assert '<ul class="attended"><li>Nina New</li></ul>' in page


def test_attendance_refuses_people_from_another_org_and_saves_nothing(personas, eng_group):
    session = StudySessionFactory(group=eng_group)
    response = personas.client_for(personas.champion).post(
        f"/champions/sessions/{session.pk}/attendance/",
        {"attendees": [personas.employee.pk, personas.outsider.pk]},
        follow=True,
    )
    assert "Nothing was saved." in response.content.decode()
    assert Attendance.objects.count() == 0


def test_champion_of_engineering_cannot_take_attendance_in_sales(personas, sales_group):
    session = StudySessionFactory(group=sales_group)
    StudyGroupMembership.objects.create(group=sales_group, employee=personas.outsider)
    client = personas.client_for(personas.champion)
    assert client.get(f"/champions/sessions/{session.pk}/attendance/").status_code == 403
    assert (
        client.post(f"/champions/sessions/{session.pk}/attendance/", {"attendees": [personas.outsider.pk]}).status_code
        == 403
    )
    assert (
        client.post(
            f"/champions/groups/{sales_group.pk}/sessions/new/",
            {"starts_at": "2026-03-10T18:00", "ends_at": "2026-03-10T19:00"},
        ).status_code
        == 403
    )
    assert Attendance.objects.count() == 0
    assert StudySession.objects.count() == 1


# --- Updates ----------------------------------------------------------------------------------------------


def test_champion_posts_an_update_to_their_org(personas):
    personas.client_for(personas.champion).post(
        "/champions/updates/new/", {"organization": personas.engineering.pk, "title": "Halfway", "body": "50% done"}
    )
    update = ProgressUpdate.objects.get()
    assert (update.organization, update.author, update.title, update.body, update.for_all_hands) == (
        personas.engineering,
        personas.champion,
        "Halfway",
        "50% done",
        False,
    )


def test_champion_cannot_post_to_another_org_or_for_the_all_hands(personas):
    client = personas.client_for(personas.champion)
    wrong_org = client.post("/champions/updates/new/", {"organization": personas.sales.pk, "title": "t", "body": "b"})
    assert "organization" in wrong_org.context["form"].errors
    client.post(
        "/champions/updates/new/",
        {"organization": personas.engineering.pk, "title": "t", "body": "b", "for_all_hands": "on"},
    )
    assert list(ProgressUpdate.objects.values_list("for_all_hands", flat=True)) == [False]
    refused = personas.client_for(personas.employee).post(
        "/champions/updates/new/", {"organization": personas.engineering.pk, "title": "t", "body": "b"}
    )
    assert refused.status_code == 403
    assert ProgressUpdate.objects.count() == 1


# --- Not yet completed and nudges -------------------------------------------------------------------------


@pytest.fixture
def progress_data(personas, course):
    """Bob has not completed (activity in March); Dana completed; Pat in a team, no activity."""
    platform_team = personas.engineering.children.create(name="Platform", path="Acme/Engineering/Platform", depth=2)
    dana = EmployeeFactory(email="dana@acme.example", full_name="Dana Done", organization=personas.engineering)
    pat = EmployeeFactory(email="pat@acme.example", full_name="Pat Platform", organization=platform_team)
    connection = ConnectionFactory()
    EnrollmentFactory(
        connection=connection,
        employee=personas.employee,
        course=course,
        last_activity_at=dt.datetime(2026, 3, 5, 9, tzinfo=UTC),
    )
    EnrollmentFactory(
        connection=connection,
        employee=dana,
        course=course,
        is_completed=True,
        completed_at=dt.datetime(2026, 2, 1, 9, tzinfo=UTC),
    )
    return {"dana": dana, "pat": pat}


def test_not_yet_lists_eligible_people_who_have_not_met_the_goal(personas, progress_data):
    response = personas.client_for(personas.champion).get(f"/champions/not-yet/{personas.engineering.pk}/")
    rows = [(p.email, p.organization.name, p.last_activity_at) for p in response.context["people"]]
    assert rows == [
        ("bob@acme.example", "Engineering", dt.datetime(2026, 3, 5, 9, tzinfo=UTC)),
        ("chris@acme.example", "Engineering", None),
        ("sam@acme.example", "Engineering", None),
        ("pat@acme.example", "Platform", None),
    ]
    assert "at most one nudge per interval" in response.content.decode()


def test_champion_of_engineering_cannot_see_sales_not_yet_list(personas, progress_data):
    for who in ("champion", "employee", "outsider"):
        response = personas.client_for(getattr(personas, who)).get(f"/champions/not-yet/{personas.sales.pk}/")
        assert response.status_code == 403
        nudge = personas.client_for(getattr(personas, who)).post(
            f"/champions/not-yet/{personas.sales.pk}/", {"only": personas.outsider.pk}
        )
        assert nudge.status_code == 403


def test_not_yet_index_redirects_a_champion_to_their_org(personas):
    response = personas.client_for(personas.champion).get("/champions/not-yet/")
    assert response["Location"] == f"/champions/not-yet/{personas.engineering.pk}/"
    admin = personas.client_for(personas.admin).get("/champions/not-yet/")
    assert [o.path for o in admin.context["organizations"]] == ["Acme/Engineering", "Acme/Sales"]
    assert personas.client_for(personas.employee).get("/champions/not-yet/").status_code == 403


def test_nudge_one_and_nudge_selected_email_only_people_still_to_complete(personas, progress_data, mailoutbox):
    client = personas.client_for(personas.champion)
    url = f"/champions/not-yet/{personas.engineering.pk}/"

    one = client.post(url, {"only": personas.employee.pk}, follow=True).content.decode()
    many = client.post(
        url,
        {"selected": [personas.employee.pk, progress_data["pat"].pk, progress_data["dana"].pk], "bulk": "1"},
        follow=True,
    ).content.decode()
    none = client.post(url, {"bulk": "1"}, follow=True).content.decode()

    assert "Nudged 1 person by e-mail." in one
    # Dana met the goal (not on the list, so never a target); Bob was nudged a moment ago.
    assert "Nudged 1 person by e-mail." in many
    assert "Not nudged, 1 person: nudged recently" in many
    assert "Select at least one person who has not completed yet." in none
    assert sorted(m.to[0] for m in mailoutbox) == ["bob@acme.example", "pat@acme.example"]


def test_nudges_wait_for_an_active_program(personas, progress_data, mailoutbox):
    personas.program.status = "closed"
    personas.program.save(update_fields=["status"])
    response = personas.client_for(personas.champion).post(
        f"/champions/not-yet/{personas.engineering.pk}/", {"only": personas.employee.pk}, follow=True
    )
    assert "Nothing was sent: nudges go out only while the program is active." in response.content.decode()
    assert mailoutbox == []


# --- Network ---------------------------------------------------------------------------------------------------


def test_network_shows_champions_rate_trend_groups_and_practices(personas, progress_data, eng_group):
    p = personas
    sales_champion = EmployeeFactory(email="sara@acme.example", full_name="Sara Sales", organization=p.sales)
    ChampionFactory(program=p.program, organization=p.sales, employee=sales_champion)
    for day, rate in [(dt.date(2026, 11, 1), 0.10), (dt.date(2026, 11, 20), 0.25)]:
        ProgressSnapshot.objects.create(
            program=p.program,
            organization=p.engineering,
            day=day,
            eligible=4,
            met=1,
            completions=1,
            curated_completions=1,
            rate=rate,
        )
    PracticeNote.objects.create(program=p.program, author=sales_champion, title="Lunch and learn", body="Fridays")

    response = p.client_for(p.sponsor).get("/champions/network/")
    entries = {e.organization.path: e for e in response.context["entries"]}

    assert sorted(entries) == ["Acme/Engineering", "Acme/Sales"]
    eng = entries["Acme/Engineering"]
    assert ([c.email for c in eng.champions], eng.progress.eligible, eng.progress.met) == (["chris@acme.example"], 5, 1)
    assert [g.name for g in eng.groups] == ["ML circle"]
    assert entries["Acme/Sales"].trend is None
    assert "Lunch and learn" in response.content.decode()
    assert response.context["can_post"] is False


def test_the_network_lists_only_the_groups_its_reader_may_open(personas, sales_group):
    p = personas
    ChampionFactory(program=p.program, organization=p.sales, employee=EmployeeFactory(organization=p.sales))
    StudyGroupFactory(program=p.program, organization=p.sales, name="Sales open hour", is_open=True)

    def listed(person):
        response = p.client_for(person).get("/champions/network/")
        entries = {e.organization.path: e for e in response.context["entries"]}
        return [g.name for g in entries["Acme/Sales"].groups], response.content.decode()

    # Engineering's champion may not open Sales' closed group: it is not listed, nor linked.
    names, html = listed(p.champion)
    assert names == ["Sales open hour"]
    assert f'href="/champions/groups/{sales_group.pk}/"' not in html
    assert p.client_for(p.champion).get(f"/champions/groups/{sales_group.pk}/").status_code == 404
    assert listed(p.admin)[0] == ["Sales circle", "Sales open hour"]


def test_network_trend_is_the_change_over_the_snapshots(personas, settings):
    from champions.selectors import org_trends

    p = personas
    for day, rate in [(dt.date(2026, 5, 1), 0.10), (dt.date(2026, 5, 20), 0.25), (dt.date(2026, 6, 10), 0.9)]:
        ProgressSnapshot.objects.create(
            program=p.program,
            organization=p.engineering,
            day=day,
            eligible=4,
            met=1,
            completions=1,
            curated_completions=1,
            rate=rate,
        )
    trends = org_trends(program=p.program, organization_ids=[p.engineering.pk], day=dt.date(2026, 5, 25))
    assert trends[p.engineering.pk] == pytest.approx(0.15)


def test_champion_posts_a_practice_and_sponsor_cannot(personas):
    personas.client_for(personas.champion).post("/champions/network/", {"title": "Pair up", "body": "Buddies finish"})
    refused = personas.client_for(personas.sponsor).post("/champions/network/", {"title": "x", "body": "y"})
    outsider = personas.client_for(personas.outsider).post("/champions/network/", {"title": "x", "body": "y"})
    assert (refused.status_code, outsider.status_code) == (403, 403)
    assert list(PracticeNote.objects.values_list("title", "author__email")) == [("Pair up", "chris@acme.example")]


def test_navigation_shows_each_role_a_person_holds(personas):
    from tests.factories import SponsorFactory

    SponsorFactory(program=personas.program, organization=personas.sales, employee=personas.champion)
    links = {
        who: personas.client_for(getattr(personas, who)).get("/").content.decode()
        for who in ("employee", "champion", "sponsor")
    }

    def nav(html):
        return [
            name
            for name in ("Study groups", "My story", "Network", "Not yet completed", "My sponsorship")
            if f">{name}</a>" in html
        ]

    assert nav(links["employee"]) == ["Study groups", "My story"]
    assert nav(links["sponsor"]) == ["Study groups", "My story", "My sponsorship"]
    assert nav(links["champion"]) == ["Study groups", "My story", "Network", "Not yet completed", "My sponsorship"]


def test_champion_runs_groups_for_teams_below_their_org(personas, course):
    from tests.factories import org

    platform = org("Acme/Engineering/Platform")
    personas.client_for(personas.champion).post(
        "/champions/groups/new/", {"organization": platform.pk, "name": "Platform readers", "course": course.pk}
    )
    assert list(StudyGroup.objects.values_list("name", "organization__path")) == [
        ("Platform readers", "Acme/Engineering/Platform")
    ]
