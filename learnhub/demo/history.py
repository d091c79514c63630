"""The demo's completion history, as Coursera-shaped enrollment records (PROVIDERS.md
section 1): the roster's designed history (`demo_seeded_records`, which the syncs turn into
exactly that many enrollments) on the demo's Coursera and Udemy Business courses, split by
provider (`demo_records_of`: each sandbox serves its own courses' records, in its own
shape), and what a real Coursera account also reports (`demo_sandbox_extras`: contractors,
malformed records, specializations). Deterministic for a seed and a day; reads the loaded
demo, writes nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from champions.models import ExecutiveSponsor
from learnhub.demo.company import (
    DEMO_ORGS,
    DEMO_PROVIDERS,
    ROOT_PATH,
    SPONSOR_MEETS_GOAL,
    course_slug,
    coursera_id,
    coursera_program_id,
    day_between,
    demo_rng,
    epoch_ms,
    moment_on,
)
from programs.models import (
    PATH_SEPARATOR,
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

LAST_YEAR_RATE_FACTOR = 0.3  # last year's program never passed about 25%
CURATED_PICK_SHARE = 0.62  # "more than half of all completions from curated collections"

# People who take courses on the company's Coursera account but are not on the roster.
CONTRACTORS: tuple[tuple[str, str], ...] = (
    ("Robin Vale", "robin.vale@northwind-contracting.example"),
    ("Kit Marlowe", "kit.marlowe@northwind-contracting.example"),
    ("Sasha Ionescu", "sasha.ionescu@brightpath-staffing.example"),
    ("Jules Okoye", "jules.okoye@brightpath-staffing.example"),
    ("Morgan Blake", "m.blake@freelance.example"),
)
SPECIALIZATION = ("s12n:data-science", "Data Science Specialization", "jhu-data-science", "Johns Hopkins University")
# What each malformed record breaks, in order (the pipeline's reason is in the comment).
MALFORMED = (
    "completedAt",  # completedAt: cannot parse '2026-13-45T25:00'
    "contentId",  # contentId: missing
    "contentType",  # unknown content type 'hologram'
    "learner",  # no learner: email and externalId are both empty
)
DEMO_UNMATCHED = len(CONTRACTORS) + 1  # each completed one course; the first also has one in progress
DEMO_INVALID = len(MALFORMED)
DEMO_SKIPPED = 2  # specializations: valid Coursera content, but only courses count


def _curated_courses_by_org(program: LearningProgram) -> dict[int | None, list[tuple[Course, Collection]]]:
    """(course, collection) pairs of `program`'s collections by organization id (None: company-wide)."""
    result: dict[int | None, list[tuple[Course, Collection]]] = {}
    items = CollectionItem.objects.filter(collection__program=program).select_related("course", "collection")
    for item in items.order_by("collection__name", "position"):
        result.setdefault(item.collection.organization_id, []).append((item.course, item.collection))
    return result


