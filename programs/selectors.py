"""Reads for the programs app: the collections a person browses, the catalog search and
the lists of the L&D admin pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils import timezone

from learnhub.roles import is_ld_admin
from programs.models import (
    Collection,
    CollectionItem,
    CollectionReviewStep,
    Course,
    Employee,
    LearningProgram,
    Organization,
)

if TYPE_CHECKING:
    from learnhub.roles import AnyUser


def _collections_with_items(*, program: LearningProgram) -> QuerySet[Collection]:
    items = Prefetch("items", queryset=CollectionItem.objects.select_related("course").order_by("position", "id"))
    return (
        Collection.objects.filter(program=program)
        .select_related("organization")
        .prefetch_related(items)
        .order_by(F("organization__path").asc(nulls_first=True), "name")
    )


def collections_for_organization(
    *, program: LearningProgram, organization: Organization | None
) -> QuerySet[Collection]:
    """The collections of `program` the people of `organization` browse, each with its
    items (and their courses) in order: the company-wide collections, then those of the
    organization and of every organization above it (a team sees its org's collections).
    `organization` None (someone with no home organization): the company-wide ones."""
    visible = Q(organization__isnull=True)
    if organization is not None:
        visible |= Q(organization__path__in=organization.ancestor_paths())
    return _collections_with_items(program=program).filter(visible)


def collections_visible(*, program: LearningProgram, user: AnyUser) -> QuerySet[Collection]:
    """The collections of `program` a person browses: those of their home organization
    (`collections_for_organization`); L&D admins see every collection of the program."""
    if is_ld_admin(user):
        return _collections_with_items(program=program)
    return collections_for_organization(program=program, organization=getattr(user, "organization", None))


def courses_search(*, query: str, limit: int = 25) -> QuerySet[Course]:
    """Catalog courses whose title, partner or provider course id contains `query`
    (ignoring case); nothing for an empty query."""
    query = query.strip()
    if not query:
        return Course.objects.none()
    return Course.objects.filter(
        Q(title__icontains=query) | Q(partner__icontains=query) | Q(provider_course_id__icontains=query)
    ).order_by("title", "provider", "provider_course_id")[:limit]


def employees_search(*, query: str, limit: int = 20) -> QuerySet[Employee]:
    """Employees still here today whose e-mail or name contains `query` (ignoring case)."""
    query = query.strip()
    if not query:
        return Employee.objects.none()
    return (
        Employee.objects.not_departed(timezone.localdate())
        .filter(Q(email__icontains=query) | Q(full_name__icontains=query))
        .select_related("organization")
        .order_by("email")[:limit]
    )


def collection_review_history() -> QuerySet[CollectionReviewStep]:
    """Review steps oldest first, with who acted (prefetch them as `review_steps`)."""
    return CollectionReviewStep.objects.select_related("actor").order_by("created_at", "id")


def collections_of(*, program: LearningProgram) -> QuerySet[Collection]:
    """The collections of `program` with their course counts, company-wide ones first."""
    return (
        Collection.objects.filter(program=program)
        .select_related("organization")
        .annotate(course_count=Count("items"))
        .order_by(F("organization__path").asc(nulls_first=True), "name")
    )
