"""Communication: the weekly digest's numbers, completion-aware nudges and their
interval, escalations, the monthly leaderboard, milestones, the tick run twice, and the
L&D admin pages (who may see and change them)."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from reports.messaging.announcements import leaderboard_update_send, milestone_announcements
from reports.messaging.digests import digest_for_org, digests_send
from reports.messaging.escalations import escalations
from reports.messaging.nudges import nudge_employees, nudges_send
from reports.messaging.settings import settings_for
from reports.messaging.tick import communications_tick
from reports.models import MessageSettings, OrgWebhook, SentMessage
from reports.progress import program_pace, program_progress
from reports.selectors import people_needed_for
from reports.snapshots import snapshots_write
from tests.factories import (
    CollectionFactory,
    CollectionItemFactory,
    CourseFactory,
    EmployeeFactory,
    EnrollmentFactory,
    StudyGroupFactory,
    StudySessionFactory,
)

pytestmark = pytest.mark.django_db

# Monday 30 November 2026, 09:30 in the company time zone (UTC in the tests).
MONDAY = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)
NUDGE_TIME = dt.datetime(2026, 11, 30, 10, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://learnhub.example"
    settings.TIME_ZONE = "UTC"


def completed(employee, when: dt.datetime, course=None):
    return EnrollmentFactory(employee=employee, course=course or CourseFactory(), is_completed=True, completed_at=when)


def engineering_team(personas, n: int = 4):
    """n more engineers; the first two complete a course (one before last week's snapshot)."""
    people = [
        EmployeeFactory(email=f"eng{i}@acme.example", full_name=f"Engineer {i}", organization=personas.engineering)
        for i in range(n)
    ]
    completed(people[0], dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC))
    completed(people[1], dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC))
    return people


def recipients(mailoutbox) -> list[str]:
    return sorted(address for m in mailoutbox for address in m.to)


# --- Weekly digest -------------------------------------------------------------------------------


def test_a_digest_has_the_numbers_of_the_progress_engine_for_that_org_and_week(personas):
    engineers = engineering_team(personas)
    program = personas.program
    snapshots_write(program=program, day=dt.date(2026, 11, 23))  # last week: engineer 0 only
    group = StudyGroupFactory(program=program, organization=personas.engineering, name="SQL circle")
    StudySessionFactory(group=group, starts_at=dt.datetime(2026, 12, 2, 16, tzinfo=dt.UTC), topic="Joins")
    StudySessionFactory(group=group, starts_at=dt.datetime(2026, 12, 9, 16, tzinfo=dt.UTC))  # next week: not listed

    digest = digest_for_org(program=program, organization=personas.engineering, as_of=dt.date(2026, 11, 30))

    block = program_progress(program=program, as_of=dt.date(2026, 11, 30)).for_organization(personas.engineering.pk)
    assert block is not None
    assert (block.eligible, block.met) == (7, 2)  # sponsor, champion, Bob and 4 engineers
    h = digest.headline
    assert (h.eligible, h.met, h.rate) == (block.eligible, block.met, block.rate)
    assert digest.rate_last_week == pytest.approx(1 / 7)
    assert digest.change == pytest.approx(2 / 7 - 1 / 7)
    pace = program_pace(program=program, day=dt.date(2026, 11, 30))
    assert h.pace == pace
    assert h.on_track is False
    assert h.needed_for_pace == people_needed_for(eligible=7, met=2, rate=pace)
    assert (digest.rank, digest.ranked_of) == (1, 2)  # Engineering 2/7 ahead of Sales 0/1
    assert [(s.group, s.topic) for s in digest.sessions] == [("SQL circle", "Joins")]
    assert sorted(p.email for p in digest.people_not_met) == sorted(
        [personas.sponsor.email, personas.champion.email, personas.employee.email] + [e.email for e in engineers[2:]]
    )


