"""Learner story moderation (issue 14): a consented story is shown beyond its author only
once a champion of the learner's organization (or an L&D admin) approves it; the learner
sees its state."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from champions.models import LearnerStory, StoryModeration
from champions.services import learner_story_moderate
from reports.models import MessageKind, Unsubscribe
from tests.factories import ChampionFactory, EmployeeFactory, org

pytestmark = pytest.mark.django_db

M = StoryModeration


def moderation(story: LearnerStory) -> tuple:
    story.refresh_from_db()
    return story.moderation, story.moderated_by_id, story.moderated_at is not None


@pytest.fixture
def story(personas) -> LearnerStory:
    personas.client_for(personas.employee).post(
        "/champions/stories/mine/",
        {"title": "Automated <reports>", "body": "Saved 2h a week", "consent_to_share": "on"},
    )
    return LearnerStory.objects.get(employee=personas.employee)


def home_stories(client: Client) -> list[str]:
    return [s.title for s in client.get("/").context["page"].stories]


def all_hands_stories(client: Client) -> list[str]:
    return [s.title for s in client.get("/reports/all-hands/").context["report"].stories]


def test_a_shared_story_waits_for_the_champion_then_shows_everywhere(personas, story):
    p = personas
    reader = p.client_for(p.outsider)
    assert moderation(story) == (M.PENDING, None, False)
    assert home_stories(reader) == []
    assert all_hands_stories(reader) == []
    mine = p.client_for(p.employee).get("/champions/stories/mine/").content.decode()
    assert '<span class="badge warn">Waiting for approval</span>' in mine

    queue = p.client_for(p.champion).get("/champions/stories/review/")
    assert [s.title for s in queue.context["page"].object_list] == ["Automated <reports>"]
    assert "Automated &lt;reports&gt;" in queue.content.decode()

    response = p.client_for(p.champion).post(
        f"/champions/stories/{story.pk}/moderate/", {"to": "approved"}, follow=True
    )
    assert "“Automated &lt;reports&gt;”: approved." in response.content.decode()
    assert moderation(story) == (M.APPROVED, p.champion.pk, True)
    assert home_stories(reader) == ["Automated <reports>"]
    assert all_hands_stories(reader) == ["Automated <reports>"]
    assert (
        '<span class="badge good">Shared</span>'
        in p.client_for(p.employee).get("/champions/stories/mine/").content.decode()
    )


def test_a_declined_story_is_hidden_and_an_edit_asks_again(personas, story):
    p = personas
    learner_story_moderate(story=story, moderator=p.admin, to=M.DECLINED)
    assert home_stories(p.client_for(p.outsider)) == []
    mine = p.client_for(p.employee).get("/champions/stories/mine/").content.decode()
    assert '<span class="badge bad">Declined</span>' in mine

    p.client_for(p.employee).post(
        f"/champions/stories/{story.pk}/edit/",
        {"title": "Automated reports", "body": "Saved 2h a week", "consent_to_share": "on"},
    )
    assert moderation(story) == (M.PENDING, None, False)


def test_an_approved_story_edited_waits_again_but_a_consent_only_change_does_not(personas, story):
    p = personas
    learner_story_moderate(story=story, moderator=p.champion, to=M.APPROVED)
    client = p.client_for(p.employee)
    client.post(f"/champions/stories/{story.pk}/edit/", {"title": story.title, "body": story.body})
    assert moderation(story) == (M.APPROVED, p.champion.pk, True)
    client.post(
        f"/champions/stories/{story.pk}/edit/", {"title": story.title, "body": "New text", "consent_to_share": "on"}
    )
    assert moderation(story) == (M.PENDING, None, False)
    assert home_stories(p.client_for(p.outsider)) == []


def test_the_transition_table_refuses_a_repeat(personas, story):
    learner_story_moderate(story=story, moderator=personas.champion, to=M.APPROVED)
    with pytest.raises(ValidationError):
        learner_story_moderate(story=story, moderator=personas.admin, to=M.APPROVED)
    with pytest.raises(ValidationError):
        learner_story_moderate(story=story, moderator=personas.admin, to=M.PENDING)
    assert moderation(story) == (M.APPROVED, personas.champion.pk, True)


@pytest.mark.parametrize("who", ["outsider", "sponsor", "employee"])
def test_only_a_champion_of_the_learner_s_org_or_l_and_d_moderates(personas, story, who):
    client = personas.client_for(getattr(personas, who))
    assert client.post(f"/champions/stories/{story.pk}/moderate/", {"to": "approved"}).status_code == 403
    assert client.get("/champions/stories/review/").status_code == 403
    assert moderation(story) == (M.PENDING, None, False)


def test_a_champion_of_another_org_neither_sees_nor_moderates(personas, story):
    sales_champion = EmployeeFactory(organization=personas.sales)
    ChampionFactory(program=personas.program, organization=personas.sales, employee=sales_champion)
    client = personas.client_for(sales_champion)
    assert list(client.get("/champions/stories/review/").context["page"].object_list) == []
    assert client.post(f"/champions/stories/{story.pk}/moderate/", {"to": "approved"}).status_code == 403
    assert moderation(story) == (M.PENDING, None, False)


def test_a_champion_does_not_approve_their_own_story(personas):
    p = personas
    p.client_for(p.champion).post("/champions/stories/mine/", {"title": "Mine", "body": "b", "consent_to_share": "on"})
    own = LearnerStory.objects.get(employee=p.champion)
    client = p.client_for(p.champion)
    assert list(client.get("/champions/stories/review/").context["page"].object_list) == []
    assert client.post(f"/champions/stories/{own.pk}/moderate/", {"to": "approved"}).status_code == 403
    assert moderation(own) == (M.PENDING, None, False)


def test_anonymous_is_sent_to_sign_in(personas, story):
    assert Client().post(f"/champions/stories/{story.pk}/moderate/", {"to": "approved"}).status_code == 302
    assert moderation(story) == (M.PENDING, None, False)


def test_the_queue_covers_teams_below_and_filters_by_state(personas):
    p = personas
    team = org("Acme/Engineering/Platform")
    author = EmployeeFactory(organization=team)
    waiting = LearnerStory.objects.create(
        program=p.program, employee=author, title="Waiting", body="b", consent_to_share=True
    )
    LearnerStory.objects.create(program=p.program, employee=author, title="Private", body="b")
    LearnerStory.objects.create(
        program=p.program, employee=author, title="Approved", body="b", consent_to_share=True, moderation=M.APPROVED
    )
    client = p.client_for(p.champion)
    assert [s.title for s in client.get("/champions/stories/review/").context["page"].object_list] == ["Waiting"]
    approved = client.get("/champions/stories/review/?moderation=approved").context["page"].object_list
    assert [s.title for s in approved] == ["Approved"]
    assert waiting.moderation == M.PENDING


# --- The author hears of each decision ----------------------------------------------------


def test_the_author_is_e_mailed_each_decision_once(personas, story, mailoutbox, django_capture_on_commit_callbacks):
    p = personas
    with django_capture_on_commit_callbacks(execute=True):
        p.client_for(p.champion).post(f"/champions/stories/{story.pk}/moderate/", {"to": "approved"})

    assert [(m.to, m.subject) for m in mailoutbox] == [
        (["bob@acme.example"], "[LearnHub] Your story “Automated <reports>” was approved")
    ]
    text, (html, _) = mailoutbox[0].body, mailoutbox[0].alternatives[0]
    assert (
        'Hello Bob, Chris Champion approved your story "Automated <reports>" (Learning Program 2026). Colleagues '
        "can read it while you share it; you can stop sharing it at any time."
    ) in text
    assert "/champions/stories/mine/" in text
    assert "your story “Automated &lt;reports&gt;”" in html and "<reports>" not in html

    with django_capture_on_commit_callbacks(execute=True) as queued:
        learner_story_moderate(story=story, moderator=p.admin, to=M.DECLINED)
    assert [m.subject for m in mailoutbox[1:]] == ["[LearnHub] Your story “Automated <reports>” was not approved"]
    assert "Alice Admin did not approve your story" in mailoutbox[1].body

    queued[0]()  # the same decision's task again (a redelivery): nothing more is sent
    assert len(mailoutbox) == 2


def test_a_decision_replaced_before_its_mail_goes_is_not_sent(
    personas, story, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        learner_story_moderate(story=story, moderator=personas.champion, to=M.APPROVED)
        learner_story_moderate(story=story, moderator=personas.admin, to=M.DECLINED)
    for task in queued:
        task()
    assert [m.subject for m in mailoutbox] == ["[LearnHub] Your story “Automated <reports>” was not approved"]


def test_an_author_who_reads_german_gets_the_decision_in_german(
    personas, story, mailoutbox, django_capture_on_commit_callbacks
):
    personas.employee.language = "de"
    personas.employee.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        learner_story_moderate(story=story, moderator=personas.champion, to=M.APPROVED)
    assert mailoutbox[0].subject == "[LearnHub] Ihre Geschichte „Automated <reports>“ wurde freigegeben"
    assert (
        "Hallo Bob, Chris Champion hat Ihre Geschichte „Automated <reports>“ (Learning Program 2026) freigegeben."
        in (mailoutbox[0].body)
    )


def test_an_author_who_unsubscribed_from_story_decisions_gets_none(
    personas, story, mailoutbox, django_capture_on_commit_callbacks
):
    Unsubscribe.objects.create(employee=personas.employee, kind=MessageKind.STORY_DECISION)
    with django_capture_on_commit_callbacks(execute=True):
        learner_story_moderate(story=story, moderator=personas.champion, to=M.APPROVED)
    assert mailoutbox == []
    assert moderation(story) == (M.APPROVED, personas.champion.pk, True)


def test_a_line_break_in_a_title_stays_out_of_the_mail_headers(
    personas, mailoutbox, django_capture_on_commit_callbacks
):
    story = LearnerStory.objects.create(
        program=personas.program,
        employee=personas.employee,
        title="Line one\r\nBcc: someone@evil.example",
        body="b",
        consent_to_share=True,
    )
    with django_capture_on_commit_callbacks(execute=True):
        learner_story_moderate(story=story, moderator=personas.champion, to=M.APPROVED)

    (sent,) = mailoutbox
    assert sent.subject == "[LearnHub] Your story “Line one Bcc: someone@evil.example” was approved"
    assert (sent.to, sent.bcc) == (["bob@acme.example"], [])
    assert "\nBcc:" not in sent.message().as_string().split("\n\n", 1)[0]
