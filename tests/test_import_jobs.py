"""Uploads as import jobs (issue 10): the provider CSV upload page, the job and its page, the
whole-file check before anything is written, a failure part-way and the re-import that
completes it, the size limit, waiting for a busy connection, and the import_provider_csv
command's same checks. The tasks run in process here; tests/test_upload_jobs_live.py runs
them on a real worker behind gunicorn."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection as db_connection
from django.urls import reverse
from django.utils import timezone

from programs.imports import import_job_create, import_job_run
from programs.models import Employee, Enrollment, ImportJob, ProviderConnection, SyncRun, UnmatchedRecord
from programs.tasks import import_job_run_task
from tests.factories import ConnectionFactory, org

pytestmark = pytest.mark.django_db

HEADER = "Name,Email,External ID,Course,Course ID,Completed,Completion Time\n"
SMALL = (
    HEADER
    + "Bob,bob@acme.example,,Leading People,LEAD1,Yes,2026-02-01T10:00:00.000Z\n"
    + "Vendor,vendor@elsewhere.example,V1,Leading People,LEAD1,Yes,2026-02-20T00:00:00.000Z\n"
    + "Bob,bob@acme.example,,Statistics,,No,\n"
)


@pytest.fixture
def conn() -> ProviderConnection:
    return ConnectionFactory(name="coursera-main", kind="coursera")


def people(count: int) -> None:
    """`count` roster employees p0..p<count-1>@acme.example, in one query."""
    team = org("Acme/Engineering")
    Employee.objects.bulk_create(
        [Employee(email=f"p{n}@acme.example", full_name=f"Person {n}", organization=team) for n in range(count)]
    )


def export(count: int) -> str:
    """A CourseActivity export with one completion of LEAD1 for each of p0..p<count-1>."""
    rows = "".join(
        f"Person {n},p{n}@acme.example,,Leading People,LEAD1,Yes,2026-02-01T10:00:00.000Z\n" for n in range(count)
    )
    return HEADER + rows


def upload(content: str | bytes, name: str = "CourseActivity.csv") -> SimpleUploadedFile:
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def stored_files(settings) -> list[str]:
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()) if root.exists() else []


def post_upload(client, conn: ProviderConnection, content: str | bytes, capture) -> tuple[object, ImportJob | None]:
    with capture(execute=True):
        response = client.post(reverse("programs:providers:upload", args=[conn.pk]), {"file": upload(content)})
    return response, ImportJob.objects.order_by("-pk").first()


# --- The upload page and the job page ---------------------------------------------------------


def test_an_uploaded_export_is_imported_by_a_job_whose_page_shows_the_counts(
    personas, conn, settings, django_capture_on_commit_callbacks
):
    client = personas.client_for(personas.admin)

    response, job = post_upload(client, conn, SMALL, django_capture_on_commit_callbacks)

    assert job is not None
    assert (response.status_code, response["Location"]) == (302, reverse("programs:import_job", args=[job.pk]))
    run = SyncRun.objects.get()
    assert (job.kind, job.connection, job.status, job.sync_run, job.error) == (
        "provider_csv",
        conn,
        "succeeded",
        run,
        "",
    )
    assert (job.rows_total, job.rows_done, job.file.name, stored_files(settings)) == (3, 3, "", [])
    assert job.result == {
        "rows": 3,
        "counts": {
            "fetched": 3,
            "created": 1,
            "updated": 0,
            "unchanged": 0,
            "merged": 0,
            "skipped": 0,
            "invalid": 1,
            "unmatched": 1,
        },
        "kept_through_line": 4,
    }
    assert (run.source, run.status, run.fetched, run.created, run.invalid, run.unmatched) == (
        "csv",
        "succeeded",
        3,
        1,
        1,
        1,
    )
    assert Enrollment.objects.get().employee == personas.employee
    html = client.get(response["Location"]).content.decode()
    assert '<tr><th scope="row">Enrollments created</th><td class="num">1</td></tr>' in html
    assert '<tr><th scope="row">Invalid lines</th><td class="num">1</td></tr>' in html
    assert f'<a href="/providers/invalid/?run={run.pk}">1 invalid line, with the reasons</a>' in html
    assert "http-equiv" not in html
    listed = client.get(reverse("programs:providers:upload", args=[conn.pk])).content.decode()
    assert f'<a href="/imports/{job.pk}/">CourseActivity.csv</a>' in listed


def test_a_file_that_is_not_an_export_is_refused_at_upload_and_nothing_is_stored(
    personas, conn, settings, django_capture_on_commit_callbacks
):
    response, job = post_upload(
        personas.client_for(personas.admin), conn, "first,second\n1,2\n", django_capture_on_commit_callbacks
    )

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "file": [
            "The file was not imported: missing column(s): Email, Course ID. Is this a Coursera CourseActivity "
            "export? Columns found: first, second"
        ]
    }
    assert (job, SyncRun.objects.count(), Enrollment.objects.count(), stored_files(settings)) == (None, 0, 0, [])


def test_an_upload_over_the_size_limit_is_refused_before_it_is_stored(
    personas, conn, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_MAX_UPLOAD_MB = 1
    content = export(1) + "x" * (1024 * 1024)

    response, job = post_upload(personas.client_for(personas.admin), conn, content, django_capture_on_commit_callbacks)

    assert response.status_code == 400
    assert response.context["form"].errors == {
        "file": [
            "The file was not imported: The file is 1.0 MB; an upload can be at most 1 MB. Split it, or ask the "
            "administrator to raise IMPORT_MAX_UPLOAD_MB."
        ]
    }
    assert (job, SyncRun.objects.count(), stored_files(settings)) == (None, 0, [])


def test_a_bad_byte_after_3000_rows_writes_nothing_and_the_job_names_its_line(
    personas, conn, settings, django_capture_on_commit_callbacks
):
    people(3000)
    content = export(3000).encode() + b"Late,late@acme.example,,Leading People,LEAD1,Yes,2026-02-01T10:00:00\xff\n"
    client = personas.client_for(personas.admin)

    response, job = post_upload(client, conn, content, django_capture_on_commit_callbacks)

    assert job is not None and job.status == "failed"
    message = (
        "The file is not UTF-8 text (byte 243,915 cannot be read, on line 3002). Save it as CSV UTF-8 and import "
        "it again."
    )
    assert job.error == f"Nothing was imported: {message}"
    assert job.result == {"errors": [{"line": 3002, "message": message}]}
    assert (job.rows_total, job.rows_done, job.sync_run, stored_files(settings)) == (None, 0, None, [])
    assert (SyncRun.objects.count(), Enrollment.objects.count(), UnmatchedRecord.objects.count()) == (0, 0, 0)
    html = client.get(response["Location"]).content.decode()
    assert f'<tr><td class="num">3002</td><td>{message}</td></tr>' in html


def test_a_nul_byte_in_an_export_refuses_the_file_with_its_line(personas, conn, django_capture_on_commit_callbacks):
    people(10)
    content = export(10).replace("Person 7,", "Person\x007,")

    _, job = post_upload(personas.client_for(personas.admin), conn, content, django_capture_on_commit_callbacks)

    assert job is not None
    assert (job.status, job.result["errors"][0]["line"]) == ("failed", 9)
    assert job.error == (
        "Nothing was imported: Line 9 contains a NUL byte (0x00), which is not text: the file is damaged or not a "
        "CSV export. Export it again."
    )
    assert (SyncRun.objects.count(), Enrollment.objects.count()) == (0, 0)


@pytest.fixture
def failing_insert():
    """A real database failure on page 3 of 3: PostgreSQL refuses the enrollment of p2500
    (line 2502), as a full disk or a lost connection would, once page 1 is written (pages 2
    and 3 are written together, so neither is kept)."""
    if db_connection.vendor != "postgresql":
        pytest.skip("the failure is a PostgreSQL trigger")
    table = Enrollment._meta.db_table
    with db_connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION learnhub_test_refuse() RETURNS trigger AS $$ BEGIN "
            "IF NEW.learner_key = 'p2500@acme.example' THEN RAISE EXCEPTION 'could not extend file (test)'; END IF; "
            "RETURN NEW; END $$ LANGUAGE plpgsql"
        )
        cursor.execute(
            f"CREATE TRIGGER learnhub_test_refuse BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION learnhub_test_refuse()"
        )

    def heal() -> None:
        with db_connection.cursor() as cursor:
            cursor.execute(f"DROP TRIGGER learnhub_test_refuse ON {table}")
            cursor.execute("DROP FUNCTION learnhub_test_refuse()")

    return heal


def test_a_failure_part_way_says_what_was_kept_and_importing_again_completes_it(
    personas, conn, settings, failing_insert, django_capture_on_commit_callbacks
):
    people(3000)
    content = export(3000)
    client = personas.client_for(personas.admin)

    response, failed = post_upload(client, conn, content, django_capture_on_commit_callbacks)

    assert failed is not None
    first_run = SyncRun.objects.get()
    assert (failed.status, failed.sync_run, failed.rows_total, failed.rows_done) == ("failed", first_run, 3000, 1000)
    assert failed.error.startswith("The sync stopped on an unexpected error (InternalError)")
    kept = (
        "The rows up to line 1001 are imported and kept (fetched 1000, created 1000, updated 0, unchanged 0, "
        "merged 0, skipped 0, invalid 0, unmatched 0); the rows after it are not. Import the same file again to "
        "complete it: the rows already imported are counted as unchanged, nothing is doubled."
    )
    assert (failed.result["kept"], failed.result["kept_through_line"]) == (kept, 1001)
    assert (first_run.status, first_run.fetched, first_run.created) == ("failed", 1000, 1000)
    assert Enrollment.objects.count() == 1000
    assert stored_files(settings) == []  # the job has ended
    html = client.get(response["Location"]).content.decode()
    assert f"<p><strong>What was kept:</strong> {kept}</p>" in html

    failing_insert()
    _, completed = post_upload(client, conn, content, django_capture_on_commit_callbacks)

    assert completed is not None
    assert (completed.status, completed.rows_done, completed.error) == ("succeeded", 3000, "")
    assert completed.result["counts"] == {
        "fetched": 3000,
        "created": 2000,
        "updated": 0,
        "unchanged": 1000,
        "merged": 0,
        "skipped": 0,
        "invalid": 0,
        "unmatched": 0,
    }
    assert Enrollment.objects.count() == 3000
    assert Enrollment.objects.values("employee").distinct().count() == 3000


# --- Running a job: twice, after a crash, while the connection is busy -------------------------


def queued_job(conn: ProviderConnection, content: str, admin: Employee) -> ImportJob:
    """A job as the upload page leaves it (its task is queued after a commit that never comes)."""
    return import_job_create(kind="provider_csv", upload=upload(content), connection=conn, created_by=admin)


def test_a_job_that_has_ended_is_not_run_again(personas, conn):
    job = queued_job(conn, SMALL, personas.admin)
    assert import_job_run(job=job).status == "succeeded"

    again = import_job_run(job=ImportJob.objects.get(pk=job.pk))

    assert (again.status, again.finished_at) == ("succeeded", job.finished_at)
    assert SyncRun.objects.count() == 1


def test_a_job_left_running_by_a_dead_worker_runs_again_when_its_task_is_redelivered(personas, conn, settings):
    job = queued_job(conn, SMALL, personas.admin)
    ImportJob.objects.filter(pk=job.pk).update(status="running", started_at=timezone.now(), rows_total=3)
    assert len(stored_files(settings)) == 1  # kept while it may still run

    rerun = import_job_run(job=job)

    assert (rerun.status, rerun.rows_done, rerun.result["counts"]["created"]) == ("succeeded", 3, 1)
    assert stored_files(settings) == []


def test_a_job_waits_while_another_sync_holds_the_connection_and_writes_nothing(personas, conn, settings):
    held_until = timezone.now() + timezone.timedelta(seconds=40)
    ProviderConnection.objects.filter(pk=conn.pk).update(sync_claimed_until=held_until)
    job = queued_job(conn, SMALL, personas.admin)

    waiting = import_job_run(job=job)

    assert waiting.status == "queued"
    assert waiting.result["waiting"].startswith("A sync of coursera-main is already running")
    assert 39 <= waiting.result["retry_in"] <= 41
    assert len(stored_files(settings)) == 1
    page = personas.client_for(personas.admin).get(reverse("programs:import_job", args=[job.pk])).content.decode()
    assert "This import starts when it ends." in page and '<meta http-equiv="refresh" content="3">' in page

    given_up = import_job_run(job=waiting, may_wait=False)

    assert given_up.status == "failed"
    assert given_up.error.endswith("It kept the connection busy, so nothing was imported: upload the file again.")
    assert (SyncRun.objects.count(), Enrollment.objects.count(), stored_files(settings)) == (0, 0, [])


def test_in_process_the_task_cannot_wait_for_a_busy_connection_and_says_so(personas, conn):
    ProviderConnection.objects.filter(pk=conn.pk).update(
        sync_claimed_until=timezone.now() + timezone.timedelta(hours=1)
    )
    job = queued_job(conn, SMALL, personas.admin)

    outcome = import_job_run_task.apply(args=[job.pk])  # eager, as without a broker

    job.refresh_from_db()
    assert (outcome.get(), job.status) == ("failed", "failed")
    assert job.error.startswith("A sync of coursera-main is already running")
    assert job.error.endswith("It kept the connection busy, so nothing was imported: upload the file again.")
    assert (SyncRun.objects.count(), Enrollment.objects.count()) == (0, 0)
    assert import_job_run_task.apply(args=[job.pk + 1000]).get() is None  # a job that is gone: nothing to do


def test_a_job_whose_file_is_gone_fails_and_says_so(personas, conn):
    job = queued_job(conn, SMALL, personas.admin)
    job.file.storage.delete(job.file.name)

    failed = import_job_run(job=job)

    assert (failed.status, failed.error) == (
        "failed",
        "The uploaded file is no longer stored. Nothing was imported; upload it again.",
    )


# --- The job page -------------------------------------------------------------------------------


def test_the_job_page_costs_the_same_queries_whatever_the_job(personas, conn, django_assert_num_queries):
    small = queued_job(conn, SMALL, personas.admin)
    big = queued_job(conn, export(50), personas.admin)
    import_job_run(job=big)
    client = personas.client_for(personas.admin)

    # session, user, the L&D role (1), the job with its connection, run and uploader (1), the navigation
    # (the current program, the sponsor's and champion's organizations: 3)
    with django_assert_num_queries(7):
        client.get(reverse("programs:import_job", args=[small.pk]))
    with django_assert_num_queries(7):
        client.get(reverse("programs:import_job", args=[big.pk]))


def test_a_job_running_for_longer_than_a_task_may_run_is_shown_as_stopped(personas, conn, settings):
    settings.CELERY_TASK_TIME_LIMIT = 600
    job = queued_job(conn, SMALL, personas.admin)
    client = personas.client_for(personas.admin)
    url = reverse("programs:import_job", args=[job.pk])
    ImportJob.objects.filter(pk=job.pk).update(
        status="running",
        started_at=timezone.now() - timezone.timedelta(seconds=600 + 50),
        rows_total=3000,
        rows_done=2000,
    )
    alive = client.get(url).content.decode()
    ImportJob.objects.filter(pk=job.pk).update(started_at=timezone.now() - timezone.timedelta(seconds=600 + 70))

    stopped = client.get(url).content.decode()

    assert '<meta http-equiv="refresh"' in alive and "Importing: 2,000 of 3,000 rows written." in alive
    assert '<meta http-equiv="refresh"' not in stopped and "<progress" not in stopped
    assert (
        "<p>This import stopped without finishing: it has been running for longer than a task may run (10 minutes), "
        "so its worker was stopped. The rows written before it stopped (2,000) are kept. Import the same file again "
        "to complete it: the rows already imported are counted as unchanged, nothing is doubled.</p>"
    ) in stopped


@pytest.mark.parametrize("who", ["employee", "champion", "sponsor", None])
def test_the_job_page_is_refused_to_everyone_but_l_and_d_admins(personas, conn, who):
    job = queued_job(conn, SMALL, personas.admin)
    before = list(ImportJob.objects.values())

    response = personas.client_for(getattr(personas, who) if who else None).get(
        reverse("programs:import_job", args=[job.pk])
    )

    assert response.status_code == (302 if who is None else 403)
    assert list(ImportJob.objects.values()) == before


# --- The import_provider_csv command: the same checks -------------------------------------------


def run_command(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_the_command_checks_the_whole_file_before_writing(conn, tmp_path):
    people(3000)
    path = tmp_path / "export.csv"
    path.write_bytes(export(3000).encode() + b"Late,late@acme.example,,Leading People,L\xe9AD1,Yes,\n")

    with pytest.raises(CommandError) as refused:
        run_command("import_provider_csv", str(path), "--connection", "coursera-main")

    assert str(refused.value) == (
        "The file was not imported: The file is not UTF-8 text (byte 243,887 cannot be read, on line 3002). "
        "Save it as CSV UTF-8 and import it again."
    )
    assert (SyncRun.objects.count(), Enrollment.objects.count()) == (0, 0)


def test_the_command_reports_a_failure_part_way_with_what_was_kept(conn, tmp_path, failing_insert):
    people(3000)
    path = tmp_path / "export.csv"
    path.write_text(export(3000), encoding="utf-8")

    with pytest.raises(CommandError) as stopped:
        run_command("import_provider_csv", str(path), "--connection", "coursera-main")
    failing_insert()
    out = run_command("import_provider_csv", str(path), "--connection", "coursera-main")

    assert str(stopped.value).startswith("The file was not imported: The sync stopped on an unexpected error")
    assert str(stopped.value).endswith(
        "The rows up to line 1001 are imported and kept (fetched 1000, created 1000, updated 0, unchanged 0, "
        "merged 0, skipped 0, invalid 0, unmatched 0); the rows after it are not. Import the same file again to "
        "complete it: the rows already imported are counted as unchanged, nothing is doubled."
    )
    assert "fetched 3000, created 2000, updated 0, unchanged 1000, merged 0" in out
    assert Enrollment.objects.count() == 3000
