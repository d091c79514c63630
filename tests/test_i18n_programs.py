"""The programs pages in German (a browser asking for de): provider connections, a
connection, the new connection form, the roster and its import, an import job, the
unmatched learners and the collections import, down to the row errors of a file, which
keep their line numbers and values in both languages."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from programs.models import ImportJob, ProviderConnection, SyncRun, UnmatchedRecord
from tests.factories import ConnectionFactory, EmployeeFactory, org

pytestmark = pytest.mark.django_db

DE = {"HTTP_ACCEPT_LANGUAGE": "de"}
ROSTER_HEADER = "email,full_name,organization\n"


@pytest.fixture
def admin(personas):
    return personas.client_for(personas.admin)


@pytest.fixture
def conn() -> ProviderConnection:
    return ConnectionFactory(
        name="coursera-main",
        kind="coursera",
        base_url="http://127.0.0.1:9/api/",
        token_url="http://127.0.0.1:9/oauth2/client_credentials/token",
        provider_org_id="org1",
        provider_program_ids=["prog1"],
        client_id="client1",
        client_secret="never-rendered",
    )


def unmatched(conn: ProviderConnection, key: str = "V1") -> UnmatchedRecord:
    return UnmatchedRecord.objects.create(
        connection=conn,
        learner_key=key,
        email="vendor@elsewhere.example",
        external_id=key,
        provider_course_id="LEAD1",
        record={"email": "vendor@elsewhere.example", "external_id": key, "provider_course_id": "LEAD1"},
    )


def csv_upload(name: str, content: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content.encode("utf-8"), content_type="text/csv")


def test_the_provider_connections_page_in_german(admin, conn):
    run = SyncRun.objects.create(connection=conn, status="succeeded", fetched=3, finished_at=timezone.now())
    unmatched(conn)
    unmatched(conn, "V2")

    page = admin.get(reverse("programs:providers:connections"), **DE).content.decode()

    assert "<h1>Anbieterverbindungen</h1>" in page
    assert '<a class="button" href="/providers/new/">Verbindung hinzufügen</a>' in page
    assert (
        '<a href="/providers/unmatched/">2 Datensätze von Personen, die nicht in der Personalliste stehen,</a> '
        "warten auf Prüfung."
    ) in page
    assert '<th scope="col">Verbindung</th><th scope="col">Art</th><th scope="col">Zeitplan</th>' in page
    assert '<span class="badge good">Erfolgreich</span>' in page
    assert "alle 360 Min." in page
    assert f">{run.started_at.astimezone(timezone.get_current_timezone()):%d.%m.%Y %H:%M}</time>" in page
    assert ">Unmatched records<" not in page and "Add a connection" not in page


def test_a_connection_page_in_german(admin, conn):
    unmatched(conn)
    SyncRun.objects.create(
        connection=conn,
        status="failed",
        finished_at=timezone.now(),
        invalid=1,
    )

    page = admin.get(reverse("programs:providers:detail", args=[conn.pk]), **DE).content.decode()

    assert "<title>coursera-main: Anbieterverbindung" in page
    assert ">Einstellungen bearbeiten</a>" in page
    assert '<button type="submit" class="button secondary">Verbindung testen</button>' in page
    assert '<button type="submit" class="button secondary">Pausieren</button>' in page
    assert "<td>gespeichert (wird nie angezeigt)</td>" in page
    assert "<td>alle 360 Minuten</td>" in page
    assert "Die Berichte von Coursera hinken der tatsächlichen Lernaktivität um bis zu einen Tag hinterher." in page
    assert '<label class="checkbox" for="id_full">' in page
    assert "Alles neu lesen (vollständige Synchronisierung)</label>" in page
    assert '<span class="badge bad">Fehlgeschlagen</span>' in page
    assert f'?connection={conn.pk}">1 nicht zugeordneter Datensatz</a>' in page
    assert '<th scope="row">Letzte erfolgreiche Synchronisierung</th>\n        <td>nie</td>' in page


def test_the_new_connection_form_in_german_with_a_service_error(admin):
    url = reverse("programs:providers:new")
    form = admin.get(url + "?kind=udemy", **DE).content.decode()
    assert "<h1>Verbindung hinzufügen</h1>" in form
    assert '<option value="">Wählen Sie eine Art</option>' in form
    assert '<option value="other">Andere (Abschlussdatei)</option>' in form
    assert '<label for="id_base_url">API-Basis-URL</label>' in form
    assert ">Ihre Organisations-ID bei Udemy Business.</span>" in form
    assert ">Felder dieser Art anzeigen</button>" in form

    posted = {
        "kind": "udemy",
        "name": "Udemy",
        "base_url": "ftp://acme.udemy.com/",
        "org_id": "42",
        "client_id": "id",
        "client_secret": "secret",
        "interval_minutes": "60",
    }
    refused = admin.post(url, posted, **DE).content.decode()
    assert "&#x27;ftp://acme.udemy.com/&#x27; ist keine http(s)-URL." in refused
    assert not ProviderConnection.objects.exists()


def test_the_roster_in_german(admin, personas):
    EmployeeFactory(email="zoe@acme.example", full_name="Zoe", organization=org("Acme/Sales"))

    page = admin.get(reverse("programs:roster"), **DE).content.decode()

    assert "<h1>Personalliste</h1>" in page
    assert ">Datei der Personalliste importieren</a>" in page
    assert '<label for="id_q">Name oder E-Mail</label>' in page
    assert '<option value="" selected>Alle Organisationen</option>' in page
    assert '<p class="muted">6 Personen</p>' in page
    assert '<th scope="col">E-Mail</th><th scope="col">Name</th><th scope="col">Organisation</th>' in page
    assert '<span class="badge good">Übernommen</span>' in page


def test_the_roster_import_page_in_german_shows_the_file_error(admin):
    url = reverse("programs:roster_import")
    response = admin.post(url, {"file": csv_upload("people.csv", "name,mail\nAda,ada@x\n")}, **DE)

    page = response.content.decode()
    assert response.status_code == 400
    assert "<h1>Personalliste importieren</h1>" in page
    assert '<label for="id_file">CSV-Datei der Personalliste</label>' in page
    assert "<legend>Wenn die Datei fehlerhafte Zeilen hat</legend>" in page
    assert "Probelauf (nur prüfen, nichts schreiben)" in page
    assert (
        "Die Kopfzeile (Zeile 1) hat keine Spalte email / full_name / organization. Die Spalten sind: email, "
        "full_name, external_id, organization, title, manager_email, hired_on, departed_on (die ersten drei sind "
        "Pflicht). Unbekannte Spalten: „name“, „mail“ (meinten Sie email?)."
    ) in page
    assert not ImportJob.objects.exists()


def test_an_import_job_in_german_lists_each_bad_line_with_its_line_and_value(admin, django_capture_on_commit_callbacks):
    content = ROSTER_HEADER + "ada@acme.example,Ada,Acme\nnot-an-email,Bob,Acme\nada@acme.example,Ada B,Acme\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(reverse("programs:roster_import"), {"file": csv_upload("people.csv", content)}, **DE)
    job = ImportJob.objects.get()

    page = admin.get(response["Location"], **DE).content.decode()

    assert "<h1>Import von people.csv</h1>" in page
    assert '<span class="badge bad">Fehlgeschlagen</span>' in page
    assert "\n    Nicht importiert\n    </h2>" in page
    assert job.error == (
        "Es wurde nichts importiert: 2 Fehler in der Datei, unten aufgeführt. Beheben Sie sie und laden Sie die "
        "Datei erneut hoch; niemand wurde geändert."
    )
    assert '<tr><td class="num">3</td><td>ungültige E-Mail „not-an-email“</td></tr>' in page
    assert '<tr><td class="num">4</td><td>doppelte E-Mail ada@acme.example (auch in Zeile 2)</td></tr>' in page
    assert "<strong>Es wurde nichts geschrieben: Niemand in der Personalliste wurde geändert.</strong>" in page
    assert '<tr><th scope="row">Gelesene Zeilen</th><td class="num">3</td></tr>' in page
    assert '<tr><th scope="row">Art</th><td>Personalliste</td></tr>' in page
    assert "<td>importieren</td>" in page


def test_the_same_bad_lines_in_english_keep_their_line_and_value(admin, django_capture_on_commit_callbacks):
    content = ROSTER_HEADER + "ada@acme.example,Ada,Acme\nnot-an-email,Bob,Acme\nada@acme.example,Ada B,Acme\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(reverse("programs:roster_import"), {"file": csv_upload("people.csv", content)})

    page = admin.get(response["Location"]).content.decode()

    assert '<tr><td class="num">3</td><td>invalid e-mail &#x27;not-an-email&#x27;</td></tr>' in page
    assert '<tr><td class="num">4</td><td>duplicate e-mail ada@acme.example (also on line 2)</td></tr>' in page


def test_the_unmatched_learners_in_german_with_a_link_refused(admin, conn):
    unmatched(conn)
    url = reverse("programs:providers:unmatched")

    page = admin.get(url, **DE).content.decode()
    assert "<h1>Nicht zugeordnete Lernende der Anbieter</h1>" in page
    assert 'aria-label="V1 mit einer Person verknüpfen">Verknüpfen</a>' in page
    assert 'aria-label="V1 verwerfen">Verwerfen</button>' in page
    assert ">Erneut mit der Personalliste abgleichen</button>" in page
    assert '<p class="empty">Noch keine Lernenden verknüpft.</p>' in page

    posted = {"provider": "coursera", "learner_key": "V1", "email": "nobody@acme.example"}
    refused = admin.post(url, posted, **DE).content.decode()
    assert "Niemand in der Personalliste hat die E-Mail-Adresse „nobody@acme.example“." in refused


def test_the_collections_import_in_german_names_each_bad_line(admin, personas):
    content = (
        "collection,organization,provider,course_id,course_title,position\n"
        "Basics,,coursera,PY101,Python,\n"
        "Basics,,zzz,PY102,More Python,x\n"
    )
    response = admin.post(
        reverse("programs:collections_import"),
        {"program": personas.program.pk, "file": csv_upload("collections.csv", content)},
        **DE,
    )

    page = response.content.decode()
    assert "<h1>Kurssammlungen importieren</h1>" in page
    assert '<h2 id="errors-title">Es wurde nichts importiert</h2>' in page
    assert (
        "Die Datei hat 2 Probleme. Beheben Sie sie und laden Sie die Datei erneut hoch; keine Kurssammlung und kein "
        "Kurs wurde geändert."
    ) in page
    assert (
        '<tr><td class="num">3</td><td>Unbekannter Anbieter „zzz“; verwenden Sie einen von: '
        "coursera, udemy, linkedin, edx, other, xapi.</td></tr>"
    ) in page
    assert (
        '<tr><td class="num">3</td><td>Ungültige Position „x“: Verwenden Sie eine ganze Zahl ab 1 oder lassen Sie '
        "das Feld leer.</td></tr>"
    ) in page
    assert '<label for="id_file">CSV-Datei</label>' in page
