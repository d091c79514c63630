"""Connections on the providers pages: add (the kind first, then only its fields), edit,
pause, remove (saying what goes), with the command's rules (one service,
`provider_connection_save`); the secret is write-only everywhere. Only L&D admins get in
(the permission walk, tests/test_url_permissions.py, covers every URL and persona)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from programs.connections import (
    ConnectionBusyError,
    connection_data,
    provider_connection_delete,
    provider_connection_save,
)
from programs.models import Enrollment, InvalidRecord, ProviderConnection, SyncRun, UnmatchedRecord, XapiStatement
from tests.factories import ConnectionFactory, CourseFactory, EmployeeFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db

SECRET = "s3cret-never-rendered-9f8e7d"
NEW_SECRET = "an0ther-s3cret-never-rendered"
# What each kind's form posts; every kind keeps a secret except `other`.
POSTED: dict[str, dict[str, str]] = {
    "coursera": {
        "base_url": "https://api.coursera.org/api/",
        "token_url": "https://api.coursera.org/oauth2/client_credentials/token",
        "org_id": "acme-biz",
        "program_ids": "P1, P2",
        "client_id": "coursera-key",
        "client_secret": SECRET,
        "interval_minutes": "720",
    },
    "udemy": {
        "base_url": "https://acme.udemy.com/api-2.0/",
        "org_id": "4242",
        "client_id": "udemy-client",
        "client_secret": SECRET,
        "interval_minutes": "360",
    },
    "linkedin": {
        "base_url": "https://api.linkedin.com/v2/",
        "token_url": "https://www.linkedin.com/oauth/v2/accessToken",
        "client_id": "li-client",
        "client_secret": SECRET,
        "interval_minutes": "360",
    },
    "edx": {
        "base_url": "https://api.edx.org/",
        "token_url": "https://api.edx.org/oauth2/v1/access_token",
        "org_id": "5b4c6d0e-0000-4000-8000-000000000001",
        "client_id": "edx-client",
        "client_secret": SECRET,
        "interval_minutes": "360",
    },
    "xapi": {"client_id": "linkedin-learning", "client_secret": SECRET},
    "other": {},
}
KINDS = list(POSTED)
FIELDS = ("base_url", "token_url", "org_id", "program_ids", "client_id", "client_secret", "interval_minutes")


def shown_fields(html: str) -> set[str]:
    """Names of the connection form's fields that are not hidden (the page without script)."""
    shown = set()
    for attributes, name in re.findall(
        r'<div class="field[^"]*" data-kinds="[^"]*"([^>]*)>\s*<label for="id_(\w+)"', html
    ):
        if "hidden" not in attributes:
            shown.add(name)
    return shown


def add(client, kind: str, name: str = "", **changes: str):
    data = {"kind": kind, "name": name or f"My {kind}", **POSTED[kind], **changes}
    return client.post(reverse("programs:providers:new"), data)


# --- Adding ---------------------------------------------------------------------------------


def test_adding_asks_for_the_kind_first_then_shows_only_its_fields(personas):
    client = personas.client_for(personas.admin)

    first = client.get(reverse("programs:providers:new")).content.decode()
    udemy = client.get(reverse("programs:providers:new"), {"kind": "udemy"}).content.decode()
    xapi = client.get(reverse("programs:providers:new"), {"kind": "xapi"}).content.decode()
    other = client.get(reverse("programs:providers:new"), {"kind": "other"}).content.decode()

    assert '<select name="kind"' in first and "Show the fields of this kind" in first
    assert re.search(r'<form method="post" class="stacked" novalidate data-kinds="[^"]*" hidden>', first)
    assert shown_fields(first) == set()
    assert shown_fields(udemy) == {"name", "base_url", "org_id", "client_id", "client_secret", "interval_minutes"}
    assert shown_fields(xapi) == {"name", "client_id", "client_secret"}
    assert shown_fields(other) == {"name"}
    assert '<option value="udemy" selected>' in udemy
    assert '<input type="hidden" name="kind" value="udemy"' in udemy
    assert 'src="/static/js/connection_form.js"' in udemy and "<script>" not in udemy


