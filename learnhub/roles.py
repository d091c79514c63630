"""Who may do what: the one place every view, command and API asks.

Roles:
- L&D admin: holds the `programs.administer_learning` permission (usually through the
  "L&D admins" group; superusers hold every permission).
- Executive sponsor / learning champion: a confirmed appointment for an organization in
  a program. An appointment covers that organization and every team below it.
- Employee: everyone signed in.

Access: a person keeps access (sessions, sign-in, API tokens) while their account is
active and they have not departed (departure on or before today, company time zone).

Privacy: a person's own completions are visible to themselves, to the champions and
sponsor of their organization in that program, and to L&D admins. Everyone else sees
aggregates only.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser, Group, Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from champions.models import ExecutiveSponsor, LearnerStory, LearningChampion, StudyGroup
from programs.models import (
    ApiToken,
    ApiTokenScope,
    Collection,
    Employee,
    LearningProgram,
    Organization,
    ProgramStatus,
    subtree_q,
)

if TYPE_CHECKING:
    AnyUser = Employee | AnonymousUser

LD_ADMIN_PERMISSION = "programs.administer_learning"
LD_ADMIN_GROUP = "L&D admins"


def has_access(employee: Employee, *, day: dt.date | None = None) -> bool:
    """Whether `employee` may use LearnHub at all on `day` (default today, company time
    zone): an active account of someone who has not departed on or before that day.
    Sign-in, every request of an open session and every API token ask this."""
    return employee.is_active and not employee.has_departed(day or timezone.localdate())


def can_provision_scim(token: ApiToken | None) -> bool:
    """SCIM provisioning: a live token of the SCIM scope whose creator is still an L&D
    admin with access (`api_token_find` already refused revoked tokens and departed
    creators). No other token and no session may use /scim/v2/."""
    return token is not None and token.scope == ApiTokenScope.SCIM and is_ld_admin(token.created_by)


def is_ld_admin(user: AnyUser) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_perm(LD_ADMIN_PERMISSION))


def ld_admin_group() -> Group:
    """The "L&D admins" group: the admin permission plus full use of the Django admin
    for LearnHub's own models, and a read-only look at groups (which hand out rights, so
    only superusers change them). Created on first use, kept in step on each call."""
    group, _ = Group.objects.get_or_create(name=LD_ADMIN_GROUP)
    perms = Permission.objects.filter(
        content_type__app_label__in=["programs", "champions", "reports"]
    ) | Permission.objects.filter(content_type__app_label="auth", codename="view_group")
    group.permissions.set(perms)
    return group


def ld_admin_grant(*, employee: Employee) -> None:
    """Make `employee` an L&D admin: the group, and staff status for the Django admin."""
    employee.groups.add(ld_admin_group())
    if not employee.is_staff:
        employee.is_staff = True
        employee.save(update_fields=["is_staff"])


def ld_admin_revoke(*, employee: Employee) -> None:
    """Take the L&D admin role away: out of the "L&D admins" group, the admin permission
    if it was given directly, and staff status. A superuser keeps every permission (and so
    the role) until the superuser flag itself is removed."""
    employee.groups.remove(*Group.objects.filter(name=LD_ADMIN_GROUP))
    employee.user_permissions.remove(
        *Permission.objects.filter(content_type__app_label="programs", codename="administer_learning")
    )
    if employee.is_staff and not employee.is_superuser:
        employee.is_staff = False
        employee.save(update_fields=["is_staff"])


def programs_visible(user: AnyUser) -> QuerySet[LearningProgram]:
    """The programs `user` may see and pick: every one for L&D admins; active and closed
    ones for everyone else (a draft, such as next year's clone, is the admins' work in
    progress). Every program picker, the API and the collections import ask this."""
    programs = LearningProgram.objects.all()
    return programs if is_ld_admin(user) else programs.published()


def current_program(user: AnyUser | None = None) -> LearningProgram | None:
    """The program pages show by default: the active one that started last, else the
    most recent program `user` sees (`programs_visible`; without a user: an active or
    closed one), by `current_program_in`. One query."""
    programs = LearningProgram.objects.published() if user is None else programs_visible(user)
    return current_program_in(list(programs))


def current_program_in(programs: Sequence[LearningProgram]) -> LearningProgram | None:
    """`current_program` among `programs`, all of them in the model's order (latest
    start first): the first active one, else the first one."""
    return next((p for p in programs if p.status == ProgramStatus.ACTIVE), programs[0] if programs else None)


def request_program(request: HttpRequest) -> LearningProgram | None:
    """`current_program`, read once per request: the page and its navigation ask it."""
    if not hasattr(request, "_current_program"):
        request._current_program = current_program(request.user)  # type: ignore[attr-defined]
    return request._current_program  # type: ignore[attr-defined]


def request_program_set(request: HttpRequest, program: LearningProgram | None) -> None:
    """Record the current program found by a page that read every program anyway."""
    request._current_program = program  # type: ignore[attr-defined]


def _held(model: type[ExecutiveSponsor] | type[LearningChampion]) -> QuerySet:
    """Appointments that grant their role today: confirmed, and the employee still here."""
    return model.objects.held(timezone.localdate())


def _covering(org: Organization) -> Q:
    """Appointments whose organization is `org` or one of its ancestors."""
    return Q(organization__path__in=org.ancestor_paths())


def sponsored_organizations(user: AnyUser, program: LearningProgram) -> QuerySet[Organization]:
    """The organizations whose sponsor appointment `user` holds in `program` today."""
    if not user.is_authenticated or user.has_departed(timezone.localdate()):  # `_held`: nothing once left
        return Organization.objects.none()
    return Organization.objects.filter(
        executivesponsors__program=program, executivesponsors__employee=user, executivesponsors__is_confirmed=True
    )


def championed_organizations(user: AnyUser, program: LearningProgram) -> QuerySet[Organization]:
    """The organizations whose champion appointment `user` holds in `program` today."""
    if not user.is_authenticated or user.has_departed(timezone.localdate()):  # `_held`: nothing once left
        return Organization.objects.none()
    return Organization.objects.filter(
        learningchampions__program=program, learningchampions__employee=user, learningchampions__is_confirmed=True
    )


def is_sponsor_of(user: AnyUser, program: LearningProgram, org: Organization) -> bool:
    """Sponsor of `org` or of an organization above it, in `program`."""
    return (
        user.is_authenticated
        and _held(ExecutiveSponsor).filter(_covering(org), program=program, employee=user).exists()
    )


def is_champion_of(user: AnyUser, program: LearningProgram, org: Organization) -> bool:
    """Champion of `org` or of an organization above it, in `program`."""
    return (
        user.is_authenticated
        and _held(LearningChampion).filter(_covering(org), program=program, employee=user).exists()
    )


def can_see_people_of(user: AnyUser, program: LearningProgram, org: Organization) -> bool:
    """Individual progress of an organization's people: its champions and sponsor (or
    those of an organization above it) and L&D admins."""
    return is_ld_admin(user) or is_sponsor_of(user, program, org) or is_champion_of(user, program, org)


def can_preview_messages_of(user: AnyUser, program: LearningProgram, org: Organization) -> bool:
    """Previews of the nudges and digests of an organization's people (and a test sent to
    oneself): its champions (or those of an organization above it) and L&D admins."""
    return is_ld_admin(user) or is_champion_of(user, program, org)


def can_view_person(viewer: AnyUser, person: Employee, program: LearningProgram) -> bool:
    if not viewer.is_authenticated:
        return False
    if viewer.pk == person.pk or is_ld_admin(viewer):
        return True
    return person.organization is not None and can_see_people_of(viewer, program, person.organization)


def people_scope(user: AnyUser, program: LearningProgram) -> list[Organization] | None:
    """Whose individual progress `user` may list or export in `program`: None for L&D
    admins (everyone), else the organizations they champion or sponsor (and, through
    `can_see_people_of`, the teams below them); an empty list for anyone else."""
    if is_ld_admin(user):
        return None
    return list(
        (sponsored_organizations(user, program) | championed_organizations(user, program)).distinct().order_by("path")
    )


def team_of(user: AnyUser) -> QuerySet[Employee]:
    """The people a line manager sees and may nudge: their direct and indirect reports on
    the roster (`manager`), nobody else. Empty for anyone who manages no one."""
    if not isinstance(user, Employee):
        return Employee.objects.none()
    return Employee.objects.reports_of(user.pk)


# --- Study groups, updates, the network, collections ----------------------------------------


def study_groups_visible_q(user: AnyUser, program: LearningProgram) -> Q | None:
    """The study groups `user` sees in `program`, as a filter on StudyGroup (None: every
    group, for L&D admins): company-wide groups, groups open to everyone, groups of their
    own organization and of the organizations above it, and groups of the organizations
    they champion or sponsor (and below). A closed group is hidden from everyone else."""
    if is_ld_admin(user):
        return None
    visible = Q(organization__isnull=True) | Q(is_open=True)
    own = getattr(user, "organization", None)
    if own is not None:
        visible |= Q(organization__path__in=own.ancestor_paths())
    for org in [*championed_organizations(user, program), *sponsored_organizations(user, program)]:
        visible |= subtree_q(org, prefix="organization__")
    return visible


def can_see_closed_study_groups_of(user: AnyUser, program: LearningProgram, org: Organization) -> bool:
    """`study_groups_visible_q` for the closed groups of one organization: its people (home
    organization `org` or below), its champions and sponsors (or those above it) and L&D
    admins see them."""
    own = getattr(user, "organization", None)
    return (own is not None and org.path in own.ancestor_paths()) or can_see_people_of(user, program, org)


def can_manage_study_group(user: AnyUser, group: StudyGroup) -> bool:
    """Champions of the group's organization (or above) and L&D admins run a group (its
    details, sessions, attendance); company-wide groups are run by L&D admins."""
    if is_ld_admin(user):
        return True
    return group.organization is not None and is_champion_of(user, group.program, group.organization)


def study_group_organizations(user: AnyUser, program: LearningProgram) -> QuerySet[Organization]:
    """The organizations `user` may create study groups for: those they champion and the
    teams below (L&D admins: every organization)."""
    if is_ld_admin(user):
        return Organization.objects.order_by("path")
    below = Q(pk__in=[])
    for org in championed_organizations(user, program):
        below |= subtree_q(org)
    return Organization.objects.filter(below).order_by("path")


def update_organizations(user: AnyUser, program: LearningProgram) -> QuerySet[Organization]:
    """The organizations `user` may post progress updates to: those they champion or
    sponsor (L&D admins: every organization)."""
    if is_ld_admin(user):
        return Organization.objects.order_by("path")
    return (
        (championed_organizations(user, program) | sponsored_organizations(user, program)).distinct().order_by("path")
    )


def can_mark_for_all_hands(user: AnyUser, program: LearningProgram, organization: Organization | None = None) -> bool:
    """Whether `user` may mark an update of `organization` for the All Hands: its sponsor
    (or one above it) and L&D admins. Without `organization`: for any organization."""
    if is_ld_admin(user):
        return True
    if organization is None:
        return sponsored_organizations(user, program).exists()
    return is_sponsor_of(user, program, organization)


def in_network(user: AnyUser, program: LearningProgram) -> bool:
    """The champions' network is read by the program's champions and sponsors and by L&D admins."""
    if not user.is_authenticated:
        return False
    return (
        is_ld_admin(user)
        or championed_organizations(user, program).exists()
        or sponsored_organizations(user, program).exists()
    )


def can_post_practice(user: AnyUser, program: LearningProgram) -> bool:
    """Champions and L&D admins post to the network's board of practices."""
    return is_ld_admin(user) or championed_organizations(user, program).exists()


