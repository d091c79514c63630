"""The Acme demo in an empty database (`python manage.py seed_demo`): organizations, people,
programs, courses of Coursera and Udemy Business, collections, appointments, study groups,
updates, stories and the demo's connections: "Coursera (demo)", "Udemy Business (demo)" and
"LinkedIn Learning xAPI (demo)".

Everything that is not a date of the current program comes from a random stream of the
seed (`demo_rng`), so the same seed gives the same people, organizations, appointments
and completions. Dates of the current program are laid out relative to today (in the
company time zone).

No enrollments are written: the Coursera and Udemy connections point at the local
sandboxes (`manage.py run_sandbox_provider --kind coursera|udemy --org-id acme-demo --seed
<seed>`), which serve the completion history (learnhub/demo/history.py) of each provider's
courses, and the real sync pipeline (`manage.py sync_provider NAME`) writes the enrollments
over HTTP; `manage.py post_demo_statements` then pushes a few xAPI statements as LinkedIn
Learning would (learnhub/demo/statements.py).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from champions.models import (
    Attendance,
    ExecutiveSponsor,
    LearnerStory,
    LearningChampion,
    ProgressUpdate,
    StoryModeration,
    StudyGroup,
    StudyGroupMembership,
    StudySession,
)
from learnhub.demo.company import (
    CEO,
    CHAMPIONS_PER_ORG,
    COMPANY_COLLECTION,
    DEMO_CHAMPION,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_CONNECTION_NAME,
    DEMO_COURSES,
    DEMO_DOMAIN,
    DEMO_EMPLOYEE,
    DEMO_LOGINS,
    DEMO_ORG_ID,
    DEMO_ORGS,
    DEMO_PASSWORD,
    DEMO_PROVIDERS,
    DEMO_UDEMY_CONNECTION_NAME,
    DEMO_UDEMY_COURSES,
    DEMO_XAPI_CLIENT_ID,
    DEMO_XAPI_CONNECTION_NAME,
    DEMO_XAPI_SECRET,
    EXECUTIVES,
    FIRST_NAMES,
    FIXED_PEOPLE,
    LAST_NAMES,
    LD_ADMIN,
    ORG_COLLECTIONS,
    ROOT_PATH,
    STORIES,
    TOP_LEVEL_PATHS,
    DemoPerson,
    course_slug,
    coursera_id,
    coursera_program_id,
    day_at,
    demo_rng,
    email_for,
)
from learnhub.demo.history import demo_records_of, demo_seeded_records
from learnhub.roles import ld_admin_grant
from programs.models import (
    PATH_SEPARATOR,
    ApprovalStatus,
    Collection,
    CollectionItem,
    Course,
    Employee,
    LearningProgram,
    Organization,
    ProgramStatus,
    Provider,
    ProviderConnection,
)
from programs.organizations import organization_create
from programs.providers.coursera_sandbox import API_PREFIX, TOKEN_PATH
from programs.providers.udemy_sandbox import API_PREFIX as UDEMY_API_PREFIX
from reports.hooks import progress_changed

DEFAULT_SANDBOX_PORT = 8765  # the Coursera sandbox's; the Udemy sandbox's is the next one by default
DEFAULT_SEED = 42
DEFAULT_EMPLOYEES = 420
MIN_EMPLOYEES = 60
DEMO_URL = "http://127.0.0.1:8000/"
BATCH_SIZE = 500
NEW_HIRE_SHARE = 0.06  # hired during this year's program
LEAVER_SHARE = 0.03  # left during this year's program


class DemoDataExistsError(Exception):
    """The database already holds people who are not the demo's: seed_demo will not mix."""


@dataclass
class DemoResult:
    """What `demo_seed` did, for seed_demo to print."""

    seed: int
    employees: int = 0
    organizations: int = 0
    courses: int = 0
    collections: int = 0
    records: int = 0  # what the sandboxes serve for the demo's roster (the syncs write them)
    completions: int = 0
    udemy_records: int = 0  # of `records`, those of Udemy courses (served by the Udemy sandbox)
    already_loaded: bool = False
    connection_moved: bool = False  # an existing demo's connection now points at another sandbox port
    logins: list[tuple[str, str]] = field(default_factory=list)  # (role, e-mail)


