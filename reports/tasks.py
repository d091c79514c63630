"""Celery tasks of the reports app: thin, take ids, idempotent (each run replaces the day's
kept figures; each message's ledger key decides who sends it)."""

from __future__ import annotations

import datetime as dt

from celery import shared_task

from champions.models import LearnerStory
from programs.models import CollectionReviewStep, LearningProgram
from reports.kept import figures_keep
from reports.messaging import tick
from reports.messaging.reviews import collection_review_emails_send
from reports.messaging.stories import story_decision_emails_send
from reports.messaging.tasks import webhook_deliver

# The webhook post's task lives beside its service (reports/messaging/tasks.py); named here
# so that the worker's autodiscovery, which reads this module, registers it.
__all__ = [
    "collection_review_emails",
    "communications_tick",
    "snapshot_active_programs",
    "story_decision_emails",
    "webhook_deliver",
]


@shared_task(name="reports.tasks.snapshot_active_programs")
def snapshot_active_programs(program_ids: list[int] | None = None) -> int:
    """Keep today's figures (company time zone) of every active program, or only the
    active ones among `program_ids`: today's snapshots and the people
    (`reports.kept.figures_keep`, each unless already fresh). Daily (beat) and after
    every change (`reports.hooks.progress_changed`). Returns the number of programs."""
    programs = LearningProgram.objects.active()
    if program_ids is not None:
        programs = programs.filter(pk__in=program_ids)
    count = 0
    for program in programs:
        figures_keep(program=program)
        count += 1
    return count


@shared_task(name="reports.tasks.communications_tick")
def communications_tick(program_ids: list[int] | None = None, now: str | None = None) -> list[str]:
    """Hourly (beat): send the digests, nudges, escalations, leaderboard updates and
    milestone announcements that are due now (or at `now`, an aware ISO 8601 time, for
    ops and tests). Idempotent: each message's unique key decides who sends it, so a
    second run (or two at once) sends nothing twice."""
    programs = None if program_ids is None else list(LearningProgram.objects.filter(pk__in=program_ids))
    at = dt.datetime.fromisoformat(now) if now else None
    return tick.communications_tick(programs=programs, now=at).lines()


@shared_task(name="reports.tasks.collection_review_emails")
def collection_review_emails(step_id: int) -> int:
    """E-mail the other side of one collection review step (`programs.collections.
    collection_review_step` queues it once the step is committed). Returns how many went;
    each person's message is sent at most once, however often the task runs."""
    step = (
        CollectionReviewStep.objects.select_related("collection__program", "collection__organization", "actor")
        .filter(pk=step_id)
        .first()
    )
    return 0 if step is None else collection_review_emails_send(step=step).count


@shared_task(name="reports.tasks.story_decision_emails")
def story_decision_emails(story_id: int, moderated_at: str) -> int:
    """E-mail a story's author the decision taken at `moderated_at` (ISO 8601;
    `champions.services.learner_story_moderate` queues it once the decision is committed).
    Returns how many went (0 or 1)."""
    story = LearnerStory.objects.select_related("program", "employee", "moderated_by").filter(pk=story_id).first()
    if story is None:
        return 0
    return story_decision_emails_send(story=story, moderated_at=dt.datetime.fromisoformat(moderated_at)).count
