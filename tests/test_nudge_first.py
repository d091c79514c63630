"""Who to nudge first (issue 14): the ranked list of the people still to complete, its
filters, CSV and nudges, the people still needed, the previews and a test sent to oneself;
the query count of the list at 10 and 1,000 people."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest

from programs.models import Employee, Enrollment
from reports.kept import people_to_nudge_read
from reports.messaging.digests import digest_for_org
from reports.models import SentMessage, Unsubscribe
from reports.people import Stage
from tests.factories import (
    CollectionFactory,
    CollectionItemFactory,
    ConnectionFactory,
    CourseFactory,
    EmployeeFactory,
    EnrollmentFactory,
    org,
)

pytestmark = pytest.mark.django_db

UTC = dt.UTC


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://learnhub.example"


@pytest.fixture
def ranked(personas):
    """Engineering and its Platform team, one person at each stage and one who met the goal:
    Ivy 80% through a course, Ian (Platform) 30% through, Nora enrolled without progress,
    Nate removed from a course he never opened; Bob, Chris and Sam on no provider; Dana met."""
    platform = org("Acme/Engineering/Platform")
    ml = CourseFactory(title="Machine Learning", url="https://c.example/ml")
    sql = CourseFactory(title="=SQL basics", url="https://c.example/sql")
    CollectionItemFactory(
        collection=CollectionFactory(program=personas.program, organization=personas.engineering), course=ml
    )
    connection = ConnectionFactory()
    people = {
        name: EmployeeFactory(
            email=f"{name.lower()}@acme.example",
            full_name=f"{name} {surname}",
            organization=platform if name == "Ian" else personas.engineering,
        )
        for name, surname in [
            ("Ivy", "Ahead"),
            ("Ian", "Platform"),
            ("Nora", "New"),
            ("Nate", "Never"),
            ("Dana", "Done"),
        ]
    }
    activity = dt.datetime(2026, 11, 20, 9, tzinfo=UTC)
    EnrollmentFactory(
        connection=connection, employee=people["Ivy"], course=ml, progress=Decimal("80"), last_activity_at=activity
    )
    EnrollmentFactory(connection=connection, employee=people["Ian"], course=sql, progress=Decimal("30"))
    EnrollmentFactory(connection=connection, employee=people["Nora"], course=ml, enrolled_at=activity)
    EnrollmentFactory(connection=connection, employee=people["Nate"], course=ml, is_removed=True)
    EnrollmentFactory(
        connection=connection,
        employee=people["Dana"],
        course=ml,
        is_completed=True,
        completed_at=dt.datetime(2026, 3, 1, 9, tzinfo=UTC),
    )
    return {**people, "platform": platform}


def test_the_ranked_list_puts_the_people_closest_to_the_goal_first(personas, ranked):
    people = people_to_nudge_read(program=personas.program, as_of=None, organization=personas.engineering)

    rows = [(p.full_name, p.stage, p.course_title, p.course_progress) for p in people]
    assert rows == [
        ("Ivy Ahead", "in-progress", "Machine Learning", Decimal("80.00")),
        ("Ian Platform", "in-progress", "=SQL basics", Decimal("30.00")),
        ("Nora New", "not-started", None, None),
        ("Nate Never", "never-active", None, None),
        ("Bob Builder", "not-on-provider", None, None),
        ("Chris Champion", "not-on-provider", None, None),
        ("Sam Sponsor", "not-on-provider", None, None),
    ]
    # The same list, as of an explicit day, from the engine's rules directly.
    engine = people_to_nudge_read(
        program=personas.program, as_of=dt.date(2026, 12, 1), organization=personas.engineering
    )
    assert [p.full_name for p in engine] == [r[0] for r in rows]


def test_the_page_shows_the_columns_and_the_people_still_needed(personas, ranked):
    SentMessage.objects.create(
        program=personas.program,
        kind="nudge",
        recipient_key=f"employee:{ranked['Nora'].pk}",
        period="p/n0",
        recipient="nora@acme.example",
        employee=ranked["Nora"],
        sent_by=personas.champion,
        status="sent",
        created_at=dt.datetime(2026, 11, 2, 9, tzinfo=UTC),
    )
    Unsubscribe.objects.create(employee=ranked["Nate"], kind="all")

    response = personas.client_for(personas.champion).get(f"/champions/not-yet/{personas.engineering.pk}/")

    people = {p.full_name: p for p in response.context["people"]}
    assert (people["Nora New"].last_nudged_at, people["Nora New"].last_nudged_by) == (
        dt.datetime(2026, 11, 2, 9, tzinfo=UTC),
        "Chris Champion",
    )
    assert [name for name, p in people.items() if p.unsubscribed] == ["Nate Never"]
    page = response.content.decode()
    assert '<progress max="100" value="80"' in page
    assert "by Chris Champion" in page
    # 1 of 8 eligible met the goal: 90% of 8 is 7.2, so 7 more people reach the target.
    headline = response.context["headline"]
    assert (headline.eligible, headline.met, headline.needed_for_target) == (8, 1, 7)
    assert "7 more people reach 90%" in page


def test_filters_by_team_and_status(personas, ranked):
    client = personas.client_for(personas.champion)
    url = f"/champions/not-yet/{personas.engineering.pk}/"

    in_progress = client.get(url, {"status": "in-progress"}).context["people"]
    platform = client.get(url, {"team": ranked["platform"].pk}).context["people"]
    sales_team = client.get(url, {"team": personas.sales.pk}).context["people"]  # not a team of Engineering: ignored

    assert [p.full_name for p in in_progress] == ["Ivy Ahead", "Ian Platform"]
    assert [p.full_name for p in platform] == ["Ian Platform"]
    assert len(sales_team) == 7


def test_nudge_everyone_in_a_filter_says_who_was_skipped_and_why(personas, ranked, mailoutbox):
    Unsubscribe.objects.create(employee=ranked["Ian"], kind="nudge")
    client = personas.client_for(personas.champion)
    url = f"/champions/not-yet/{personas.engineering.pk}/"

    response = client.post(url, {"status": "in-progress", "everyone": "1"}, follow=True)

    page = response.content.decode()
    assert "Nudged 1 person by e-mail." in page
    assert "Not nudged, 1 person: unsubscribed from nudges (Ian Platform)." in page
    assert response.redirect_chain[-1][0] == f"{url}?status=in-progress"
    (mail,) = mailoutbox
    assert mail.to == ["ivy@acme.example"]
    assert mail.body.split("\n\n")[2].startswith("Your next step: finish Machine Learning. You are 80% through.")
    assert SentMessage.objects.get(employee=ranked["Ivy"]).sent_by == personas.champion


def test_a_nudge_outside_the_list_changes_nothing(personas, ranked, mailoutbox):
    """Dana met the goal and Charlie is in Sales: neither is on Engineering's list."""
    client = personas.client_for(personas.champion)
    url = f"/champions/not-yet/{personas.engineering.pk}/"

    response = client.post(url, {"selected": [ranked["Dana"].pk, personas.outsider.pk, "x"]}, follow=True)

    assert "Select at least one person who has not completed yet." in response.content.decode()
    assert mailoutbox == []
    assert SentMessage.objects.count() == 0