def demo_is_loaded() -> bool:
    """The demo is loaded when its Coursera connection exists (`demo_seed` writes all in one transaction)."""
    return ProviderConnection.objects.filter(name=DEMO_CONNECTION_NAME).exists()


def demo_logins() -> list[tuple[str, str]]:
    return [(p.login_role, p.email) for p in DEMO_LOGINS]


def demo_organizations_create() -> dict[str, Organization]:
    """The company tree: Acme, five organizations below it, and teams below two of them."""
    orgs: dict[str, Organization] = {}
    for demo_org in DEMO_ORGS:
        parent_path, _, name = demo_org.path.rpartition(PATH_SEPARATOR)
        orgs[demo_org.path] = organization_create(name=name, parent=orgs.get(parent_path))
    return orgs


def demo_courses_create() -> list[Course]:
    """The catalog: about forty Coursera courses and a few of Udemy Business, ids stable
    across seeds."""
    coursera = [
        Course(
            provider=Provider.COURSERA,
            provider_course_id=coursera_id(slug),
            title=title,
            partner=partner,
            url=f"https://www.coursera.org/learn/{slug}",
            hours=Decimal(hours),
        )
        for slug, title, partner, hours in DEMO_COURSES
    ]
    udemy = [
        Course(
            provider=Provider.UDEMY,
            provider_course_id=course_id,
            title=title,
            partner=instructor,
            url=f"https://www.udemy.com/course/{slug}/",
            hours=Decimal(hours),
        )
        for course_id, slug, title, instructor, hours in DEMO_UDEMY_COURSES
    ]
    Course.objects.bulk_create(coursera + udemy)
    return list(Course.objects.filter(provider__in=DEMO_PROVIDERS).order_by("provider", "provider_course_id"))


def _unique_name(rng: random.Random, used: set[str]) -> tuple[str, str]:
    while True:
        full_name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        n = 1
        while email_for(full_name, n) in used:
            n += 1
        if n <= 2:  # a few namesakes, never many
            email = email_for(full_name, n)
            used.add(email)
            return full_name, email