def can_review_collection(user: AnyUser, collection: Collection) -> bool:
    """The sponsor of a collection's organization (or of one above it) approves it or
    requests changes; company-wide collections have no sponsor review."""
    return collection.organization is not None and is_sponsor_of(user, collection.program, collection.organization)


def can_submit_collection(user: AnyUser, collection: Collection) -> bool:
    """L&D admins submit an organization's collection to its sponsor, and resubmit it
    after the changes the sponsor asked for."""
    return collection.organization is not None and is_ld_admin(user)


def collection_reviewers(collection: Collection) -> QuerySet[Employee]:
    """The people `can_review_collection` lets review it today: the sponsors of its
    organization and of the organizations above it (none for a company-wide collection)."""
    if collection.organization is None:
        return Employee.objects.none()
    sponsors = _held(ExecutiveSponsor).filter(_covering(collection.organization), program=collection.program)
    return Employee.objects.filter(pk__in=sponsors.values("employee_id")).order_by("pk")


def ld_admins() -> QuerySet[Employee]:
    """Everyone who holds the L&D admin role today (`is_ld_admin`, `has_access`)."""
    app_label, codename = LD_ADMIN_PERMISSION.split(".")
    permission = Q(content_type__app_label=app_label, codename=codename)
    holders = (
        Q(is_superuser=True)
        | Q(groups__permissions__in=Permission.objects.filter(permission))
        | Q(user_permissions__in=Permission.objects.filter(permission))
    )
    admins = Employee.objects.filter(holders, is_active=True).values("pk")
    return Employee.objects.filter(pk__in=admins).not_departed(timezone.localdate()).order_by("pk")


