"""Reads for the programs app."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import F, Prefetch, Q, QuerySet

from learnhub.roles import is_ld_admin
from programs.models import PATH_SEPARATOR, Collection, CollectionItem, LearningProgram

if TYPE_CHECKING:
    from learnhub.roles import AnyUser


def collections_visible(*, program: LearningProgram, user: AnyUser) -> QuerySet[Collection]:
    """The collections of `program` a person browses, each with its items (and their
    courses) in order: the company-wide collections, then those of the person's home
    organization and of every organization above it (a team sees its org's collections).
    L&D admins see every collection of the program."""
    items = Prefetch("items", queryset=CollectionItem.objects.select_related("course").order_by("position", "id"))
    collections = (
        Collection.objects.filter(program=program)
        .select_related("organization")
        .prefetch_related(items)
        .order_by(F("organization__path").asc(nulls_first=True), "name")
    )
    if is_ld_admin(user):
        return collections
    visible = Q(organization__isnull=True)
    org = getattr(user, "organization", None)
    if org is not None:
        parts = org.path.split(PATH_SEPARATOR)
        visible |= Q(organization__path__in=[PATH_SEPARATOR.join(parts[: i + 1]) for i in range(len(parts))])
    return collections.filter(visible)