def demo_activity_records(
    *,
    program: LearningProgram,
    rng: random.Random,
    as_of: dt.date,
    taken: set[tuple[str, str]] | None = None,
) -> list[dict[str, Any]]:
    """Coursera enrollment-report records (PROVIDERS.md section 1: externalId, email,
    contentId, contentType "Course", isCompleted, completedAt / enrolledAt in epoch ms,
    overallProgress, ...) for the roster in `program` up to `as_of`.

    Each organization meets the goal at its own rate (from about 30% to about 85% by year
    end; a closed earlier program at a third of that), completion dates lean towards the
    later part of the window (a rising trend), about 60% of completions come from
    the curated collections of the person's organization chain and the company, sponsors
    meet the goal or not as SPONSOR_MEETS_GOAL says, and some people have courses in
    progress. `taken` holds (e-mail, content id) pairs already used; they are skipped and
    the new ones added, so one learner x course appears once across programs.
    """
    taken = set() if taken is None else taken
    first_day = program.starts_on
    last_day = min(as_of, program.ends_on)
    if program.ends_on >= as_of:
        last_day = as_of - dt.timedelta(days=1)  # nothing completed later today than now
    if last_day < first_day:
        return []
    elapsed = ((last_day - first_day).days + 1) / ((program.ends_on - program.starts_on).days + 1)
    rate_factor = LAST_YEAR_RATE_FACTOR if program.status == ProgramStatus.CLOSED else min(1.0, elapsed / 0.9)
    rates = {o.path: o.rate for o in DEMO_ORGS}
    catalog = list(Course.objects.filter(provider__in=DEMO_PROVIDERS).order_by("provider", "provider_course_id"))
    curated = _curated_courses_by_org(program)
    curated_ids = {course.pk for pairs in curated.values() for course, _ in pairs}
    uncurated = [c for c in catalog if c.pk not in curated_ids] or catalog
    org_ids: dict[str, int | None] = dict(Organization.objects.values_list("path", "pk"))
    sponsor_orgs = dict(
        ExecutiveSponsor.objects.filter(program=program).values_list("employee_id", "organization__path")
    )
    program_ref = coursera_program_id(program)
    people = Employee.objects.filter(organization__isnull=False).select_related("organization").order_by("email")
    updated_at = epoch_ms(moment_on(last_day, rng))
    records: list[dict[str, Any]] = []

    def record(person: Employee, course: Course, collection: Collection | None, completed_on: dt.date | None) -> None:
        learner = person.external_id or person.email
        if (person.email, course.provider_course_id) in taken:
            return
        taken.add((person.email, course.provider_course_id))
        start = max(first_day, person.hired_on or first_day)
        enrolled_day = day_between(start, completed_on or last_day, rng, late_bias=0.8)
        if completed_on is not None:
            enrolled_day = max(start, completed_on - dt.timedelta(days=rng.randint(7, 60)))
        enrolled_at = moment_on(enrolled_day, rng)
        completed_at = moment_on(completed_on, rng) if completed_on else None
        if completed_at is not None and completed_at <= enrolled_at:
            completed_at = enrolled_at + dt.timedelta(hours=2)
        progress = 100 if completed_at else rng.choice([5, 12, 20, 33, 41, 50, 64, 75, 88])
        records.append(
            {
                "id": f"{learner}~{course.provider_course_id}~{program_ref}",
                "externalId": learner,
                "email": person.email,
                "fullName": person.full_name,
                "programId": program_ref,
                "programName": program.name,
                "membershipState": "MEMBER",
                "contentId": course.provider_course_id,
                "contentType": "Course",
                "contentName": course.title,
                "contentSlug": course_slug(course),
                "partnerNames": [course.partner],
                "approxTotalCourseHrs": float(course.hours or 0),
                "enrolledAt": epoch_ms(enrolled_at),
                "lastActivityAt": epoch_ms(completed_at or enrolled_at + dt.timedelta(days=rng.randint(0, 20))),
                "isCompleted": completed_at is not None,
                "completedAt": epoch_ms(completed_at),
                "overallProgress": progress,
                "grade": round(rng.uniform(0.72, 0.99), 2) if completed_at else None,
                "collectionId": coursera_id(collection.name) if collection else None,
                "collectionName": collection.name if collection else None,
                "deletedAt": None,
                "updatedAt": updated_at,
            }
        )

    for person in people:
        path = person.organization.path if person.organization else ROOT_PATH
        start = max(first_day, person.hired_on or first_day)
        end = min(last_day, (person.departed_on or last_day) - dt.timedelta(days=1))
        if end < start:
            continue
        parts = path.split(PATH_SEPARATOR)
        chain_ids = [None] + [org_ids[PATH_SEPARATOR.join(parts[: i + 1])] for i in range(len(parts))]
        options = [pair for org_id in chain_ids for pair in curated.get(org_id, [])]
        if person.pk in sponsor_orgs:
            meets = SPONSOR_MEETS_GOAL.get(sponsor_orgs[person.pk], True)
        else:
            meets = rng.random() < rates.get(path, 0.5) * rate_factor
        if meets:
            for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
                course, collection = _pick_course(options, uncurated, rng)
                record(person, course, collection, day_between(start, end, rng, late_bias=0.6))
        if rng.random() < (0.35 if meets else 0.45):
            course, collection = _pick_course(options, uncurated, rng)
            record(person, course, collection, None)
    return records


def _pick_course(
    options: list[tuple[Course, Collection]], others: list[Course], rng: random.Random
) -> tuple[Course, Collection | None]:
    """Mostly from the person's curated collections, otherwise from the rest of the catalog."""
    if options and rng.random() < CURATED_PICK_SHARE:
        return rng.choice(options)
    return rng.choice(others), None


def demo_seeded_records(*, seed: int, programs: list[LearningProgram], as_of: dt.date) -> list[dict[str, Any]]:
    """The demo's completion history for its roster, for `seed` on day `as_of`: `programs`
    are last year's and this year's, in that order (a learner x course appears once
    across them). A sync of the sandbox turns exactly these into Enrollment rows."""
    taken: set[tuple[str, str]] = set()
    records: list[dict[str, Any]] = []
    for index, program in enumerate(programs):
        stream = "activity" if index == len(programs) - 1 else f"earlier activity {index}"
        records += demo_activity_records(program=program, rng=demo_rng(seed, stream), as_of=as_of, taken=taken)
    return records