def test_the_digest_goes_to_champions_with_the_names_and_to_sponsors_without(personas, mailoutbox):
    engineering_team(personas)

    sent = digests_send(program=personas.program, now=MONDAY)

    assert sent == 2
    assert recipients(mailoutbox) == ["chris@acme.example", "sam@acme.example"]
    to_champion = next(m for m in mailoutbox if m.to == ["chris@acme.example"])
    to_sponsor = next(m for m in mailoutbox if m.to == ["sam@acme.example"])
    assert to_champion.subject == "[LearnHub] Engineering: 29% this week"
    assert "2 of 7 people met the goal" in to_champion.body
    assert "Still to complete (5):" in to_champion.body and "Engineer 3" in to_champion.body
    assert "Still to complete" not in to_sponsor.body and "Engineer 3" not in to_sponsor.body
    html = to_champion.alternatives[0][0]
    assert "Engineer 3" in html and "2 of 7 people met the goal" in html
    assert to_champion.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert to_champion.extra_headers["List-Unsubscribe"].startswith("<https://learnhub.example/reports/unsubscribe/")
    rows = SentMessage.objects.filter(kind="digest", channel="email")
    assert sorted(rows.values_list("status", "recipient", "attempts")) == [
        ("sent", "chris@acme.example", 1),
        ("sent", "sam@acme.example", 1),
    ]


def test_one_person_champion_and_sponsor_of_an_org_gets_one_digest_the_champions(personas, mailoutbox):
    from tests.factories import SponsorFactory

    SponsorFactory(program=personas.program, organization=personas.engineering, employee=personas.champion)

    digests_send(program=personas.program, now=MONDAY)

    assert recipients(mailoutbox) == ["chris@acme.example", "sam@acme.example"]
    assert "Still to complete" in next(m for m in mailoutbox if m.to == ["chris@acme.example"]).body


def test_a_champion_or_sponsor_who_left_gets_no_digest_and_one_leaving_tomorrow_still_does(personas, mailoutbox):
    from tests.factories import ChampionFactory, SponsorFactory

    personas.champion.departed_on = MONDAY.date()  # left today: the appointment is vacant
    personas.champion.save()
    personas.sponsor.departed_on = MONDAY.date() - dt.timedelta(days=30)
    personas.sponsor.save()
    leaving = EmployeeFactory(email="lee@acme.example", organization=personas.sales, departed_on=dt.date(2026, 12, 1))
    ChampionFactory(program=personas.program, organization=personas.sales, employee=leaving)
    SponsorFactory(program=personas.program, organization=personas.sales, employee=personas.outsider)

    sent = digests_send(program=personas.program, now=MONDAY)

    assert (sent, recipients(mailoutbox)) == (2, ["charlie@acme.example", "lee@acme.example"])


def test_escalations_skip_champions_and_sponsors_who_left(personas, mailoutbox):
    settings_row = settings_for(program=personas.program)
    settings_row.escalate_after_nudges = 1
    settings_row.escalate_after_weeks_behind = 1
    settings_row.save()
    nudge_employees(program=personas.program, employees=[personas.employee], now=NUDGE_TIME)
    personas.champion.departed_on = NUDGE_TIME.date()
    personas.champion.save()
    personas.sponsor.departed_on = NUDGE_TIME.date() - dt.timedelta(days=1)
    personas.sponsor.save()
    mailoutbox.clear()

    assert escalations(program=personas.program, now=NUDGE_TIME) == 0

    assert mailoutbox == []
    assert not SentMessage.objects.filter(kind__startswith="escalation").exists()


# --- Nudges ----------------------------------------------------------------------------------------


def test_nobody_who_met_the_goal_is_nudged(personas, mailoutbox):
    completed(personas.employee, dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC))
    completed(personas.admin, dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC))
    departed = EmployeeFactory(email="gone@acme.example", organization=personas.sales, departed_on=dt.date(2026, 5, 1))

    outcome = nudges_send(program=personas.program, now=NUDGE_TIME)

    assert recipients(mailoutbox) == ["charlie@acme.example", "chris@acme.example", "sam@acme.example"]
    assert sorted(outcome.sent) == sorted([personas.outsider.pk, personas.champion.pk, personas.sponsor.pk])
    # By hand, too: the met and the departed are refused, person by person.
    mailoutbox.clear()
    by_hand = nudge_employees(
        program=personas.program,
        employees=[personas.employee, departed, personas.employee],
        sender=personas.champion,
        now=NUDGE_TIME,
    )
    assert (by_hand.sent, by_hand.already_met, by_hand.not_eligible) == ([], [personas.employee.pk], [departed.pk])
    assert mailoutbox == []


