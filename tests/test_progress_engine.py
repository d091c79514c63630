"""The progress engine (reports/progress.py) against numbers worked out by hand.

Unless a test says otherwise: program 2024-01-01 .. 2024-12-31, target 90%, one course
required, company time zone America/Los_Angeles (UTC-8 in winter, UTC-7 in summer).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from programs.models import ProgramExclusion
from reports.models import ProgressSnapshot
from reports.progress import program_progress, trend_projection, trend_projections
from tests.factories import (
    CollectionFactory,
    CollectionItemFactory,
    ConnectionFactory,
    CourseFactory,
    EmployeeFactory,
    EnrollmentFactory,
    ProgramFactory,
    SponsorFactory,
    org,
)

UTC = dt.UTC
LA = "America/Los_Angeles"

pytestmark = pytest.mark.django_db


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def done(employee, course, at: dt.datetime, **kwargs):
    """A completed enrollment of `employee` in `course` at `at`."""
    return EnrollmentFactory(employee=employee, course=course, is_completed=True, completed_at=at, **kwargs)


@pytest.fixture
def la(settings):
    settings.TIME_ZONE = LA
    return settings


@pytest.fixture
def program(db):
    return ProgramFactory(name="Program 2024", starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2024, 12, 31))


def block(progress, path):
    """The numbers of one organization, as a dict, for exact comparisons."""
    o = next(o for o in progress.organizations if o.path == path)
    return {
        "eligible": o.eligible,
        "met": o.met,
        "rate": o.rate,
        "completions": o.completions,
        "curated_completions": o.curated_completions,
        "curated_share": o.curated_share,
    }


def company(progress):
    c = progress.company
    return {
        "eligible": c.eligible,
        "met": c.met,
        "rate": c.rate,
        "completions": c.completions,
        "curated_completions": c.curated_completions,
        "curated_share": c.curated_share,
    }


def test_eligibility_on_the_day(la, program):
    eng = org("Acme/Engineering")
    course = CourseFactory()
    early = utc(2024, 3, 1, 12)

    counted = EmployeeFactory(organization=eng, hired_on=dt.date(2020, 1, 1))
    done(counted, course, early)
    hired_after = EmployeeFactory(organization=eng, hired_on=dt.date(2024, 7, 1))
    done(hired_after, course, early)
    EmployeeFactory(  # hired on the day: eligible
        organization=eng, hired_on=dt.date(2024, 6, 30)
    )
    departed_on_the_day = EmployeeFactory(organization=eng, departed_on=dt.date(2024, 6, 30))
    done(departed_on_the_day, course, early)
    departed_before = EmployeeFactory(organization=eng, departed_on=dt.date(2024, 5, 1))
    done(departed_before, course, early)
    EmployeeFactory(  # departs after the day: eligible
        organization=eng, departed_on=dt.date(2024, 7, 1)
    )
    EmployeeFactory(  # no hire date: eligible
        organization=eng, hired_on=None
    )
    excluded = EmployeeFactory(organization=eng)
    done(excluded, course, early)
    ProgramExclusion.objects.create(program=program, employee=excluded, reason="long leave")
    other_program = ProgramFactory(name="Other program", starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2024, 12, 31))
    excluded_elsewhere = EmployeeFactory(organization=eng)
    ProgramExclusion.objects.create(program=other_program, employee=excluded_elsewhere)

    progress = program_progress(program=program, as_of=dt.date(2024, 6, 30))

    # counted, hired_on_the_day, departs_later, no_hire_date, excluded_elsewhere
    assert block(progress, "Acme/Engineering") == {
        "eligible": 5,
        "met": 1,
        "rate": 0.2,
        "completions": 1,
        "curated_completions": 0,
        "curated_share": 0.0,
    }
    assert progress.as_of == dt.date(2024, 6, 30)

    # A day later the employee hired on 2024-07-01 is in, the one leaving on 2024-07-01 is out.
    later = program_progress(program=program, as_of=dt.date(2024, 7, 1))
    assert (later.company.eligible, later.company.met, later.company.completions) == (5, 2, 2)


@pytest.mark.parametrize(
    ("time_zone", "expected_met"),
    [
        # Team -> completion time (UTC) and its local date in Los Angeles:
        # Before 2024-01-01T07:59:59Z = 2023-12-31 23:59:59 PST (out in LA, in in UTC)
        # First  2024-01-01T08:00:00Z = 2024-01-01 00:00:00 PST (in)
        # Last   2024-07-01T06:59:59Z = 2024-06-30 23:59:59 PDT (in in LA, out in UTC)
        # After  2024-07-01T07:00:00Z = 2024-07-01 00:00:00 PDT (out)
        (LA, {"Before": 0, "First": 1, "Last": 1, "After": 0}),
        ("UTC", {"Before": 1, "First": 1, "Last": 0, "After": 0}),
    ],
)
def test_window_edges_in_the_company_time_zone(settings, program, time_zone, expected_met):
    settings.TIME_ZONE = time_zone
    course = CourseFactory()
    times = {
        "Before": utc(2024, 1, 1, 7, 59, 59),
        "First": utc(2024, 1, 1, 8, 0, 0),
        "Last": utc(2024, 7, 1, 6, 59, 59),
        "After": utc(2024, 7, 1, 7, 0, 0),
    }
    for team, at in times.items():
        done(EmployeeFactory(organization=org(f"Acme/{team}")), course, at)

    progress = program_progress(program=program, as_of=dt.date(2024, 6, 30))

    assert {team: block(progress, f"Acme/{team}")["met"] for team in times} == expected_met
    assert progress.company.met == 2
    assert progress.company.eligible == 4


def test_same_course_counts_once_and_required_two(la, program):
    program.required_completions = 2
    program.save(update_fields=["required_completions"])
    team = org("Acme/Data")
    ml, stats = CourseFactory(provider_course_id="ML101"), CourseFactory(provider_course_id="ST200")
    api, files = ConnectionFactory(name="api"), ConnectionFactory(name="csv")

    twice = EmployeeFactory(organization=team)  # ML101 from two connections and two learner keys
    done(twice, ml, utc(2024, 2, 1), connection=api)
    done(twice, ml, utc(2024, 5, 1), connection=files)
    done(twice, ml, utc(2024, 5, 2), connection=files, learner_key=twice.email)
    two_courses = EmployeeFactory(organization=team)
    done(two_courses, ml, utc(2024, 2, 1), connection=api)
    done(two_courses, stats, utc(2024, 2, 2), connection=files)
    not_completed = EmployeeFactory(organization=team)
    EnrollmentFactory(employee=not_completed, course=stats, is_completed=False, progress=Decimal("99"))

    progress = program_progress(program=program, as_of=dt.date(2024, 12, 31))

    assert block(progress, "Acme/Data") == {
        "eligible": 3,
        "met": 1,
        "rate": 1 / 3,
        "completions": 3,  # twice: ML101 once; two_courses: ML101 + ST200
        "curated_completions": 0,
        "curated_share": 0.0,
    }
    assert progress.required == 2


def test_roll_up_of_a_two_level_tree_and_org_without_eligible_people(la, program):
    course = CourseFactory()
    at = utc(2024, 4, 1)
    root = EmployeeFactory(organization=org("Acme"))
    done(root, course, at)
    EmployeeFactory(organization=org("Acme/Engineering"))
    done(EmployeeFactory(organization=org("Acme/Engineering")), course, at)
    done(EmployeeFactory(organization=org("Acme/Engineering/Platform")), course, at)
    EmployeeFactory(organization=org("Acme/Engineering/Platform"))
    EmployeeFactory(organization=org("Acme/Engineering/Platform"))
    EmployeeFactory(organization=org("Acme/Sales"), departed_on=dt.date(2024, 2, 1))  # nobody eligible in Sales
    org("Acme/Legal")  # no one at all
    nowhere = EmployeeFactory(organization=None)  # on the roster, no organization: company only
    done(nowhere, course, at)

    progress = program_progress(program=program, as_of=dt.date(2024, 12, 31))

    assert [o.path for o in progress.organizations] == [
        "Acme",
        "Acme/Engineering",
        "Acme/Engineering/Platform",
        "Acme/Legal",
        "Acme/Sales",
    ]
    assert block(progress, "Acme/Engineering/Platform") == {
        "eligible": 3,
        "met": 1,
        "rate": 1 / 3,
        "completions": 1,
        "curated_completions": 0,
        "curated_share": 0.0,
    }
    assert block(progress, "Acme/Engineering") == {
        "eligible": 5,
        "met": 2,
        "rate": 0.4,
        "completions": 2,
        "curated_completions": 0,
        "curated_share": 0.0,
    }
    assert block(progress, "Acme") == {
        "eligible": 6,
        "met": 3,
        "rate": 0.5,
        "completions": 3,
        "curated_completions": 0,
        "curated_share": 0.0,
    }
    none = {"eligible": 0, "met": 0, "rate": None, "completions": 0, "curated_completions": 0, "curated_share": None}
    assert block(progress, "Acme/Sales") == none
    assert block(progress, "Acme/Legal") == none
    assert company(progress) == {
        "eligible": 7,
        "met": 4,
        "rate": 4 / 7,
        "completions": 4,
        "curated_completions": 0,
        "curated_share": 0.0,
    }


def test_curated_completions_are_courses_in_any_collection_of_the_program(la, program):
    eng = org("Acme/Engineering")
    in_eng_collection, in_company_collection = CourseFactory(), CourseFactory()
    in_other_program, in_no_collection = CourseFactory(), CourseFactory()
    CollectionItemFactory(collection=CollectionFactory(program=program, organization=eng), course=in_eng_collection)
    CollectionItemFactory(
        collection=CollectionFactory(program=program, organization=None), course=in_company_collection
    )
    other = ProgramFactory(name="Program 2023", starts_on=dt.date(2023, 1, 1), ends_on=dt.date(2023, 12, 31))
    CollectionItemFactory(collection=CollectionFactory(program=other, organization=eng), course=in_other_program)
    # A second collection holding the same course does not double it.
    CollectionItemFactory(collection=CollectionFactory(program=program, organization=None), course=in_eng_collection)

    sales_person = EmployeeFactory(organization=org("Acme/Sales"))
    done(sales_person, in_eng_collection, utc(2024, 3, 1))  # curated for anyone, wherever they work
    done(sales_person, in_no_collection, utc(2024, 3, 2))
    eng_person = EmployeeFactory(organization=eng)
    done(eng_person, in_company_collection, utc(2024, 3, 1))
    done(eng_person, in_other_program, utc(2024, 3, 1))

    progress = program_progress(program=program, as_of=dt.date(2024, 12, 31))

    assert block(progress, "Acme/Sales") == {
        "eligible": 1,
        "met": 1,
        "rate": 1.0,
        "completions": 2,
        "curated_completions": 1,
        "curated_share": 0.5,
    }
    assert block(progress, "Acme/Engineering") == {
        "eligible": 1,
        "met": 1,
        "rate": 1.0,
        "completions": 2,
        "curated_completions": 1,
        "curated_share": 0.5,
    }
    assert (progress.company.completions, progress.company.curated_completions) == (4, 2)
    assert progress.company.curated_share == 0.5


def test_no_completions_means_no_curated_share(la, program):
    EmployeeFactory(organization=org("Acme"))
    progress = program_progress(program=program, as_of=dt.date(2024, 6, 1))
    assert company(progress) == {
        "eligible": 1,
        "met": 0,
        "rate": 0.0,
        "completions": 0,
        "curated_completions": 0,
        "curated_share": None,
    }


def test_executive_commitment(la, program):
    eng, sales = org("Acme/Engineering"), org("Acme/Sales")
    course = CourseFactory()
    met = EmployeeFactory(email="grace@acme.example", organization=eng)
    done(met, course, utc(2024, 2, 1))
    not_met = EmployeeFactory(email="mary@acme.example", organization=sales)
    done(not_met, course, utc(2023, 12, 1))  # before the program: does not count
    departed = EmployeeFactory(email="ken@acme.example", organization=eng, departed_on=dt.date(2024, 3, 1))
    done(departed, course, utc(2024, 2, 1))  # not eligible, still met their commitment
    SponsorFactory(program=program, organization=eng, employee=met)
    SponsorFactory(program=program, organization=sales, employee=not_met)
    SponsorFactory(program=program, organization=eng, employee=departed)
    SponsorFactory(program=program, organization=sales, employee=met, is_confirmed=False)  # carried over, unconfirmed
    other = ProgramFactory(name="Program 2023", starts_on=dt.date(2023, 1, 1), ends_on=dt.date(2023, 12, 31))
    SponsorFactory(program=other, organization=sales, employee=not_met)

    progress = program_progress(program=program, as_of=dt.date(2024, 12, 31))

    assert [(e.email, e.organization_path, e.completed_courses, e.met) for e in progress.executives] == [
        ("grace@acme.example", "Acme/Engineering", 1, True),
        ("ken@acme.example", "Acme/Engineering", 1, True),
        ("mary@acme.example", "Acme/Sales", 0, False),
    ]


def test_pace_and_on_track(la, program):
    team = org("Acme/Team")
    course = CourseFactory()
    people = [EmployeeFactory(organization=team) for _ in range(5)]
    done(people[0], course, utc(2024, 3, 1))
    done(people[1], course, utc(2024, 3, 1))

    # 2024 has 366 days: end - start = 365 days; 2024-07-01 is 182 days after the start.
    on_july_first = program_progress(program=program, as_of=dt.date(2024, 7, 1))
    assert on_july_first.company.pace == pytest.approx(0.9 * 182 / 365)  # 0.44876...
    assert on_july_first.company.rate == 0.4
    assert on_july_first.company.on_track is False

    on_may_first = program_progress(program=program, as_of=dt.date(2024, 5, 1))  # 121 days
    assert on_may_first.company.pace == pytest.approx(0.9 * 121 / 365)  # 0.29835...
    assert on_may_first.company.on_track is True

    assert program_progress(program=program, as_of=dt.date(2024, 1, 1)).company.pace == 0.0
    at_end = program_progress(program=program, as_of=dt.date(2024, 12, 31))
    assert at_end.company.pace == 0.9
    assert at_end.company.on_track is False
    assert at_end.goal_reached is False


def test_rate_at_pace_is_on_track_and_no_rate_is_not(la):
    program = ProgramFactory(
        starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2024, 1, 11), target_rate=Decimal("0.500")
    )  # 10 days: pace 0.05 a day
    assert program_progress(program=program, as_of=dt.date(2024, 1, 5)).company.on_track is False  # nobody
    team = org("Acme")
    done(EmployeeFactory(organization=team), CourseFactory(), utc(2024, 1, 2, 12))
    for _ in range(4):
        EmployeeFactory(organization=team)
    # 2024-01-05: pace 0.5 * 4 / 10 = 0.2 and the rate is exactly 1/5 = 0.2
    progress = program_progress(program=program, as_of=dt.date(2024, 1, 5))
    assert (progress.company.rate, progress.company.pace, progress.company.on_track) == (0.2, 0.2, True)


def test_as_of_after_the_end_is_the_end(la, program):
    person = EmployeeFactory(organization=org("Acme"), departed_on=dt.date(2025, 2, 1))
    done(person, CourseFactory(), utc(2025, 1, 15))  # after the program: not counted
    progress = program_progress(program=program, as_of=dt.date(2025, 3, 1))
    assert progress.as_of == dt.date(2024, 12, 31)
    assert (progress.company.eligible, progress.company.met, progress.company.pace) == (1, 0, 0.9)


def org_snapshot(program, organization, day, rate):
    return ProgressSnapshot.objects.create(
        program=program,
        organization=organization,
        day=day,
        eligible=10,
        met=0,
        completions=0,
        curated_completions=0,
        rate=rate,
    )


def company_snapshot(program, day, rate):
    return org_snapshot(program, None, day, rate)


def test_projection_is_the_snapshot_trend_carried_to_the_end(la, program):
    day = dt.date(2024, 12, 1)  # 30 days before the end
    assert program_progress(program=program, as_of=day).company.projection is None  # no snapshots
    company_snapshot(program, dt.date(2024, 11, 29), 0.20)
    assert program_progress(program=program, as_of=day).company.projection is None  # one snapshot
    company_snapshot(program, dt.date(2024, 11, 30), 0.21)
    company_snapshot(program, dt.date(2024, 12, 1), 0.22)
    # Ignored: older than 28 days, after the day, an organization's, no rate.
    company_snapshot(program, dt.date(2024, 11, 3), 0.90)
    company_snapshot(program, dt.date(2024, 12, 2), 0.90)
    company_snapshot(program, dt.date(2024, 11, 28), None)
    ProgressSnapshot.objects.create(
        program=program,
        organization=org("Acme"),
        day=dt.date(2024, 11, 25),
        eligible=1,
        met=1,
        completions=1,
        curated_completions=0,
        rate=1.0,
    )

    # slope 0.01 a day; 0.22 on 2024-12-01 plus 30 days -> 0.52
    assert program_progress(program=program, as_of=day).company.projection == pytest.approx(0.52)


def test_projection_of_an_organization_is_its_own_trend(la, program):
    """The rule of the company's projection applied to one organization's snapshots; the
    projections of several read at once are the same numbers."""
    day = dt.date(2024, 12, 1)  # 30 days before the end
    engineering, sales, marketing = org("Acme/Engineering"), org("Acme/Sales"), org("Acme/Marketing")
    org_snapshot(program, engineering, dt.date(2024, 11, 30), 0.40)
    org_snapshot(program, engineering, dt.date(2024, 12, 1), 0.42)  # 0.02 a day: 0.42 + 30 x 0.02, capped
    org_snapshot(program, sales, dt.date(2024, 11, 20), 0.50)
    org_snapshot(program, sales, dt.date(2024, 11, 30), 0.40)  # 0.01 down a day: 0.40 - 31 x 0.01
    org_snapshot(program, marketing, dt.date(2024, 12, 1), 0.90)  # one snapshot: no projection
    company_snapshot(program, dt.date(2024, 11, 30), 0.10)
    company_snapshot(program, dt.date(2024, 12, 1), 0.10)

    assert trend_projection(program=program, day=day, organization=engineering) == 1.0
    assert trend_projection(program=program, day=day, organization=sales) == pytest.approx(0.09)
    assert trend_projection(program=program, day=day, organization=marketing) is None
    assert trend_projection(program=program, day=day) == pytest.approx(0.10)
    ids = [None, engineering.pk, sales.pk, marketing.pk]
    assert trend_projections(program=program, day=day, organization_ids=ids) == {
        None: pytest.approx(0.10),
        engineering.pk: pytest.approx(1.0),
        sales.pk: pytest.approx(0.09),
        marketing.pk: None,
    }


def test_projection_is_capped_to_0_and_1(la, program):
    company_snapshot(program, dt.date(2024, 6, 1), 0.5)
    company_snapshot(program, dt.date(2024, 6, 2), 0.6)
    assert program_progress(program=program, as_of=dt.date(2024, 6, 2)).company.projection == 1.0
    company_snapshot(program, dt.date(2024, 6, 3), 0.1)
    company_snapshot(program, dt.date(2024, 6, 4), 0.0)
    assert program_progress(program=program, as_of=dt.date(2024, 6, 4)).company.projection == 0.0


def build_company(program, size: int) -> None:
    """`size` employees in each of `size` teams of two divisions, each with completions in
    two courses (one curated, one twice through two connections), and `size` sponsors."""
    curated, plain = CourseFactory(), CourseFactory()
    CollectionItemFactory(collection=CollectionFactory(program=program, organization=None), course=curated)
    api, files = ConnectionFactory(name="api"), ConnectionFactory(name="csv")
    for t in range(size):
        team = org(f"Acme/Division {t % 2}/Team {t}")
        for _ in range(size):
            person = EmployeeFactory(organization=team)
            done(person, curated, utc(2024, 3, 1), connection=api)
            done(person, plain, utc(2024, 3, 2), connection=api)
            done(person, plain, utc(2024, 3, 3), connection=files)
        SponsorFactory(program=program, organization=team, employee=person)
    company_snapshot(program, dt.date(2024, 5, 1), 0.1)
    company_snapshot(program, dt.date(2024, 5, 2), 0.2)


@pytest.mark.parametrize("size", [1, 10])
def test_query_count_does_not_grow_with_the_company(la, program, django_assert_num_queries, size):
    build_company(program, size)
    # organizations, the aggregate by home organization, snapshots, sponsors
    with django_assert_num_queries(4):
        progress = program_progress(program=program, as_of=dt.date(2024, 6, 1))
    assert progress.company.eligible == size * size
    assert progress.company.completions == 2 * size * size
    assert progress.company.curated_completions == size * size
    assert len(progress.organizations) == {1: 3, 10: 13}[size]
    assert len(progress.executives) == size


def test_as_of_before_the_start_counts_nothing(la, program):
    done(EmployeeFactory(organization=org("Acme")), CourseFactory(), utc(2023, 12, 15))
    progress = program_progress(program=program, as_of=dt.date(2023, 12, 31))
    assert company(progress) == {
        "eligible": 1,
        "met": 0,
        "rate": 0.0,
        "completions": 0,
        "curated_completions": 0,
        "curated_share": None,
    }
    assert (progress.as_of, progress.company.pace, progress.company.on_track) == (dt.date(2023, 12, 31), 0.0, True)