def test_every_field_has_a_label_and_the_shown_help_describes_it(personas):
    html = personas.client_for(personas.admin).get(reverse("programs:providers:new"), {"kind": "coursera"})
    page = html.content.decode()

    for field in ("name", *FIELDS):
        assert f'<label for="id_{field}">' in page, field
    assert 'aria-describedby="id_org_id_help_0"' in page
    assert 'id="id_org_id_help_0" data-kinds="coursera">Your Coursera business (organization) id.' in page
    assert 'id="id_org_id_help_1" data-kinds="udemy" hidden>' in page


@pytest.mark.parametrize("kind", KINDS)
def test_an_admin_adds_a_connection_of_every_kind(personas, kind):
    response = add(personas.client_for(personas.admin), kind)

    connection = ProviderConnection.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("programs:providers:detail", args=[connection.pk])
    assert (connection.name, connection.kind) == (f"My {kind}", kind)
    assert connection.client_secret == ("" if kind == "other" else SECRET)
    if kind == "coursera":
        assert connection.provider_program_ids == ["P1", "P2"]
        assert connection.sync_interval_minutes == 720


def test_the_page_keeps_the_commands_rules_and_never_echoes_the_secret(personas):
    client = personas.client_for(personas.admin)

    missing = add(client, "udemy", org_id="")
    not_http = add(client, "udemy", base_url="ftp://acme.udemy.com/")

    assert missing.status_code == not_http.status_code == 200
    assert ProviderConnection.objects.count() == 0
    assert "This field is required." in missing.content.decode()
    page = not_http.content.decode()
    assert "&#x27;ftp://acme.udemy.com/&#x27; is not an http(s) URL." in page
    assert SECRET not in missing.content.decode() + page


def test_a_name_already_taken_is_refused_not_updated(personas):
    ConnectionFactory(name="Udemy", kind="udemy", client_secret="old")

    response = add(personas.client_for(personas.admin), "udemy", name="Udemy")

    assert "A connection called &#x27;Udemy&#x27; already exists: choose another name." in response.content.decode()
    assert ProviderConnection.objects.get().client_secret == "old"


def test_fields_of_another_kind_are_ignored(personas):
    add(personas.client_for(personas.admin), "xapi", base_url="https://elsewhere.example/", org_id="x")

    connection = ProviderConnection.objects.get()
    assert (connection.kind, connection.base_url, connection.provider_org_id) == ("xapi", "", "")


# --- Editing, pausing -------------------------------------------------------------------------


@pytest.fixture
def udemy() -> ProviderConnection:
    return ConnectionFactory(
        name="Udemy",
        kind="udemy",
        base_url="https://acme.udemy.com/api-2.0/",
        provider_org_id="4242",
        client_id="udemy-client",
        client_secret=SECRET,
    )


def edit(client, connection: ProviderConnection, **changes: str):
    data = {"name": connection.name, **POSTED[connection.kind], "client_secret": "", **changes}
    return client.post(reverse("programs:providers:edit", args=[connection.pk]), data)


def test_the_edit_form_shows_the_kinds_fields_and_no_secret(personas, udemy):
    page = personas.client_for(personas.admin).get(reverse("programs:providers:edit", args=[udemy.pk])).content.decode()

    assert shown_fields(page) == {"name", "base_url", "org_id", "client_id", "client_secret", "interval_minutes"}
    assert 'value="https://acme.udemy.com/api-2.0/"' in page
    assert "A secret is stored and never shown: leave this empty to keep it" in page
    assert SECRET not in page
    assert "Kind: <strong>Udemy Business</strong>" in page


def test_editing_renames_and_an_empty_secret_keeps_the_stored_one(personas, udemy):
    response = edit(personas.client_for(personas.admin), udemy, name="Udemy Business", org_id="777")

    udemy.refresh_from_db()
    assert response.status_code == 302
    assert (udemy.name, udemy.provider_org_id, udemy.client_secret) == ("Udemy Business", "777", SECRET)


def test_editing_replaces_the_secret_when_one_is_given(personas, udemy):
    edit(personas.client_for(personas.admin), udemy, client_secret=NEW_SECRET)

    udemy.refresh_from_db()
    assert udemy.client_secret == NEW_SECRET