def test_a_nudge_has_the_org_collections_most_completed_courses_the_deadline_and_an_unsubscribe_link(
    personas, mailoutbox
):
    collection = CollectionFactory(program=personas.program, organization=personas.engineering, name="Data basics")
    CollectionItemFactory(
        collection=collection, course=CourseFactory(title="SQL for everyone", url="https://www.coursera.org/learn/sql")
    )
    CollectionFactory(program=personas.program, organization=personas.sales, name="Sales only")

    nudge_employees(program=personas.program, employees=[personas.employee], now=NUDGE_TIME)

    (mail,) = mailoutbox
    assert mail.to == ["bob@acme.example"]
    assert mail.subject == "[LearnHub] 31 days left: one course for Learning Program 2026"
    assert "ends on 31 December 2026" in mail.body
    assert (
        "Your next step: one of the courses your colleagues complete most.\n- SQL for everyone: https://www.coursera.org/learn/sql"
        in mail.body
    )
    assert "Sales only" not in mail.body
    html = mail.alternatives[0][0]
    assert '<a href="https://www.coursera.org/learn/sql"' in html
    assert "https://learnhub.example/reports/unsubscribe/" in html
    assert mail.extra_headers["List-Unsubscribe"].startswith("<https://learnhub.example/reports/unsubscribe/")


def test_the_interval_holds_for_scheduled_and_hand_nudges(personas, mailoutbox):
    settings_row = settings_for(program=personas.program)
    settings_row.nudge_interval_days = 7
    settings_row.save()
    bob = personas.employee

    first = nudge_employees(program=personas.program, employees=[bob], now=NUDGE_TIME)
    again_same_day = nudges_send(program=personas.program, now=NUDGE_TIME + dt.timedelta(hours=3))
    by_hand_day_6 = nudge_employees(
        program=personas.program, employees=[bob], sender=personas.champion, now=NUDGE_TIME + dt.timedelta(days=6)
    )
    day_7 = nudge_employees(program=personas.program, employees=[bob], now=NUDGE_TIME + dt.timedelta(days=7))

    assert first.sent == [bob.pk]
    assert bob.pk in again_same_day.too_soon and bob.pk not in again_same_day.sent
    assert (by_hand_day_6.sent, by_hand_day_6.too_soon) == ([], [bob.pk])
    assert day_7.sent == [bob.pk]
    assert [m.to for m in mailoutbox].count(["bob@acme.example"]) == 2
    assert SentMessage.objects.filter(kind="nudge", employee=bob).count() == 2


def test_nothing_is_nudged_outside_the_program_window(personas, mailoutbox):
    after_end = dt.datetime(2027, 1, 5, 10, 30, tzinfo=dt.UTC)

    outcome = nudge_employees(program=personas.program, employees=[personas.employee], now=after_end)

    assert outcome.program_not_running is True
    assert mailoutbox == []
    assert SentMessage.objects.count() == 0


# --- Escalations -----------------------------------------------------------------------------------


