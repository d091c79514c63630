"""Writes for the people side of a program: study groups, membership, sessions and
attendance, progress updates, learner stories and their moderation, the sponsor's launch
video and the practice board. (A collection's review is in programs/collections.py.)

Callers (views) check the role and the object first (learnhub/roles.py); these functions
state and enforce the data rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from enum import Enum

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from champions.models import (
    Attendance,
    ExecutiveSponsor,
    LearnerStory,
    PracticeNote,
    ProgressUpdate,
    StoryModeration,
    StudyGroup,
    StudyGroupMembership,
    StudySession,
)
from programs.models import Collection, Course, Employee, LearningProgram, Organization
from programs.task_queue import task_queue_on_commit


class JoinOutcome(Enum):
    JOINED = "joined"
    ALREADY_MEMBER = "already a member"
    FULL = "full"


def study_group_join(*, group: StudyGroup, employee: Employee) -> JoinOutcome:
    """Add `employee` to `group`. Idempotent: joining twice leaves one membership. The
    capacity (when set) is never exceeded: the group row is locked (SELECT ... FOR
    UPDATE) while members are counted and the membership is inserted, so two joins at
    once are serialized."""
    with transaction.atomic():
        locked = StudyGroup.objects.select_for_update().get(pk=group.pk)
        if StudyGroupMembership.objects.filter(group=locked, employee=employee).exists():
            return JoinOutcome.ALREADY_MEMBER
        if locked.capacity is not None and StudyGroupMembership.objects.filter(group=locked).count() >= locked.capacity:
            return JoinOutcome.FULL
        StudyGroupMembership.objects.create(group=locked, employee=employee)
        return JoinOutcome.JOINED


def study_group_leave(*, group: StudyGroup, employee: Employee) -> bool:
    """Remove `employee` from `group`; True when they were a member. Idempotent."""
    deleted, _ = StudyGroupMembership.objects.filter(group=group, employee=employee).delete()
    return deleted > 0


def _group_errors(
    *, program: LearningProgram, course: Course | None, collection: Collection | None, capacity: int | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if course is None and collection is None:
        errors["course"] = [_("Choose a course or a collection for the group.")]
    if collection is not None and collection.program_id != program.pk:
        errors["collection"] = [_("This collection belongs to another program.")]
    if course is not None and not course.collection_items.filter(collection__program=program).exists():
        errors["course"] = [_("Choose a course from one of this program's collections.")]
    if capacity is not None and capacity < 1:
        errors["capacity"] = [_("The capacity is at least 1 (leave it empty for no limit).")]
    return errors


def study_group_save(
    *,
    group: StudyGroup | None,
    program: LearningProgram,
    organization: Organization,
    champion: Employee,
    name: str,
    description: str,
    course: Course | None,
    collection: Collection | None,
    location: str,
    video_url: str,
    capacity: int | None,
    is_open: bool,
) -> StudyGroup:
    """Create a study group (group=None) or update one. Rules: a name; a course or a
    collection of the program; capacity at least 1 or empty, and never below the current
    number of members. The champion who created the group stays its champion."""
    errors = _group_errors(program=program, course=course, collection=collection, capacity=capacity)
    if not name.strip():
        errors["name"] = [_("The group needs a name.")]
    if group is not None and capacity is not None and (members := group.memberships.count()) > capacity:
        errors["capacity"] = [
            ngettext(
                "The group already has %(count)d member; raise the capacity.",
                "The group already has %(count)d members; raise the capacity.",
                members,
            )
            % {"count": members}
        ]
    if errors:
        raise ValidationError(errors)
    if group is None:
        group = StudyGroup(program=program, champion=champion)
    group.organization = organization
    group.name = name.strip()
    group.description = description
    group.course = course
    group.collection = collection
    group.location = location
    group.video_url = video_url
    group.capacity = capacity
    group.is_open = is_open
    group.save()
    return group


def study_session_save(
    *,
    session: StudySession | None,
    group: StudyGroup,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    topic: str,
    location: str,
    notes: str,
) -> StudySession:
    """Add (session=None) or update a session. Rules: aware datetimes; the end is after
    the start."""
    if timezone.is_naive(starts_at) or timezone.is_naive(ends_at):
        raise ValueError("Session times must be time-zone aware.")
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": [_("The session must end after it starts.")]})
    if session is None:
        session = StudySession(group=group)
    session.starts_at, session.ends_at = starts_at, ends_at
    session.topic, session.location, session.notes = topic, location, notes
    session.save()
    return session


def attendance_record(*, session: StudySession, employees: Iterable[Employee]) -> tuple[int, int]:
    """Make the session's attendance exactly `employees`: add the new ones, remove the
    others. Returns (added, removed). Idempotent: recording the same set twice changes
    nothing the second time."""
    wanted = {e.pk for e in employees}
    with transaction.atomic():
        current = set(Attendance.objects.filter(session=session).values_list("employee_id", flat=True))
        removed, _ = Attendance.objects.filter(session=session, employee_id__in=current - wanted).delete()
        Attendance.objects.bulk_create(
            [Attendance(session=session, employee_id=pk) for pk in sorted(wanted - current)], ignore_conflicts=True
        )
    return len(wanted - current), removed


def progress_update_post(
    *,
    program: LearningProgram,
    organization: Organization | None,
    author: Employee,
    title: str,
    body: str,
    for_all_hands: bool,
) -> ProgressUpdate:
    """Post an update to an organization (or the company when `organization` is None)."""
    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors["title"] = [_("The update needs a title.")]
    if not body.strip():
        errors["body"] = [_("Write the update.")]
    if errors:
        raise ValidationError(errors)
    return ProgressUpdate.objects.create(
        program=program,
        organization=organization,
        author=author,
        title=title.strip(),
        body=body.strip(),
        for_all_hands=for_all_hands,
    )


def learner_story_save(
    *,
    story: LearnerStory | None,
    program: LearningProgram,
    employee: Employee,
    title: str,
    body: str,
    course: Course | None,
    consent_to_share: bool,
) -> LearnerStory:
    """Share (story=None) or edit my story. Shown beyond its author only with consent,
    while not withdrawn and once approved (`LearnerStoryQuerySet.shown`); editing does not
    un-withdraw it, and a changed title, text or course waits for approval again."""
    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors["title"] = [_("Give your story a title.")]
    if not body.strip():
        errors["body"] = [_("Tell your story.")]
    if errors:
        raise ValidationError(errors)
    if story is None:
        story = LearnerStory(program=program, employee=employee)
    elif (story.title, story.body, story.course_id) != (title.strip(), body.strip(), course and course.pk):
        story.moderation, story.moderated_by, story.moderated_at = StoryModeration.PENDING, None, None
    story.title, story.body, story.course, story.consent_to_share = (
        title.strip(),
        body.strip(),
        course,
        consent_to_share,
    )
    story.save()
    return story


def learner_story_withdraw(*, story: LearnerStory) -> LearnerStory:
    """Withdraw a story: hidden from everyone but its author from now on. Idempotent (the
    first withdrawal time is kept)."""
    if story.withdrawn_at is None:
        story.withdrawn_at = timezone.now()
        story.save(update_fields=["withdrawn_at", "updated_at"])
    return story


def learner_story_reshare(*, story: LearnerStory) -> LearnerStory:
    """Share a withdrawn story again (consent is still needed for it to show)."""
    if story.withdrawn_at is not None:
        story.withdrawn_at = None
        story.save(update_fields=["withdrawn_at", "updated_at"])
    return story


# How a story's moderation moves: a champion or L&D approves or declines a waiting story,
# and may change their mind later; the author's edit sends it back to waiting.
STORY_MODERATION_TRANSITIONS: dict[str, frozenset[str]] = {
    StoryModeration.PENDING: frozenset({StoryModeration.APPROVED, StoryModeration.DECLINED}),
    StoryModeration.APPROVED: frozenset({StoryModeration.DECLINED}),
    StoryModeration.DECLINED: frozenset({StoryModeration.APPROVED}),
}


def learner_story_moderate(*, story: LearnerStory, moderator: Employee, to: str) -> LearnerStory:
    """Approve or decline a story, by STORY_MODERATION_TRANSITIONS, recording who and
    when, and, once committed, queue the e-mail that tells its author (the task
    `reports.tasks.story_decision_emails`). Callers check the moderator
    (`learnhub.roles.can_moderate_story`)."""
    with transaction.atomic():
        locked = LearnerStory.objects.select_for_update().get(pk=story.pk)
        if to not in STORY_MODERATION_TRANSITIONS[locked.moderation]:
            raise ValidationError(
                _("A story that is “%(current)s” cannot become “%(wanted)s”.")
                % {
                    "current": locked.get_moderation_display().lower(),
                    "wanted": str(StoryModeration(to).label).lower(),
                }
            )
        story.moderation, story.moderated_by, story.moderated_at = to, moderator, timezone.now()
        story.save(update_fields=["moderation", "moderated_by", "moderated_at", "updated_at"])
        task_queue_on_commit(
            name="reports.tasks.story_decision_emails",
            kwargs={"story_id": story.pk, "moderated_at": story.moderated_at.isoformat()},
        )
    return story


def sponsor_launch_video_set(*, appointment: ExecutiveSponsor, url: str) -> ExecutiveSponsor:
    """Set (or clear, with an empty url) the sponsor's launch video link."""
    appointment.launch_video_url = url.strip()
    appointment.save(update_fields=["launch_video_url"])
    return appointment


def practice_note_post(*, program: LearningProgram, author: Employee, title: str, body: str) -> PracticeNote:
    """Post a practice that worked to the champions' network board."""
    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors["title"] = [_("The practice needs a title.")]
    if not body.strip():
        errors["body"] = [_("Describe what worked.")]
    if errors:
        raise ValidationError(errors)
    return PracticeNote.objects.create(program=program, author=author, title=title.strip(), body=body.strip())
