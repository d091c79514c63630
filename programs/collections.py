"""Curated collections: creating and editing them, their ordered courses, their review
by the organization's sponsor, and copying them into next year's program. (Reads are in
programs/selectors.py; the file import is programs/collections_import.py.)

A program's curated completions are those of the courses in any of its collections, so
adding, removing or copying courses calls `reports.hooks.progress_changed`; creating,
renaming, moving or reordering a collection changes no number."""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from programs.learning_programs import next_year_name
from programs.models import (
    ApprovalStatus,
    Collection,
    CollectionItem,
    CollectionReviewAction,
    CollectionReviewStep,
    Course,
    Employee,
    LearningProgram,
    Organization,
)
from programs.task_queue import task_queue_on_commit
from reports.hooks import progress_changed

# The review loop of an organization's collection: L&D submits it, its sponsor approves it
# or requests changes (and may reopen an approved one); L&D edits and resubmits.
# action: (the statuses it starts from, the status it leads to)
COLLECTION_REVIEW_TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    CollectionReviewAction.SUBMITTED: (frozenset({ApprovalStatus.DRAFT}), ApprovalStatus.PENDING),
    CollectionReviewAction.RESUBMITTED: (frozenset({ApprovalStatus.CHANGES_REQUESTED}), ApprovalStatus.PENDING),
    CollectionReviewAction.APPROVED: (frozenset({ApprovalStatus.PENDING}), ApprovalStatus.APPROVED),
    CollectionReviewAction.CHANGES_REQUESTED: (
        frozenset({ApprovalStatus.PENDING, ApprovalStatus.APPROVED}),
        ApprovalStatus.CHANGES_REQUESTED,
    ),
}
SPONSOR_REVIEW_ACTIONS = frozenset({CollectionReviewAction.APPROVED, CollectionReviewAction.CHANGES_REQUESTED})
SUBMIT_ACTIONS = frozenset({CollectionReviewAction.SUBMITTED, CollectionReviewAction.RESUBMITTED})
# A review step the collection's approval status does not allow, by step.
REFUSED_REVIEW_STEPS = {
    CollectionReviewAction.SUBMITTED: gettext_lazy("A collection that is “%(status)s” cannot be submitted for review."),
    CollectionReviewAction.CHANGES_REQUESTED: gettext_lazy(
        "A collection that is “%(status)s” cannot be changes requested."
    ),
    CollectionReviewAction.RESUBMITTED: gettext_lazy(
        "A collection that is “%(status)s” cannot be resubmitted after changes."
    ),
    CollectionReviewAction.APPROVED: gettext_lazy("A collection that is “%(status)s” cannot be approved."),
}


def _collection_name_errors(
    *, program: LearningProgram, organization: Organization | None, name: str, exclude_pk: int | None
) -> dict[str, list[str]]:
    if not name:
        return {"name": [_("The collection needs a name.")]}
    same = Collection.objects.filter(program=program, organization=organization, name__iexact=name)
    if exclude_pk is not None:
        same = same.exclude(pk=exclude_pk)
    if same.exists():
        if organization is None:
            message = _("the whole company already has a collection named '%(name)s' in %(program)s.")
        else:
            message = _("%(organization)s already has a collection named '%(name)s' in %(program)s.")
        values = {"organization": organization.path if organization else "", "name": name, "program": program.name}
        return {"name": [message % values]}
    return {}


def collection_create(
    *,
    program: LearningProgram,
    organization: Organization | None,
    name: str,
    needs: str = "",
    launch_video_url: str = "",
) -> Collection:
    """A new, empty collection of `program` for `organization` (None: the whole company),
    in draft. Its name is unique (ignoring case) per organization, or among the
    company-wide collections, of the program."""
    name = name.strip()
    errors = _collection_name_errors(program=program, organization=organization, name=name, exclude_pk=None)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return Collection.objects.create(
                program=program,
                organization=organization,
                name=name,
                needs=needs.strip(),
                launch_video_url=launch_video_url.strip(),
            )
    except IntegrityError as exc:
        raise ValidationError(
            {"name": [_("A collection named '%(name)s' was just created there.") % {"name": name}]}
        ) from exc


def collection_update(
    *,
    collection: Collection,
    organization: Organization | None,
    name: str,
    needs: str,
    launch_video_url: str,
) -> Collection:
    """Rename a collection, move it to another organization (or the whole company), or
    change the needs it answers and its launch video; same naming rule as collection_create."""
    name = name.strip()
    errors = _collection_name_errors(
        program=collection.program, organization=organization, name=name, exclude_pk=collection.pk
    )
    if errors:
        raise ValidationError(errors)
    collection.organization = organization
    collection.name = name
    collection.needs = needs.strip()
    collection.launch_video_url = launch_video_url.strip()
    try:
        with transaction.atomic():
            collection.save(update_fields=["organization", "name", "needs", "launch_video_url"])
    except IntegrityError as exc:
        raise ValidationError(
            {"name": [_("A collection named '%(name)s' was just created there.") % {"name": name}]}
        ) from exc
    return collection


def _positions_write(items: list[CollectionItem]) -> None:
    for position, item in enumerate(items, start=1):
        item.position = position
    CollectionItem.objects.bulk_update(items, ["position"])