def test_people_still_not_done_after_n_nudges_are_listed_to_their_champion(personas, mailoutbox):
    settings_row = settings_for(program=personas.program)
    settings_row.nudge_interval_days = 7
    settings_row.escalate_after_nudges = 2
    settings_row.save()
    late = EmployeeFactory(email="late@acme.example", full_name="Lee Late", organization=personas.engineering)
    nudge_employees(program=personas.program, employees=[personas.employee, late], now=NUDGE_TIME)

    assert escalations(program=personas.program, now=NUDGE_TIME) == 0  # one nudge each: not yet

    second = NUDGE_TIME + dt.timedelta(days=7)
    nudge_employees(program=personas.program, employees=[personas.employee, late], now=second)
    completed(late, second - dt.timedelta(hours=1))  # Lee finished: no longer listed
    mailoutbox.clear()

    assert escalations(program=personas.program, now=second) == 1

    (mail,) = mailoutbox
    assert mail.to == ["chris@acme.example"]
    assert mail.subject == "[LearnHub] 1 person in Engineering still not done after 2 reminders"
    assert "- Bob Builder <bob@acme.example> (Engineering)" in mail.body
    assert "Lee Late" not in mail.body
    assert escalations(program=personas.program, now=second + dt.timedelta(hours=2)) == 0  # once a week


def test_an_org_behind_pace_for_n_weeks_is_flagged_to_its_sponsor(personas, mailoutbox):
    settings_row = settings_for(program=personas.program)
    settings_row.escalate_after_weeks_behind = 2
    settings_row.save()

    assert escalations(program=personas.program, now=MONDAY) == 0  # no snapshot of last week: not flagged
    snapshots_write(program=personas.program, day=dt.date(2026, 11, 23))
    mailoutbox.clear()

    assert escalations(program=personas.program, now=MONDAY + dt.timedelta(hours=1)) == 1

    (mail,) = mailoutbox
    assert mail.to == ["sam@acme.example"]
    assert mail.subject == "[LearnHub] Engineering has been behind pace for 2 weeks"
    needed = people_needed_for(eligible=3, met=0, rate=program_pace(program=personas.program, day=MONDAY.date()))
    assert f"{needed} more people must complete a course to be back on track" in mail.body


def test_an_unsubscribe_from_one_kind_of_escalation_keeps_the_other(personas, mailoutbox):
    from reports.models import Unsubscribe

    settings_row = settings_for(program=personas.program)
    settings_row.escalate_after_nudges = 1
    settings_row.escalate_after_weeks_behind = 1
    settings_row.save()
    nudge_employees(program=personas.program, employees=[personas.employee], now=NUDGE_TIME)
    Unsubscribe.objects.create(employee=personas.champion, kind="escalation_sponsor")  # not what Chris gets
    Unsubscribe.objects.create(employee=personas.sponsor, kind="escalation_champion")  # not what Sam gets
    mailoutbox.clear()

    assert escalations(program=personas.program, now=NUDGE_TIME) == 2
    assert sorted((m.to[0], m.subject) for m in mailoutbox) == [
        ("chris@acme.example", "[LearnHub] 1 person in Engineering still not done after 1 reminder"),
        ("sam@acme.example", "[LearnHub] Engineering has been behind pace for 1 weeks"),
    ]

    Unsubscribe.objects.create(employee=personas.champion, kind="escalation_champion")
    mailoutbox.clear()
    assert escalations(program=personas.program, now=NUDGE_TIME + dt.timedelta(days=7)) == 1
    assert [m.to for m in mailoutbox] == [["sam@acme.example"]]
    assert not SentMessage.objects.filter(kind="escalation_champion", period__contains="W50").exists()


# --- Company updates --------------------------------------------------------------------------------


def test_the_monthly_leaderboard_goes_to_every_eligible_person_once(personas, mailoutbox):
    first_of_month = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    completed(personas.outsider, dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC))

    assert leaderboard_update_send(program=personas.program, now=first_of_month) == 5
    assert leaderboard_update_send(program=personas.program, now=first_of_month + dt.timedelta(hours=5)) == 0

    assert recipients(mailoutbox) == [
        "alice@acme.example",
        "bob@acme.example",
        "charlie@acme.example",
        "chris@acme.example",
        "sam@acme.example",
    ]
    body = mailoutbox[0].body
    assert "1. Sales: 100%" in body and "2. Engineering: 0%" in body
    assert "The company is at 20% (1 of 5 people)" in body


