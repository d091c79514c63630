"""The core pages speak German when the browser asks for it (Accept-Language: de): sign-in,
the L&D admin's home and program and collection pages, the 403 and 404 pages, the
navigation and footer, the admin's messages and the API's own error messages. English
stays as it was (the other tests of these pages)."""

from __future__ import annotations

import pytest

from programs.models import ProgramStatus
from tests.factories import CollectionFactory, CollectionItemFactory, CourseFactory, ProgramFactory

pytestmark = pytest.mark.django_db

GERMAN = {"HTTP_ACCEPT_LANGUAGE": "de"}


@pytest.fixture(autouse=True)
def _debug_off(settings):
    settings.DEBUG = False


def page(response) -> str:
    return response.content.decode()


def test_the_sign_in_page_in_german(client):
    html = page(client.get("/accounts/login/", **GERMAN))

    assert "<title>Anmelden · LearnHub</title>" in html
    assert "<h1>Anmelden</h1>" in html
    assert (
        "Zum ersten Mal bei LearnHub? Für alle auf der Personalliste des Unternehmens wartet schon ein Konto: "
        '<a href="/accounts/signup/">Registrieren Sie sich</a> mit Ihrer geschäftlichen E-Mail-Adresse, '
        "um Ihr Passwort festzulegen."
    ) in html
    assert '<button class="button" type="submit">Anmelden</button>' in html
    assert '<a class="skip-link" href="#main">Zum Inhalt springen</a>' in html
    assert "<span>LearnHub · gemeinsam lernen</span>" in html


def test_the_admin_home_in_german(personas):
    html = page(personas.client_for(personas.admin).get("/manage/", **GERMAN))

    assert "<title>L&amp;D-Admin · LearnHub</title>" in html
    assert '<a class="button secondary" href="/">Ansicht für Mitarbeitende</a>' in html
    assert "Aktuelles Programm:" in html
    assert '<span class="badge good">Aktiv</span>' in html
    assert (
        '<span class="badge bad">1</span> Organisation ohne Sponsor oder Champion in Learning Program 2026</h2>'
    ) in html
    assert '<th scope="col">Organisation</th><th scope="col">Sponsor</th><th scope="col">Champion</th>' in html
    assert '<span class="badge bad">Niemand</span>' in html
    assert "Noch keine Anbieterverbindung:" in html
    assert "Die Personalliste wurde hier noch nie importiert." in html
    assert "<h2>Alle Seiten für L&amp;D-Admins</h2>" in html
    assert '<p class="muted">Sponsoren und Champions von Learning Program 2026.</p>' in html


def test_a_program_page_in_german(personas):
    url = f"/manage/programs/{personas.program.pk}/"
    html = page(personas.client_for(personas.admin).get(url, **GERMAN))

    assert "<p>der Mitarbeitenden schließen mindestens 1 Kurs ab</p>" in html
    assert (
        '<p>Vom <strong data-testid="starts-on">01.01.2026</strong> '
        'bis zum <strong data-testid="ends-on">31.12.2026</strong></p>'
    ) in html
    assert f'<a class="button secondary" href="{url}edit/">Bearbeiten</a>' in html
    assert f'<a class="button secondary" href="{url}close/">Programm schließen …</a>' in html
    assert f'<a href="{url}appointments/">Sponsoren und Champions</a> (1 Sponsor, 1 Champion)' in html
    assert "Seit der Erstellung des Programms keine Änderung an Zielwert, Zeitraum oder Abschlüssen." in html


def test_activating_a_program_says_so_in_german(personas):
    draft = ProgramFactory(name="Learning Program 2027", status=ProgramStatus.DRAFT)
    client = personas.client_for(personas.admin)

    response = client.post(f"/manage/programs/{draft.pk}/activate/", follow=True, **GERMAN)

    assert '<li class="message success">Learning Program 2027 ist aktiv.</li>' in page(response)


def test_a_collection_page_in_german(personas):
    collection = CollectionFactory(program=personas.program, organization=personas.engineering, name="Cloud")
    course = CourseFactory(title="Kubernetes Basics")
    CollectionItemFactory(collection=collection, course=course, position=1)

    html = page(personas.client_for(personas.admin).get(f"/manage/collections/{collection.pk}/", **GERMAN))

    assert "<p>Für <strong>Acme/Engineering</strong>.</p>" in html
    assert '<h2 id="courses-title">Kurse in ihrer Reihenfolge</h2>' in html
    assert '<th scope="col">Kurs</th><th scope="col">Reihenfolge und Entfernen</th>' in html
    assert 'aria-label="Kubernetes Basics entfernen">Entfernen</button>' in html
    assert '<label for="submit-note">Notiz an den Sponsor <span class="muted">(optional)</span></label>' in html
    assert '<button type="submit">Beim Sponsor einreichen</button>' in html
    assert '<p class="empty">Noch nicht zur Prüfung eingereicht.</p>' in html
    assert '<h2 id="catalog-title">Kurse aus dem Katalog hinzufügen</h2>' in html


def test_the_refused_page_in_german(personas):
    response = personas.client_for(personas.employee).get("/manage/", **GERMAN)
    html = page(response)

    assert response.status_code == 403
    assert "<title>Nicht für Sie · LearnHub</title>" in html
    assert "<h1>Diese Seite steht Ihnen nicht offen</h1>" in html
    assert "<p>Diese Seite ist für L&amp;D-Admins. Es wurde nichts geändert.</p>" in html
    assert '<h2 id="instead-title">Was Sie stattdessen tun können</h2>' in html
    assert (
        '<a href="/">Zu Ihrer Startseite</a>: Ihr Fortschritt, der Ihrer Organisation und was Sie als Nächstes '
        "lernen können."
    ) in html


def test_the_missing_page_in_german(client):
    response = client.get("/nothing-here/", **GERMAN)
    html = page(response)

    assert response.status_code == 404
    assert "<title>Nicht gefunden · LearnHub</title>" in html
    assert "<h1>Unter dieser Adresse gibt es nichts</h1>" in html
    assert (
        "<p>Die Adresse <code>/nothing-here/</code> führt zu keiner Seite: Sie ist vielleicht falsch geschrieben, "
        "oder was dort stand, wurde entfernt.</p>"
    ) in html
    assert (
        '<a href="/accounts/login/?next=/nothing-here/">Anmelden</a>: Die meisten Seiten sind für die '
        "Mitarbeitenden des Unternehmens."
    ) in html


def test_the_navigation_and_footer_in_german(personas):
    html = page(personas.client_for(personas.admin).get("/manage/programs/", **GERMAN))

    assert '<nav class="main-nav" aria-label="Hauptnavigation">' in html
    for link in ["Start", "Kurssammlungen", "Lerngruppen", "Fortschritt", "All Hands", "Meine Geschichte"]:
        assert f'">{link}</a></li>' in html
    assert '<li><a href="/manage/">Verwalten</a></li>' in html
    assert '<button type="submit" class="link-button">Abmelden</button>' in html
    assert "<span>Learning Program 2026: Ziel 90\N{NO-BREAK SPACE}% bis 31.12.2026</span>" in html


def test_the_api_s_own_errors_in_german(personas):
    client = personas.client_for(personas.admin)

    response = client.get("/api/v1/organizations/?within=", **GERMAN)

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Die Anfrage enthält Fehler; es wurde nichts geändert.",
        "errors": [
            {
                "field": "within",
                "message": "within ist leer: Verwenden Sie within=<eine ganze Zahl ab 1> "
                "oder lassen Sie den Parameter weg.",
            }
        ],
    }
