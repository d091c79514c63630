"""Large uploads through the real stack (issue 10): the app under gunicorn with a short
`--timeout`, a real Celery worker on Redis, and the PostgreSQL test database. A provider
export whose import takes longer than gunicorn lets a request run is uploaded through the
page; the page answers at once, and the job page shows the progress bar while the worker
imports it, then the counts. The roster upload goes the same way.

Needs Redis at REDIS_URL (outside CI a missing Redis skips these tests with the reason;
under CI=true it fails them) and PostgreSQL (the worker and gunicorn share its test
database, so the data is committed: `transaction=True`)."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from learnhub.celery import app
from programs.imports import import_job_create
from programs.models import Employee, Enrollment, ImportJob, SyncRun
from tests.factories import ConnectionFactory, org
from tests.worker_support import Worker, celery_worker, gunicorn_site

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

GUNICORN_TIMEOUT = 3  # seconds a request may run before gunicorn kills its worker
ROWS = 60_000  # enough to run well past GUNICORN_TIMEOUT (40,000 rows take about 2.5 s on an idle machine)
WAIT_SECONDS = 180


@dataclass
class Site:
    url: str
    log: Path

    def errors(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@pytest.fixture
def live_env(tmp_path) -> dict[str, str]:
    """What gunicorn and the worker share besides the database and Redis: the uploads folder."""
    return {"MEDIA_ROOT": str(tmp_path / "media")}


@pytest.fixture
def worker(tmp_path, live_env) -> Iterator[Worker]:
    with celery_worker(tmp_path, concurrency=1, env=live_env) as running:
        yield running


@pytest.fixture
def site(tmp_path, live_env, worker) -> Iterator[Site]:
    """`gunicorn learnhub.wsgi` with production settings (DEBUG off) and a short timeout,
    queueing its tasks to the test worker."""
    log = tmp_path / "gunicorn.log"
    env = {
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "LEARNHUB_TEST_CELERY_QUEUE": app.conf.task_default_queue,
        **live_env,
    }
    args = ["--timeout", str(GUNICORN_TIMEOUT), "--config", "python:tests.gunicorn_test_conf"]
    with gunicorn_site(log, env=env, args=args) as url:
        yield Site(url=url, log=log)


class Browser:
    """An L&D admin's requests to the live site: the session of a sign-in and the CSRF
    cookie, sent by hand (both cookies are Secure with DEBUG off, and this is plain HTTP)."""

    def __init__(self, site: Site, admin: Employee) -> None:
        client = Client()
        client.force_login(admin)
        self.site = site
        self.cookies = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}

    def get(self, path: str) -> requests.Response:
        return requests.get(self.site.url + path, cookies=self.cookies, timeout=GUNICORN_TIMEOUT + 5)

    def upload(self, path: str, name: str, content: bytes, **fields: str) -> requests.Response:
        """Open the upload page, then post its form with the file, as a browser does."""
        form = self.get(path)
        assert form.status_code == 200, form.text[:500]
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token is not None
        self.cookies[settings.CSRF_COOKIE_NAME] = form.cookies[settings.CSRF_COOKIE_NAME]
        return requests.post(
            self.site.url + path,
            data={"csrfmiddlewaretoken": token.group(1), **fields},
            files={"file": (name, content, "text/csv")},
            cookies=self.cookies,
            allow_redirects=False,
            timeout=GUNICORN_TIMEOUT + 5,
        )

    def follow_job(self, path: str) -> tuple[list[str], str]:
        """Reload the job page, as its refresh does, until the job has ended: the pages seen
        while it ran and the last one."""
        seen: list[str] = []
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            page = self.get(path)
            assert page.status_code == 200, page.text[:500]
            if 'http-equiv="refresh"' not in page.text:
                return seen, page.text
            seen.append(page.text)
            time.sleep(0.5)
        pytest.fail(f"the job at {path} did not end within {WAIT_SECONDS} s")


def roster_of(count: int) -> None:
    team = org("Acme/Engineering")
    Employee.objects.bulk_create(
        [Employee(email=f"p{n}@acme.example", full_name=f"Person {n}", organization=team) for n in range(count)],
        batch_size=5000,
    )


def export(count: int) -> bytes:
    header = "Name,Email,External ID,Course,Course ID,Completed,Completion Time\n"
    rows = "".join(
        f"Person {n},p{n}@acme.example,,Leading People,LEAD1,Yes,2026-02-01T10:00:00.000Z\n" for n in range(count)
    )
    return (header + rows).encode()


PROGRESS = re.compile(r'<progress id="import-progress" max="(\d+)" value="(\d+)">(\d+)%</progress>')


def stored_files(live_env: dict[str, str]) -> list[Path]:
    return [path for path in Path(live_env["MEDIA_ROOT"]).rglob("*") if path.is_file()]


def test_an_export_too_big_for_a_request_is_imported_by_the_worker_with_a_progress_bar(
    personas, site, worker, live_env
):
    roster_of(ROWS)
    connection = ConnectionFactory(name="coursera-live", kind="coursera")
    browser = Browser(site, personas.admin)

    started = time.monotonic()
    answer = browser.upload(f"/providers/{connection.pk}/upload/", "CourseActivity.csv", export(ROWS))
    answered_in = time.monotonic() - started

    assert answer.status_code == 302, answer.text[:2000]
    job = ImportJob.objects.get()
    assert answer.headers["Location"] == f"/imports/{job.pk}/"
    assert answered_in < GUNICORN_TIMEOUT
    running, final = browser.follow_job(answer.headers["Location"])

    bars = []
    for page in running:
        bar = PROGRESS.search(page)
        if bar:
            total, done, percent = map(int, bar.groups())
            assert percent == done * 100 // total
            assert (
                f'<span id="import-rows">{done} of {total} rows ({percent}%)</span>' in page
            )  # the bar's text equivalent
            bars.append((total, done))
    assert any(total == ROWS and 0 < done < ROWS for total, done in bars), bars  # seen part-way
    job.refresh_from_db()
    assert (job.status, job.rows_total, job.rows_done, job.error, job.file.name) == ("succeeded", ROWS, ROWS, "", "")
    assert job.finished_at is not None and job.started_at is not None
    assert (job.finished_at - job.started_at).total_seconds() > GUNICORN_TIMEOUT  # too long for a request
    assert f'<tr><th scope="row">Rows read</th><td class="num">{ROWS}</td></tr>' in final
    assert f'<tr><th scope="row">Enrollments created</th><td class="num">{ROWS}</td></tr>' in final
    assert '<tr><th scope="row">Invalid lines</th><td class="num">0</td></tr>' in final
    run = SyncRun.objects.get()
    assert (run.status, run.source, run.fetched, run.created, run.pages) == (
        "succeeded",
        "csv",
        ROWS,
        ROWS,
        ROWS // 1000,
    )
    assert Enrollment.objects.count() == ROWS
    assert stored_files(live_env) == []  # the job has ended: its upload is deleted
    assert "WORKER TIMEOUT" not in site.errors()


def test_a_roster_upload_is_a_job_too(personas, site, worker):
    roster = "email,full_name,organization\n" + "".join(
        f"r{n}@acme.example,Person {n},Acme/Sales\n" for n in range(500)
    )
    browser = Browser(site, personas.admin)

    answer = browser.upload("/roster/import/", "roster.csv", roster.encode(), mark_missing_departed="")

    assert answer.status_code == 302, answer.text[:2000]
    job = ImportJob.objects.get()
    _, final = browser.follow_job(answer.headers["Location"])
    job.refresh_from_db()
    assert (job.kind, job.status, job.rows_total, job.rows_done, job.error) == ("roster", "succeeded", 500, 500, "")
    assert '<tr><th scope="row">Created</th><td class="num">500</td></tr>' in final
    assert Employee.objects.filter(email__startswith="r", organization__path="Acme/Sales").count() == 500
    worker.wait_for(r"programs\.tasks\.import_job_run_task\[[^\]]+\] succeeded")


def test_a_job_waits_on_the_worker_for_a_busy_connection_then_runs(personas, worker, live_env, settings):
    """Another sync holds the connection for a few more seconds: the task puts the job back
    in the queue until that hold ends, then imports the file."""
    settings.MEDIA_ROOT = live_env["MEDIA_ROOT"]  # this process stores the upload the worker reads
    roster_of(3)
    connection = ConnectionFactory(name="coursera-busy", kind="coursera")
    upload = SimpleUploadedFile("CourseActivity.csv", export(3), content_type="text/csv")
    held_until = timezone.now() + dt.timedelta(seconds=5)  # set last: on a busy machine setting up takes seconds
    type(connection).objects.filter(pk=connection.pk).update(sync_claimed_until=held_until)

    job = import_job_create(kind="provider_csv", upload=upload, connection=connection, created_by=personas.admin)

    worker.wait_for(r"programs\.tasks\.import_job_run_task\[[^\]]+\] retry: Retry in \d+s")
    worker.wait_for(r"programs\.tasks\.import_job_run_task\[[^\]]+\] succeeded in [\d.]+s: 'succeeded'")
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.result["counts"]["created"]) == ("succeeded", 3, 3)
    assert job.started_at is not None and job.started_at >= held_until  # it waited for the hold to end
    assert stored_files(live_env) == []
