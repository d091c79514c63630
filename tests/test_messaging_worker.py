"""Communication on a REAL Celery worker (subprocess, Redis broker, the test database, the
file e-mail backend): ticks queued at once send each message once; a webhook receiver
answering 500 is retried with backoff and recorded. Needs Redis at REDIS_URL: outside CI a
missing Redis skips these tests with the reason; under CI=true it fails them."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

from learnhub.celery import app
from reports.messaging import digests_send, settings_for
from reports.models import OrgWebhook, SentMessage
from reports.tasks import communications_tick
from tests.worker_support import require_redis, worker_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
pytest_plugins = ["tests.webhook_receiver"]

ROOT = Path(__file__).resolve().parent.parent
WAIT_SECONDS = 60
MAX_RETRIES = 2
NUDGE_TIME = dt.datetime(2026, 11, 30, 10, 30, tzinfo=dt.UTC)  # Monday: digests and nudges due


class Worker:
    def __init__(self, process: subprocess.Popen, logfile: Path, maildir: Path) -> None:
        self.process = process
        self.logfile = logfile
        self.maildir = maildir

    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def wait_for(self, pattern: str, count: int = 1) -> list[str]:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            found = re.findall(pattern, self.log())
            if len(found) >= count:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"worker log never showed {count} x {pattern!r}:\n{self.log()[-3000:]}")

    def mails(self) -> list[str]:
        """The recipients of every e-mail the worker wrote (file backend)."""
        text = "".join(p.read_text(errors="replace") for p in sorted(self.maildir.glob("*")))
        return sorted(re.findall(r"^To: (.+)$", text, flags=re.MULTILINE))


@pytest.fixture
def worker(tmp_path) -> Iterator[Worker]:
    """`celery -A learnhub worker` on a queue of its own, against the test database, with
    mail written to files and fast webhook retries (2 retries, backoff 1 s then 2 s)."""
    require_redis()
    queue = f"learnhub-test-{uuid.uuid4().hex[:12]}"
    logfile = tmp_path / "worker.log"
    maildir = tmp_path / "mail"
    maildir.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "CONN_MAX_AGE": "0",
        "TIME_ZONE": "UTC",
        "EMAIL_URL": f"filemail:///{maildir}",
        "WEBHOOK_MAX_RETRIES": str(MAX_RETRIES),
        "WEBHOOK_RETRY_BACKOFF": "1",
    }
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "learnhub",
            "worker",
            "--loglevel=INFO",
            f"--logfile={logfile}",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "--concurrency=3",
            "--pool=prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    w = Worker(process, logfile, maildir)
    try:
        w.wait_for(r"ready\.")
        yield w
    finally:
        app.conf.task_default_queue = previous_queue
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def wait_until(check, what: str, worker: Worker) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    pytest.fail(f"never happened: {what}\n{worker.log()[-3000:]}")


def test_ticks_at_once_on_a_real_worker_send_each_message_once(worker, personas, settings):
    settings.TIME_ZONE = "UTC"

    for _ in range(4):
        communications_tick.delay(now=NUDGE_TIME.isoformat())

    worker.wait_for(r"reports\.tasks\.communications_tick\[[^\]]+\] succeeded", count=4)
    # 2 digests (champion, sponsor of Engineering) + 5 nudges (nobody has completed): each once.
    digests = ["chris@acme.example", "sam@acme.example"]
    nudges = [
        "alice@acme.example",
        "bob@acme.example",
        "charlie@acme.example",
        "chris@acme.example",
        "sam@acme.example",
    ]
    assert worker.mails() == sorted(digests + nudges)
    rows = SentMessage.objects.filter(channel="email")
    assert sorted(rows.values_list("kind", "status")) == [("digest", "sent")] * 2 + [("nudge", "sent")] * 5
    assert "IntegrityError" not in worker.log() and "ERROR" not in worker.log()


def test_a_receiver_answering_500_is_retried_with_backoff_then_recorded_failed(worker, personas, receiver, settings):
    settings.TIME_ZONE = "UTC"
    receiver.statuses = [500]
    OrgWebhook.objects.create(program=personas.program, organization=personas.engineering, url=f"{receiver.url}/down")
    settings_for(program=personas.program)

    digests_send(program=personas.program, now=NUDGE_TIME)  # queues the post after commit, mails sent in process

    message = SentMessage.objects.get(channel="webhook")
    wait_until(
        lambda: SentMessage.objects.get(pk=message.pk).status != "pending", "the webhook post is recorded", worker
    )
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == ("failed", MAX_RETRIES + 1, "HTTP 500 from the webhook")
    assert [path for path, _ in receiver.posts] == ["/down"] * (MAX_RETRIES + 1)
    assert worker.log().count("Retry in 1s") == 1 and worker.log().count("Retry in 2s") == 1


def test_a_receiver_that_recovers_gets_the_post_once(worker, personas, receiver, settings):
    settings.TIME_ZONE = "UTC"
    receiver.statuses = [502, 200]
    OrgWebhook.objects.create(program=personas.program, organization=personas.engineering, url=f"{receiver.url}/flaky")

    digests_send(program=personas.program, now=NUDGE_TIME)

    message = SentMessage.objects.get(channel="webhook")
    wait_until(
        lambda: SentMessage.objects.get(pk=message.pk).status != "pending", "the webhook post is recorded", worker
    )
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == ("sent", 2, "")
    assert len(receiver.posts) == 2 and receiver.posts[0][1] == receiver.posts[1][1] == message.payload