def test_the_csv_is_the_ranked_list_and_formula_safe(personas, ranked):
    response = personas.client_for(personas.champion).get(
        f"/champions/not-yet/{personas.engineering.pk}/people.csv", {"status": "in-progress"}
    )

    assert response["Content-Disposition"].startswith('attachment; filename="learning-program-2026-acme-engineering')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:8] == [
        "rank",
        "full_name",
        "email",
        "team",
        "status",
        "course_in_progress",
        "course_progress",
        "counted_courses",
    ]
    assert [r[:8] for r in rows[1:]] == [
        [
            "1",
            "Ivy Ahead",
            "ivy@acme.example",
            "Acme/Engineering",
            "Course in progress",
            "Machine Learning",
            "80.0",
            "0",
        ],
        [
            "2",
            "Ian Platform",
            "ian@acme.example",
            "Acme/Engineering/Platform",
            "Course in progress",
            "'=SQL basics",
            "30.0",
            "0",
        ],
    ]


def test_the_weekly_digest_lists_the_people_still_to_complete_in_the_same_order(personas, ranked):
    digest = digest_for_org(program=personas.program, organization=personas.engineering)

    assert [p.full_name for p in digest.people_not_met] == [
        p.full_name
        for p in people_to_nudge_read(program=personas.program, as_of=None, organization=personas.engineering)
    ]


def test_a_champion_previews_a_nudge_and_sends_a_test_to_themselves(personas, ranked, mailoutbox):
    client = personas.client_for(personas.champion)
    url = f"/champions/not-yet/{personas.engineering.pk}/preview/{ranked['Ivy'].pk}/"

    page = client.get(url).content.decode()
    html = client.get(f"{url}email.html")
    sent = client.post(url, follow=True).content.decode()

    assert "Your next step: finish Machine Learning. You are 80% through." in page
    assert "'unsafe-inline'" in html["Content-Security-Policy"]
    assert "Continue Machine Learning" in html.content.decode()
    assert "A test copy was sent to chris@acme.example." in sent
    (mail,) = mailoutbox
    assert mail.to == ["chris@acme.example"]
    assert mail.subject.startswith("[LearnHub test] ")
    assert "Hello Ivy," in mail.body
    assert SentMessage.objects.count() == 0  # not a nudge: the interval is untouched


