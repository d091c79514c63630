"""Snapshots: the daily write, the backfill and its command, the hook the sync calls, and
the daily beat entry."""

from __future__ import annotations

import datetime as dt
import threading
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from learnhub.celery import app
from programs.models import ProgramStatus
from reports.hooks import progress_changed
from reports.models import ProgressSnapshot
from reports.progress import company_today, program_progress
from reports.snapshots import snapshots_backfill, snapshots_write
from tests.factories import CourseFactory, EmployeeFactory, EnrollmentFactory, ProgramFactory, org

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _company_time_zone(settings):
    settings.TIME_ZONE = "America/Los_Angeles"


def noon_la(day: dt.date) -> dt.datetime:
    """Noon in Los Angeles in January (UTC-8), as UTC."""
    return dt.datetime(day.year, day.month, day.day, 20, tzinfo=dt.UTC)


def done(employee, course, day: dt.date):
    return EnrollmentFactory(employee=employee, course=course, is_completed=True, completed_at=noon_la(day))


def rows(program):
    """(organization path or 'company', day, eligible, met, completions, curated, rate) of every snapshot."""
    return sorted(
        (
            s.organization.path if s.organization else "company",
            s.day,
            s.eligible,
            s.met,
            s.completions,
            s.curated_completions,
            s.rate,
        )
        for s in ProgressSnapshot.objects.filter(program=program).select_related("organization")
    )


@pytest.fixture
def january(db):
    """Program 2024-01-01 .. 2024-01-15. Engineering: Ada completes on Jan 3, Bo on Jan 6,
    Cy is hired on Jan 5. Sales: Di, departed Jan 4, completed on Jan 2. Empty: nobody."""
    program = ProgramFactory(name="January", starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2024, 1, 15))
    eng, sales = org("Acme/Engineering"), org("Acme/Sales")
    org("Acme/Empty")
    course = CourseFactory()
    done(EmployeeFactory(email="ada@acme.example", organization=eng), course, dt.date(2024, 1, 3))
    done(EmployeeFactory(email="bo@acme.example", organization=eng), course, dt.date(2024, 1, 6))
    EmployeeFactory(email="cy@acme.example", organization=eng, hired_on=dt.date(2024, 1, 5))
    di = EmployeeFactory(email="di@acme.example", organization=sales, departed_on=dt.date(2024, 1, 4))
    done(di, course, dt.date(2024, 1, 2))
    return program


def test_write_one_row_per_organization_and_company_and_rewrite_is_idempotent(january):
    snapshots_write(program=january, day=dt.date(2024, 1, 3))
    expected = [
        ("Acme", dt.date(2024, 1, 3), 3, 2, 2, 0, 2 / 3),
        ("Acme/Empty", dt.date(2024, 1, 3), 0, 0, 0, 0, None),
        ("Acme/Engineering", dt.date(2024, 1, 3), 2, 1, 1, 0, 0.5),
        ("Acme/Sales", dt.date(2024, 1, 3), 1, 1, 1, 0, 1.0),
        ("company", dt.date(2024, 1, 3), 3, 2, 2, 0, 2 / 3),
    ]
    assert rows(january) == expected

    snapshots_write(program=january, day=dt.date(2024, 1, 3))
    assert rows(january) == expected

    snapshots_write(program=january, day=dt.date(2024, 1, 6))  # another day: added, the first one kept
    assert len(rows(january)) == 10
    assert ("company", dt.date(2024, 1, 6), 3, 2, 2, 0, 2 / 3) in rows(january)  # Di left, Cy came, Bo done


def test_rewrite_replaces_the_day_when_data_changed(january):
    snapshots_write(program=january, day=dt.date(2024, 1, 3))
    done(EmployeeFactory(email="ed@acme.example", organization=org("Acme/Empty")), CourseFactory(), dt.date(2024, 1, 3))
    snapshots_write(program=january, day=dt.date(2024, 1, 3))
    assert ("Acme/Empty", dt.date(2024, 1, 3), 1, 1, 1, 0, 1.0) in rows(january)
    assert ("company", dt.date(2024, 1, 3), 4, 3, 3, 0, 0.75) in rows(january)
    assert ProgressSnapshot.objects.filter(program=january).count() == 5


def test_write_after_the_end_rewrites_the_last_day(january):
    snapshots_write(program=january, day=dt.date(2024, 3, 1))
    assert set(ProgressSnapshot.objects.values_list("day", flat=True)) == {dt.date(2024, 1, 15)}


def test_write_query_count_is_fixed(january, django_assert_num_queries):
    # The counts (organizations, one aggregate), then in a savepoint: lock the program,
    # delete the day's rows, insert them.
    with django_assert_num_queries(2 + 5):
        snapshots_write(program=january, day=dt.date(2024, 1, 3))


def test_backfill_rebuilds_history_from_enrollment_dates(january):
    assert snapshots_backfill(program=january) == 15
    company = [
        (s.day.day, s.eligible, s.met, s.rate)
        for s in ProgressSnapshot.objects.filter(program=january, organization=None).order_by("day")
    ]
    assert company[:7] == [
        (1, 3, 0, 0.0),  # Ada, Bo, Di
        (2, 3, 1, 1 / 3),  # Di completed
        (3, 3, 2, 2 / 3),  # Ada completed
        (4, 2, 1, 0.5),  # Di departed on the 4th
        (5, 3, 1, 1 / 3),  # Cy hired on the 5th
        (6, 3, 2, 2 / 3),  # Bo completed
        (7, 3, 2, 2 / 3),
    ]
    assert company[-1] == (15, 3, 2, 2 / 3)
    assert ProgressSnapshot.objects.filter(program=january).count() == 15 * 5
    engineering_day_5 = ProgressSnapshot.objects.get(
        program=january, organization__path="Acme/Engineering", day="2024-01-05"
    )
    assert (engineering_day_5.eligible, engineering_day_5.met, engineering_day_5.completions) == (3, 1, 1)
    # The same as asking the engine for that day.
    assert program_progress(program=january, as_of=dt.date(2024, 1, 5)).company.rate == company[4][3]


