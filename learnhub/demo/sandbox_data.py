"""What `manage.py run_sandbox_provider` serves: the loaded Acme demo's records when asked
for the demo's Coursera business, otherwise activity generated for the roster in the
database. The records are Coursera-shaped; a sandbox (programs/providers/*_sandbox.py)
serves them in its provider's shape, whatever it is handed; choosing the records is the
demo's business.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from learnhub.demo.company import DEMO_CONNECTION_NAME, DEMO_PROVIDERS, course_slug, coursera_program_id, epoch_ms
from learnhub.demo.history import demo_activity_records, demo_programs_served, demo_sandbox_records
from learnhub.roles import current_program
from programs.models import Course, Employee, Provider, ProviderConnection
from programs.providers.coursera_sandbox import SandboxData

ROSTER_CATALOG: tuple[tuple[str, str, str, str, float], ...] = (
    # contentId, name, slug, partner, hours
    ("lead-ppl", "Leading People and Teams", "leading-teams", "University of Michigan", 18.0),
    ("ml-intro", "Machine Learning", "machine-learning", "Stanford University", 61.0),
    ("py-every", "Python for Everybody", "python", "University of Michigan", 19.0),
    ("stats-1", "Statistics with Python", "statistics-with-python", "University of Michigan", 14.5),
    ("negot-1", "Successful Negotiation", "negotiation", "University of Michigan", 11.0),
    ("sql-ds", "SQL for Data Science", "sql-for-data-science", "UC Davis", 14.0),
    ("cloud-fd", "Google Cloud Fundamentals", "gcp-fundamentals", "Google Cloud", 8.0),
    ("write-pro", "Writing in the Sciences", "sciwrite", "Stanford University", 24.0),
)
ROSTER_SPECIALIZATION = ("s12n-ds", "Data Science Specialization", "jhu-data-science", "Johns Hopkins University", 0.0)


def roster_activity_elements(
    *,
    people: Iterable[tuple[str, str, str]],
    courses: Iterable[tuple[str, str, str, str, float]],
    program_id: str,
    window_start: dt.datetime,
    window_end: dt.datetime,
    seed: int,
) -> list[dict[str, Any]]:
    """Coursera-shaped enrollment elements for `people` ((email, external id, name)).

    Deterministic for the same inputs and seed: each person enrolls in 0-3 courses at a
    time inside the window; about 55% of enrollments are completed before the window
    ends (progress 100, now and then the real-world trap of a lower progress); some
    people also hold a specialization; timestamps are epoch milliseconds.
    """
    rng = random.Random(seed)  # noqa: S311  (demo data, not security)
    catalog = list(courses)
    span = max(1.0, (window_end - window_start).total_seconds())
    elements: list[dict[str, Any]] = []
    for email, external_id, name in people:
        picked = rng.sample(catalog, k=min(len(catalog), rng.choice((0, 1, 1, 2, 2, 3))))
        if rng.random() < 0.15:
            picked.append(ROSTER_SPECIALIZATION)
        key = external_id or email
        for content_id, title, slug, partner, hours in picked:
            enrolled = window_start + dt.timedelta(seconds=rng.uniform(0, span * 0.8))
            finished = enrolled + dt.timedelta(days=rng.uniform(3, 90))
            completed = rng.random() < 0.55 and finished <= window_end
            active = min(finished if completed else enrolled + dt.timedelta(days=rng.uniform(0, 30)), window_end)
            progress: float = 100 if completed else round(rng.uniform(0, 95), 2)
            if completed and rng.random() < 0.1:
                progress = 37  # seen in real data: completed while progress says otherwise
            is_specialization = content_id == ROSTER_SPECIALIZATION[0]
            elements.append(
                {
                    "id": f"{key}~{content_id}~{program_id}",
                    "externalId": key,
                    "email": email,
                    "fullName": name,
                    "programId": program_id,
                    "membershipState": "MEMBER",
                    "contentId": content_id,
                    "contentType": "Specialization" if is_specialization else "Course",
                    "contentName": title,
                    "contentSlug": slug,
                    "partnerNames": [partner],
                    "enrolledAt": epoch_ms(enrolled),
                    "lastActivityAt": epoch_ms(active),
                    "isCompleted": completed,
                    "completedAt": epoch_ms(finished) if completed else None,
                    "overallProgress": progress,
                    "grade": round(rng.uniform(0.7, 1.0), 2) if completed else None,
                    "approxTotalCourseHrs": hours or None,
                }
            )
    return elements


def sandbox_data_from_database(
    *,
    seed: int = 7,
    org_id: str = "demo-org",
    program_id: str = "demo-program",
    today: dt.date | None = None,
    kind: str = Provider.COURSERA,
) -> SandboxData:
    """What run_sandbox_provider serves for `org_id`, the same for the same seed and day.

    - `org_id` is the loaded Acme demo's (DEMO_ORG_ID): the demo exactly
      (`demo_sandbox_data`: both demo programs, the roster's designed history for `seed`
      on the courses of `kind` when the demo has an account there (Coursera, with
      contractors, malformed records and specializations, or Udemy Business), on every
      course otherwise), so the syncs reproduce the numbers the demo was designed to show.
    - Otherwise, with a current program and a Coursera catalog in the database: the demo's
      history generator (`demo_activity_records`: org-by-org rates, curated courses,
      sponsors) for the roster in the current program up to `today`.
    - Otherwise: `roster_activity_elements` invents activity for employees not departed,
      on the current program's curated courses plus ROSTER_CATALOG, in its window
      (start .. min(end, today)); without a program the window is the last 180 days.

    Every element outside the demo gets `program_id`."""
    demo = demo_sandbox_data(org_id=org_id, seed=seed, as_of=today, kind=kind)
    if demo is not None:
        return demo
    today = today or dt.datetime.now(dt.UTC).date()
    program = current_program()
    if program is not None and Course.objects.filter(provider=Provider.COURSERA).exists():
        records = demo_activity_records(program=program, rng=random.Random(seed), as_of=today)  # noqa: S311
        for record in records:
            key = record.get("externalId") or record.get("email")
            record.update(programId=program_id, id=f"{key}~{record.get('contentId')}~{program_id}")
        return SandboxData(
            org_id=org_id,
            programs=[{"id": program_id, "name": program.name, "slug": program_id.lower()}],
            elements=records,
        )
    if program is not None:
        start, end, name = program.starts_on, min(program.ends_on, today), program.name
    else:
        start, end, name = today - dt.timedelta(days=180), today, "Demo program"
    if end < start:
        end = start
    window_start = dt.datetime.combine(start, dt.time(8), tzinfo=dt.UTC)
    window_end = dt.datetime.combine(end, dt.time(8), tzinfo=dt.UTC)
    curated: list[tuple[str, str, str, str, float]] = []
    if program is not None:
        for course in Course.objects.filter(provider=Provider.COURSERA, collections__program=program).distinct():
            curated.append(
                (course.provider_course_id, course.title, course_slug(course), course.partner, float(course.hours or 0))
            )
    known = {c[0] for c in curated}
    catalog = curated + [c for c in ROSTER_CATALOG if c[0] not in known]
    people = Employee.objects.filter(departed_on__isnull=True).order_by("email")
    elements = roster_activity_elements(
        people=[(e.email, e.external_id, e.full_name) for e in people],
        courses=catalog,
        program_id=program_id,
        window_start=window_start,
        window_end=window_end,
        seed=seed,
    )
    return SandboxData(
        org_id=org_id,
        programs=[{"id": program_id, "name": name, "slug": program_id.lower()}],
        elements=elements,
    )


def demo_sandbox_data(
    *, org_id: str, seed: int, as_of: dt.date | None = None, kind: str = Provider.COURSERA
) -> SandboxData | None:
    """The data of `kind`'s sandbox for the demo when the demo is loaded and `org_id` is its
    Coursera connection's org id (DEMO_ORG_ID), else None. Programs are that connection's,
    records are `demo_sandbox_records` of the provider `kind` when the demo has an account
    there (DEMO_PROVIDERS; else of every provider) for `seed` (use the seed seed_demo used)
    on `as_of` (default: today in the company time zone)."""
    connection = ProviderConnection.objects.filter(name=DEMO_CONNECTION_NAME, provider_org_id=org_id).first()
    if connection is None:
        return None
    programs = demo_programs_served(connection=connection)
    provider = kind if kind in DEMO_PROVIDERS else None
    records = demo_sandbox_records(seed=seed, programs=programs, as_of=as_of or timezone.localdate(), provider=provider)
    return SandboxData(
        org_id=org_id,
        programs=[
            {"id": coursera_program_id(p), "name": p.name, "slug": coursera_program_id(p).lower()} for p in programs
        ],
        elements=records,
    )