def test_renaming_to_a_taken_name_is_refused(personas, udemy):
    ConnectionFactory(name="Coursera")

    response = edit(personas.client_for(personas.admin), udemy, name="Coursera", client_secret=NEW_SECRET)

    page = response.content.decode()
    assert "Another connection is already called &#x27;Coursera&#x27;." in page
    assert NEW_SECRET not in page and SECRET not in page
    udemy.refresh_from_db()
    assert (udemy.name, udemy.client_secret) == ("Udemy", SECRET)


def test_pause_and_resume(personas, udemy):
    client = personas.client_for(personas.admin)
    url = reverse("programs:providers:active", args=[udemy.pk])

    paused = client.post(url, {"action": "pause"}, follow=True)
    udemy.refresh_from_db()
    assert udemy.is_active is False
    assert "Udemy paused." in paused.content.decode()
    assert "This connection is paused" in paused.content.decode()  # Sync now says so
    again = client.post(url, {"action": "pause"}, follow=True)
    assert "Udemy was already paused." in again.content.decode()

    client.post(url, {"action": "resume"})
    udemy.refresh_from_db()
    assert udemy.is_active is True


def test_the_page_and_the_command_save_alike(personas, udemy, monkeypatch):
    """The same change through the command and through the page leaves the same row."""
    monkeypatch.setenv("PROVIDER_CLIENT_SECRET", NEW_SECRET)
    call_command("provider_connection", "Udemy", "--org-id", "999", "--interval", "90", stdout=StringIO())
    by_command = ProviderConnection.objects.filter(pk=udemy.pk).values().get()
    ProviderConnection.objects.filter(pk=udemy.pk).update(provider_org_id="4242", sync_interval_minutes=360)

    edit(personas.client_for(personas.admin), udemy, org_id="999", interval_minutes="90", client_secret=NEW_SECRET)

    assert ProviderConnection.objects.filter(pk=udemy.pk).values().get() == by_command


# --- Removing ---------------------------------------------------------------------------------


@pytest.fixture
def udemy_with_data(udemy) -> ProviderConnection:
    run = SyncRun.objects.create(connection=udemy, status="succeeded", finished_at=timezone.now())
    course = CourseFactory(provider="udemy", provider_course_id="4101")
    EnrollmentFactory(connection=udemy, course=course, is_completed=True, completed_at=timezone.now())
    EnrollmentFactory(connection=udemy, course=course, employee=EmployeeFactory(email="x@acme.example"))
    UnmatchedRecord.objects.create(connection=udemy, learner_key="v@else.example", provider_course_id="4101")
    InvalidRecord.objects.create(connection=udemy, run=run, reason="course_id: missing")
    return udemy


def test_the_remove_page_says_what_goes_and_offers_pause_first(personas, udemy_with_data):
    page = (
        personas.client_for(personas.admin)
        .get(reverse("programs:providers:remove", args=[udemy_with_data.pk]))
        .content.decode()
    )

    assert "2 enrollments, 1 of them completed: <strong>those completions stop counting</strong>" in page
    assert "1 run and their history, 1 invalid record." in page
    assert "1 unmatched record of people not on the roster." in page
    assert page.index("Pause it instead") < page.index("Remove it")
    assert '<label for="id_confirm_name">Type Udemy to confirm</label>' in page


def test_removing_a_connection_with_records_needs_its_name_typed(personas, udemy_with_data):
    client = personas.client_for(personas.admin)
    url = reverse("programs:providers:remove", args=[udemy_with_data.pk])

    wrong = client.post(url, {"confirm_name": "udemy"})
    assert "Type the name exactly as it is: Udemy" in wrong.content.decode()
    assert ProviderConnection.objects.filter(pk=udemy_with_data.pk).exists()

    done = client.post(url, {"confirm_name": "Udemy"}, follow=True)
    assert done.redirect_chain == [(reverse("programs:providers:connections"), 302)]
    assert (
        "Connection Udemy removed, with 2 enrollments (1 completed), 1 run and 1 unmatched and 1 invalid records."
        in done.content.decode()
    )
    assert not ProviderConnection.objects.exists()
    assert (Enrollment.objects.count(), SyncRun.objects.count(), UnmatchedRecord.objects.count()) == (0, 0, 0)


