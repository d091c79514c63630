"""Story decision mail: when a champion or an L&D admin approves or declines a learner's
story, its author is told, with the link to their stories. One message per decision
(period: the story and the moment of the decision), sent at most once; a decision already
replaced by a later one when its task runs is not sent."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from champions.models import LearnerStory, StoryModeration
from reports.messaging.delivery import Email, EmailsSent, absolute_url, emails_send, in_recipient_language
from reports.models import MessageKind

_SUBJECTS = {
    StoryModeration.APPROVED: _("Your story “%(title)s” was approved"),
    StoryModeration.DECLINED: _("Your story “%(title)s” was not approved"),
}


def story_decision_emails_send(*, story: LearnerStory, moderated_at: dt.datetime) -> EmailsSent:
    """E-mail the author of `story` the decision taken at `moderated_at`: nothing when the
    story is no longer in that decision (a later one replaced it, or the author's edit sent
    it back to waiting), or was withdrawn."""
    if story.moderation not in _SUBJECTS or story.moderated_at != moderated_at or story.withdrawn_at is not None:
        return EmailsSent()
    author = story.employee
    with in_recipient_language(author):
        subject = _SUBJECTS[StoryModeration(story.moderation)] % {"title": story.title}
    email = Email(
        kind=MessageKind.STORY_DECISION,
        employee=author,
        period=f"p{story.program_id}/story:{story.pk}/{story.moderation}:{moderated_at.timestamp():.6f}",
        subject=subject,
        template="story_decision",
        context={
            "program": story.program,
            "story": story,
            "moderator": story.moderated_by,
            "link": absolute_url(reverse("champions:my_stories")),
        },
    )
    return emails_send(program=story.program, emails=[email])