def test_rates_and_targets_are_written_as_on_the_pages(personas, mailoutbox):
    from decimal import Decimal

    personas.program.target_rate = Decimal("0.875")
    personas.program.save()
    completed(personas.outsider, dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC))

    leaderboard_update_send(program=personas.program, now=dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC))

    body, html = mailoutbox[0].body, mailoutbox[0].alternatives[0][0]
    assert "The company is at 20% (1 of 5 people), target 87.5% by 31 December 2026." in body
    assert "target 87.5% by 31 December 2026" in html
    assert "2. Engineering: 0%" in body


def test_a_milestone_is_announced_once_when_an_org_reaches_the_target(personas, mailoutbox):
    assert milestone_announcements(program=personas.program, now=MONDAY) == 0
    completed(personas.outsider, dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC))  # Sales: 1 of 1

    # Sales' milestone goes to the people of Sales (Charlie), not to the whole company.
    assert milestone_announcements(program=personas.program, now=MONDAY) == 1
    assert milestone_announcements(program=personas.program, now=MONDAY + dt.timedelta(days=1)) == 0

    assert {m.subject for m in mailoutbox} == {"[LearnHub] Sales reached the Learning Program 2026 target: 100%"}
    assert recipients(mailoutbox) == ["charlie@acme.example"]


# --- The tick ---------------------------------------------------------------------------------------


def test_the_tick_run_twice_sends_each_message_once(personas, mailoutbox):
    engineering_team(personas)

    first = communications_tick(now=NUDGE_TIME)
    count_after_first = len(mailoutbox)
    second = communications_tick(now=NUDGE_TIME + dt.timedelta(minutes=40))

    # 2 digests (champion, sponsor) + nudges to the 5 of Engineering not done, Alice and Charlie.
    assert count_after_first == 9
    assert len(mailoutbox) == 9
    assert first.digests == {"Learning Program 2026": 2}
    assert first.nudges == {"Learning Program 2026": 7}
    assert (second.digests, second.nudges) == ({"Learning Program 2026": 0}, {"Learning Program 2026": 0})
    assert SentMessage.objects.count() == 9
    assert SentMessage.objects.filter(status="sent").count() == 9


def test_the_tick_sends_only_what_is_due_in_the_company_time_zone(personas, mailoutbox, settings):
    settings.TIME_ZONE = "America/New_York"
    # 13:30 UTC on Monday is 08:30 in New York: before the 09:00 digest and the 10:00 nudges.
    report = communications_tick(now=dt.datetime(2026, 11, 30, 13, 30, tzinfo=dt.UTC))
    assert (report.digests, report.nudges, mailoutbox) == ({}, {}, [])

    settings_row = settings_for(program=personas.program)
    settings_row.digest_enabled = False
    settings_row.save()
    report = communications_tick(now=dt.datetime(2026, 11, 30, 15, 30, tzinfo=dt.UTC))  # 10:30 in New York
    assert report.digests == {}
    assert report.nudges == {"Learning Program 2026": 5}


def test_a_stale_pending_claim_is_reported_as_unknown_and_never_resent(personas, mailoutbox):
    SentMessage.objects.create(
        program=personas.program,
        kind="nudge",
        recipient_key=f"employee:{personas.employee.pk}",
        period=f"p{personas.program.pk}/n{(NUDGE_TIME.date() - personas.program.starts_on).days // 14}",
        recipient=personas.employee.email,
        employee=personas.employee,
        created_at=NUDGE_TIME - dt.timedelta(hours=2),
    )

    outcome = nudge_employees(program=personas.program, employees=[personas.employee], now=NUDGE_TIME)
    communications_tick(now=NUDGE_TIME - dt.timedelta(hours=1, minutes=45))  # 15 minutes after the claim
    assert SentMessage.objects.get(employee=personas.employee).status == "pending"
    communications_tick(now=NUDGE_TIME)

    assert outcome.sent == [] and outcome.too_soon == [personas.employee.pk]
    assert "bob@acme.example" not in recipients(mailoutbox)
    row = SentMessage.objects.get(employee=personas.employee)
    assert (row.status, row.sent_at) == ("unknown", None)