def test_backfill_range_keeps_other_days_and_is_idempotent(january):
    snapshots_backfill(program=january)
    before = rows(january)
    assert snapshots_backfill(program=january, start=dt.date(2024, 1, 4), end=dt.date(2024, 1, 6)) == 3
    assert rows(january) == before
    # Clamped to the program window.
    assert snapshots_backfill(program=january, start=dt.date(2023, 12, 1), end=dt.date(2024, 2, 1)) == 15
    assert rows(january) == before


def test_backfilled_trend_feeds_the_projection(db):
    program = ProgramFactory(name="Trend", starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2024, 1, 15))
    team, course = org("Acme"), CourseFactory()
    people = [EmployeeFactory(organization=team) for _ in range(20)]
    for n, person in enumerate(people[:10]):
        done(person, course, dt.date(2024, 1, 1 + n))  # one more each day: 0.05 a day
    snapshots_backfill(program=program, end=dt.date(2024, 1, 10))
    # 0.50 on Jan 10, plus 5 days x 0.05
    assert program_progress(program=program, as_of=dt.date(2024, 1, 10)).company.projection == pytest.approx(0.75)


def backfill(*args: str) -> str:
    out = StringIO()
    call_command("backfill_snapshots", *args, stdout=out)
    return out.getvalue()


def test_backfill_command(january):
    assert backfill("--program", "January", "--from", "2024-01-02", "--to", "2024-01-03") == (
        "January: wrote snapshots for 2 days.\n"
    )
    assert sorted(set(ProgressSnapshot.objects.values_list("day", flat=True))) == [
        dt.date(2024, 1, 2),
        dt.date(2024, 1, 3),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--program", "Nope"], "No program is named 'Nope'. Programs: 'January'."),
        (
            ["--from", "2024-01-32"],
            "--from must be a date written YYYY-MM-DD (for example 2024-06-30), not '2024-01-32'.",
        ),
        (["--to", "yesterday"], "--to must be a date written YYYY-MM-DD (for example 2024-06-30), not 'yesterday'."),
        (["--from", "2024-01-05", "--to", "2024-01-04"], "--to (2024-01-04) is before --from (2024-01-05)."),
    ],
)
def test_backfill_command_bad_input(january, args, message):
    snapshots_write(program=january, day=dt.date(2024, 1, 3))
    before = rows(january)
    with pytest.raises(CommandError) as error:
        backfill(*args)
    assert str(error.value) == message
    assert rows(january) == before


def test_progress_changed_writes_today_for_active_programs_after_commit(db, django_capture_on_commit_callbacks):
    today = company_today()
    active = ProgramFactory(
        name="Active", starts_on=today - dt.timedelta(days=30), ends_on=today + dt.timedelta(days=30)
    )
    draft = ProgramFactory(name="Draft", starts_on=active.starts_on, ends_on=active.ends_on, status=ProgramStatus.DRAFT)
    EnrollmentFactory(
        employee=EmployeeFactory(organization=org("Acme")), is_completed=True, completed_at=dt.datetime.now(tz=dt.UTC)
    )

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        progress_changed()
    assert len(callbacks) == 1
    assert ProgressSnapshot.objects.count() == 0  # nothing before the commit

    callbacks[0]()
    company = ProgressSnapshot.objects.get(program=active, organization=None)
    assert (company.day, company.eligible, company.met, company.rate) == (today, 1, 1, 1.0)
    assert ProgressSnapshot.objects.filter(program=draft).count() == 0


def test_progress_changed_only_for_given_programs(db, django_capture_on_commit_callbacks):
    today = company_today()
    one = ProgramFactory(name="One", starts_on=today - dt.timedelta(days=3), ends_on=today + dt.timedelta(days=3))
    two = ProgramFactory(name="Two", starts_on=one.starts_on, ends_on=one.ends_on)
    with django_capture_on_commit_callbacks(execute=True):
        progress_changed(program_ids=[two.pk])
    assert ProgressSnapshot.objects.filter(program=one).count() == 0
    assert ProgressSnapshot.objects.filter(program=two, day=today, organization=None).count() == 1


def test_daily_beat_entry_names_the_registered_task():
    entry = django_settings.CELERY_BEAT_SCHEDULE["reports-daily-snapshots"]
    assert entry["task"] == "reports.tasks.snapshot_active_programs"
    app.loader.import_default_modules()
    assert "reports.tasks.snapshot_active_programs" in app.tasks
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({0}, {5})


@pytest.mark.django_db(transaction=True)
def test_two_writes_at_once_leave_one_set_of_rows(january):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL")
    barrier, errors = threading.Barrier(4), []

    def write() -> None:
        try:
            barrier.wait()
            snapshots_write(program=january, day=dt.date(2024, 1, 3))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert ProgressSnapshot.objects.filter(program=january).count() == 5
    assert ("company", dt.date(2024, 1, 3), 3, 2, 2, 0, 2 / 3) in rows(january)


def test_nothing_is_written_before_the_program_starts(january):
    assert snapshots_write(program=january, day=dt.date(2023, 12, 31)) == []
    assert ProgressSnapshot.objects.count() == 0
