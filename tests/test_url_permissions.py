"""The permission walk (issue 5): every URL of the app, with every persona, is either
allowed or refused exactly as EXPECTATIONS says, and a refused request changes nothing.

How it works:
- `test_every_url_of_the_app_is_in_the_table` walks the project's URL resolver and fails
  when a URL exists that the table does not name (a new page cannot skip the walk) or the
  table names a URL that no longer exists. Only the Django admin (tests/test_admin.py),
  allauth's account pages (tests/test_auth.py), the API (its own tests) and static files
  are left out.
- `test_permission_walk` runs each case of the table with each persona (anonymous, an
  employee of Acme/Engineering, an employee of Acme/Sales, the champion and the sponsor
  of Acme/Engineering, an L&D admin) against one object of each kind in Engineering and
  in Sales, and checks the status. Every GET, and every refused request (sign-in
  redirect, 400, 401, 403, 404, 405, or a form that refused the input), must leave every
  LearnHub row (apps programs, champions, reports) exactly as it was.

Outcomes: an int is the exact status code; LOGIN is a redirect to the sign-in page;
DONE is a redirect anywhere else (a write that succeeded, or a page that forwards).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.shortcuts import resolve_url
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from champions.models import (
    ExecutiveSponsor,
    LearnerStory,
    LearningChampion,
    ProgressUpdate,
    StudyGroup,
    StudyGroupMembership,
    StudySession,
)
from programs.models import (
    Collection,
    CollectionItem,
    Course,
    Employee,
    ImportJob,
    LearnerAlias,
    LearnerDismissal,
    ProviderConnection,
    SyncRun,
    UnmatchedRecord,
)
from reports.kept import figures_keep
from reports.messaging.settings import settings_for
from reports.messaging.unsubscribe import unsubscribe_token
from tests.conftest import Personas, personas_create
from tests.factories import (
    ChampionFactory,
    CollectionFactory,
    CollectionItemFactory,
    ConnectionFactory,
    CourseFactory,
    EmployeeFactory,
    SponsorFactory,
    StudyGroupFactory,
    StudySessionFactory,
)

pytestmark = pytest.mark.django_db

# --- Personas and outcomes ------------------------------------------------------------------

ANONYMOUS, EMPLOYEE, OUTSIDER, CHAMPION, SPONSOR, ADMIN = (
    "anonymous",
    "employee",
    "outsider",
    "champion",
    "sponsor",
    "admin",
)
PERSONAS = (ANONYMOUS, EMPLOYEE, OUTSIDER, CHAMPION, SPONSOR, ADMIN)
SIGNED_IN = PERSONAS[1:]

LOGIN = "redirect to sign-in"
DONE = "redirect (done)"
Outcome = int | str

# URL prefixes the walk leaves to other tests (see the module docstring).
SKIPPED_PREFIXES = ("admin/", "accounts/", "api/", "static/", "media/")


def outcomes(default: Outcome, *, anonymous: Outcome = LOGIN, **overrides: Outcome) -> dict[str, Outcome]:
    """Outcome per persona: `default` for every signed-in persona unless overridden."""
    unknown = set(overrides) - set(SIGNED_IN)
    assert not unknown, f"unknown personas {unknown}"
    table: dict[str, Outcome] = {ANONYMOUS: anonymous}
    for persona in SIGNED_IN:
        table[persona] = overrides.get(persona, default)
    return table


def admin_only(allowed: Outcome) -> dict[str, Outcome]:
    return outcomes(403, admin=allowed)


# --- The world: one object of each kind in Acme/Engineering (A) and Acme/Sales (B) ----------


@dataclass
class World:
    p: Personas
    course_a: Course
    course_b: Course
    collection_a: Collection
    collection_b: Collection
    item_a: CollectionItem
    group_a: StudyGroup
    group_b: StudyGroup
    session_a: StudySession
    session_b: StudySession
    story_a: LearnerStory
    story_b: LearnerStory
    update_a: ProgressUpdate
    update_b: ProgressUpdate
    connection: ProviderConnection
    run: SyncRun
    sponsorship_a: ExecutiveSponsor
    sponsorship_b: ExecutiveSponsor
    proposal_b: LearningChampion
    sales_champion: Employee
    import_job: ImportJob
    xapi_connection: ProviderConnection
    alias: LearnerAlias
    dismissal: LearnerDismissal
    unsubscribe_token: str = field(default="")


def world_create(p: Personas) -> World:
    sales_champion = EmployeeFactory(email="dana@acme.example", full_name="Dana Deals", organization=p.sales)
    sales_sponsor = EmployeeFactory(email="vic@acme.example", full_name="Vic Sales", organization=p.sales)
    ChampionFactory(program=p.program, organization=p.sales, employee=sales_champion)
    sponsorship_b = SponsorFactory(program=p.program, organization=p.sales, employee=sales_sponsor)
    proposal_b = ChampionFactory(program=p.program, organization=p.sales, employee=p.outsider, is_confirmed=False)
    course_a = CourseFactory(provider_course_id="ML101", title="Machine Learning")
    course_b = CourseFactory(provider_course_id="NEG1", title="Negotiation")
    collection_a = CollectionFactory(
        program=p.program, organization=p.engineering, name="Engineering essentials", approval_status="pending"
    )
    collection_b = CollectionFactory(program=p.program, organization=p.sales, name="Sales craft")
    item_a = CollectionItemFactory(collection=collection_a, course=course_a, position=1)
    CollectionItemFactory(collection=collection_a, course=course_b, position=2)
    CollectionItemFactory(collection=collection_b, course=course_b, position=1)
    group_a = StudyGroupFactory(
        program=p.program, organization=p.engineering, champion=p.champion, name="ML circle", is_open=False
    )
    group_b = StudyGroupFactory(
        program=p.program, organization=p.sales, champion=sales_champion, name="Deal clinic", is_open=False
    )
    StudyGroupMembership.objects.create(group=group_a, employee=p.employee)
    StudyGroupMembership.objects.create(group=group_b, employee=p.outsider)
    session_a = StudySessionFactory(group=group_a, topic="Week 1")
    session_b = StudySessionFactory(group=group_b, topic="Pipeline review")
    story_a = LearnerStory.objects.create(
        program=p.program, employee=p.employee, title="Bob's model", body="Shipped it.", consent_to_share=True
    )
    story_b = LearnerStory.objects.create(
        program=p.program, employee=p.outsider, title="Charlie's deal", body="Private.", consent_to_share=False
    )
    update_a = ProgressUpdate.objects.create(
        program=p.program, organization=p.engineering, author=p.champion, title="Eng at 40%", body="Go on."
    )
    update_b = ProgressUpdate.objects.create(
        program=p.program, organization=p.sales, author=sales_champion, title="Sales at 20%", body="Push."
    )
    connection = ConnectionFactory(name="coursera", kind="coursera")
    run = SyncRun.objects.create(
        connection=connection, source="csv", status="succeeded", fetched=1, created=1, finished_at=timezone.now()
    )
    learners = ConnectionFactory(name="udemy", kind="udemy")
    for key in ("V1", "V2"):  # two provider learners not on the roster: one to link, one to dismiss
        UnmatchedRecord.objects.create(
            connection=learners, learner_key=key, external_id=key, provider_course_id="ML101"
        )
    # The message-settings page creates the row with the defaults on its first GET
    # (reports.messaging.settings_for): reported; here it exists, as after first use.
    settings_for(program=p.program)
    # A read keeps today's figures when they are stale (reports.kept): here they are kept,
    # as after the keep task that follows every change, so a GET finds them fresh.
    figures_keep(program=p.program)
    return World(
        p=p,
        course_a=course_a,
        course_b=course_b,
        collection_a=collection_a,
        collection_b=collection_b,
        item_a=item_a,
        group_a=group_a,
        group_b=group_b,
        session_a=session_a,
        session_b=session_b,
        story_a=story_a,
        story_b=story_b,
        update_a=update_a,
        update_b=update_b,
        connection=connection,
        run=run,
        sponsorship_a=ExecutiveSponsor.objects.get(program=p.program, employee=p.sponsor),
        sponsorship_b=sponsorship_b,
        proposal_b=proposal_b,
        sales_champion=sales_champion,
        import_job=ImportJob.objects.create(
            kind="roster", file_name="roster.csv", status="succeeded", rows_total=1, rows_done=1, created_by=p.admin
        ),
        xapi_connection=ConnectionFactory(name="lrs", kind="xapi", client_id="lrs-client", client_secret="lrs-s3cret"),
        alias=LearnerAlias.objects.create(provider="coursera", learner_key="V3", employee=p.employee),
        dismissal=LearnerDismissal.objects.create(provider="coursera", learner_key="V4"),
        unsubscribe_token=unsubscribe_token(employee=p.employee, kind="nudge"),
    )


@pytest.fixture(scope="module")
def _world_of_the_module(django_db_setup, django_db_blocker) -> Iterator[World]:
    """The world, built once for the module inside a transaction that is rolled back when
    the module ends; each case runs in a savepoint of it (pytest-django's `db`), so what a
    case writes is undone before the next one."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
            built = world_create(personas_create())
    yield built
    with django_db_blocker.unblock():
        transaction.set_rollback(True)
        outer.__exit__(None, None, None)


@pytest.fixture
def world(db, _world_of_the_module: World) -> World:
    return _world_of_the_module


# --- Payloads (valid, so an allowed write succeeds and a refusal is the view's doing) ------

ROSTER_CSV = (
    "email,full_name,external_id,organization,title,manager_email,hired_on,departed_on\n"
    "erin@acme.example,Erin Engineer,E90001,Acme/Engineering,,,2024-03-01,\n"
)
COLLECTIONS_CSV = (
    "collection,organization,provider,course_id,course_title,position\n"
    "Data basics,Acme/Engineering,coursera,PY101,Python for Everybody,1\n"
)
COURSERA_CSV = (
    "Name,Email,External ID,Course,Course ID,Completed,Completion Time\n"
    "Bob,bob@acme.example,,Leading People,LEAD1,Yes,2026-02-01T10:00:00.000Z\n"
)


def _local(days: int, hour: int) -> str:
    day = timezone.localtime() + dt.timedelta(days=days)
    return day.replace(hour=hour, minute=0).strftime("%Y-%m-%dT%H:%M")


def group_data(org_attr: str) -> Callable[[World], dict[str, Any]]:
    collection_attr = "collection_a" if org_attr == "engineering" else "collection_b"
    return lambda w: {
        "organization": getattr(w.p, org_attr).pk,
        "name": "Renamed group",
        "description": "Weekly",
        "collection": getattr(w, collection_attr).pk,
    }


def session_data(w: World) -> dict[str, Any]:
    return {"starts_at": _local(10, 17), "ends_at": _local(10, 18), "topic": "Week 2", "location": "Room 4"}


def story_data(w: World) -> dict[str, Any]:
    return {"title": "What I built", "body": "A dashboard.", "consent_to_share": "on"}


def program_data(w: World) -> dict[str, Any]:
    return {
        "name": "Learning Program 2027",
        "starts_on": "2027-01-01",
        "ends_on": "2027-12-31",
        "target_percent": "90",
        "required_completions": "1",
    }


def collection_data(w: World) -> dict[str, Any]:
    return {"name": "Platform path", "organization": w.p.engineering.pk, "needs": "Cloud", "launch_video_url": ""}


def message_settings_data(w: World) -> dict[str, Any]:
    return {
        "digest_enabled": "on",
        "nudges_enabled": "on",
        "nudge_interval_days": "7",
        "escalate_after_nudges": "3",
        "escalate_after_weeks_behind": "3",
        "digest_weekday": "1",
        "digest_hour": "9",
        "nudge_hour": "10",
        "leaderboard_hour": "9",
        "company_webhook_kind": "slack",
        "company_webhook_url": "",
    }


def connection_data(w: World) -> dict[str, Any]:
    return {
        "kind": "udemy",
        "name": "Udemy Business",
        "base_url": "https://acme.udemy.com/api-2.0/",
        "org_id": "4242",
        "client_id": "udemy-client",
        "client_secret": "udemy-s3cret",
        "interval_minutes": "360",
    }


def upload(name: str, text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


# --- The table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One request: URL `name` (or "/path" of an unnamed URL) with `kwargs`, `method`,
    `data` and the outcome per persona. An allowed POST must change the database, except
    for the personas in `idempotent` (e.g. joining a group one is already in). `unchanged`
    names the personas whose POST gets past the access check but must be refused by the
    form (e.g. another organization's people): the nothing-changed check applies to them."""

    name: str
    method: str
    expect: dict[str, Outcome]
    kwargs: Callable[[World], dict[str, Any]] = lambda w: {}
    data: Callable[[World], dict[str, Any]] = lambda w: {}
    query: str = ""
    label: str = ""
    unchanged: tuple[str, ...] = ()
    idempotent: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.method} {self.name}{' ' + self.label if self.label else ''}"


def get(name: str, expect: dict[str, Outcome], **more: Any) -> Case:
    return Case(name=name, method="GET", expect=expect, **more)


def post(name: str, expect: dict[str, Outcome], **more: Any) -> Case:
    return Case(name=name, method="POST", expect=expect, **more)


def post_only(name: str, expect: dict[str, Outcome], **more: Any) -> list[Case]:
    """A POST-only URL of a signed-in page: the POST as `expect` says; a GET is refused
    with 405 before any object or role check (login_required, then require_POST)."""
    return [post(name, expect, **more), get(name, outcomes(405), **more)]


def admin_post_only(name: str, **more: Any) -> list[Case]:
    """A POST-only L&D admin URL: ld_admin_required runs first, so only the admin's GET
    reaches require_POST (405)."""
    return [post(name, admin_only(DONE), **more), get(name, admin_only(405), **more)]


def admin_page(name: str, **more: Any) -> Case:
    return get(name, admin_only(200), **more)


def admin_form(name: str, on_post: Outcome, data: Callable[[World], dict[str, Any]], **more: Any) -> list[Case]:
    return [admin_page(name, **more), post(name, admin_only(on_post), data=data, **more)]


def pk(attr: str, key: str = "pk") -> Callable[[World], dict[str, Any]]:
    """kwargs {key: world.<attr>.pk}; attr may be dotted (p.engineering)."""

    def build(w: World) -> dict[str, Any]:
        obj: Any = w
        for part in attr.split("."):
            obj = getattr(obj, part)
        return {key: obj.pk}

    return build


ALL_SIGNED_IN = outcomes(200)
GROUP_A_VISIBLE = outcomes(200, outsider=404)  # closed Engineering group: hidden from Sales
GROUP_B_VISIBLE = outcomes(404, outsider=200, admin=200)  # closed Sales group
GROUP_A_MANAGERS = outcomes(403, champion=200, admin=200)
GROUP_B_MANAGERS = admin_only(200)
PEOPLE_OF_A = outcomes(403, champion=200, sponsor=200, admin=200)
PEOPLE_OF_B = admin_only(200)

EXPECTATIONS: list[Case] = [
    # --- Site ---
    get("/favicon.ico", outcomes(301, anonymous=301)),
    # --- programs: employee pages ---
    get("home", ALL_SIGNED_IN),
    # The footer's language form: anyone, signed in or not (a cookie; a person's saved choice).
    post(
        "language",
        outcomes(DONE, anonymous=DONE),
        data=lambda w: {"language": "de", "next": "/"},
        idempotent=(ANONYMOUS,),  # a visitor's choice is a cookie only
    ),
    get("language", outcomes(405, anonymous=405)),
    # --- programs: L&D admin pages (imports, roster, providers) ---
    admin_page("programs:collections_import"),
    post(
        "programs:collections_import",
        admin_only(200),
        data=lambda w: {"program": w.p.program.pk, "file": upload("collections.csv", COLLECTIONS_CSV)},
    ),
    admin_page("programs:roster"),
    admin_page("programs:roster_import"),
    # A valid file is stored with a queued import job (its task is queued after a commit that never comes).
    post("programs:roster_import", admin_only(DONE), data=lambda w: {"file": upload("roster.csv", ROSTER_CSV)}),
    admin_page("programs:import_job", kwargs=pk("import_job")),
    # The role is checked first, so only an L&D admin learns that there is no such job.
    get("programs:import_job", admin_only(404), kwargs=lambda w: {"pk": w.import_job.pk + 1}, label="no such job"),
    get("programs:import_job_progress", admin_only(200), kwargs=pk("import_job")),
    get("programs:import_job_errors", admin_only(200), kwargs=pk("import_job")),
    admin_page("programs:providers:connections"),
    *admin_form("programs:providers:new", DONE, connection_data),
    get("programs:providers:new", admin_only(200), query="kind=udemy", label="the fields of a kind"),
    *admin_form(
        "programs:providers:edit",
        DONE,
        lambda w: {
            "name": "Coursera",
            "base_url": "https://api.coursera.org/api/",
            "token_url": "https://api.coursera.org/oauth2/client_credentials/token",
            "org_id": "acme",
            "program_ids": "P1 P2",
            "client_id": "coursera-client",
            "client_secret": "coursera-s3cret",
            "interval_minutes": "720",
        },
        kwargs=pk("connection"),
    ),
    *admin_post_only("programs:providers:active", kwargs=pk("connection"), data=lambda w: {"action": "pause"}),
    # The connection has no API settings: the test says what is missing, asks nothing and writes nothing.
    *admin_post_only("programs:providers:test", kwargs=pk("connection"), idempotent=(ADMIN,)),
    *admin_form("programs:providers:remove", DONE, lambda w: {}, kwargs=pk("connection")),
    admin_page("programs:providers:unmatched"),
    # Queued after commit: the test's transaction never commits, so nothing runs here.
    *admin_post_only("programs:providers:unmatched_rematch", idempotent=(ADMIN,)),
    post(
        "programs:providers:unmatched",
        admin_only(DONE),
        data=lambda w: {"provider": "udemy", "learner_key": "V1", "email": w.p.employee.email},
        label="link a learner",
    ),
    *admin_post_only("programs:providers:learner_dismiss", data=lambda w: {"provider": "udemy", "learner_key": "V2"}),
    *admin_post_only("programs:providers:learner_restore", kwargs=pk("dismissal")),
    *admin_post_only("programs:providers:learner_unlink", kwargs=pk("alias")),
    admin_page("programs:providers:invalid"),
    admin_page("programs:providers:detail", kwargs=pk("connection")),
    # The connection has no API credentials: "Sync now" explains that and queues nothing.
    *admin_post_only("programs:providers:sync", kwargs=pk("connection"), idempotent=(ADMIN,)),
    admin_page("programs:providers:upload", kwargs=pk("connection")),
    post(
        "programs:providers:upload",
        admin_only(DONE),
        kwargs=pk("connection"),
        data=lambda w: {"file": upload("CourseActivity.csv", COURSERA_CSV)},
    ),
    # --- programs: the L&D admin area (/manage/) ---
    admin_page("manage:home"),
    admin_page("manage:programs"),
    *admin_form("manage:program_new", DONE, program_data),
    admin_page("manage:program", kwargs=pk("p.program")),
    *admin_form(
        "manage:program_edit",
        DONE,
        lambda w: {
            **program_data(w),
            "name": "Learning Program 2026",
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
            "target_percent": "85",
        },
        kwargs=pk("p.program"),
    ),
    # Already active: the admin is told so, nothing changes.
    *admin_post_only("manage:program_activate", kwargs=pk("p.program"), idempotent=(ADMIN,)),
    *admin_form("manage:program_close", DONE, lambda w: {"reason": "Year over"}, kwargs=pk("p.program")),
    *admin_form("manage:program_clone", DONE, program_data, kwargs=pk("p.program")),
    admin_page("manage:collections", kwargs=pk("p.program")),
    *admin_form("manage:collection_new", DONE, collection_data, kwargs=pk("p.program")),
    *admin_form(
        "manage:appointments",
        DONE,
        lambda w: {"role": "champion", "organization": w.p.sales.pk, "email": "vic@acme.example"},
        kwargs=pk("p.program"),
    ),
    *admin_post_only(
        "manage:appointment_confirm",
        kwargs=lambda w: {"pk": w.p.program.pk, "role": "champion", "appointment_pk": w.proposal_b.pk},
    ),
    *admin_post_only("manage:appointments_confirm_all", kwargs=lambda w: {"pk": w.p.program.pk}),
    *admin_post_only(
        "manage:appointment_remove",
        kwargs=lambda w: {"pk": w.p.program.pk, "role": "champion", "appointment_pk": w.proposal_b.pk},
    ),
    get("manage:appointments_current", admin_only(DONE)),
    admin_page("manage:collection", kwargs=pk("collection_a")),
    *admin_form("manage:collection_edit", DONE, collection_data, kwargs=pk("collection_a")),
    *admin_post_only("manage:collection_submit", kwargs=pk("collection_b")),
    *admin_post_only(
        "manage:collection_add",
        kwargs=pk("collection_b"),
        data=lambda w: {"course": w.course_a.pk},
    ),
    *admin_post_only(
        "manage:collection_remove",
        kwargs=lambda w: {"pk": w.collection_a.pk, "item_pk": w.item_a.pk},
    ),
    post(
        "manage:collection_remove",
        admin_only(DONE),
        kwargs=lambda w: {"pk": w.collection_b.pk, "item_pk": w.item_a.pk},
        label="item of another collection",
        unchanged=(ADMIN,),
    ),
    *admin_post_only(
        "manage:collection_move",
        kwargs=lambda w: {"pk": w.collection_a.pk, "item_pk": w.item_a.pk},
        data=lambda w: {"direction": "down"},
    ),
    # --- champions: collections and study groups ---
    get("champions:collections", ALL_SIGNED_IN),
    get("champions:groups", ALL_SIGNED_IN),
    get("champions:group_new", outcomes(403, champion=200, admin=200)),
    post("champions:group_new", outcomes(403, champion=DONE, admin=DONE), data=group_data("engineering")),
    post(
        "champions:group_new",
        outcomes(403, champion=200, admin=DONE),
        data=group_data("sales"),
        label="for another organization",
        unchanged=(CHAMPION,),
    ),
    get("champions:group", GROUP_A_VISIBLE, kwargs=pk("group_a"), label="A"),
    get("champions:group", GROUP_B_VISIBLE, kwargs=pk("group_b"), label="B"),
    get("champions:group_edit", GROUP_A_MANAGERS, kwargs=pk("group_a"), label="A"),
    post(
        "champions:group_edit",
        outcomes(403, champion=DONE, admin=DONE),
        kwargs=pk("group_a"),
        data=group_data("engineering"),
        label="A",
    ),
    get("champions:group_edit", GROUP_B_MANAGERS, kwargs=pk("group_b"), label="B"),
    post("champions:group_edit", admin_only(DONE), kwargs=pk("group_b"), data=group_data("sales"), label="B"),
    # Bob is in group A and Charlie in group B: joining again or leaving a group one is
    # not in is told so and changes nothing.
    *post_only(
        "champions:group_join", outcomes(DONE, outsider=404), kwargs=pk("group_a"), label="A", idempotent=(EMPLOYEE,)
    ),
    *post_only(
        "champions:group_join",
        outcomes(404, outsider=DONE, admin=DONE),
        kwargs=pk("group_b"),
        label="B",
        idempotent=(OUTSIDER,),
    ),
    *post_only(
        "champions:group_leave",
        outcomes(DONE, outsider=404),
        kwargs=pk("group_a"),
        label="A",
        idempotent=(CHAMPION, SPONSOR, ADMIN),
    ),
    *post_only(
        "champions:group_leave",
        outcomes(404, outsider=DONE, admin=DONE),
        kwargs=pk("group_b"),
        label="B",
        idempotent=(ADMIN,),
    ),
    get("champions:group_calendar", GROUP_A_VISIBLE, kwargs=pk("group_a"), label="A"),
    get("champions:group_calendar", GROUP_B_VISIBLE, kwargs=pk("group_b"), label="B"),
    get("champions:session_new", GROUP_A_MANAGERS, kwargs=pk("group_a", "group_pk"), label="A"),
    post(
        "champions:session_new",
        outcomes(403, champion=DONE, admin=DONE),
        kwargs=pk("group_a", "group_pk"),
        data=session_data,
        label="A",
    ),
    get("champions:session_new", GROUP_B_MANAGERS, kwargs=pk("group_b", "group_pk"), label="B"),
    post("champions:session_new", admin_only(DONE), kwargs=pk("group_b", "group_pk"), data=session_data, label="B"),
    get("champions:session_edit", GROUP_A_MANAGERS, kwargs=pk("session_a"), label="A"),
    post(
        "champions:session_edit",
        outcomes(403, champion=DONE, admin=DONE),
        kwargs=pk("session_a"),
        data=session_data,
        label="A",
    ),
    get("champions:session_edit", GROUP_B_MANAGERS, kwargs=pk("session_b"), label="B"),
    post("champions:session_edit", admin_only(DONE), kwargs=pk("session_b"), data=session_data, label="B"),
    get("champions:attendance", GROUP_A_MANAGERS, kwargs=pk("session_a"), label="A"),
    post(
        "champions:attendance",
        outcomes(403, champion=DONE, admin=DONE),
        kwargs=pk("session_a"),
        data=lambda w: {"attendees": [w.p.employee.pk]},
        label="A",
    ),
    post(
        "champions:attendance",
        outcomes(403, champion=200, admin=200),
        kwargs=pk("session_a"),
        data=lambda w: {"attendees": [w.p.outsider.pk]},
        label="A, someone of another organization",
        unchanged=(CHAMPION, ADMIN),
    ),
    get("champions:attendance", GROUP_B_MANAGERS, kwargs=pk("session_b"), label="B"),
    post(
        "champions:attendance",
        admin_only(DONE),
        kwargs=pk("session_b"),
        data=lambda w: {"attendees": [w.p.outsider.pk]},
        label="B",
    ),
    get("champions:session_calendar", GROUP_A_VISIBLE, kwargs=pk("session_a"), label="A"),
    get("champions:session_calendar", GROUP_B_VISIBLE, kwargs=pk("session_b"), label="B"),
    # --- champions: stories (only the author; anyone else gets 404: a story may be private) ---
    get("champions:my_stories", ALL_SIGNED_IN),
    post("champions:my_stories", outcomes(DONE), data=story_data),
    get("champions:story_edit", outcomes(404, employee=200), kwargs=pk("story_a"), label="A"),
    post("champions:story_edit", outcomes(404, employee=DONE), kwargs=pk("story_a"), data=story_data, label="A"),
    get("champions:story_edit", outcomes(404, outsider=200), kwargs=pk("story_b"), label="B"),
    post("champions:story_edit", outcomes(404, outsider=DONE), kwargs=pk("story_b"), data=story_data, label="B"),
    get("champions:stories_review", outcomes(403, champion=200, admin=200)),
    *post_only(
        "champions:story_moderate",
        outcomes(403, champion=DONE, admin=DONE),
        kwargs=pk("story_a"),
        data=lambda w: {"to": "approved"},
        label="A",
    ),
    *post_only(
        "champions:story_moderate",
        outcomes(403, admin=DONE),
        kwargs=pk("story_b"),
        data=lambda w: {"to": "approved"},
        label="B",
    ),
    *post_only("champions:story_withdraw", outcomes(404, employee=DONE), kwargs=pk("story_a"), label="A"),
    *post_only("champions:story_withdraw", outcomes(404, outsider=DONE), kwargs=pk("story_b"), label="B"),
    # Neither story is withdrawn: re-sharing it changes nothing.
    *post_only(
        "champions:story_reshare", outcomes(404, employee=DONE), kwargs=pk("story_a"), label="A", idempotent=(EMPLOYEE,)
    ),
    *post_only(
        "champions:story_reshare", outcomes(404, outsider=DONE), kwargs=pk("story_b"), label="B", idempotent=(OUTSIDER,)
    ),
    # --- champions: updates, not-yet lists, network, sponsor ---
    get("champions:updates", ALL_SIGNED_IN),
    get("champions:org_updates", ALL_SIGNED_IN, kwargs=pk("p.engineering", "org_pk"), label="A"),
    get("champions:org_updates", ALL_SIGNED_IN, kwargs=pk("p.sales", "org_pk"), label="B"),
    get("champions:update_new", outcomes(403, champion=200, sponsor=200, admin=200)),
    post(
        "champions:update_new",
        outcomes(403, champion=DONE, sponsor=DONE, admin=DONE),
        data=lambda w: {"organization": w.p.engineering.pk, "title": "Halfway", "body": "Keep going."},
        label="A",
    ),
    post(
        "champions:update_new",
        outcomes(403, champion=200, sponsor=200, admin=DONE),
        data=lambda w: {"organization": w.p.sales.pk, "title": "Halfway", "body": "Keep going."},
        label="B",
        unchanged=(CHAMPION, SPONSOR),
    ),
    post(
        "champions:update_new",
        outcomes(403, champion=DONE, sponsor=DONE, admin=DONE),
        data=lambda w: {
            "organization": w.p.engineering.pk,
            "title": "All Hands",
            "body": "Shout-out.",
            "for_all_hands": "on",
        },
        label="A, for the All Hands (a champion's form has no such box: posted to the org only)",
    ),
    get("champions:not_yet_index", outcomes(403, champion=DONE, sponsor=DONE, admin=200)),
    # A line manager's team: nobody in the walk's world manages anyone (tests/test_my_team.py).
    get("champions:team", outcomes(403)),
    post("champions:team", outcomes(403), data=lambda w: {"selected": [w.p.employee.pk]}),
    get("champions:not_yet", PEOPLE_OF_A, kwargs=pk("p.engineering", "org_pk"), label="A"),
    post(
        "champions:not_yet",
        outcomes(403, champion=DONE, sponsor=DONE, admin=DONE),
        kwargs=pk("p.engineering", "org_pk"),
        data=lambda w: {"selected": [w.p.employee.pk]},
        label="A",
    ),
    get("champions:not_yet", PEOPLE_OF_B, kwargs=pk("p.sales", "org_pk"), label="B"),
    post(
        "champions:not_yet",
        admin_only(DONE),
        kwargs=pk("p.sales", "org_pk"),
        data=lambda w: {"selected": [w.p.outsider.pk]},
        label="B",
    ),
    get("champions:not_yet_csv", PEOPLE_OF_A, kwargs=pk("p.engineering", "org_pk"), label="A"),
    get("champions:not_yet_csv", PEOPLE_OF_B, kwargs=pk("p.sales", "org_pk"), label="B"),
    get(
        "champions:nudge_preview",
        outcomes(403, champion=200, admin=200),
        kwargs=lambda w: {"org_pk": w.p.engineering.pk, "person_pk": w.p.employee.pk},
        label="A",
    ),
    post(
        "champions:nudge_preview",
        outcomes(403, champion=DONE, admin=DONE),
        kwargs=lambda w: {"org_pk": w.p.engineering.pk, "person_pk": w.p.employee.pk},
        label="A",
        unchanged=("champion", "admin"),  # a test copy to oneself: no ledger row
    ),
    get(
        "champions:nudge_preview",
        admin_only(200),
        kwargs=lambda w: {"org_pk": w.p.sales.pk, "person_pk": w.p.outsider.pk},
        label="B",
    ),
    get(
        "champions:nudge_preview_html",
        outcomes(403, champion=200, admin=200),
        kwargs=lambda w: {"org_pk": w.p.engineering.pk, "person_pk": w.p.employee.pk},
    ),
    get("champions:digest_preview", outcomes(403, champion=200, admin=200), kwargs=pk("p.engineering", "org_pk")),
    get("champions:digest_preview_html", outcomes(403, champion=200, admin=200), kwargs=pk("p.engineering", "org_pk")),
    post(
        "champions:digest_preview",
        outcomes(403, champion=DONE, admin=DONE),
        kwargs=pk("p.engineering", "org_pk"),
        unchanged=("champion", "admin"),  # a test copy to oneself: no ledger row
    ),
    get("champions:network", outcomes(403, champion=200, sponsor=200, admin=200)),
    post(
        "champions:network",
        outcomes(403, champion=DONE, admin=DONE),
        data=lambda w: {"title": "Lunch and learn", "body": "Fridays work."},
    ),
    get("champions:sponsor", outcomes(403, sponsor=200)),
    *post_only(
        "champions:sponsor_video",
        outcomes(404, sponsor=DONE),
        kwargs=pk("sponsorship_a"),
        data=lambda w: {f"video-{w.sponsorship_a.pk}-launch_video_url": "https://video.acme.example/launch"},
        label="A",
    ),
    *post_only(
        "champions:sponsor_video",
        outcomes(404),
        kwargs=pk("sponsorship_b"),
        data=lambda w: {f"video-{w.sponsorship_b.pk}-launch_video_url": "https://video.acme.example/launch"},
        label="B",
    ),
    *post_only(
        "champions:collection_review",
        outcomes(403, sponsor=DONE),
        kwargs=pk("collection_a"),
        data=lambda w: {"decision": "approve", "note": ""},
        label="A",
    ),
    *post_only(
        "champions:collection_review",
        outcomes(403),
        kwargs=pk("collection_b"),
        data=lambda w: {"decision": "approve", "note": ""},
        label="B",
    ),
    # --- reports: dashboards (aggregates for everyone signed in) and exports ---
    get("reports:company", ALL_SIGNED_IN),
    get("reports:org", ALL_SIGNED_IN, kwargs=pk("p.engineering", "organization_id"), label="A"),
    get("reports:org", ALL_SIGNED_IN, kwargs=pk("p.sales", "organization_id"), label="B"),
    get("reports:all_hands", ALL_SIGNED_IN),
    get("reports:all_hands_deck", ALL_SIGNED_IN),
    get("reports:export_organizations", ALL_SIGNED_IN),
    get("reports:export_people", PEOPLE_OF_A, label="own organizations"),
    get("reports:export_people", PEOPLE_OF_A, query="org={engineering}", label="A"),
    get("reports:export_people", PEOPLE_OF_B, query="org={sales}", label="B"),
    # --- reports: communication (L&D admins; unsubscribe is public, the signed token is the credential) ---
    admin_page("reports:messages"),
    *admin_form("reports:message_settings", DONE, message_settings_data, kwargs=pk("p.program", "program_id")),
    get(
        "reports:unsubscribe",
        outcomes(200, anonymous=200),
        kwargs=lambda w: {"token": w.unsubscribe_token},
        label="valid token",
    ),
    post(
        "reports:unsubscribe",
        outcomes(200, anonymous=200),
        kwargs=lambda w: {"token": w.unsubscribe_token},
        label="valid token",
    ),
    get("reports:unsubscribe", outcomes(400, anonymous=400), kwargs=lambda w: {"token": "forged"}, label="bad token"),
    post(
        "reports:unsubscribe",
        outcomes(400, anonymous=400),
        kwargs=lambda w: {"token": w.unsubscribe_token[:-2] + "xx"},
        label="tampered token",
    ),
    # --- xAPI statement intake: machines that bring their own credentials; a session is none ---
    post("xapi:statements", outcomes(401, anonymous=401), kwargs=pk("xapi_connection", "connection_id")),
    get("xapi:statements", outcomes(405, anonymous=405), kwargs=pk("xapi_connection", "connection_id")),
    post(
        "xapi:statements",
        outcomes(404, anonymous=404),
        kwargs=pk("connection", "connection_id"),
        label="of a connection of another kind",
    ),
    # A form post (multipart) is not the OAuth 2.0 form encoding: refused before the credentials.
    post("xapi:token", outcomes(400, anonymous=400), kwargs=pk("xapi_connection", "connection_id")),
    get("xapi:token", outcomes(405, anonymous=405), kwargs=pk("xapi_connection", "connection_id")),
    get("xapi:about", outcomes(200, anonymous=200), kwargs=pk("xapi_connection", "connection_id")),
    post("xapi:about", outcomes(405, anonymous=405), kwargs=pk("xapi_connection", "connection_id")),
    # --- SCIM provisioning: only a SCIM token opens it; a browser session is none (401) ---
    get("scim:service_provider_config", outcomes(401, anonymous=401)),
    get("scim:resource_types", outcomes(401, anonymous=401)),
    get("scim:resource_type", outcomes(401, anonymous=401), kwargs=lambda w: {"name": "User"}),
    get("scim:schemas", outcomes(401, anonymous=401)),
    get(
        "scim:schema",
        outcomes(401, anonymous=401),
        kwargs=lambda w: {"schema_id": "urn:ietf:params:scim:schemas:core:2.0:User"},
    ),
    get("scim:users", outcomes(401, anonymous=401)),
    post("scim:users", outcomes(401, anonymous=401)),
    get("scim:user", outcomes(401, anonymous=401), kwargs=lambda w: {"user_id": str(w.p.employee.pk)}),
    post("scim:user", outcomes(401, anonymous=401), kwargs=lambda w: {"user_id": str(w.p.employee.pk)}),
    post("scim:search", outcomes(401, anonymous=401)),
    post("scim:users_search", outcomes(401, anonymous=401)),
    get("/scim/v2/^.*$", outcomes(401, anonymous=401)),
]


# --- Walking the URL resolver ---------------------------------------------------------------


def app_urls() -> dict[str, str]:
    """Every URL of the project outside the skipped areas: {name, or "/route" if unnamed: route}."""
    found: dict[str, str] = {}

    def walk(patterns: list[Any], prefix: str, namespace: str | None) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, route, inner)
            elif isinstance(pattern, URLPattern):
                if route.startswith(SKIPPED_PREFIXES):
                    continue
                name = f"{namespace}:{pattern.name}" if namespace else pattern.name
                found[name if pattern.name else "/" + route] = route

    walk(get_resolver().url_patterns, "", None)
    return found


def test_every_url_of_the_app_is_in_the_table():
    urls = app_urls()
    table = {case.name for case in EXPECTATIONS}

    missing = sorted(f"{name} ({route})" for name, route in urls.items() if name not in table)
    stale = sorted(table - set(urls))

    assert missing == [], "URLs with no permission expectations: add them to EXPECTATIONS"
    assert stale == [], "EXPECTATIONS names URLs that no longer exist"


def test_every_case_names_every_persona_and_a_known_method():
    for case in EXPECTATIONS:
        assert set(case.expect) == set(PERSONAS), case.id
        assert case.method in ("GET", "POST"), case.id


# --- The walk ------------------------------------------------------------------------------


def database_state() -> list[tuple[str, int, str]]:
    """A fingerprint of every row of every LearnHub model (apps programs, champions,
    reports): per table its row count and the md5 of its rows in primary-key order, in one
    query. Any insert, update or delete changes it."""
    parts = []
    for label in ("programs", "champions", "reports"):
        for model in apps.get_app_config(label).get_models():
            table, pk = model._meta.db_table, model._meta.pk.column
            # Table and column names of our own models, not input:
            query = f"SELECT '{table}', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.{pk}), '')) "
            parts.append(query + f"FROM {table} t")
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts) + " ORDER BY 1")
        return cursor.fetchall()