def test_the_command_runs_the_tick_in_the_foreground(personas, mailoutbox):
    out = StringIO()
    call_command("send_communications", "--program", "Learning Program 2026", "--now", "2026-11-30T10:30", stdout=out)
    assert out.getvalue().splitlines() == [
        "Learning Program 2026: 2 digests sent",
        "Learning Program 2026: 0 escalations sent",
        "Learning Program 2026: 5 nudges sent",
        "Learning Program 2026: 0 milestone announcements sent",
    ]
    assert len(mailoutbox) == 7


# --- Pages -------------------------------------------------------------------------------------------


def test_the_admin_sees_what_was_sent_and_what_failed(personas):
    SentMessage.objects.create(
        program=personas.program,
        kind="nudge",
        recipient_key="employee:1",
        period="p/n0",
        recipient="bob@acme.example",
        subject="Reminder",
        status="failed",
        error="SMTP said no",
    )
    SentMessage.objects.create(
        program=personas.program, kind="digest", recipient_key="employee:2", period="w", recipient="sam@acme.example"
    )
    client = personas.client_for(personas.admin)

    page = client.get(reverse("reports:messages"), {"status": "failed"})

    assert page.status_code == 200
    assert [m.recipient for m in page.context["page"].object_list] == ["bob@acme.example"]
    assert "SMTP said no" in page.content.decode()
    assert 'href="/reports/messages/"' in client.get(reverse("manage:home")).content.decode()  # the L&D hub


@pytest.mark.parametrize("who", ["employee", "champion", "sponsor", "outsider"])
def test_others_are_refused_the_message_pages_and_change_nothing(personas, who):
    settings_row = settings_for(program=personas.program)
    client = personas.client_for(getattr(personas, who))
    url = reverse("reports:message_settings", args=[personas.program.pk])

    assert client.get(reverse("reports:messages")).status_code == 403
    assert client.get(url).status_code == 403
    response = client.post(
        url, {"form": "settings", "nudge_interval_days": 1, "company_webhook_url": "https://x.example/h"}
    )
    assert response.status_code == 403
    assert 'href="/reports/messages/"' not in client.get("/").content.decode()

    fresh = MessageSettings.objects.get(pk=settings_row.pk)
    assert (fresh.nudge_interval_days, fresh.company_webhook_url, fresh.updated_at) == (14, "", settings_row.updated_at)


def test_anonymous_visitors_are_sent_to_sign_in_and_change_nothing(personas):
    url = reverse("reports:message_settings", args=[personas.program.pk])
    response = personas.client_for(None).post(
        url,
        {
            "form": "webhook",
            "organization": personas.sales.pk,
            "kind": "slack",
            "url": "https://hooks.slack.com/services/T/B/secret",
        },
    )
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert personas.client_for(None).get(reverse("reports:messages")).status_code == 302
    assert OrgWebhook.objects.count() == 0 and MessageSettings.objects.count() == 0


def _settings_post(**overrides):
    data = {
        "form": "settings",
        "digest_enabled": "on",
        "nudges_enabled": "on",
        "escalations_enabled": "on",
        "leaderboard_enabled": "on",
        "milestones_enabled": "on",
        "nudge_interval_days": "10",
        "escalate_after_nudges": "3",
        "escalate_after_weeks_behind": "2",
        "digest_weekday": "4",
        "digest_hour": "8",
        "nudge_hour": "11",
        "leaderboard_hour": "9",
        "company_webhook_kind": "teams",
        "company_webhook_url": "",
    }
    data.update(overrides)
    return data


