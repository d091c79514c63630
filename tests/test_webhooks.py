"""Chat webhooks: the digest summary and milestone announcements reach a REAL local HTTP
receiver in the Slack or Teams format; failures are recorded and never block the e-mail."""

from __future__ import annotations

import datetime as dt

import pytest

from reports.messaging import digests_send, milestone_announcements, settings_for, webhook_post
from reports.models import OrgWebhook, SentMessage
from tests.factories import CourseFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.webhook_receiver"]

MONDAY = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://learnhub.example"
    settings.TIME_ZONE = "UTC"


def test_the_digest_summary_reaches_the_org_slack_and_company_teams_webhooks(
    personas, receiver, mailoutbox, django_capture_on_commit_callbacks
):
    OrgWebhook.objects.create(
        program=personas.program, organization=personas.engineering, url=f"{receiver.url}/slack/T0/B0/s3cret"
    )
    settings_row = settings_for(program=personas.program)
    settings_row.company_webhook_url = f"{receiver.url}/teams/company"
    settings_row.company_webhook_kind = "teams"
    settings_row.save()

    with django_capture_on_commit_callbacks(execute=True):
        digests_send(program=personas.program, now=MONDAY)

    assert len(mailoutbox) == 2
    posts = dict(receiver.posts)
    assert sorted(posts) == ["/slack/T0/B0/s3cret", "/teams/company"]
    slack = posts["/slack/T0/B0/s3cret"]
    assert slack["text"] == (
        "Engineering weekly progress: 0%\n"
        "0 of 3 people met the goal (0%).\n"
        "Rank 1 of 2 on the leaderboard.\n"
        "Behind pace: 3 more people must complete.\n"
        "https://learnhub.example/reports/"
    )
    assert slack["blocks"][0]["type"] == "section" and slack["blocks"][0]["text"]["type"] == "mrkdwn"
    teams = posts["/teams/company"]
    assert (teams["@type"], teams["title"]) == ("MessageCard", "Learning Program 2026 weekly progress: 0%")
    assert teams["text"] == "0 of 5 people met the goal (0%, target 90%).<br>Behind pace: 5 more people needed."
    rows = SentMessage.objects.filter(channel="webhook").order_by("recipient_key")
    assert [(r.status, r.attempts, r.recipient) for r in rows] == [
        ("sent", 1, "Company http://127.0.0.1/…/****"),
        ("sent", 1, "Slack http://127.0.0.1/…/****"),
    ]
    assert "s3cret" not in "".join(rows.values_list("recipient", flat=True))


def test_a_milestone_is_posted_once_to_the_org_webhook(personas, receiver, django_capture_on_commit_callbacks):
    OrgWebhook.objects.create(
        program=personas.program, organization=personas.sales, url=f"{receiver.url}/sales", kind="slack"
    )
    EnrollmentFactory(
        employee=personas.outsider,
        course=CourseFactory(),
        is_completed=True,
        completed_at=MONDAY - dt.timedelta(days=3),
    )

    with django_capture_on_commit_callbacks(execute=True):
        milestone_announcements(program=personas.program, now=MONDAY)
    with django_capture_on_commit_callbacks(execute=True):
        milestone_announcements(program=personas.program, now=MONDAY + dt.timedelta(hours=1))

    assert [path for path, _ in receiver.posts] == ["/sales"]
    assert receiver.posts[0][1]["text"].startswith("Sales reached the Learning Program 2026 target: 100%\n")


def test_a_failing_receiver_is_recorded_and_the_mail_still_goes(
    personas, receiver, mailoutbox, django_capture_on_commit_callbacks
):
    receiver.statuses = [500]
    OrgWebhook.objects.create(program=personas.program, organization=personas.engineering, url=f"{receiver.url}/down")

    digests_send(program=personas.program, now=MONDAY)  # the post waits for the commit: mails are out already
    assert len(mailoutbox) == 2
    message = SentMessage.objects.get(channel="webhook")

    webhook_post(message_id=message.pk, final=True)

    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == ("failed", 1, "HTTP 500 from the webhook")
    webhook_post(message_id=message.pk, final=True)  # no longer pending: left alone
    message.refresh_from_db()
    assert (message.attempts, len(receiver.posts)) == (1, 1)


def test_a_5xx_before_the_last_attempt_raises_for_the_retry_and_a_4xx_fails_at_once(personas, receiver):
    receiver.statuses = [503, 404]
    OrgWebhook.objects.create(program=personas.program, organization=personas.engineering, url=f"{receiver.url}/x")
    digests_send(program=personas.program, now=MONDAY)
    message = SentMessage.objects.get(channel="webhook")

    from reports.messaging import WebhookServerError

    with pytest.raises(WebhookServerError):
        webhook_post(message_id=message.pk, final=False)
    message.refresh_from_db()
    assert (message.status, message.attempts) == ("pending", 1)

    webhook_post(message_id=message.pk, final=False)
    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == ("failed", 2, "HTTP 404 from the webhook: no")


def test_the_django_admin_never_shows_a_webhook_url_and_keeps_it_when_left_empty(personas):
    hook = OrgWebhook.objects.create(
        program=personas.program, organization=personas.sales, url="https://hooks.slack.com/services/T/B/ADMINSECRET"
    )
    client = personas.client_for(personas.admin)
    url = f"/admin/reports/orgwebhook/{hook.pk}/change/"

    page = client.get(url)
    assert page.status_code == 200 and "ADMINSECRET" not in page.content.decode()

    response = client.post(
        url,
        {
            "program": personas.program.pk,
            "organization": personas.sales.pk,
            "kind": "teams",
            "url": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    hook.refresh_from_db()
    assert (hook.kind, hook.url) == ("teams", "https://hooks.slack.com/services/T/B/ADMINSECRET")
    assert client.get("/admin/reports/sentmessage/").status_code == 200