# --- Learner stories ------------------------------------------------------------------------


def can_moderate_story(user: AnyUser, story: LearnerStory) -> bool:
    """A champion of the learner's organization (or of one above it) or an L&D admin
    approves or declines a story before it is shown; nobody moderates their own story."""
    if not user.is_authenticated or user.pk == story.employee_id:
        return False
    if is_ld_admin(user):
        return True
    author_org = story.employee.organization
    return author_org is not None and is_champion_of(user, story.program, author_org)


def moderates_stories(user: AnyUser, program: LearningProgram) -> bool:
    """Champions of `program` and L&D admins have stories to approve."""
    return is_ld_admin(user) or championed_organizations(user, program).exists()


def story_moderation_scope(user: AnyUser, program: LearningProgram) -> Q | None:
    """The stories `user` moderates in `program`, as a filter on LearnerStory (None: all,
    for L&D admins): those of the people of the organizations they champion and below.
    Their own stories are excluded by the caller's filter (`can_moderate_story`)."""
    if is_ld_admin(user):
        return None
    scope = Q(pk__in=[])
    for org in championed_organizations(user, program):
        scope |= subtree_q(org, prefix="employee__organization__")
    return scope


@dataclass(frozen=True)
class Roles:
    """Everything navigation needs to know about one person in one program."""

    is_ld_admin: bool = False
    sponsor_of: list[Organization] = field(default_factory=list)
    champion_of: list[Organization] = field(default_factory=list)

    @property
    def is_sponsor(self) -> bool:
        return bool(self.sponsor_of)

    @property
    def is_champion(self) -> bool:
        return bool(self.champion_of)


