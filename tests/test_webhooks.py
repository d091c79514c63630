"""Chat webhooks: the digest summary and milestone announcements reach a REAL local HTTP
receiver in the Slack or Teams format; failures are recorded and never block the e-mail."""

from __future__ import annotations

import datetime as dt

import pytest

from reports.messaging.announcements import milestone_announcements
from reports.messaging.digests import digests_send
from reports.messaging.settings import settings_for
from reports.messaging.webhooks import webhook_post
from reports.models import OrgWebhook, SentMessage
from tests.factories import CourseFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.webhook_receiver"]

MONDAY = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://learnhub.example"
    settings.TIME_ZONE = "UTC"
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the receiver is http on 127.0.0.1


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
    assert slack["mrkdwn"] is False
    assert slack["blocks"][0] == {
        "type": "section",
        "text": {
            "type": "plain_text",
            "text": "Engineering weekly progress: 0%\n"
            "0 of 3 people met the goal (0%).\n"
            "Rank 1 of 2 on the leaderboard.\n"
            "Behind pace: 3 more people must complete.",
        },
    }
    assert slack["blocks"][1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "<https://learnhub.example/reports/|Open LearnHub>"}],
    }
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
        program=personas.program,
        organization=personas.sales,
        url=f"{receiver.url}/sales",
        kind="slack",
        connected_at=MONDAY - dt.timedelta(days=7),  # the channel existed before the milestone
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

    from reports.messaging.webhooks import WebhookServerError

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


# --- Names people typed reach the chat as typed -----------------------------------------------

HOSTILE_ORG = "<!channel> <http:evil.example|Click here> *R&D*"
HOSTILE_PROGRAM = "<b>Learning</b> _2026_ [win](https://evil.example) # `x`"


def test_hostile_names_reach_slack_and_teams_as_plain_text(personas, receiver, django_capture_on_commit_callbacks):
    from tests.factories import ChampionFactory, EmployeeFactory, org

    personas.program.name = HOSTILE_PROGRAM
    personas.program.save()
    hostile = org(f"Acme/{HOSTILE_ORG}")
    ChampionFactory(program=personas.program, organization=hostile, employee=EmployeeFactory(organization=hostile))
    OrgWebhook.objects.create(program=personas.program, organization=hostile, url=f"{receiver.url}/slack")
    settings_row = settings_for(program=personas.program)
    settings_row.company_webhook_url = f"{receiver.url}/teams"
    settings_row.company_webhook_kind = "teams"
    settings_row.save()

    with django_capture_on_commit_callbacks(execute=True):
        digests_send(program=personas.program, now=MONDAY)

    posts = dict(receiver.posts)
    slack_title = "&lt;!channel&gt; &lt;http:evil.example|Click here&gt; *R&amp;D* weekly progress: 0%"
    slack_lines = (
        "0 of 1 people met the goal (0%).\nRank 1 of 3 on the leaderboard.\nBehind pace: 1 more people must complete."
    )
    assert posts["/slack"] == {
        "text": f"{slack_title}\n{slack_lines}\nhttps://learnhub.example/reports/",
        "mrkdwn": False,
        "blocks": [
            {"type": "section", "text": {"type": "plain_text", "text": f"{slack_title}\n{slack_lines}"}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "<https://learnhub.example/reports/|Open LearnHub>"}],
            },
        ],
    }
    teams_title = (
        "&lt;b&gt;Learning&lt;/b&gt; \\_2026\\_ \\[win\\](https://evil.example) \\# \\`x\\` weekly progress: 0%"
    )
    teams = posts["/teams"]
    assert (teams["title"], teams["summary"]) == (teams_title, teams_title)
    assert teams["text"] == "0 of 6 people met the goal (0%, target 90%).<br>Behind pace: 5 more people needed."
    assert teams["potentialAction"][0]["targets"] == [{"os": "default", "uri": "https://learnhub.example/reports/"}]


def test_a_hostile_organization_name_reaches_a_teams_milestone_card_as_plain_text(
    personas, receiver, django_capture_on_commit_callbacks
):
    from reports.models import Milestone
    from tests.factories import EmployeeFactory, org

    hostile = org("Acme/<img src=x onerror=alert(1)> **Ops** - 1. [x](javascript:alert(1))")
    EnrollmentFactory(
        employee=EmployeeFactory(organization=hostile),
        course=CourseFactory(),
        is_completed=True,
        completed_at=MONDAY - dt.timedelta(days=3),
    )
    OrgWebhook.objects.create(
        program=personas.program,
        organization=hostile,
        url=f"{receiver.url}/teams",
        kind="teams",
        connected_at=MONDAY - dt.timedelta(days=7),
    )

    with django_capture_on_commit_callbacks(execute=True):
        milestone_announcements(program=personas.program, now=MONDAY)

    name = "&lt;img src=x onerror=alert(1)&gt; \\*\\*Ops\\*\\* - 1. \\[x\\](javascript:alert(1))"
    ((path, card),) = receiver.posts
    assert path == "/teams"
    assert card["title"] == f"{name} reached the Learning Program 2026 target: 100%"
    assert card["text"] == f"{name} reached 100% (target 90%). Congratulations!"
    assert Milestone.objects.get().organization == hostile