def demo_employees_create(
    *, orgs: dict[str, Organization], count: int, rng: random.Random, today: dt.date
) -> list[Employee]:
    """About `count` people spread over the organizations by weight, each organization led
    by one person who reports to the lead above; a few hired this year, a few departed."""
    year_start = dt.date(today.year, 1, 1)
    hashed_demo_password = make_password(DEMO_PASSWORD)  # hashed once: a few seconds matter
    used = {p.email for p in FIXED_PEOPLE}
    rows: list[dict[str, Any]] = []

    def add(person: DemoPerson | None, org_path: str, title: str, *, lead: bool = False) -> None:
        full_name, email = (person.full_name, person.email) if person else _unique_name(rng, used)
        rows.append({"full_name": full_name, "email": email, "org": org_path, "title": title, "lead": lead})

    add(CEO, ROOT_PATH, CEO.title, lead=True)
    for demo_org in DEMO_ORGS[1:]:
        executive = EXECUTIVES.get(demo_org.path)
        add(executive, demo_org.path, executive.title if executive else demo_org.lead_title, lead=True)
    for person in (LD_ADMIN, DEMO_CHAMPION, DEMO_EMPLOYEE):
        add(person, person.org_path, person.title)
    total_weight = sum(o.weight for o in DEMO_ORGS)
    remaining = max(count, MIN_EMPLOYEES) - len(rows)
    shares = [remaining * o.weight // total_weight for o in DEMO_ORGS]
    shares[0] += remaining - sum(shares)  # rounding leftovers join the company level
    for demo_org, share in zip(DEMO_ORGS, shares, strict=True):
        for _ in range(share):
            add(None, demo_org.path, rng.choice(demo_org.titles))

    employees: list[Employee] = []
    mid_year_window = (year_start + dt.timedelta(days=31), today - dt.timedelta(days=14))
    departure_window = (year_start, today - dt.timedelta(days=2))
    fixed_emails = {p.email for p in FIXED_PEOPLE}
    for index, row in enumerate(rows):
        # Always draw the same numbers, whatever today is, so the seed alone decides who
        # is a new hire or a leaver; today only decides the dates.
        roll, hire_fraction, departure_fraction = rng.random(), rng.random(), rng.random()
        hired_on = dt.date(today.year - 1 - rng.randint(0, 11), rng.randint(1, 12), rng.randint(1, 28))
        fixed = row["email"] in fixed_emails
        if not fixed and roll < NEW_HIRE_SHARE and mid_year_window[0] < mid_year_window[1]:
            hired_on = day_at(*mid_year_window, hire_fraction)
        departed_on = None
        leaver = NEW_HIRE_SHARE <= roll < NEW_HIRE_SHARE + LEAVER_SHARE
        if not fixed and not row["lead"] and leaver and departure_window[0] < departure_window[1]:
            departed_on = max(hired_on, day_at(*departure_window, departure_fraction))
        is_demo_login = row["email"] in {p.email for p in DEMO_LOGINS}
        language = next((p.language for p in FIXED_PEOPLE if p.email == row["email"]), "")
        employees.append(
            Employee(
                email=row["email"],
                full_name=row["full_name"],
                title=row["title"],
                external_id=f"ACM{10001 + index:05d}",
                organization=orgs[row["org"]],
                hired_on=hired_on,
                departed_on=departed_on,
                is_active=departed_on is None,
                password=hashed_demo_password if is_demo_login else make_password(None),
                language=language,
            )
        )
    Employee.objects.bulk_create(employees, batch_size=BATCH_SIZE)
    by_email = {e.email: e for e in Employee.objects.filter(email__in=[r["email"] for r in rows])}

    leads = {row["org"]: by_email[row["email"]] for row in rows if row["lead"]}
    for row in rows:
        employee = by_email[row["email"]]
        org_path = row["org"]
        if row["lead"]:
            parent_path = org_path.rpartition(PATH_SEPARATOR)[0]
            employee.manager = leads.get(parent_path)
        else:
            employee.manager = leads[org_path]
    Employee.objects.bulk_update(by_email.values(), ["manager"], batch_size=BATCH_SIZE)

    for person in DEMO_LOGINS:
        EmailAddress.objects.update_or_create(
            email=person.email, defaults={"user": by_email[person.email], "verified": True, "primary": True}
        )
    ld_admin_grant(employee=by_email[LD_ADMIN.email])
    return [by_email[row["email"]] for row in rows]


def demo_programs_create(*, today: dt.date) -> tuple[LearningProgram, LearningProgram]:
    """Last year's program (closed) and this year's (active, 90%, one course each),
    cloned from it."""
    last = LearningProgram.objects.create(
        name=f"Learning Program {today.year - 1}",
        starts_on=dt.date(today.year - 1, 1, 1),
        ends_on=dt.date(today.year - 1, 12, 31),
        target_rate=Decimal("0.900"),
        required_completions=1,
        status=ProgramStatus.CLOSED,
    )
    current = LearningProgram.objects.create(
        name=f"Learning Program {today.year}",
        starts_on=dt.date(today.year, 1, 1),
        ends_on=dt.date(today.year, 12, 31),
        target_rate=Decimal("0.900"),
        required_completions=1,
        status=ProgramStatus.ACTIVE,
        cloned_from=last,
    )
    return last, current


def demo_appointments_create(
    *, program: LearningProgram, orgs: dict[str, Organization], employees: list[Employee], rng: random.Random
) -> tuple[dict[str, Employee], dict[str, list[Employee]]]:
    """A sponsor (the executive) for each top-level organization and one or two
    champions from its people."""
    by_email = {e.email: e for e in employees}
    sponsors = {path: by_email[person.email] for path, person in EXECUTIVES.items()}
    ExecutiveSponsor.objects.bulk_create(
        [
            ExecutiveSponsor(
                program=program,
                organization=orgs[path],
                employee=sponsor,
                launch_video_url=f"https://videos.{DEMO_DOMAIN}/learning-{program.starts_on.year}/"
                f"{orgs[path].name.lower().replace(' & ', '-').replace(' ', '-')}",
            )
            for path, sponsor in sponsors.items()
        ]
    )
    champions: dict[str, list[Employee]] = {}
    taken = {e.pk for e in sponsors.values()} | {by_email[LD_ADMIN.email].pk}
    for path in TOP_LEVEL_PATHS:
        candidates = [
            e
            for e in employees
            if e.pk not in taken
            and e.departed_on is None
            and e.organization is not None
            and (e.organization.path == path or e.organization.path.startswith(path + PATH_SEPARATOR))
        ]
        chosen = [by_email[DEMO_CHAMPION.email]] if path == "Acme/Engineering" else []
        candidates = [e for e in candidates if e not in chosen]
        chosen += rng.sample(candidates, CHAMPIONS_PER_ORG[path] - len(chosen))
        taken |= {e.pk for e in chosen}
        champions[path] = chosen
    LearningChampion.objects.bulk_create(
        [
            LearningChampion(program=program, organization=orgs[path], employee=champion)
            for path, chosen in champions.items()
            for champion in chosen
        ]
    )
    return sponsors, champions


def demo_collections_create(
    *,
    program: LearningProgram,
    orgs: dict[str, Organization],
    sponsors: dict[str, Employee],
    courses: list[Course],
    rng: random.Random,
) -> list[Collection]:
    """One curated collection per organization below the company (5-8 courses, the needs
    it answers, a launch video) plus one company-wide collection."""
    course_by_slug = {course_slug(c): c for c in courses}
    year = program.starts_on.year
    now = timezone.now()
    specs = [(None, *COMPANY_COLLECTION, ApprovalStatus.APPROVED)] + [
        (path, *spec) for path, spec in ORG_COLLECTIONS.items()
    ]
    collections = []
    for path, name, needs, _slugs, status in specs:
        top_path = PATH_SEPARATOR.join(path.split(PATH_SEPARATOR)[:2]) if path else None
        approver = sponsors.get(top_path) if top_path else None
        collections.append(
            Collection(
                program=program,
                organization=orgs[path] if path else None,
                name=f"{name} {year}",
                needs=needs,
                launch_video_url=f"https://videos.{DEMO_DOMAIN}/learning-{year}/collection-{coursera_id(name)}",
                approval_status=status,
                approval_note="Please add a course on forecasting."
                if status == ApprovalStatus.CHANGES_REQUESTED
                else "",
                approved_by=approver if status == ApprovalStatus.APPROVED else None,
                approved_at=now - dt.timedelta(days=rng.randint(200, 300))
                if status == ApprovalStatus.APPROVED
                else None,
            )
        )
    Collection.objects.bulk_create(collections)
    collections = list(Collection.objects.filter(program=program).select_related("organization"))
    by_name = {c.name: c for c in collections}
    items = [
        CollectionItem(collection=by_name[f"{name} {year}"], course=course_by_slug[slug], position=position)
        for _, name, _, slugs, _ in specs
        for position, slug in enumerate(slugs, start=1)
    ]
    CollectionItem.objects.bulk_create(items)
    return collections


def demo_study_groups_create(
    *,
    program: LearningProgram,
    orgs: dict[str, Organization],
    champions: dict[str, list[Employee]],
    collections: list[Collection],
    employees: list[Employee],
    rng: random.Random,
) -> None:
    """Two study groups per top-level organization, run by its champions, each with two
    past sessions (with attendance) and two upcoming ones, and six to ten members."""
    now = timezone.now()
    tz = timezone.get_default_timezone()
    noon_today = dt.datetime.combine(timezone.localdate(), dt.time(12, 0), tzinfo=tz)
    by_org = {c.organization_id: c for c in collections}
    groups: list[StudyGroup] = []
    for path in TOP_LEVEL_PATHS:
        collection = by_org[orgs[path].pk]
        items = list(collection.items.select_related("course").order_by("position"))
        for number in range(2):
            course = items[number % len(items)].course
            groups.append(
                StudyGroup(
                    program=program,
                    organization=orgs[path],
                    name=f"{orgs[path].name}: {course.title}"[:200],
                    description=f"We work through {course.title} together, one module a week.",
                    course=course,
                    collection=collection,
                    champion=champions[path][number % len(champions[path])],
                    location=rng.choice(["Room 4.12", "Library corner", "Room 2.03", "Cafeteria, table 7"]),
                    video_url=f"https://meet.{DEMO_DOMAIN}/{coursera_id(path + str(number)).lower()}",
                    capacity=rng.choice([None, 12, 15, 20]),
                    is_open=number == 0,
                )
            )
    StudyGroup.objects.bulk_create(groups)
    groups = list(StudyGroup.objects.filter(program=program).select_related("organization").order_by("name"))
    memberships: list[StudyGroupMembership] = []
    sessions: list[StudySession] = []
    members_of: dict[int, list[Employee]] = {}
    for group in groups:
        prefix = (group.organization.path if group.organization else ROOT_PATH) + PATH_SEPARATOR
        people = [
            e
            for e in employees
            if e.departed_on is None
            and e.organization is not None
            and (e.organization_id == group.organization_id or e.organization.path.startswith(prefix))
        ]
        members = rng.sample(people, min(len(people), rng.randint(6, 10)))
        if group.champion is not None and group.champion not in members:
            members.append(group.champion)
        members_of[group.pk] = members
        memberships += [StudyGroupMembership(group=group, employee=m) for m in members]
        for week in (-21, -7, 7, 21):
            starts_at = noon_today + dt.timedelta(days=week + rng.randint(0, 2))
            sessions.append(
                StudySession(
                    group=group,
                    starts_at=starts_at,
                    ends_at=starts_at + dt.timedelta(hours=1),
                    topic=f"Module {(week + 21) // 14 + 1}",
                    location=group.location,
                    notes="Bring your questions from the week's videos." if week > 0 else "Good discussion.",
                )
            )
    StudyGroupMembership.objects.bulk_create(memberships)
    StudySession.objects.bulk_create(sessions)
    attendance = [
        Attendance(session=session, employee=member)
        for session in StudySession.objects.filter(group__program=program, starts_at__lt=now).order_by("pk")
        for member in members_of[session.group_id]
        if rng.random() < 0.75
    ]
    Attendance.objects.bulk_create(attendance)


def demo_updates_and_stories_create(
    *,
    program: LearningProgram,
    orgs: dict[str, Organization],
    sponsors: dict[str, Employee],
    champions: dict[str, list[Employee]],
    ld_admin: Employee,
    records: list[dict[str, Any]],
    rng: random.Random,
) -> None:
    """Progress updates from L&D (company-wide, for All Hands), sponsors and champions,
    and learner stories from people who completed a course of `program` in `records`
    (what the sandbox serves): most shared with consent, two private, one withdrawn."""
    updates = [
        ProgressUpdate(
            program=program,
            organization=None,
            author=ld_admin,
            title=f"{program.name} is live",
            body="Every organization now has a curated collection. Pick one course and finish it this year!",
            for_all_hands=True,
        ),
        ProgressUpdate(
            program=program,
            organization=None,
            author=ld_admin,
            title="Halfway there: org-by-org standings",
            body="Engineering leads the board; Sales is catching up fast since the negotiation study group.",
            for_all_hands=True,
        ),
    ]
    for path in TOP_LEVEL_PATHS:
        updates.append(
            ProgressUpdate(
                program=program,
                organization=orgs[path],
                author=sponsors[path],
                title=f"Why {orgs[path].name} is learning this year",
                body="I recorded a short video about our collection. I am taking the first course myself.",
            )
        )
        updates.append(
            ProgressUpdate(
                program=program,
                organization=orgs[path],
                author=champions[path][0],
                title="New study group sessions",
                body="Two new sessions are on the calendar. Join even if you have not started the course yet.",
                for_all_hands=path == "Acme/Engineering",
            )
        )
    ProgressUpdate.objects.bulk_create(updates)
    now = timezone.now()
    for age, update in zip(
        range(len(updates), 0, -1), ProgressUpdate.objects.filter(program=program).order_by("pk"), strict=True
    ):
        ProgressUpdate.objects.filter(pk=update.pk).update(created_at=now - dt.timedelta(days=age * 12))

    program_ref = coursera_program_id(program)
    completed = sorted(
        (r["email"], r["contentId"]) for r in records if r["isCompleted"] and r["programId"] == program_ref
    )
    authors = rng.sample(completed, min(len(STORIES), len(completed)))
    people = {e.email: e for e in Employee.objects.filter(email__in={email for email, _ in authors})}
    courses = {
        c.provider_course_id: c
        for c in Course.objects.filter(provider__in=DEMO_PROVIDERS, provider_course_id__in={c for _, c in authors})
    }
    stories = [
        LearnerStory(
            program=program,
            employee=people[email],
            course=courses[course_id],
            title=title,
            body=body,
            consent_to_share=index < len(STORIES) - 2,
            withdrawn_at=now - dt.timedelta(days=3) if index == 0 else None,
            # The last consented story waits for its champion's approval.
            moderation=StoryModeration.PENDING if index == len(STORIES) - 3 else StoryModeration.APPROVED,
        )
        for index, ((title, body), (email, course_id)) in enumerate(zip(STORIES, authors, strict=False))
    ]
    LearnerStory.objects.bulk_create(stories)


def demo_sandbox_urls(*, port: int) -> tuple[str, str]:
    """(base URL, token URL) of the local Coursera sandbox on `port`."""
    address = f"http://127.0.0.1:{port}"
    return address + API_PREFIX, address + TOKEN_PATH


def demo_udemy_sandbox_url(*, port: int) -> str:
    """The base URL of the local Udemy Business sandbox on `port` (no token URL: HTTP Basic)."""
    return f"http://127.0.0.1:{port}{UDEMY_API_PREFIX}"


def demo_connection_point(*, port: int, udemy_port: int | None = None) -> bool:
    """Point the demo's connections at the sandboxes on `port` (Coursera) and `udemy_port`
    (Udemy Business; default the next port); True when one moved."""
    base_url, token_url = demo_sandbox_urls(port=port)
    udemy_url = demo_udemy_sandbox_url(port=port + 1 if udemy_port is None else udemy_port)
    moved = (
        ProviderConnection.objects.filter(name=DEMO_CONNECTION_NAME)
        .exclude(base_url=base_url, token_url=token_url)
        .update(base_url=base_url, token_url=token_url)
    )
    moved += (
        ProviderConnection.objects.filter(name=DEMO_UDEMY_CONNECTION_NAME)
        .exclude(base_url=udemy_url)
        .update(base_url=udemy_url)
    )
    return moved > 0


def demo_connections_create(*, programs: list[LearningProgram], sandbox_port: int, udemy_sandbox_port: int) -> None:
    """The demo's connections: Coursera (its programs are last year's and this year's) and
    Udemy Business, each reading its local sandbox with the sandbox's demo credentials, and
    the xapi connection LinkedIn Learning pushes statements to."""
    base_url, token_url = demo_sandbox_urls(port=sandbox_port)
    ProviderConnection.objects.bulk_create(
        [
            ProviderConnection(
                name=DEMO_CONNECTION_NAME,
                kind=Provider.COURSERA,
                base_url=base_url,
                token_url=token_url,
                provider_org_id=DEMO_ORG_ID,
                provider_program_ids=[coursera_program_id(p) for p in programs],
                client_id=DEMO_CLIENT_ID,
                client_secret=DEMO_CLIENT_SECRET,
            ),
            ProviderConnection(
                name=DEMO_UDEMY_CONNECTION_NAME,
                kind=Provider.UDEMY,
                base_url=demo_udemy_sandbox_url(port=udemy_sandbox_port),
                provider_org_id=DEMO_ORG_ID,
                client_id=DEMO_CLIENT_ID,
                client_secret=DEMO_CLIENT_SECRET,
            ),
            ProviderConnection(
                name=DEMO_XAPI_CONNECTION_NAME,
                kind=Provider.XAPI,
                client_id=DEMO_XAPI_CLIENT_ID,
                client_secret=DEMO_XAPI_SECRET,
            ),
        ]
    )


def demo_seed(
    *,
    seed: int = DEFAULT_SEED,
    employees: int = DEFAULT_EMPLOYEES,
    sandbox_port: int = DEFAULT_SANDBOX_PORT,
    udemy_sandbox_port: int | None = None,
) -> DemoResult:
    """Fill an empty database with the Acme demo, deterministically for `seed`.

    No enrollments are written: the "Coursera (demo)" connection points at the local
    Coursera sandbox on `sandbox_port` (demo client id and secret, org DEMO_ORG_ID, last
    year's and this year's program) and "Udemy Business (demo)" at the local Udemy sandbox
    on `udemy_sandbox_port` (default: the next port); a sync of each writes the completion
    history of its provider's courses that its sandbox serves (`demo_sandbox_records`).
    Learner stories are drawn from that history. The xapi connection receives what
    `post_demo_statements` pushes.

    Idempotent: when the demo is already loaded (its "Coursera (demo)" connection exists)
    nothing changes except, when a port differs, the connections' URLs. A database that
    holds other people is refused (DemoDataExistsError), so demo data never mixes with a
    real roster. All in one transaction: a failure leaves nothing behind.
    """
    result = DemoResult(seed=seed, logins=demo_logins())
    today = timezone.localdate()
    udemy_port = sandbox_port + 1 if udemy_sandbox_port is None else udemy_sandbox_port
    with transaction.atomic():
        if demo_is_loaded():
            result.already_loaded = True
            result.connection_moved = demo_connection_point(port=sandbox_port, udemy_port=udemy_port)
            return result
        if Employee.objects.exists():
            raise DemoDataExistsError(
                f"The database already holds a roster ({Employee.objects.count()} people); seed_demo only fills "
                "an empty database. Use a fresh database (for example a new SQLite file, then migrate)."
            )
        orgs = demo_organizations_create()
        courses = demo_courses_create()
        people = demo_employees_create(orgs=orgs, count=employees, rng=demo_rng(seed, "people"), today=today)
        last_program, program = demo_programs_create(today=today)
        sponsors, champions = demo_appointments_create(
            program=program, orgs=orgs, employees=people, rng=demo_rng(seed, "appointments")
        )
        collections = demo_collections_create(
            program=program, orgs=orgs, sponsors=sponsors, courses=courses, rng=demo_rng(seed, "collections")
        )
        demo_connections_create(
            programs=[last_program, program], sandbox_port=sandbox_port, udemy_sandbox_port=udemy_port
        )
        records = demo_seeded_records(seed=seed, programs=[last_program, program], as_of=today)
        demo_study_groups_create(
            program=program,
            orgs=orgs,
            champions=champions,
            collections=collections,
            employees=people,
            rng=demo_rng(seed, "groups"),
        )
        ld_admin = next(p for p in people if p.email == LD_ADMIN.email)
        demo_updates_and_stories_create(
            program=program,
            orgs=orgs,
            sponsors=sponsors,
            champions=champions,
            ld_admin=ld_admin,
            records=records,
            rng=demo_rng(seed, "stories"),
        )
        progress_changed()
    result.employees = len(people)
    result.organizations = len(orgs)
    result.courses = len(courses)
    result.collections = len(collections)
    result.records = len(records)
    result.completions = sum(1 for r in records if r["isCompleted"])
    result.udemy_records = len(demo_records_of(records, provider=Provider.UDEMY))
    return result
