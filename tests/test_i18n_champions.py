"""The champions' pages in German: a browser that asks for German (Accept-Language: de)
gets the home page, "who to nudge first", the study groups, a group, the team page, the
sponsor's page, the updates and the stories in German, with German dates and rates, and
the messages after an action in German too. (The English pages are the other tests'.)"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from champions.models import LearnerStory, ProgressUpdate, StudyGroupMembership
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
GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de"}
NBSP = "\N{NO-BREAK SPACE}"  # German rates: "90 %", the sign kept with its number


def german_page(client: Client, url: str) -> str:
    response = client.get(url, **GERMAN)
    assert response.status_code == 200
    assert response["Content-Language"] == "de"
    return response.content.decode()


@pytest.fixture
def group(personas):
    """Engineering's "ML circle" on Machine Learning (in Engineering's collection), with
    Bob as its member and one session on Tuesday 10 March 2026, 18:00-19:30 (UTC, the company time zone)."""
    course = CourseFactory(title="Machine Learning", url="https://c.example/ml")
    collection = CollectionFactory(program=personas.program, organization=personas.engineering, name="Eng path")
    CollectionItemFactory(collection=collection, course=course)
    group = StudyGroupFactory(
        program=personas.program,
        organization=personas.engineering,
        name="ML circle",
        course=course,
        capacity=5,
        location="Room 4",
    )
    StudyGroupMembership.objects.create(group=group, employee=personas.employee)
    StudySessionFactory(
        group=group,
        starts_at=dt.datetime(2026, 3, 10, 18, tzinfo=UTC),
        ends_at=dt.datetime(2026, 3, 10, 19, 30, tzinfo=UTC),
        topic="Kick-off",
    )
    return group


def test_the_home_page_in_german(personas, group):
    html = german_page(personas.client_for(personas.employee), "/")

    assert '<html lang="de">' in html
    assert "<h1>Willkommen, Bob</h1>" in html
    assert (
        f"Ziel: <strong>90{NBSP}%</strong> der Mitarbeitenden schließen zwischen 01.01.2026 und 31.12.2026 "
        "mindestens 1 Kurs ab."
    ) in html
    assert '<span class="badge warn">Noch nicht</span>' in html
    assert "<strong>0 von 1</strong> angerechneten Kurs abgeschlossen." in html
    assert "Platz <strong>1</strong> von 2 Organisationen." in html
    assert '<h2 id="groups-title">Lerngruppen, denen Sie beitreten können</h2>' in html
    assert '<h2 id="collections-title">Ihre Kurssammlungen</h2>' in html
    assert '<span class="badge">Nicht begonnen</span>' in html
    assert '<h2 id="updates-title">Neueste Neuigkeiten</h2>' in html
    assert '<h2 id="stories-title">Geschichten von Lernenden</h2>' in html
    assert "Teilen Sie Ihre Geschichte</a>" in html


def test_who_to_nudge_first_in_german(personas):
    ivy = EmployeeFactory(full_name="Ivy Ahead", organization=personas.engineering)
    EnrollmentFactory(
        connection=ConnectionFactory(),
        employee=ivy,
        course=CourseFactory(title="Machine Learning"),
        progress=Decimal("80"),
        last_activity_at=dt.datetime(2026, 11, 20, 9, tzinfo=UTC),
    )

    html = german_page(personas.client_for(personas.champion), f"/champions/not-yet/{personas.engineering.pk}/")

    assert "<h1>Wen zuerst erinnern: Engineering</h1>" in html
    assert f"<strong>0{NBSP}%</strong> haben das Ziel erreicht (0 von 4)." in html
    assert f"<strong>Mit 4 weiteren Personen sind 90{NBSP}% erreicht</strong>;" in html
    assert "4 Personen müssen noch abschließen, die dem Ziel am nächsten zuerst:" in html
    assert '<button type="submit" name="bulk" value="1">Ausgewählte erinnern</button>' in html
    assert ">Alle 4 in dieser Liste erinnern</button>" in html
    assert (
        "<th>Person</th><th>Status</th><th>Team</th><th>Letzte Aktivität beim Anbieter</th>"
        "<th>Zuletzt erinnert</th><th>Erinnern</th>"
    ) in html
    assert f"80{NBSP}% · 0 angerechnet" in html
    assert "20.11.2026" in html
    assert '<span class="muted">nie</span>' in html
    assert '<option value="" selected>Jeder Status</option>' in html


def test_a_nudge_says_what_it_did_in_german(personas, mailoutbox):
    EmployeeFactory(full_name="Nora New", organization=personas.engineering)
    url = f"/champions/not-yet/{personas.engineering.pk}/"

    response = personas.client_for(personas.champion).post(url, {"everyone": "1"}, follow=True, **GERMAN)

    assert "4 Personen per E-Mail erinnert." in response.content.decode()


def test_the_study_groups_and_a_group_in_german(personas, group):
    client = personas.client_for(personas.champion)

    groups = german_page(client, "/champions/groups/")
    detail = german_page(client, f"/champions/groups/{group.pk}/")

    assert "<h1>Lerngruppen</h1>" in groups
    assert (
        '<th>Gruppe</th><th>Organisation</th><th>Lernstoff</th><th class="num">Mitglieder</th><th>Sie</th>'
    ) in groups
    assert '<span class="badge">Offen</span>' in groups
    assert ">Neue Lerngruppe</a>" in groups
    assert '<span class="badge">Offen für alle</span>' in detail
    assert "<p>Ort: Room 4</p>" in detail
    assert "<p>Mitglieder: <strong>1</strong> von 5 Plätzen</p>" in detail
    assert ">Der Gruppe beitreten</button>" in detail
    assert ">Alle Termine in meinen Kalender (.ics)</a>" in detail
    assert "<h2>Termine</h2>" in detail
    assert "<td>Di, 10. Mär 2026, 18:00\N{EN DASH}19:30</td>" in detail
    assert ">Anwesenheit</a> · <a" in detail


def test_joining_a_group_says_so_in_german(personas, group):
    response = personas.client_for(personas.outsider).post(f"/champions/groups/{group.pk}/join/", follow=True, **GERMAN)

    assert "Sie sind „ML circle“ beigetreten." in response.content.decode()


def test_a_form_s_labels_and_errors_in_german(personas, group):
    response = personas.client_for(personas.champion).post(
        f"/champions/groups/{group.pk}/edit/",
        {"organization": personas.engineering.pk, "name": "ML circle", "capacity": "5"},
        **GERMAN,
    )

    html = response.content.decode()
    assert "<h1>„ML circle“ bearbeiten</h1>" in html
    assert '<label for="id_name">Name</label>' in html
    assert 'Plätze <span class="muted">(optional)</span></label>' in html
    assert "Wählen Sie einen Kurs oder eine Kurssammlung für die Gruppe." in html
    assert ">Gruppe speichern</button>" in html


def test_the_team_page_in_german(personas):
    maya = EmployeeFactory(full_name="Maya Manager", organization=personas.engineering)
    EmployeeFactory(full_name="Ivy Ahead", organization=personas.engineering, manager=maya)

    html = german_page(personas.client_for(maya), "/champions/team/")

    assert "<h1>Mein Team</h1>" in html
    assert "Learning Program 2026: 0 von 1 haben das Ziel erreicht</h2>" in html
    assert (
        f"0{NBSP}% der Personen, die direkt oder über andere an Sie berichten, bei einem Zielwert von 90{NBSP}%."
        in html
    )
    assert '<button type="submit" class="button">Ausgewählte Personen erinnern</button>' in html
    assert 'aria-label="Ivy Ahead auswählen"' in html
    assert '<span class="badge warn">Nicht begonnen</span>' in html


def test_the_sponsor_page_in_german(personas):
    CollectionFactory(
        program=personas.program, organization=personas.engineering, name="Engineering path", approval_status="pending"
    )

    html = german_page(personas.client_for(personas.sponsor), "/champions/sponsor/")

    assert "<h1>Mein Sponsoring</h1>" in html
    assert '<h2 id="commitment-title">Ihre Zusage</h2>' in html
    assert "Sie haben 0 von 1 Kurs abgeschlossen, den Sie in Learning Program 2026 zugesagt haben." in html
    assert f"0{NBSP}% von 3 Personen haben das Ziel erreicht." in html
    assert "<legend>Ihre Entscheidung</legend>" in html
    assert "> Änderungen anfordern</label>" in html
    assert ">Entscheidung senden</button>" in html
    assert ">Link zum Startvideo" in html


def test_the_updates_in_german(personas):
    ProgressUpdate.objects.create(
        program=personas.program, organization=None, author=personas.admin, title="Kick-off", body="Los geht's"
    )

    html = german_page(personas.client_for(personas.employee), "/champions/updates/")

    assert "<h1>Neuigkeiten aus dem ganzen Unternehmen</h1>" in html
    assert "Learning Program 2026 · 1 Neuigkeit, neueste zuerst." in html
    assert "Unternehmensweit · <time" in html


def test_the_stories_in_german(personas):
    LearnerStory.objects.create(
        program=personas.program,
        employee=personas.employee,
        title="Automated reports",
        body="Saved 3h a week",
        consent_to_share=True,
    )

    mine = german_page(personas.client_for(personas.employee), "/champions/stories/mine/")
    review = german_page(personas.client_for(personas.champion), "/champions/stories/review/")

    assert "<h1>Meine Geschichte</h1>" in mine
    assert '<span class="badge warn">Wartet auf Freigabe</span>' in mine
    assert ">Meine Geschichte teilen</button>" in mine
    assert "<h1>Freizugebende Geschichten von Lernenden</h1>" in review
    assert '<option value="pending" selected>Wartet auf Freigabe</option>' in review
    assert "1 Geschichte" in review
    assert 'aria-label="„Automated reports“ freigeben">Freigeben</button>' in review


def test_the_same_pages_stay_english_for_an_english_browser(personas, group):
    client = personas.client_for(personas.champion)

    detail = client.get(f"/champions/groups/{group.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<html lang="en">' in detail
    assert "<p>Members: <strong>1</strong> of 5 places</p>" in detail
    assert "<td>Tue 10 Mar 2026, 18:00\N{EN DASH}19:30</td>" in detail
