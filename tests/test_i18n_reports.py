"""Reports and messages in two languages (issue 15): each e-mail is written in its
recipient's language (Employee.message_language: their choice, else the company default),
whoever sends it and whatever language the sending request speaks; chat posts in the
company default; the dashboards in the language the browser asks for."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import translation

from reports.messaging.digests import digests_send
from reports.messaging.nudges import nudge_employees
from reports.models import OrgWebhook, SentMessage
from tests.factories import (
    CollectionFactory,
    CollectionItemFactory,
    CourseFactory,
    EmployeeFactory,
    EnrollmentFactory,
)

pytestmark = pytest.mark.django_db

# Monday 30 November 2026 in the company time zone (UTC in the tests): 31 days left.
MONDAY = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)
NUDGE_TIME = dt.datetime(2026, 11, 30, 10, 30, tzinfo=dt.UTC)
NBSP = "\N{NO-BREAK SPACE}"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://learnhub.example"
    settings.TIME_ZONE = "UTC"


def speaks(person, language: str):
    person.language = language
    person.save(update_fields=["language"])
    return person


def engineers_two_of_four_done(personas):
    people = [
        EmployeeFactory(email=f"eng{i}@acme.example", full_name=f"Engineer {i}", organization=personas.engineering)
        for i in range(4)
    ]
    for person, day in [(people[0], dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)), (people[1], MONDAY)]:
        EnrollmentFactory(employee=person, course=CourseFactory(), is_completed=True, completed_at=day)
    return people


def test_one_nudge_batch_goes_out_in_each_recipients_language(personas, mailoutbox):
    collection = CollectionFactory(program=personas.program, organization=personas.engineering, name="Data basics")
    CollectionItemFactory(
        collection=collection, course=CourseFactory(title="SQL for everyone", url="https://www.coursera.org/learn/sql")
    )
    german = speaks(personas.employee, "de")
    english = EmployeeFactory(email="erin@acme.example", full_name="Erin English", organization=personas.engineering)

    with translation.override("en"):  # the sender's page speaks English: the German reader still reads German
        nudge_employees(program=personas.program, employees=[german, english], now=NUDGE_TIME)

    mails = {m.to[0]: m for m in mailoutbox}
    to_german, to_english = mails["bob@acme.example"], mails["erin@acme.example"]
    assert to_german.subject == "[LearnHub] Noch 31 Tage: ein Kurs für Learning Program 2026"
    assert to_german.body.startswith("Noch 31 Tage: Ihr nächster Schritt in Learning Program 2026\n\nHallo Bob,\n")
    assert (
        "Ihr nächster Schritt: einer der Kurse, die Ihre Kolleginnen und Kollegen am häufigsten abschließen.\n"
        "- SQL for everyone: https://www.coursera.org/learn/sql" in to_german.body
    )
    assert (
        "Learning Program 2026 endet am 31. Dezember 2026. Mit einem abgeschlossenen Kurs haben Sie es geschafft."
        in to_german.body
    )
    assert "\nErinnerungen beenden (ein Klick): https://learnhub.example/reports/unsubscribe/" in to_german.body
    html = to_german.alternatives[0][0]
    assert '<html lang="de">' in html
    assert "Learning Program 2026 endet am <strong>31. Dezember 2026</strong>." in html
    assert ">Erinnerungen beenden</a>" in html

    assert to_english.subject == "[LearnHub] 31 days left: one course for Learning Program 2026"
    assert to_english.body.startswith("31 days left: your next step in Learning Program 2026\n\nHello Erin,\n")
    assert "Learning Program 2026 ends on 31 December 2026. Completing one course gets you there." in to_english.body
    assert '<html lang="en">' in to_english.alternatives[0][0]
    assert sorted(SentMessage.objects.values_list("recipient", "subject")) == [
        ("bob@acme.example", "Noch 31 Tage: ein Kurs für Learning Program 2026"),
        ("erin@acme.example", "31 days left: one course for Learning Program 2026"),
    ]


def test_no_language_chosen_means_the_company_default(personas, mailoutbox, settings):
    settings.LANGUAGE_CODE = "de"

    nudge_employees(program=personas.program, employees=[personas.employee], now=NUDGE_TIME)

    assert mailoutbox[0].subject == "[LearnHub] Noch 31 Tage: ein Kurs für Learning Program 2026"


def test_a_champion_who_reads_german_gets_the_digest_in_german_and_the_sponsor_in_english(personas, mailoutbox):
    engineers_two_of_four_done(personas)
    speaks(personas.champion, "de")

    digests_send(program=personas.program, now=MONDAY)

    mails = {m.to[0]: m for m in mailoutbox}
    to_champion, to_sponsor = mails["chris@acme.example"], mails["sam@acme.example"]
    assert to_champion.subject == f"[LearnHub] Engineering: 29{NBSP}% in dieser Woche"
    body = to_champion.body
    assert body.startswith(
        "Engineering: Ihre Woche in Learning Program 2026\n\n"
        "Hallo Chris, so steht Engineering am 30. November 2026.\n\n"
        f"Quote: 29{NBSP}% (2 von 7 Personen haben das Ziel erreicht), Zielwert 90{NBSP}%\n"
    )
    assert "Noch abzuschließen (5):\n" in body
    assert "- Engineer 3 (Engineering): 0 von 1; Bei keinem Anbieter\n" in body
    assert "\nAbmelden: https://learnhub.example/reports/unsubscribe/" in body
    html = to_champion.alternatives[0][0]
    assert f"2 von 7 Personen haben das Ziel erreicht · Zielwert 90{NBSP}%" in html
    assert ">Dashboard öffnen</a>" in html

    assert to_sponsor.subject == "[LearnHub] Engineering: 29% this week"
    assert "Rate: 29% (2 of 7 people met the goal), target 90%" in to_sponsor.body


def test_chat_posts_are_in_the_company_language_whatever_the_sender_speaks(personas, mailoutbox):
    engineers_two_of_four_done(personas)
    OrgWebhook.objects.create(
        program=personas.program,
        organization=personas.engineering,
        url="https://hooks.slack.example/services/T0/B0/x",
        connected_at=MONDAY - dt.timedelta(days=1),
    )

    with translation.override("de"):
        digests_send(program=personas.program, now=MONDAY)

    post = SentMessage.objects.get(channel="webhook")
    assert post.subject == "Engineering weekly progress: 29%"
    assert post.payload["text"].startswith(
        "Engineering weekly progress: 29%\n2 of 7 people met the goal (29%).\n"
        "Rank 1 of 2 on the leaderboard.\nBehind pace: 4 more people must complete.\n"
    )
    assert post.payload["blocks"][1]["elements"][0]["text"].endswith("|Open LearnHub>")


def test_the_dashboard_speaks_the_browsers_language_and_its_cached_figures_too(personas):
    client = personas.client_for(personas.employee)

    english = client.get("/reports/").content.decode()
    german = client.get("/reports/", HTTP_ACCEPT_LANGUAGE="de").content.decode()

    assert '<html lang="en">' in english
    assert "<h1>Progress: Learning Program 2026</h1>" in english
    assert '<h2 id="leaderboard-title">Leaderboard</h2>' in english
    assert '<html lang="de">' in german
    assert "<h1>Fortschritt: Learning Program 2026</h1>" in german
    assert '<h2 id="trend-title">Verlauf</h2>' in german
    assert '<h2 id="leaderboard-title">Rangliste</h2>' in german  # not the English body from the cache
    assert '<h2 id="executives-title">Engagement der Führungskräfte</h2>' in german
    assert "<dt>Soll heute</dt>" in german


def test_the_unsubscribe_page_speaks_the_language_of_the_e_mail(personas, mailoutbox, client):
    speaks(personas.employee, "de")
    nudge_employees(program=personas.program, employees=[personas.employee], now=NUDGE_TIME)
    link = mailoutbox[0].extra_headers["List-Unsubscribe"].removeprefix("<https://learnhub.example").removesuffix(">")

    page = client.get(link).content.decode()

    assert "<h1>Abmelden?</h1>" in page
    assert "E-Mails der Art „Erinnerung“ an <strong>bob@acme.example</strong> beenden." in page
    done = client.post(link).content.decode()
    assert "bob@acme.example erhält keine E-Mails der Art „Erinnerung“ mehr. Das gilt ab sofort." in done
