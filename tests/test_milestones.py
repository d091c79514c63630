"""Milestones: each top-level organization and the company reaching the target
is recorded once and announced from that record: one e-mail per person per tick, to the
people it concerns, over one mail connection, through the ledger; chat posts only to
channels connected before it was reached. A drop and a rise, a second tick, a webhook
added later or a tick that crashed halfway send nothing twice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.mail.backends.locmem import EmailBackend

from reports.messaging.announcements import milestone_announcements
from reports.messaging.settings import message_settings_update, org_webhook_set
from reports.messaging.tick import communications_tick
from reports.models import Milestone, OrgWebhook, SentMessage, Unsubscribe
from tests.factories import CourseFactory, EmployeeFactory, EnrollmentFactory, org

pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.webhook_receiver"]

# Wednesday 2 December 2026, 08:00 UTC: no digest, nudge or leaderboard is due, only milestones.
NOW = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)
PROGRAM = "Learning Program 2026"


class CountingBackend(EmailBackend):
    """The in-memory backend, counting the connections made and opened."""

    made = 0
    opened = 0

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        type(self).made += 1

    def open(self) -> bool:
        type(self).opened += 1
        return super().open()


@pytest.fixture(autouse=True)
def _setup(settings):
    settings.SITE_URL = "https://learnhub.example"
    settings.TIME_ZONE = "UTC"
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # the receiver is http on 127.0.0.1
    settings.EMAIL_BACKEND = "tests.test_milestones.CountingBackend"
    CountingBackend.made = CountingBackend.opened = 0


def completed(*people):
    for person in people:
        EnrollmentFactory(
            employee=person, course=CourseFactory(), is_completed=True, completed_at=NOW - dt.timedelta(days=20)
        )


def subjects(mailoutbox) -> dict[str, str]:
    return {m.to[0]: m.subject.removeprefix("[LearnHub] ") for m in mailoutbox}


def five_orgs(personas):
    """Finance, Legal and People beside Engineering and Sales, one person each."""
    return [
        EmployeeFactory(email=f"{name.lower()}@acme.example", organization=org(f"Acme/{name}"))
        for name in ("Finance", "Legal", "People")
    ]


def everyone(personas, others=()):
    return [personas.admin, personas.sponsor, personas.champion, personas.employee, personas.outsider, *others]


def test_six_milestones_in_one_tick_send_one_email_per_person_over_one_connection(
    personas, mailoutbox, django_assert_num_queries
):
    others = five_orgs(personas)
    completed(*everyone(personas, others))

    # 13 to work out progress, record and list; 1 for the unsubscribes of all 8 people;
    # 4 a person (claim, record), 3 more for each further milestone of theirs (claim);
    # 7 for the chat posts and "announced".
    with django_assert_num_queries(13 + 1 + 4 * 8 + 3 * 7 + 7):
        report = communications_tick(now=NOW)

    assert report.milestones == {PROGRAM: 8}
    assert subjects(mailoutbox) == {
        "alice@acme.example": f"The whole company reached the {PROGRAM} target: 100%",
        "sam@acme.example": f"Engineering and the whole company reached the {PROGRAM} target",
        "chris@acme.example": f"Engineering and the whole company reached the {PROGRAM} target",
        "bob@acme.example": f"Engineering and the whole company reached the {PROGRAM} target",
        "charlie@acme.example": f"Sales and the whole company reached the {PROGRAM} target",
        "finance@acme.example": f"Finance and the whole company reached the {PROGRAM} target",
        "legal@acme.example": f"Legal and the whole company reached the {PROGRAM} target",
        "people@acme.example": f"People and the whole company reached the {PROGRAM} target",
    }
    assert len(mailoutbox) == 8
    assert (CountingBackend.made, CountingBackend.opened) == (1, 1)
    bob = next(m for m in mailoutbox if m.to == ["bob@acme.example"])
    assert "Engineering reached the target!" in bob.body and "The whole company reached the target!" in bob.body
    assert set(Milestone.objects.values_list("organization__name", "rate", "reached_on", "announced_at")) == {
        (name, 1.0, NOW.date(), NOW) for name in ("Engineering", "Sales", "Finance", "Legal", "People", None)
    }
    # One ledger row per person and milestone, each claimed and recorded sent.
    rows = SentMessage.objects.filter(kind="milestone", channel="email")
    assert (rows.count(), rows.filter(status="sent").count()) == (15, 15)
    assert sorted(rows.filter(employee=personas.employee).values_list("period", flat=True)) == [
        f"p{personas.program.pk}/milestone/company",
        f"p{personas.program.pk}/milestone/org:{personas.engineering.pk}",
    ]

    again = communications_tick(now=NOW + dt.timedelta(hours=1))

    assert again.milestones == {PROGRAM: 0}
    assert (len(mailoutbox), Milestone.objects.count(), rows.count()) == (8, 6, 15)


def test_an_org_milestone_goes_to_the_people_of_that_org_and_its_teams_only(personas, mailoutbox):
    in_a_team = EmployeeFactory(email="emea@acme.example", organization=org("Acme/Sales/EMEA"))
    completed(personas.outsider, in_a_team)  # Sales: 2 of 2; the company: 2 of 6

    assert milestone_announcements(program=personas.program, now=NOW) == 2

    assert subjects(mailoutbox) == {
        "charlie@acme.example": f"Sales reached the {PROGRAM} target: 100%",
        "emea@acme.example": f"Sales reached the {PROGRAM} target: 100%",
    }
    assert list(Milestone.objects.values_list("organization", flat=True)) == [personas.sales.pk]


def test_a_rate_that_falls_back_and_rises_again_announces_nothing_more(personas, mailoutbox):
    completed(personas.outsider)
    milestone_announcements(program=personas.program, now=NOW)
    newcomer = EmployeeFactory(email="dana@acme.example", organization=personas.sales)  # Sales: 1 of 2

    assert milestone_announcements(program=personas.program, now=NOW + dt.timedelta(days=1)) == 0
    completed(newcomer)  # Sales: 2 of 2 again
    assert milestone_announcements(program=personas.program, now=NOW + dt.timedelta(days=2)) == 0

    assert [m.to for m in mailoutbox] == [["charlie@acme.example"]]
    assert list(Milestone.objects.values_list("organization", "rate", "reached_on")) == [
        (personas.sales.pk, 1.0, NOW.date())
    ]


def test_a_webhook_added_later_never_hears_of_an_older_milestone(
    personas, receiver, django_capture_on_commit_callbacks
):
    completed(personas.outsider)
    with django_capture_on_commit_callbacks(execute=True):
        milestone_announcements(program=personas.program, now=NOW)  # Sales reached; no channel yet
    later = NOW + dt.timedelta(days=1)
    org_webhook_set(
        program=personas.program, organization=personas.sales, kind="slack", url=f"{receiver.url}/sales", now=later
    )
    message_settings_update(
        program=personas.program, values={}, company_webhook_url=f"{receiver.url}/company", now=later
    )
    completed(personas.admin, personas.sponsor, personas.champion, personas.employee)  # the company: 5 of 5

    with django_capture_on_commit_callbacks(execute=True):
        milestone_announcements(program=personas.program, now=later + dt.timedelta(days=1))

    assert [path for path, _ in receiver.posts] == ["/company"]
    assert receiver.posts[0][1]["text"].startswith(f"The whole company reached the {PROGRAM} target: 100%\n")


def test_a_recorded_milestone_announced_late_reaches_only_channels_connected_before_it(
    personas, receiver, mailoutbox, django_capture_on_commit_callbacks
):
    reached = NOW - dt.timedelta(hours=3)
    for organization in (personas.sales, personas.engineering):  # recorded by a tick that then stopped
        Milestone.objects.create(
            program=personas.program,
            organization=organization,
            rate=0.95,
            reached_on=reached.date(),
            reached_at=reached,
        )
    org_webhook_set(
        program=personas.program,
        organization=personas.sales,
        kind="slack",
        url=f"{receiver.url}/sales",
        now=reached - dt.timedelta(days=1),
    )
    org_webhook_set(
        program=personas.program,
        organization=personas.engineering,
        kind="teams",
        url=f"{receiver.url}/engineering",
        now=reached + dt.timedelta(hours=1),
    )

    with django_capture_on_commit_callbacks(execute=True):
        sent = milestone_announcements(program=personas.program, now=NOW)

    assert [path for path, _ in receiver.posts] == ["/sales"]
    assert receiver.posts[0][1]["text"].startswith(f"Sales reached the {PROGRAM} target: 95%\n")
    assert sent == 4  # Charlie for Sales; Sam, Chris and Bob for Engineering
    assert set(Milestone.objects.values_list("announced_at", flat=True)) == {NOW}


def test_saving_a_new_or_changed_url_connects_the_channel_then(personas):
    t1, t2, t3, t4 = (NOW + dt.timedelta(days=d) for d in range(4))
    first, second = "https://hooks.slack.com/services/T/B/one", "https://hooks.slack.com/services/T/B/two"

    def hook_after(**change) -> tuple[str, str, dt.datetime]:
        hook = org_webhook_set(program=personas.program, organization=personas.sales, **change)
        assert hook is not None
        hook.refresh_from_db()
        return hook.kind, hook.url, hook.connected_at

    assert hook_after(kind="slack", url=first, now=t1) == ("slack", first, t1)
    assert hook_after(kind="slack", url=first, now=t2) == ("slack", first, t1)  # the same URL: the same channel
    assert hook_after(kind="teams", url="", now=t3) == ("teams", first, t1)  # kept
    assert hook_after(kind="teams", url=second, now=t4) == ("teams", second, t4)

    def company_after(**change) -> tuple[str, dt.datetime | None]:
        row = message_settings_update(program=personas.program, values={}, **change)
        row.refresh_from_db()
        return row.company_webhook_url, row.company_webhook_connected_at

    assert company_after(company_webhook_url=first, now=t1) == (first, t1)
    assert company_after(company_webhook_url=first, now=t2) == (first, t1)
    assert company_after(company_webhook_url="", now=t3) == (first, t1)
    assert company_after(remove_company_webhook=True, now=t3) == ("", None)
    assert company_after(company_webhook_url=second, now=t4) == (second, t4)


def test_a_tick_that_stopped_halfway_is_finished_without_sending_anything_twice(personas, mailoutbox):
    completed(*everyone(personas))  # Engineering, Sales and the company at 100%
    before = NOW - dt.timedelta(hours=1)
    Milestone.objects.create(
        program=personas.program, organization=personas.sales, rate=1.0, reached_on=before.date(), reached_at=before
    )
    SentMessage.objects.create(  # claimed for Charlie, then the worker died: never sent again
        program=personas.program,
        kind="milestone",
        recipient_key=f"employee:{personas.outsider.pk}",
        period=f"p{personas.program.pk}/milestone/org:{personas.sales.pk}",
        recipient=personas.outsider.email,
        employee=personas.outsider,
        created_at=before,
    )

    assert milestone_announcements(program=personas.program, now=NOW) == 5

    assert subjects(mailoutbox) == {
        "alice@acme.example": f"The whole company reached the {PROGRAM} target: 100%",
        "sam@acme.example": f"Engineering and the whole company reached the {PROGRAM} target",
        "chris@acme.example": f"Engineering and the whole company reached the {PROGRAM} target",
        "bob@acme.example": f"Engineering and the whole company reached the {PROGRAM} target",
        "charlie@acme.example": f"The whole company reached the {PROGRAM} target: 100%",
    }
    assert len(mailoutbox) == 5


def test_nobody_who_unsubscribed_gets_a_milestone_or_a_ledger_row(personas, mailoutbox):
    Unsubscribe.objects.create(employee=personas.employee, kind="milestone")
    Unsubscribe.objects.create(employee=personas.sponsor, kind="all")
    Unsubscribe.objects.create(employee=personas.champion, kind="nudge")  # another kind: still gets it
    completed(*everyone(personas))

    assert milestone_announcements(program=personas.program, now=NOW) == 3

    assert sorted(subjects(mailoutbox)) == ["alice@acme.example", "charlie@acme.example", "chris@acme.example"]
    assert not SentMessage.objects.filter(employee__in=[personas.employee, personas.sponsor]).exists()


def test_the_org_webhook_connected_before_gets_the_post_once_and_a_disabled_program_records_nothing(
    personas, receiver, django_capture_on_commit_callbacks
):
    OrgWebhook.objects.create(
        program=personas.program,
        organization=personas.sales,
        url=f"{receiver.url}/sales",
        connected_at=NOW - dt.timedelta(days=30),
    )
    completed(personas.outsider)
    from reports.messaging.settings import settings_for

    settings_row = settings_for(program=personas.program)
    settings_row.milestones_enabled = False
    settings_row.save()
    communications_tick(now=NOW)
    assert (Milestone.objects.count(), receiver.posts) == (0, [])

    settings_row.milestones_enabled = True
    settings_row.save()
    for hour in (1, 2):
        with django_capture_on_commit_callbacks(execute=True):
            communications_tick(now=NOW + dt.timedelta(hours=hour))

    assert [path for path, _ in receiver.posts] == ["/sales"]
