"""Collection review mail: when L&D submits or resubmits an organization's collection,
its sponsors are told; when a sponsor approves it or requests changes, the L&D admins are.
Each step is one message per person (period: the step), sent at most once."""

from __future__ import annotations

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from learnhub.roles import collection_reviewers, ld_admins
from programs.models import CollectionReviewAction, CollectionReviewStep, Employee
from reports.messaging.delivery import Email, EmailsSent, absolute_url, emails_send, in_recipient_language
from reports.models import MessageKind

_TO_SPONSORS = frozenset({CollectionReviewAction.SUBMITTED, CollectionReviewAction.RESUBMITTED})
# The subject (and heading) of each step's mail: the step's label in running text.
_SUBJECTS = {
    CollectionReviewAction.SUBMITTED: _("%(collection)s: submitted for review"),
    CollectionReviewAction.CHANGES_REQUESTED: _("%(collection)s: changes requested"),
    CollectionReviewAction.RESUBMITTED: _("%(collection)s: resubmitted after changes"),
    CollectionReviewAction.APPROVED: _("%(collection)s: approved"),
}


def collection_review_recipients(*, step: CollectionReviewStep) -> QuerySet[Employee]:
    """Who hears of a review step: the collection's reviewers (its sponsors) of a
    submission, the L&D admins of a sponsor's decision; never the person who acted."""
    people = collection_reviewers(step.collection) if step.action in _TO_SPONSORS else ld_admins()
    return people.exclude(pk=step.actor_id) if step.actor_id is not None else people


def collection_review_emails_send(*, step: CollectionReviewStep) -> EmailsSent:
    """E-mail the other side of a review step: what happened, who did it, the note, and
    the link to where they act (the sponsor page, or the collection where L&D curates)."""
    collection = step.collection
    program = collection.program
    to_sponsors = step.action in _TO_SPONSORS
    link = (
        absolute_url(reverse("champions:sponsor")) + f"#collection-{collection.pk}"
        if to_sponsors
        else absolute_url(reverse("manage:collection", args=[collection.pk]))
    )
    emails = []
    for person in collection_review_recipients(step=step):
        with in_recipient_language(person):
            subject = _SUBJECTS[CollectionReviewAction(step.action)] % {"collection": collection.name}
        emails.append(
            Email(
                kind=MessageKind.COLLECTION_REVIEW,
                employee=person,
                period=f"p{program.pk}/collection:{collection.pk}/step:{step.pk}",
                subject=subject,
                template="collection_review",
                context={"program": program, "collection": collection, "step": step, "link": link},
            )
        )
    return emails_send(program=program, emails=emails)
