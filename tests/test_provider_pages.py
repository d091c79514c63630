"""Provider pages for L&D admins: connections, runs, Sync now, CSV upload, unmatched and
invalid records. Other people are refused and change nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from programs.models import Enrollment, ImportJob, InvalidRecord, ProviderConnection, SyncRun, UnmatchedRecord
from tests.factories import ConnectionFactory, EmployeeFactory
from tests.sandbox_fixtures import CLIENT_ID, CLIENT_SECRET, ORG_ID, PROGRAM_ID

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.sandbox_fixtures"]

SECRET = "page-secret-never-rendered"
CSV = (
    "Name,Email,External ID,Course,Course ID,Completed,Completion Time\n"
    "Bob,bob@acme.example,,Leading People,LEAD1,Yes,2026-02-01T10:00:00.000Z\n"
    "Vendor,vendor@elsewhere.example,V1,Leading People,LEAD1,Yes,2026-02-20T00:00:00.000Z\n"
    "Bob,bob@acme.example,,Statistics,,No,\n"
)


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
        client_secret=SECRET,
    )


@pytest.fixture
def history(conn):
    run = SyncRun.objects.create(
        connection=conn,
        source="api",
        status="failed",
        fetched=12,
        created=7,
        unchanged=3,
        invalid=1,
        unmatched=1,
        error="Coursera refused the credentials (401): check the client id and secret.",
        finished_at=timezone.now(),
    )
    InvalidRecord.objects.create(connection=conn, run=run, line=None, reason="unknown content type 'webinar'", raw={})
    UnmatchedRecord.objects.create(
        connection=conn,
        learner_key="V1",
        email="vendor@elsewhere.example",
        external_id="V1",
        provider_course_id="LEAD1",
        reason="no employee on the roster with external id 'V1' or e-mail 'vendor@elsewhere.example'",
        record={
            "email": "vendor@elsewhere.example",
            "external_id": "V1",
            "full_name": "Vendor <b>Person</b>",
            "provider_course_id": "LEAD1",
            "course_title": "Leading People",
            "is_completed": True,
            "completed_at": "2026-02-20T00:00:00+00:00",
        },
    )
    return run


def urls(conn: ProviderConnection) -> list[str]:
    return [
        reverse("programs:providers:connections"),
        reverse("programs:providers:detail", args=[conn.pk]),
        reverse("programs:providers:upload", args=[conn.pk]),
        reverse("programs:providers:unmatched"),
        reverse("programs:providers:invalid"),
    ]


def test_admin_sees_connections_runs_unmatched_and_invalid(personas, conn, history):
    client = personas.client_for(personas.admin)

    page = client.get(reverse("programs:providers:connections")).content.decode()
    assert "coursera-main" in page and "Failed" in page and "Coursera refused the credentials" in page
    assert "1 record of people not on the roster" in page

    detail = client.get(reverse("programs:providers:detail", args=[conn.pk])).content.decode()
    assert "stored (never shown)" in detail
    assert "Coursera refused the credentials (401): check the client id and secret." in detail
    assert f'action="/providers/{conn.pk}/sync/"' in detail

    unmatched = client.get(reverse("programs:providers:unmatched")).content.decode()
    assert "vendor@elsewhere.example" in unmatched
    assert "<strong>V1</strong>" in unmatched
    assert "Vendor &lt;b&gt;Person&lt;/b&gt;" in unmatched  # escaped

    invalid = client.get(reverse("programs:providers:invalid"), {"connection": conn.pk, "all": 1}).content.decode()
    assert "unknown content type &#x27;webinar&#x27;" in invalid

    manage = client.get(reverse("manage:home")).content.decode()
    assert 'href="/providers/"' in manage

    for url in urls(conn):
        response = client.get(url)
        assert response.status_code == 200, url
        assert SECRET not in response.content.decode(), url


def test_sync_now_by_an_employee_queues_nothing(personas, conn, django_capture_on_commit_callbacks):
    url = reverse("programs:providers:sync", args=[conn.pk])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        refused = personas.client_for(personas.sponsor).post(url)
        anonymous = personas.client_for(None).post(url)

    assert refused.status_code == 403 and anonymous.status_code == 302
    assert callbacks == []
    assert SyncRun.objects.count() == 0


def test_sync_now_by_an_admin_queues_one_sync(personas, conn, django_capture_on_commit_callbacks, sandbox_factory):
    sandbox = sandbox_factory(records=[])
    ProviderConnection.objects.filter(pk=conn.pk).update(
        base_url=sandbox.base_url,
        token_url=sandbox.token_url,
        provider_org_id=ORG_ID,
        provider_program_ids=[PROGRAM_ID],
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )
    url = reverse("programs:providers:sync", args=[conn.pk])
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = personas.client_for(personas.admin).post(url, {"full": "on"}, follow=True)

    assert response.redirect_chain == [(reverse("programs:providers:detail", args=[conn.pk]), 302)]
    assert "Full sync of coursera-main queued." in response.content.decode()
    assert len(callbacks) == 1
    assert SyncRun.objects.count() == 0  # queued, not run, until the transaction commits

    # Tasks run in process here: the queued sync runs against the sandbox.
    callbacks[0]()
    run = SyncRun.objects.get()
    assert (run.connection_id, run.source, run.full, run.status, run.fetched) == (conn.pk, "api", True, "succeeded", 0)


def test_sync_now_in_eager_mode_refuses_while_a_sync_holds_the_connection(
    personas, conn, django_capture_on_commit_callbacks
):
    ProviderConnection.objects.filter(pk=conn.pk).update(sync_claimed_until=timezone.now() + dt.timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = personas.client_for(personas.admin).post(
            reverse("programs:providers:sync", args=[conn.pk]), follow=True
        )

    assert (
        "A sync of coursera-main is already running, and this server runs syncs in its own process (no Celery "
        "worker), so another cannot wait for it: try again when it ends."
    ) in response.content.decode()
    assert callbacks == []
    assert ProviderConnection.objects.get(pk=conn.pk).sync_requested_at is None


def test_sync_now_while_a_sync_holds_the_connection_queues_it_behind_that_one(
    personas, conn, django_capture_on_commit_callbacks
):
    from learnhub.celery import app

    app.conf.task_always_eager = False  # a worker and a broker, as in production
    ProviderConnection.objects.filter(pk=conn.pk).update(sync_claimed_until=timezone.now() + dt.timedelta(minutes=1))
    SyncRun.objects.create(connection=conn, status="running")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = personas.client_for(personas.admin).post(
            reverse("programs:providers:sync", args=[conn.pk]), follow=True
        )

    page = response.content.decode()
    assert "Sync of coursera-main queued: a sync of it is running now, and yours starts when that one ends." in page
    assert len(callbacks) == 1
    asked = ProviderConnection.objects.get(pk=conn.pk).sync_requested_at
    assert asked is not None
    assert (
        f'Sync queued</span> since <time datetime="{asked.isoformat()}">{asked:%H:%M}</time>; it starts when ' in page
    )


def test_the_detail_page_tells_a_live_sync_from_a_dead_one(personas, conn):
    client = personas.client_for(personas.admin)
    url = reverse("programs:providers:detail", args=[conn.pk])
    run = SyncRun.objects.create(connection=conn, status="running")
    ProviderConnection.objects.filter(pk=conn.pk).update(sync_claimed_until=timezone.now() + dt.timedelta(seconds=60))

    live = client.get(url).content.decode()
    assert '<span class="badge warn">Syncing now</span>' in live
    assert '<span class="badge warn">Running</span>' in live
    assert "Not responding" not in live

    lapsed = timezone.now().replace(microsecond=0) - dt.timedelta(seconds=30)
    ProviderConnection.objects.filter(pk=conn.pk).update(sync_claimed_until=lapsed)
    dead = client.get(url).content.decode()
    assert "Syncing now" not in dead
    assert '<span class="badge warn">Running</span>' not in dead
    assert dead.count('<span class="badge bad">Not responding</span>') == 2  # the notice and the run's status
    assert (
        "A sync of this connection stopped without finishing: its hold on the connection lapsed at "
        f'<time datetime="{lapsed.isoformat()}">{lapsed:%H:%M:%S}</time> without being renewed. '
        "The next sync marks it failed and takes over."
    ) in dead
    assert SyncRun.objects.get(pk=run.pk).status == "running"  # showing the page writes nothing


def test_the_connection_list_shows_syncing_not_responding_and_queued(personas, conn):
    live = ConnectionFactory(name="live", client_secret="x")
    SyncRun.objects.create(connection=live, status="running")
    ProviderConnection.objects.filter(pk=live.pk).update(sync_claimed_until=timezone.now() + dt.timedelta(seconds=60))
    SyncRun.objects.create(connection=conn, status="running")
    asked = dt.datetime(2026, 3, 2, 9, 41, tzinfo=dt.UTC)
    ProviderConnection.objects.filter(pk=conn.pk).update(
        sync_claimed_until=timezone.now() - dt.timedelta(seconds=5), sync_requested_at=asked
    )

    page = personas.client_for(personas.admin).get(reverse("programs:providers:connections")).content.decode()

    rows = {name: page.split(f">{name}</a>")[1].split("</tr>")[0] for name in ("coursera-main", "live")}
    assert '<span class="badge warn">Syncing now</span>' in rows["live"]
    assert '<span class="badge warn">Running</span>' in rows["live"]
    assert "Queued since" not in rows["live"]
    assert "Syncing now" not in rows["coursera-main"]
    assert rows["coursera-main"].count('<span class="badge bad">Not responding</span>') == 2
    assert 'Queued since <time datetime="2026-03-02T09:41:00+00:00">09:41</time>' in rows["coursera-main"]


def test_sync_now_is_post_only(personas, conn):
    assert (
        personas.client_for(personas.admin).get(reverse("programs:providers:sync", args=[conn.pk])).status_code == 405
    )


def test_csv_upload_imports_through_the_pipeline(personas, conn, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("CourseActivity.csv", CSV.encode(), content_type="text/csv")

    with django_capture_on_commit_callbacks(execute=True):  # the import job runs in process here
        response = personas.client_for(personas.admin).post(
            reverse("programs:providers:upload", args=[conn.pk]), {"file": upload}
        )

    run = SyncRun.objects.get()
    assert (run.source, run.status, run.fetched, run.created, run.invalid, run.unmatched) == (
        "csv",
        "succeeded",
        3,
        1,
        1,
        1,
    )
    job = ImportJob.objects.get()
    assert (response.status_code, response["Location"]) == (302, reverse("programs:import_job", args=[job.pk]))
    assert job.sync_run == run
    assert Enrollment.objects.get().employee == personas.employee


def test_csv_upload_with_a_bad_file_explains_and_imports_nothing(personas, conn):
    upload = SimpleUploadedFile("export.csv", b"first,second\n1,2\n", content_type="text/csv")

    response = personas.client_for(personas.admin).post(
        reverse("programs:providers:upload", args=[conn.pk]), {"file": upload}
    )

    assert response.status_code == 400
    assert "The file was not imported: missing column(s): Email, Course ID." in response.content.decode()
    assert Enrollment.objects.count() == 0


def test_csv_upload_without_a_file_shows_the_error_next_to_the_field(personas, conn):
    response = personas.client_for(personas.admin).post(reverse("programs:providers:upload", args=[conn.pk]), {})

    assert response.status_code == 400
    assert '<ul class="errorlist"' in response.content.decode()
    assert SyncRun.objects.count() == 0


def test_csv_upload_by_an_employee_is_refused_and_imports_nothing(personas, conn):
    upload = SimpleUploadedFile("CourseActivity.csv", CSV.encode(), content_type="text/csv")

    response = personas.client_for(personas.employee).post(
        reverse("programs:providers:upload", args=[conn.pk]), {"file": upload}
    )

    assert response.status_code == 403
    assert SyncRun.objects.count() == 0 and Enrollment.objects.count() == 0


def test_rematch_button_matches_people_added_to_the_roster(personas, conn, history, django_capture_on_commit_callbacks):
    EmployeeFactory(email="vendor@elsewhere.example", external_id="V1")
    with django_capture_on_commit_callbacks(execute=True):
        refused = personas.client_for(personas.employee).post(reverse("programs:providers:unmatched_rematch"))
    assert refused.status_code == 403 and UnmatchedRecord.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        personas.client_for(personas.admin).post(reverse("programs:providers:unmatched_rematch"))

    assert UnmatchedRecord.objects.count() == 0
    assert Enrollment.objects.get().employee.email == "vendor@elsewhere.example"


def test_lists_are_paginated(personas, conn, history):
    for n in range(60):
        InvalidRecord.objects.create(connection=conn, run=history, line=n + 2, reason=f"reason {n}", raw={})
    client = personas.client_for(personas.admin)

    first = client.get(reverse("programs:providers:invalid"), {"run": history.pk}).content.decode()
    second = client.get(reverse("programs:providers:invalid"), {"run": history.pk, "page": 2}).content.decode()

    assert "Page 1 of 2 (61 in all)" in first
    assert f"?run={history.pk}&amp;page=2" in first
    assert "Page 2 of 2 (61 in all)" in second


def test_invalid_list_shows_the_current_problems_by_default(personas, conn, history):
    other = ConnectionFactory(name="other", client_secret="x")
    runs = {}
    for label, connection, source, status, minutes_ago in [
        ("old-api", conn, "api", "succeeded", 30),
        ("new-api", conn, "api", "succeeded", 20),
        ("failed-api", conn, "api", "failed", 10),
        ("csv", conn, "csv", "succeeded", 25),
        ("other-api", other, "api", "succeeded", 40),
    ]:
        runs[label] = SyncRun.objects.create(
            connection=connection,
            source=source,
            status=status,
            started_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
        )
        InvalidRecord.objects.create(connection=connection, run=runs[label], reason=f"problem of {label}", raw={})
    client = personas.client_for(personas.admin)

    current = client.get(reverse("programs:providers:invalid")).content.decode()
    everything = client.get(reverse("programs:providers:invalid"), {"all": 1}).content.decode()
    one_run = client.get(reverse("programs:providers:invalid"), {"run": runs["old-api"].pk}).content.decode()

    shown = {label for label in runs if f"problem of {label}<" in current}
    assert shown == {"new-api", "csv", "other-api"}
    assert {label for label in runs if f"problem of {label}<" in everything} == set(runs)
    assert {label for label in runs if f"problem of {label}<" in one_run} == {"old-api"}