def persona_user(world: World, persona: str) -> Employee | None:
    return None if persona == ANONYMOUS else getattr(world.p, persona)


def request_url(case: Case, world: World) -> str:
    unnamed = case.name.startswith("/")  # keyed by its path
    url = case.name if unnamed else reverse(case.name, kwargs=case.kwargs(world))
    if case.query:
        url += "?" + case.query.format(engineering=world.p.engineering.pk, sales=world.p.sales.pk)
    return url


def outcome_of(response: Any) -> Outcome:
    if response.status_code == 302:
        login = resolve_url("account_login")
        return LOGIN if response["Location"].split("?")[0] == login else DONE
    return response.status_code


CASES = [pytest.param(case, persona, id=f"{case.id} as {persona}") for case in EXPECTATIONS for persona in PERSONAS]


@pytest.mark.parametrize(("case", "persona"), CASES)
def test_permission_walk(world: World, case: Case, persona: str):
    client: Client = world.p.client_for(persona_user(world, persona))
    url = request_url(case, world)
    expected = case.expect[persona]
    refused = expected in (LOGIN, 400, 401, 403, 404, 405) or persona in case.unchanged
    before = database_state()

    response = client.get(url) if case.method == "GET" else client.post(url, case.data(world))

    assert outcome_of(response) == expected, f"{case.method} {url} as {persona}: {response.status_code}"
    if case.method == "GET" or refused:
        assert database_state() == before, f"{case.method} {url} as {persona} changed the database"
    elif persona not in case.idempotent:
        assert database_state() != before, f"{case.method} {url} as {persona} was allowed but wrote nothing"