def roles_for(user: AnyUser, program: LearningProgram | None) -> Roles:
    if not user.is_authenticated:
        return Roles()
    if program is None:
        return Roles(is_ld_admin=is_ld_admin(user))
    return Roles(
        is_ld_admin=is_ld_admin(user),
        sponsor_of=list(sponsored_organizations(user, program)),
        champion_of=list(championed_organizations(user, program)),
    )


def ld_admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Signed-out people go to the sign-in page; signed-in people without the role get 403."""

    @login_required
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_ld_admin(request.user):
            raise PermissionDenied(_("This page is for L&D admins."))
        return view(request, *args, **kwargs)

    return wrapper


__all__ = [
    "LD_ADMIN_GROUP",
    "LD_ADMIN_PERMISSION",
    "Roles",
    "can_manage_study_group",
    "can_mark_for_all_hands",
    "can_moderate_story",
    "can_post_practice",
    "can_provision_scim",
    "can_review_collection",
    "can_see_closed_study_groups_of",
    "can_see_people_of",
    "can_submit_collection",
    "can_view_person",
    "championed_organizations",
    "collection_reviewers",
    "current_program",
    "current_program_in",
    "has_access",
    "in_network",
    "is_champion_of",
    "is_ld_admin",
    "is_sponsor_of",
    "ld_admin_grant",
    "ld_admin_group",
    "ld_admin_required",
    "ld_admin_revoke",
    "ld_admins",
    "moderates_stories",
    "people_scope",
    "programs_visible",
    "request_program",
    "request_program_set",
    "roles_for",
    "sponsored_organizations",
    "story_moderation_scope",
    "study_group_organizations",
    "study_groups_visible_q",
    "team_of",
    "update_organizations",
]