def demo_records_of(records: list[dict[str, Any]], *, provider: str) -> list[dict[str, Any]]:
    """The `records` of courses of `provider` (what that provider's sandbox serves)."""
    ids = set(Course.objects.filter(provider=provider).values_list("provider_course_id", flat=True))
    return [r for r in records if r.get("contentId") in ids]


def demo_sandbox_extras(
    *, seed: int, program: LearningProgram, seeded: list[dict[str, Any]], as_of: dt.date
) -> list[dict[str, Any]]:
    """What a real Coursera account also reports, in `program` (this year's): contractors
    who are not on the roster (DEMO_UNMATCHED records, kept as unmatched), malformed
    records (DEMO_INVALID, kept as invalid with a reason) and specializations
    (DEMO_SKIPPED, counted as skipped). Built from copies of `seeded` records of the
    program, so they look like the rest; deterministic for `seed` and `as_of`."""
    rng = demo_rng(seed, "sandbox extras")
    program_ref = coursera_program_id(program)
    mine = [r for r in seeded if r["programId"] == program_ref and r["isCompleted"]]
    if not mine:
        return []
    catalog = list(Course.objects.filter(provider=Provider.COURSERA).order_by("provider_course_id"))
    last_day = max(program.starts_on, min(as_of - dt.timedelta(days=1), program.ends_on))
    extras: list[dict[str, Any]] = []

    def copy(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
        record = {**base, **changes}
        key = record.get("externalId") or record.get("email") or "unknown"
        record["id"] = f"{key}~{record.get('contentId', '')}~{program_ref}"
        return record

    for number, (full_name, email) in enumerate(CONTRACTORS):
        course = rng.choice(catalog)
        completed_at = moment_on(day_between(program.starts_on, last_day, rng, late_bias=0.6), rng)
        enrolled_at = completed_at - dt.timedelta(days=rng.randint(7, 40))
        base = copy(
            rng.choice(mine),
            externalId=email,  # Coursera's default external id is the e-mail
            email=email,
            fullName=full_name,
            contentId=course.provider_course_id,
            contentName=course.title,
            contentSlug=course_slug(course),
            partnerNames=[course.partner],
            collectionId=None,
            collectionName=None,
            enrolledAt=epoch_ms(enrolled_at),
            completedAt=epoch_ms(completed_at),
            lastActivityAt=epoch_ms(completed_at),
        )
        extras.append(base)
        if number == 0:
            other = next(c for c in catalog if c.provider_course_id != course.provider_course_id)
            extras.append(
                copy(
                    base,
                    contentId=other.provider_course_id,
                    contentName=other.title,
                    contentSlug=course_slug(other),
                    partnerNames=[other.partner],
                    isCompleted=False,
                    completedAt=None,
                    overallProgress=40,
                    grade=None,
                )
            )
    for what in MALFORMED:
        base = rng.choice(mine)
        if what == "completedAt":
            extras.append(copy(base, completedAt="2026-13-45T25:00"))
        elif what == "contentId":
            broken = copy(base)
            broken.pop("contentId")
            extras.append(broken)
        elif what == "contentType":
            extras.append(copy(base, contentType="Hologram"))
        else:
            extras.append(copy(base, externalId="", email="", fullName=""))
    content_id, title, slug, partner = SPECIALIZATION
    for base in rng.sample(mine, min(DEMO_SKIPPED, len(mine))):
        extras.append(
            copy(
                base,
                contentId=coursera_id(content_id),
                contentType="Specialization",
                contentName=title,
                contentSlug=slug,
                partnerNames=[partner],
                collectionId=None,
                collectionName=None,
            )
        )
    return extras


def demo_programs_served(*, connection: ProviderConnection) -> list[LearningProgram]:
    """The demo's programs the connection reads, oldest first."""
    refs = set(connection.provider_program_ids or [])
    return [p for p in LearningProgram.objects.order_by("starts_on", "pk") if coursera_program_id(p) in refs]


def demo_sandbox_records(
    *, seed: int, programs: list[LearningProgram], as_of: dt.date, provider: str | None = Provider.COURSERA
) -> list[dict[str, Any]]:
    """What a sandbox serves for the demo: `demo_seeded_records` of `provider`'s courses
    (None: of every course, reshaped by a provider the demo has no account with), the
    Coursera ones followed by `demo_sandbox_extras` in the last (current) program."""
    seeded = demo_seeded_records(seed=seed, programs=programs, as_of=as_of)
    if provider is None:
        return seeded
    mine = demo_records_of(seeded, provider=provider)
    if provider != Provider.COURSERA or not programs:
        return mine
    return mine + demo_sandbox_extras(seed=seed, program=programs[-1], seeded=mine, as_of=as_of)