def test_the_admin_edits_settings_and_webhook_urls_are_never_shown_back(personas):
    client = personas.client_for(personas.admin)
    url = reverse("reports:message_settings", args=[personas.program.pk])
    secret_url = "https://example.webhook.office.com/webhookb2/abc/IncomingWebhook/SECRET123"

    response = client.post(url, _settings_post(company_webhook_url=secret_url))
    assert response.status_code == 302
    row = MessageSettings.objects.get(program=personas.program)
    assert (row.nudge_interval_days, row.digest_weekday, row.digest_hour, row.company_webhook_url) == (
        10,
        4,
        8,
        secret_url,
    )

    # Left empty: the stored URL is kept. The page shows a mask only.
    client.post(url, _settings_post(nudge_interval_days="21"))
    row.refresh_from_db()
    assert (row.nudge_interval_days, row.company_webhook_url) == (21, secret_url)
    page = client.get(url).content.decode()
    assert "SECRET123" not in page and "https://example.webhook.office.com/…/****" in page

    client.post(
        url,
        {
            "form": "webhook",
            "organization": personas.sales.pk,
            "kind": "slack",
            "url": "https://hooks.slack.com/services/T0/B0/TOPSECRET",
        },
    )
    client.post(url, {"form": "webhook", "organization": personas.sales.pk, "kind": "teams", "url": ""})
    hook = OrgWebhook.objects.get()
    assert (hook.kind, hook.url) == ("teams", "https://hooks.slack.com/services/T0/B0/TOPSECRET")
    page = client.get(url).content.decode()
    assert "TOPSECRET" not in page and "https://hooks.slack.com/…/****" in page


def test_bad_settings_input_gets_a_clear_message_and_keeps_what_was_typed(personas):
    client = personas.client_for(personas.admin)
    url = reverse("reports:message_settings", args=[personas.program.pk])

    response = client.post(url, _settings_post(nudge_interval_days="0", escalate_after_nudges="2"))

    assert response.status_code == 400
    assert "Use a number of days from 1 to 365." in response.content.decode()
    assert response.context["settings_form"]["escalate_after_nudges"].value() == "2"
    assert not MessageSettings.objects.filter(program=personas.program).exists()  # nothing saved
    no_url = client.post(url, {"form": "webhook", "organization": personas.sales.pk, "kind": "slack", "url": ""})
    assert no_url.status_code == 400 and "A new webhook needs its URL." in no_url.content.decode()
    assert OrgWebhook.objects.count() == 0


def test_the_hourly_beat_entry_runs_the_task_and_the_task_twice_sends_once(personas, mailoutbox, settings):
    from reports.tasks import communications_tick as task

    assert settings.CELERY_BEAT_SCHEDULE["reports-communications-tick"]["task"] == "reports.tasks.communications_tick"

    first = task.delay(now=NUDGE_TIME.isoformat()).get()
    second = task.delay(program_ids=[personas.program.pk], now=NUDGE_TIME.isoformat()).get()

    assert first == [
        "Learning Program 2026: 2 digests sent",
        "Learning Program 2026: 0 escalations sent",
        "Learning Program 2026: 5 nudges sent",
        "Learning Program 2026: 0 milestone announcements sent",
    ]
    assert second == [
        "Learning Program 2026: 0 digests sent",
        "Learning Program 2026: 0 escalations sent",
        "Learning Program 2026: 0 nudges sent",
        "Learning Program 2026: 0 milestone announcements sent",
    ]
    assert len(mailoutbox) == 7


def test_a_draft_or_closed_program_sends_nothing(personas, mailoutbox):
    personas.program.status = "closed"
    personas.program.save()

    report = communications_tick(now=NUDGE_TIME)

    assert (report.lines(), mailoutbox, SentMessage.objects.count()) == ([], [], 0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--now", "next monday"], "--now 'next monday' is not an ISO date-time (2026-11-30T09:30)."),
        (["--program", "Nope"], "There is no program named 'Nope'."),
    ],
)
def test_the_command_refuses_bad_input_clearly_and_sends_nothing(personas, mailoutbox, args, message):
    from django.core.management import CommandError

    with pytest.raises(CommandError) as error:
        call_command("send_communications", *args)
    assert str(error.value) == message
    assert (mailoutbox, SentMessage.objects.count()) == ([], 0)