def test_an_organization_dashboard_lists_only_the_study_groups_the_viewer_may_see(world: World):
    """Closed groups of an organization are hidden from other organizations' people on the
    dashboard too, as on the group pages (champions.selectors.groups_visible)."""

    def group_names(persona: str, org_attr: str) -> tuple[bool, bool]:
        client = world.p.client_for(persona_user(world, persona))
        url = reverse("reports:org", kwargs={"organization_id": getattr(world.p, org_attr).pk})
        page = client.get(url).content.decode()
        return "ML circle" in page, "Deal clinic" in page

    assert group_names(EMPLOYEE, "engineering") == (True, False)
    assert group_names(OUTSIDER, "engineering") == (False, False)
    assert group_names(EMPLOYEE, "sales") == (False, False)
    assert group_names(OUTSIDER, "sales") == (False, True)
    assert group_names(ADMIN, "sales") == (False, True)


def test_no_page_lists_a_closed_study_group_to_another_organization(world: World):
    """The closed Engineering group "ML circle" is named on no page Charlie (Sales) opens,
    and on the pages that list groups for Bob (Engineering)."""
    pages = [reverse("home"), reverse("champions:groups"), reverse("reports:company")]
    pages.append(reverse("reports:org", kwargs={"organization_id": world.p.engineering.pk}))
    outsider, employee = world.p.client_for(world.p.outsider), world.p.client_for(world.p.employee)

    shown_to_outsider = [url for url in pages if "ML circle" in outsider.get(url).content.decode()]
    shown_to_employee = [url for url in pages if "ML circle" in employee.get(url).content.decode()]

    assert shown_to_outsider == []
    assert shown_to_employee == [pages[1], pages[3]]  # home lists groups to join: Bob is in it


def test_the_fingerprint_sees_an_insert_an_update_and_a_delete(world: World):
    start = database_state()
    Course.objects.create(provider="coursera", provider_course_id="NEW1", title="New")
    inserted = database_state()
    Course.objects.filter(provider_course_id="NEW1").update(title="Renamed")
    updated = database_state()
    Course.objects.filter(provider_course_id="NEW1").delete()

    assert len({tuple(start), tuple(inserted), tuple(updated)}) == 3
    assert database_state() == start