@pytest.mark.parametrize(
    ("typed", "slack", "teams"),
    [
        ("R&D <Ops>", "R&amp;D &lt;Ops&gt;", "R&amp;D &lt;Ops&gt;"),
        ("<!here> <@U123>", "&lt;!here&gt; &lt;@U123&gt;", "&lt;!here&gt; &lt;@U123&gt;"),
        ("*bold* _it_ ~s~ `c`", "*bold* _it_ ~s~ `c`", "\\*bold\\* \\_it\\_ \\~s\\~ \\`c\\`"),
        ("- item\n1. first\n  + more", "- item\n1. first\n  + more", "\\- item\n1\\. first\n  \\+ more"),
        ("# Head | a\\b", "# Head | a\\b", "\\# Head \\| a\\\\b"),
        ("![img](https://x.example/a.png)", "![img](https://x.example/a.png)", "!\\[img\\](https://x.example/a.png)"),
        ("Sales - EMEA (2.0)", "Sales - EMEA (2.0)", "Sales - EMEA (2.0)"),
    ],
)
def test_each_chat_format_escapes_what_it_would_interpret(typed, slack, teams):
    from reports.messaging.webhooks import slack_text, teams_text

    assert (slack_text(typed), teams_text(typed)) == (slack, teams)


# --- Where a post may go ----------------------------------------------------------------------


def test_with_private_urls_off_a_stored_local_url_is_refused_at_post_time_and_nothing_is_sent(
    personas, receiver, settings
):
    # Saved while allowed (or before its host's DNS answer changed): the post checks again.
    OrgWebhook.objects.create(program=personas.program, organization=personas.engineering, url=f"{receiver.url}/x")
    digests_send(program=personas.program, now=MONDAY)
    message = SentMessage.objects.get(channel="webhook")
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False

    webhook_post(message_id=message.pk, final=False)

    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == (
        "failed",
        1,
        "Not posted: Use an https:// address: a webhook post carries your organization's progress.",
    )
    assert receiver.posts == []


def test_a_local_address_behind_https_is_refused_at_post_time_before_connecting(personas, settings):
    from reports.messaging.webhooks import WebhookUrlError, webhook_target

    settings.WEBHOOK_ALLOW_PRIVATE_URLS = False
    hook = OrgWebhook.objects.create(
        program=personas.program, organization=personas.engineering, url="https://127.0.0.1:9/hook"
    )
    digests_send(program=personas.program, now=MONDAY)
    message = SentMessage.objects.get(channel="webhook", webhook=hook)

    webhook_post(message_id=message.pk, final=False)

    message.refresh_from_db()
    assert (message.status, message.error) == (
        "failed",
        "Not posted: 127.0.0.1 is a private, local or reserved address: webhooks are only posted to public hosts.",
    )
    with pytest.raises(WebhookUrlError) as refused:
        webhook_target("https://localhost/hook")
    assert str(refused.value).startswith("localhost (")  # 127.0.0.1 or ::1, as the resolver answers


def test_a_redirect_is_not_followed_and_fails_the_post(personas, receiver):
    receiver.statuses = [307]
    receiver.location = f"{receiver.url}/elsewhere"
    OrgWebhook.objects.create(program=personas.program, organization=personas.engineering, url=f"{receiver.url}/x")
    digests_send(program=personas.program, now=MONDAY)
    message = SentMessage.objects.get(channel="webhook")

    webhook_post(message_id=message.pk, final=False)

    message.refresh_from_db()
    assert (message.status, message.attempts, message.error) == (
        "failed",
        1,
        "HTTP 307 from the webhook: redirects are not followed",
    )
    assert [path for path, _ in receiver.posts] == ["/x"]


def test_the_post_names_the_host_while_connecting_to_the_address_it_checked(personas, receiver):
    port = receiver.url.rsplit(":", 1)[1]
    OrgWebhook.objects.create(
        program=personas.program, organization=personas.engineering, url=f"http://localhost:{port}/named"
    )
    digests_send(program=personas.program, now=MONDAY)
    message = SentMessage.objects.get(channel="webhook")

    webhook_post(message_id=message.pk, final=False)

    message.refresh_from_db()
    assert (message.status, receiver.hosts) == ("sent", [f"localhost:{port}"])


def test_an_address_that_refuses_the_connection_falls_through_to_the_next_checked_one(receiver):
    from reports.messaging.webhooks import WebhookTarget, webhook_request

    port = int(receiver.url.rsplit(":", 1)[1])
    # Nothing listens on 127.0.0.2 (a loopback address too): refused before anything is sent.
    target = WebhookTarget(
        url=f"http://localhost:{port}/both", host="localhost", port=port, addresses=("127.0.0.2", "127.0.0.1")
    )

    response = webhook_request(target, {"text": "hello"})

    assert (response.status_code, receiver.posts, receiver.hosts) == (
        200,
        [("/both", {"text": "hello"})],
        [f"localhost:{port}"],
    )
