"""Communication on a REAL Celery worker (subprocess, Redis broker, the test database, the
file e-mail backend): ticks queued at once send each message once; a webhook receiver
answering 500 is retried with backoff and recorded. Needs Redis at REDIS_URL: outside CI a
missing Redis skips these tests with the reason; under CI=true it fails them."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator

import pytest

from reports.messaging.digests import digests_send
from reports.messaging.settings import settings_for
from reports.models import OrgWebhook, SentMessage
from reports.tasks import communications_tick
from tests.worker_support import WAIT_SECONDS, Worker, celery_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
pytest_plugins = ["tests.webhook_receiver"]

MAX_RETRIES = 2
NUDGE_TIME = dt.datetime(2026, 11, 30, 10, 30, tzinfo=dt.UTC)  # Monday: digests and nudges due


@pytest.fixture
def worker(tmp_path) -> Iterator[Worker]:
    """`celery -A learnhub worker` on a queue of its own, against the test database, with
    mail written to files, fast webhook retries (2 retries, backoff 1 s then 2 s) and
    webhooks allowed to the local receiver."""
    maildir = tmp_path / "mail"
    maildir.mkdir()
    env = {
        "TIME_ZONE": "UTC",
        "EMAIL_URL": f"filemail:///{maildir}",
        "WEBHOOK_MAX_RETRIES": str(MAX_RETRIES),
        "WEBHOOK_RETRY_BACKOFF": "1",
        "WEBHOOK_ALLOW_PRIVATE_URLS": "true",  # the receiver is http on 127.0.0.1
    }
    with celery_worker(tmp_path, concurrency=3, env=env, maildir=maildir) as running:
        yield running


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