def _locked_items(collection: Collection) -> list[CollectionItem]:
    """Lock the collection row (so concurrent edits queue up) and return its items in order."""
    list(Collection.objects.select_for_update().filter(pk=collection.pk).order_by().values_list("pk"))
    return list(
        CollectionItem.objects.filter(collection=collection).select_related("course").order_by("position", "id")
    )


def collection_course_add(*, collection: Collection, course: Course) -> CollectionItem:
    """Add `course` at the end of the collection (position n + 1). A course is in a
    collection once: adding it again is refused."""
    with transaction.atomic():
        items = _locked_items(collection)
        if any(item.course_id == course.pk for item in items):
            raise ValidationError(
                _("'%(course)s' is already in %(collection)s.") % {"course": course, "collection": collection.name}
            )
        last = max((item.position for item in items), default=0)
        item = CollectionItem.objects.create(collection=collection, course=course, position=last + 1)
        progress_changed(program_ids=[collection.program_id])
        return item


def collection_course_remove(*, collection: Collection, item_id: int) -> Course:
    """Take one item out of the collection; the positions of the others stay dense (1..n)."""
    with transaction.atomic():
        items = _locked_items(collection)
        item = next((item for item in items if item.pk == item_id), None)
        if item is None:
            raise ValidationError(_("That course is no longer in this collection."))
        remaining = [other for other in items if other.pk != item_id]
        item.delete()
        _positions_write(remaining)
        progress_changed(program_ids=[collection.program_id])
    return item.course


def collection_course_move(*, collection: Collection, item_id: int, direction: Literal["up", "down"]) -> None:
    """Move one item a place up or down; positions are rewritten 1..n. Moving the first
    item up or the last one down changes nothing."""
    with transaction.atomic():
        items = _locked_items(collection)
        index = next((i for i, item in enumerate(items) if item.pk == item_id), None)
        if index is None:
            raise ValidationError(_("That course is no longer in this collection."))
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(items):
            items[index], items[other] = items[other], items[index]
        _positions_write(items)


def collection_review_actions(*, collection: Collection) -> list[str]:
    """The review actions COLLECTION_REVIEW_TRANSITIONS allows from the collection's status
    (none for a company-wide collection: it has no sponsor to review it)."""
    if collection.is_company_wide:
        return []
    return [
        action
        for action, (sources, _) in COLLECTION_REVIEW_TRANSITIONS.items()
        if collection.approval_status in sources
    ]


def collection_submit_action(*, collection: Collection) -> str | None:
    """The L&D step the review allows now: submit (a draft), resubmit (after a change
    request), or None (waiting for the sponsor, approved, or company-wide)."""
    return next((a for a in collection_review_actions(collection=collection) if a in SUBMIT_ACTIONS), None)


def collection_review_step(
    *, collection: Collection, actor: Employee, action: str, note: str = ""
) -> CollectionReviewStep:
    """Move the collection through its review by COLLECTION_REVIEW_TRANSITIONS, keep the
    step in its history (who, when, note) and, once committed, queue the e-mail to the other
    side (the task `reports.tasks.collection_review_emails`). A change request needs a note; the sponsor's latest
    note stays on the collection (`approval_note`) for L&D to read. An approval records
    who and when, any other step clears them. Callers check who may act
    (learnhub/roles.py). The collection row is locked, so two people acting at once go
    one after the other and the second is checked against the first one's result."""
    note = note.strip()
    with transaction.atomic():
        locked = Collection.objects.select_for_update().get(pk=collection.pk)
        if action not in collection_review_actions(collection=locked):
            current = locked.get_approval_status_display()
            raise ValidationError(REFUSED_REVIEW_STEPS[CollectionReviewAction(action)] % {"status": current})
        if action == CollectionReviewAction.CHANGES_REQUESTED and not note:
            raise ValidationError({"note": [_("Say what should change.")]})
        now = timezone.now()
        approved = action == CollectionReviewAction.APPROVED
        collection.approval_status = COLLECTION_REVIEW_TRANSITIONS[action][1]
        collection.approved_by = actor if approved else None
        collection.approved_at = now if approved else None
        if action in SPONSOR_REVIEW_ACTIONS:
            collection.approval_note = note
        collection.save(update_fields=["approval_status", "approval_note", "approved_by", "approved_at"])
        step = CollectionReviewStep.objects.create(
            collection=collection, action=action, actor=actor, note=note, created_at=now
        )
        task_queue_on_commit(name="reports.tasks.collection_review_emails", kwargs={"step_id": step.pk})
    return step


def collections_copy(*, source: LearningProgram, target: LearningProgram) -> None:
    """Copy every collection of `source` into `target`, for next year's program: the year
    in its name bumped, its courses in the same order (positions 1..n), its approval reset
    to draft ("to be reviewed")."""
    for collection in Collection.objects.filter(program=source).order_by("id"):
        copy = Collection.objects.create(
            program=target,
            organization_id=collection.organization_id,
            name=next_year_name(collection.name, fallback_year=None),
            needs=collection.needs,
            launch_video_url=collection.launch_video_url,
            approval_status=ApprovalStatus.DRAFT,
        )
        course_ids = collection.items.order_by("position", "id").values_list("course_id", flat=True)
        CollectionItem.objects.bulk_create(
            CollectionItem(collection=copy, course_id=course_id, position=position)
            for position, course_id in enumerate(course_ids, start=1)
        )
    progress_changed(program_ids=[target.pk])
