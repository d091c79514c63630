"""The Django admin: open to L&D admins for every LearnHub model, closed to everyone else,
a write-only provider secret, and organizations whose path and depth are computed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from champions.models import Attendance, LearnerStory, PracticeNote, ProgressUpdate, StudyGroupMembership
from learnhub.api.services import api_token_create
from programs.models import Employee, Organization, ProviderConnection, SyncRun
from programs.xapi.services import xapi_statements_store
from programs.xapi.statements import statement_parsed
from reports.models import MessageSettings, OrgWebhook, ProgressSnapshot, SentMessage, Unsubscribe
from tests.factories import (
    CollectionFactory,
    CollectionItemFactory,
    ConnectionFactory,
    CourseFactory,
    EmployeeFactory,
    EnrollmentFactory,
    StudySessionFactory,
)
from tests.xapi_support import statement

OUR_APPS = {"programs", "champions", "reports"}
READ_ONLY_MODELS = {
    "programs.syncrun",
    "programs.enrollment",
    "programs.unmatchedrecord",
    "programs.invalidrecord",
    "programs.xapistatement",
    "reports.progresssnapshot",
    "reports.sentmessage",
}
ALL_OUR_MODELS = {
    "programs.organization",
    "programs.employee",
    "programs.learningprogram",
    "programs.programexclusion",
    "programs.course",
    "programs.collection",
    "programs.collectionitem",
    "programs.providerconnection",
    "programs.syncrun",
    "programs.enrollment",
    "programs.unmatchedrecord",
    "programs.invalidrecord",
    "programs.xapistatement",
    "champions.executivesponsor",
    "champions.learningchampion",
    "champions.studygroup",
    "champions.studygroupmembership",
    "champions.studysession",
    "champions.attendance",
    "champions.progressupdate",
    "champions.learnerstory",
    "champions.practicenote",
    "reports.progresssnapshot",
    "programs.apitoken",
    "reports.messagesettings",
    "reports.orgwebhook",
    "reports.sentmessage",
    "reports.unsubscribe",
}
SECRET = "zq-very-secret-value-8842"


def registered_models() -> list[str]:
    return sorted(
        f"{model._meta.app_label}.{model._meta.model_name}"
        for model in admin.site._registry
        if model._meta.app_label in OUR_APPS
    )


def admin_url(label: str, view: str, *args: object) -> str:
    app_label, model_name = label.split(".")
    return reverse(f"admin:{app_label}_{model_name}_{view}", args=args)


@pytest.fixture
def some_of_everything(personas):
    """At least one row of every model, so every changelist renders its columns."""
    program, engineering = personas.program, personas.engineering
    item = CollectionItemFactory(collection__program=program, collection__organization=engineering)
    session = StudySessionFactory(group__program=program, group__champion=personas.champion)
    StudyGroupMembership.objects.create(group=session.group, employee=personas.employee)
    Attendance.objects.create(session=session, employee=personas.employee)
    ProgressUpdate.objects.create(
        program=program, organization=engineering, author=personas.sponsor, title="Go", body="!"
    )
    LearnerStory.objects.create(program=program, employee=personas.employee, title="Story", body="Body")
    PracticeNote.objects.create(program=program, author=personas.champion, title="Pair up", body="Buddies finish")
    connection = ConnectionFactory(client_secret=SECRET)
    run = SyncRun.objects.create(connection=connection, fetched=3, created=2, invalid=1)
    run.invalid_records.create(connection=connection, reason="completedAt does not parse", raw={"a": 1})
    connection.unmatched_records.create(learner_key="x@acme.example", provider_course_id="C1", raw={"b": 2})
    EnrollmentFactory(
        connection=connection,
        employee=personas.employee,
        course=item.course,
        is_completed=True,
        completed_at=timezone.now() - dt.timedelta(days=1),
        raw={"isCompleted": True},
    )
    personas.program.exclusions.create(employee=personas.outsider, reason="Long leave")
    xapi = ConnectionFactory(name="lrs", kind="xapi", client_id="lrs-client", client_secret=SECRET)
    xapi_statements_store(
        connection=xapi,
        statements=[statement_parsed(statement(1, "bob", "completed", "safety", "Safety", "2026-02-01T10:00:00Z"))],
        received_at=timezone.now(),
    )
    ProgressSnapshot.objects.create(
        program=program, organization=engineering, day=dt.date(2026, 3, 1), eligible=4, met=1, completions=1,
        curated_completions=1, rate=0.25,
    )  # fmt: skip
    api_token_create(created_by=personas.admin, name="BI", scope="read")
    MessageSettings.objects.create(program=program, company_webhook_url="https://hooks.slack.com/services/T/B/S")
    OrgWebhook.objects.create(program=program, organization=engineering, url="https://hooks.slack.com/services/T/B/O")
    SentMessage.objects.create(
        program=program, kind="nudge", recipient_key="employee:1", period="p/n0", recipient="bob@acme.example"
    )
    Unsubscribe.objects.create(employee=personas.employee, kind="nudge")
    return personas


def test_every_learnhub_model_is_registered():
    assert registered_models() == sorted(ALL_OUR_MODELS)


@pytest.mark.django_db
def test_ld_admin_opens_every_changelist_and_add_page(some_of_everything):
    client = some_of_everything.client_for(some_of_everything.admin)
    changelists = {label: client.get(admin_url(label, "changelist")).status_code for label in registered_models()}
    adds = {label: client.get(admin_url(label, "add")).status_code for label in registered_models()}
    assert changelists == dict.fromkeys(ALL_OUR_MODELS, 200)
    # Records written by syncs and the progress engine are read-only: no add page.
    assert adds == {label: 403 if label in READ_ONLY_MODELS else 200 for label in ALL_OUR_MODELS}


@pytest.mark.django_db
def test_ld_admin_opens_a_change_page_of_every_model(some_of_everything):
    client = some_of_everything.client_for(some_of_everything.admin)
    statuses = {}
    for model in admin.site._registry:
        label = f"{model._meta.app_label}.{model._meta.model_name}"
        if model._meta.app_label in OUR_APPS:
            obj = model._default_manager.order_by("pk").first()
            statuses[label] = client.get(admin_url(label, "change", obj.pk)).status_code
    assert statuses == dict.fromkeys(ALL_OUR_MODELS, 200)


@pytest.mark.django_db
def test_autocomplete_lists_employees_for_ld_admin(personas):
    client = personas.client_for(personas.admin)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "champions", "model_name": "learningchampion", "field_name": "employee", "term": "bob"},
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["Bob Builder"]


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["employee", "champion", "sponsor"])
def test_people_who_are_not_staff_are_sent_to_the_admin_login(personas, who):
    client = personas.client_for(getattr(personas, who))
    url = admin_url("programs.organization", "add")
    count_before = Organization.objects.count()

    get_response = client.get(admin_url("programs.employee", "changelist"))
    post_response = client.post(url, {"name": "Sneaky", "parent": personas.engineering.pk})

    assert get_response.status_code == 302
    assert get_response["Location"].startswith(reverse("admin:login"))
    assert post_response.status_code == 302
    assert post_response["Location"].startswith(reverse("admin:login"))
    assert Organization.objects.count() == count_before


@pytest.mark.django_db
def test_staff_without_the_ld_admin_role_is_refused_and_nothing_changes(personas):
    staff = EmployeeFactory(email="staffer@acme.example", is_staff=True)
    client = personas.client_for(staff)
    email_before = personas.employee.email

    response = client.post(
        admin_url("programs.employee", "change", personas.employee.pk),
        {"email": "hijacked@acme.example", "full_name": "X", "is_active": "on", "date_joined_0": "2026-01-01"},
    )

    assert client.get(admin_url("programs.employee", "changelist")).status_code == 403
    assert response.status_code == 403
    personas.employee.refresh_from_db()
    assert personas.employee.email == email_before


# --- Provider connection: the client secret is write-only ---------------------------------


def connection_form(connection: ProviderConnection, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": connection.name,
        "kind": connection.kind,
        "is_active": "on",
        "sync_interval_minutes": connection.sync_interval_minutes,
        "base_url": "https://api.coursera.org/api/",
        "token_url": "https://api.coursera.org/oauth2/client_credentials/token",
        "provider_org_id": "acme-org",
        "provider_program_ids": '["P1"]',
        "client_id": "key-123",
        "client_secret": "",
    }
    data.update(changes)
    return data


@pytest.mark.django_db
def test_client_secret_is_never_rendered(personas):
    connection = ConnectionFactory(name="Coursera", client_secret=SECRET)
    client = personas.client_for(personas.admin)

    change_page = client.get(admin_url("programs.providerconnection", "change", connection.pk))
    changelist = client.get(admin_url("programs.providerconnection", "changelist"))
    invalid_post = client.post(
        admin_url("programs.providerconnection", "change", connection.pk),
        connection_form(connection, sync_interval_minutes=1, client_secret=SECRET),
    )

    assert change_page.status_code == 200
    assert SECRET not in change_page.content.decode()
    assert "Currently set. Leave empty to keep the stored secret." in change_page.content.decode()
    assert changelist.status_code == 200
    assert SECRET not in changelist.content.decode()
    assert '<td class="field-secret">set</td>' in changelist.content.decode()
    assert invalid_post.status_code == 200  # the interval error, shown again without the secret
    assert SECRET not in invalid_post.content.decode()
    connection.refresh_from_db()
    assert (connection.client_secret, connection.sync_interval_minutes) == (SECRET, 360)


@pytest.mark.django_db
def test_empty_secret_keeps_the_stored_one_and_a_new_one_replaces_it(personas):
    connection = ConnectionFactory(name="Coursera", client_secret=SECRET)
    client = personas.client_for(personas.admin)
    url = admin_url("programs.providerconnection", "change", connection.pk)

    kept = client.post(url, connection_form(connection, client_id="key-456"))
    connection.refresh_from_db()
    assert kept.status_code == 302
    assert (connection.client_id, connection.client_secret) == ("key-456", SECRET)

    replaced = client.post(url, connection_form(connection, client_secret="brand-new-secret"))
    connection.refresh_from_db()
    assert replaced.status_code == 302
    assert connection.client_secret == "brand-new-secret"


@pytest.mark.django_db
def test_the_admin_form_keeps_the_providers_pages_rules(personas):
    """The admin saves through provider_connection_save: what a kind needs, the interval,
    unique names and the secret rules are the same as on the providers pages."""
    connection = ConnectionFactory(name="Coursera", kind="coursera", client_secret=SECRET, client_id="key-1")
    ConnectionFactory(name="Udemy", kind="udemy", client_secret=SECRET)
    client = personas.client_for(personas.admin)
    url = admin_url("programs.providerconnection", "change", connection.pk)

    missing = client.post(url, connection_form(connection, base_url="", provider_org_id=""))
    taken = client.post(url, connection_form(connection, name="Udemy"))
    new_without_secret = client.post(
        admin_url("programs.providerconnection", "add"),
        connection_form(ProviderConnection(name="Udemy EU", kind="udemy"), provider_org_id="4242"),
    )
    file_kind = client.post(
        admin_url("programs.providerconnection", "add"),
        connection_form(ProviderConnection(name="Workshops", kind="other"), client_secret="ignored-s3cret"),
    )

    assert missing.status_code == 200
    assert "Coursera connections need an API base URL (--base-url) and an organization id (--org-id)." in (
        missing.content.decode()
    )
    assert taken.status_code == 200
    assert "Another connection is already called &#x27;Udemy&#x27;." in taken.content.decode()
    assert new_without_secret.status_code == 200
    assert "A new connection needs a client secret" in new_without_secret.content.decode()
    assert file_kind.status_code == 302
    connection.refresh_from_db()
    assert (connection.name, connection.client_id, connection.client_secret) == ("Coursera", "key-1", SECRET)
    assert ProviderConnection.objects.get(name="Workshops").client_secret == ""
    assert not ProviderConnection.objects.filter(name="Udemy EU").exists()


@pytest.mark.django_db
def test_new_connection_stores_the_secret_from_the_add_form(personas):
    client = personas.client_for(personas.admin)
    response = client.post(
        admin_url("programs.providerconnection", "add"),
        connection_form(ProviderConnection(name="Coursera EU", kind="coursera"), client_secret=SECRET),
    )
    assert response.status_code == 302
    assert ProviderConnection.objects.get(name="Coursera EU").client_secret == SECRET


# --- Organizations: path and depth computed ------------------------------------------------


@pytest.mark.django_db
def test_creating_an_organization_sets_path_and_depth(personas):
    client = personas.client_for(personas.admin)
    response = client.post(
        admin_url("programs.organization", "add"), {"name": " Platform ", "parent": personas.engineering.pk}
    )
    assert response.status_code == 302
    platform = Organization.objects.get(name="Platform")
    assert (platform.path, platform.depth, platform.parent) == ("Acme/Engineering/Platform", 2, personas.engineering)

    root = client.post(admin_url("programs.organization", "add"), {"name": "Globex", "parent": ""})
    assert root.status_code == 302
    assert Organization.objects.filter(path="Globex", depth=0, parent=None).count() == 1


@pytest.mark.django_db
def test_bad_organization_names_are_refused_with_a_message(personas):
    client = personas.client_for(personas.admin)
    count_before = Organization.objects.count()

    slash = client.post(admin_url("programs.organization", "add"), {"name": "R/D", "parent": personas.engineering.pk})
    duplicate = client.post(
        admin_url("programs.organization", "add"), {"name": "Engineering", "parent": personas.engineering.parent_id}
    )

    assert slash.status_code == 200
    assert "Constraint “org_name_has_no_separator” is violated." in slash.content.decode()
    assert duplicate.status_code == 200
    assert "Organization with this Parent and Name already exists." in duplicate.content.decode()
    assert Organization.objects.count() == count_before


@pytest.mark.django_db
def test_name_and_parent_cannot_be_changed_after_creation(personas):
    client = personas.client_for(personas.admin)
    url = admin_url("programs.organization", "change", personas.engineering.pk)

    page = client.get(url).content.decode()
    response = client.post(url, {"name": "Renamed", "parent": ""})

    assert "cannot be changed here" in page
    assert response.status_code == 302
    personas.engineering.refresh_from_db()
    assert (personas.engineering.name, personas.engineering.path, personas.engineering.depth) == (
        "Engineering",
        "Acme/Engineering",
        1,
    )


# --- Employees: e-mail login, optional password ---------------------------------------------


@pytest.mark.django_db
def test_adding_an_employee_without_a_password(personas):
    client = personas.client_for(personas.admin)
    response = client.post(
        admin_url("programs.employee", "add"),
        {
            "email": "New.Person@Acme.example",
            "full_name": "New Person",
            "organization": personas.engineering.pk,
            "usable_password": "false",
        },
    )
    assert response.status_code == 302
    person = Employee.objects.get(email="new.person@acme.example")
    assert (person.full_name, person.organization, person.has_usable_password()) == (
        "New Person",
        personas.engineering,
        False,
    )


@pytest.mark.django_db
def test_adding_an_employee_with_a_password_and_a_taken_email(personas):
    root = EmployeeFactory(email="root@acme.example", is_staff=True, is_superuser=True)
    client = personas.client_for(root)
    url = admin_url("programs.employee", "add")
    password = "a-long-demo-passphrase-42"
    created = client.post(
        url, {"email": "pat@acme.example", "usable_password": "true", "password1": password, "password2": password}
    )
    taken = client.post(url, {"email": "BOB@acme.example", "usable_password": "false"})

    assert created.status_code == 302
    assert Employee.objects.get(email="pat@acme.example").check_password(password)
    assert taken.status_code == 200
    assert "An employee with this e-mail address already exists." in taken.content.decode()
    assert Employee.objects.filter(email__iexact="bob@acme.example").count() == 1


@pytest.mark.django_db
def test_catalog_course_search(personas):
    CourseFactory(title="Financial Markets", provider_course_id="fin-1")
    CourseFactory(title="Algorithms, Part I", provider_course_id="algo-1")
    client = personas.client_for(personas.admin)
    page = client.get(admin_url("programs.course", "changelist"), {"q": "financial"}).content.decode()
    assert "Financial Markets" in page
    assert "Algorithms, Part I" not in page


# --- Collection: its approval changes only by the review's steps --------------------------


@pytest.mark.django_db
def test_the_admin_cannot_approve_a_collection_behind_the_review(personas):
    collection = CollectionFactory(program=personas.program, organization=personas.engineering, name="Cloud basics")
    client = personas.client_for(personas.admin)
    url = admin_url("programs.collection", "change", collection.pk)

    page = client.get(url)
    response = client.post(
        url,
        {
            "program": personas.program.pk,
            "organization": personas.engineering.pk,
            "name": "Cloud basics, renamed",
            "needs": "",
            "approval_status": "approved",
            "approved_by": personas.sponsor.pk,
            "approved_at_0": "2026-03-01",
            "approved_at_1": "10:00:00",
            "items-TOTAL_FORMS": "0",
            "items-INITIAL_FORMS": "0",
            "review_steps-TOTAL_FORMS": "0",
            "review_steps-INITIAL_FORMS": "0",
        },
    )

    assert page.status_code == 200
    assert 'name="approval_status"' not in page.content.decode()
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    collection.refresh_from_db()
    assert (collection.name, collection.approval_status, collection.approved_by, collection.approved_at) == (
        "Cloud basics, renamed",
        "draft",
        None,
        None,
    )
    assert collection.review_steps.count() == 0