def test_a_digest_preview_has_the_ranked_people(personas, ranked):
    page = personas.client_for(personas.admin).get(f"/champions/not-yet/{personas.engineering.pk}/digest-preview/")

    text = page.context["text"]
    assert "Still to complete (7):" in text
    assert text.index("Ivy Ahead") < text.index("Nora New") < text.index("Bob Builder")


def test_a_sponsor_sees_the_list_but_previews_nothing_and_nothing_is_sent(personas, ranked, mailoutbox):
    client = personas.client_for(personas.sponsor)
    preview = f"/champions/not-yet/{personas.engineering.pk}/preview/{ranked['Ivy'].pk}/"
    outsider = personas.client_for(personas.champion).get(
        f"/champions/not-yet/{personas.engineering.pk}/preview/{personas.outsider.pk}/"
    )

    assert client.get(f"/champions/not-yet/{personas.engineering.pk}/").status_code == 200
    assert client.get(preview).status_code == 403
    assert client.post(preview).status_code == 403
    assert outsider.status_code == 404  # not a person of Engineering
    assert mailoutbox == []


@pytest.mark.parametrize("size", [10, 1000])
def test_the_ranked_list_costs_the_same_queries_at_10_and_1000_people(personas, django_assert_num_queries, size):
    """Stages, courses in progress, nudges and unsubscribes across `size` people of
    Engineering; the list is one query however many they are."""
    course = CourseFactory()
    connection = ConnectionFactory()
    people = Employee.objects.bulk_create(
        Employee(email=f"p{i}@acme.example", full_name=f"Person {i}", organization=personas.engineering)
        for i in range(size)
    )
    Enrollment.objects.bulk_create(
        Enrollment(
            connection=connection,
            learner_key=person.email,
            employee=person,
            course=course,
            progress=Decimal(i % 100),
            is_removed=i % 7 == 0,
        )
        for i, person in enumerate(people)
        if i % 3
    )
    Unsubscribe.objects.bulk_create(Unsubscribe(employee=person, kind="nudge") for person in people[::5])
    read = lambda: list(people_to_nudge_read(program=personas.program, as_of=None, organization=personas.engineering))  # noqa: E731
    read()  # keeps the people

    with django_assert_num_queries(2):  # the kept people are fresh, then the ranked list
        ranked_people = read()

    client = personas.client_for(personas.champion)
    url = f"/champions/not-yet/{personas.engineering.pk}/"
    client.get(url)  # warm the per-process caches
    with django_assert_num_queries(17):  # as tests/test_page_queries.py counts them
        page = client.get(url, {"status": "in-progress"})

    assert len(page.context["people"]) == len([i for i in range(size) if i % 3 and i % 7 and i % 100])
    assert len(ranked_people) == size + 3
    assert [p.stage for p in ranked_people][:1] == [Stage.IN_PROGRESS]
    assert ranked_people[0].course_progress == Decimal(max(i % 100 for i in range(size) if i % 3 and i % 7))


def test_the_api_gives_the_same_ranked_list_to_those_who_may_see_it(personas, ranked):
    url = f"/api/v1/organizations/{personas.engineering.pk}/to-nudge/"

    champion = personas.client_for(personas.champion).get(url, {"status": "in-progress"}).json()
    everyone = personas.client_for(personas.admin).get(url, {"page_size": 3}).json()
    refused = [personas.client_for(getattr(personas, who)).get(url).status_code for who in ("employee", "outsider")]
    bad_status = personas.client_for(personas.champion).get(url, {"status": "done"})

    assert champion["results"][0] == {
        "id": ranked["Ivy"].pk,
        "full_name": "Ivy Ahead",
        "email": "ivy@acme.example",
        "team": "Acme/Engineering",
        "status": "in-progress",
        "course_in_progress": "Machine Learning",
        "course_progress": 80.0,
        "counted_courses": 0,
        "last_activity_at": "2026-11-20T09:00:00Z",
        "last_nudged_at": None,
        "last_nudged_by": None,
        "unsubscribed": False,
    }
    assert [p["full_name"] for p in champion["results"]] == ["Ivy Ahead", "Ian Platform"]
    assert (everyone["count"], [p["full_name"] for p in everyone["results"]]) == (
        7,
        ["Ivy Ahead", "Ian Platform", "Nora New"],
    )
    assert refused == [403, 403]
    assert bad_status.status_code == 400