def test_a_connection_without_records_is_removed_with_one_click(personas, udemy):
    response = personas.client_for(personas.admin).post(reverse("programs:providers:remove", args=[udemy.pk]))

    assert response.status_code == 302
    assert not ProviderConnection.objects.exists()


def test_a_connection_a_sync_holds_is_not_removed(personas, udemy_with_data):
    ProviderConnection.objects.filter(pk=udemy_with_data.pk).update(
        sync_claimed_until=timezone.now() + dt.timedelta(minutes=1)
    )

    with pytest.raises(ConnectionBusyError, match="A sync of Udemy is running"):
        provider_connection_delete(connection=udemy_with_data)
    response = personas.client_for(personas.admin).post(
        reverse("programs:providers:remove", args=[udemy_with_data.pk]), {"confirm_name": "Udemy"}, follow=True
    )

    assert "A sync of Udemy is running: wait until it ends" in response.content.decode()
    assert connection_data(connection=udemy_with_data).enrollments == 2


def test_connection_data_counts_statements(udemy):
    xapi = ConnectionFactory(name="lrs", kind="xapi")
    XapiStatement.objects.create(
        connection=xapi,
        statement_id="6f1c3a52-3f3e-4c1e-9b7a-000000000001",
        statement={},
        canonical_hash="0" * 64,
        verb_id="http://adlnet.gov/expapi/verbs/completed",
        occurred_at=timezone.now(),
    )

    assert connection_data(connection=xapi).statements == 1
    assert connection_data(connection=xapi).holds_records
    assert not connection_data(connection=udemy).holds_records


# --- The secret is write-only ----------------------------------------------------------------


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "other"])
def test_no_page_admin_form_api_answer_or_log_shows_the_secret(personas, kind, caplog):
    caplog.set_level(logging.DEBUG)
    client = personas.client_for(personas.admin)
    add(client, kind)
    connection = ProviderConnection.objects.get()
    nowhere = {k: "http://127.0.0.1:9/" for k in ("base_url", "token_url") if k in POSTED[kind]}  # refused at once
    edit(client, connection, client_secret=NEW_SECRET, **nowhere)
    client.post(reverse("programs:providers:test", args=[connection.pk]))
    client.post(reverse("programs:providers:sync", args=[connection.pk]))
    urls = [
        reverse("programs:providers:connections"),
        reverse("programs:providers:detail", args=[connection.pk]),
        reverse("programs:providers:edit", args=[connection.pk]),
        reverse("programs:providers:remove", args=[connection.pk]),
        reverse("programs:providers:upload", args=[connection.pk]),
        reverse("programs:providers:new") + f"?kind={kind}",
        reverse("admin:programs_providerconnection_change", args=[connection.pk]),
        reverse("admin:programs_providerconnection_changelist"),
        "/api/v1/connections/",
        reverse("manage:home"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert SECRET not in html and NEW_SECRET not in html, url
    # A refused form shows the errors, not the secret typed.
    refused = edit(client, connection, name="", client_secret="typed-but-refused-secret")
    assert "typed-but-refused-secret" not in refused.content.decode()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert SECRET not in logged and NEW_SECRET not in logged


def test_validation_errors_never_carry_the_secret():
    with pytest.raises(ValidationError) as raised:
        provider_connection_save(name="x", kind="udemy", client_secret=SECRET)
    assert SECRET not in str(raised.value.message_dict)


def test_saving_settings_writes_only_the_settings(udemy):
    """A sync may claim the connection (its lease, its clock) while settings are saved: the
    save writes the settings only, so it never puts back a lease read before."""
    with CaptureQueriesContext(db_connection) as queries:
        provider_connection_save(name="Udemy", connection=udemy, org_id="777")

    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    assert "provider_org_id" in updates[0]
    assert "sync_claimed_until" not in updates[0] and "last_synced_at" not in updates[0]
