"""`manage.py progress`: the exact JSON shape, the table, bad input, and the contract
company of the contract check with its hand-computed numbers."""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from programs.models import Employee, ProgramStatus
from reports.models import ProgressSnapshot
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

pytestmark = pytest.mark.django_db

CONTRACT_PROGRAM = "Contract Program 2024"


@pytest.fixture(autouse=True)
def _company_time_zone(settings):
    settings.TIME_ZONE = "America/Los_Angeles"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def progress(*args: str) -> str:
    out = StringIO()
    call_command("progress", *args, stdout=out)
    return out.getvalue()


def progress_json(*args: str) -> dict:
    return json.loads(progress(*args, "--format", "json"))


@pytest.fixture
def contract(db):
    """The contract company, as the roster, collections and CourseActivity.csv imports
    leave it: Grace matched by e-mail (her two identical rows are one enrollment, 37%
    progress but completed), Mary not completed, Barb removed and not completed, the
    vendor unmatched (no enrollment)."""
    contoso, eng, sales = org("Contoso"), org("Contoso/Engineering"), org("Contoso/Sales")

    def person(email, organization, hired_on, departed_on=None, external_id=""):
        return EmployeeFactory(
            email=email, organization=organization, hired_on=hired_on, departed_on=departed_on, external_id=external_id
        )

    ada = person("ada@contoso.example", contoso, dt.date(2015, 1, 1), external_id="C001")
    grace = person("grace@contoso.example", eng, dt.date(2016, 3, 1), external_id="C002")
    linus = person("linus@contoso.example", eng, dt.date(2019, 5, 1), external_id="C003")
    ken = person("ken@contoso.example", eng, dt.date(2020, 7, 1), dt.date(2024, 4, 30), external_id="C004")
    mary = person("mary@contoso.example", sales, dt.date(2018, 2, 1), external_id="C005")
    joan = person("joan@contoso.example", sales, dt.date(2024, 11, 1), external_id="C006")
    barb = person("barb@contoso.example", sales, None, external_id="C007")

    program = ProgramFactory(name=CONTRACT_PROGRAM, starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2024, 12, 31))
    lead1, ml101, py101 = (CourseFactory(provider_course_id=c) for c in ("LEAD1", "ML101", "PY101"))
    st200, ng300 = CourseFactory(provider_course_id="ST200"), CourseFactory(provider_course_id="NG300")
    essentials = CollectionFactory(program=program, organization=eng, name="Engineering essentials")
    CollectionItemFactory(collection=essentials, course=ml101, position=1)
    CollectionItemFactory(collection=essentials, course=py101, position=2)
    foundations = CollectionFactory(program=program, organization=None, name="Company foundations")
    CollectionItemFactory(collection=foundations, course=lead1, position=1)

    connection = ConnectionFactory(name="contract")

    def row(employee, course, completed_at=None, key=None, **kwargs):
        EnrollmentFactory(
            connection=connection,
            employee=employee,
            learner_key=key or employee.external_id,
            course=course,
            is_completed=completed_at is not None,
            completed_at=completed_at,
            **kwargs,
        )

    row(ada, lead1, utc(2024, 2, 1, 10))
    row(grace, ml101, utc(2024, 3, 3, 12), key="grace@contoso.example", progress=37)
    row(linus, st200, utc(2025, 1, 1, 6))  # 2024-12-31 22:00 in Los Angeles: inside
    row(ken, py101, utc(2024, 3, 1))
    row(mary, py101)
    row(joan, lead1, utc(2024, 12, 1))
    row(barb, ng300, is_removed=True)
    return program


# Copied from the contract check (worked out by hand).
CONTRACT_EXPECTED = {
    "2024-12-31": {
        "company": {
            "eligible": 6,
            "met": 4,
            "rate": 4 / 6,
            "completions": 4,
            "curated_completions": 3,
            "curated_share": 0.75,
        },
        "Contoso": {
            "eligible": 6,
            "met": 4,
            "rate": 4 / 6,
            "completions": 4,
            "curated_completions": 3,
            "curated_share": 0.75,
        },
        "Contoso/Engineering": {
            "eligible": 2,
            "met": 2,
            "rate": 1.0,
            "completions": 2,
            "curated_completions": 1,
            "curated_share": 0.5,
        },
        "Contoso/Sales": {
            "eligible": 3,
            "met": 1,
            "rate": 1 / 3,
            "completions": 1,
            "curated_completions": 1,
            "curated_share": 1.0,
        },
    },
    "2024-06-30": {
        "company": {
            "eligible": 5,
            "met": 2,
            "rate": 0.4,
            "completions": 2,
            "curated_completions": 2,
            "curated_share": 1.0,
        },
        "Contoso/Engineering": {
            "eligible": 2,
            "met": 1,
            "rate": 0.5,
            "completions": 1,
            "curated_completions": 1,
            "curated_share": 1.0,
        },
        "Contoso/Sales": {
            "eligible": 2,
            "met": 0,
            "rate": 0.0,
            "completions": 0,
            "curated_completions": 0,
            "curated_share": None,
        },
    },
}


@pytest.mark.parametrize("as_of", sorted(CONTRACT_EXPECTED))
def test_contract_numbers(contract, as_of):
    got = progress_json("--program", CONTRACT_PROGRAM, "--as-of", as_of)
    orgs = {o["path"]: o for o in got["organizations"]}
    assert sorted(orgs) == ["Contoso", "Contoso/Engineering", "Contoso/Sales"]
    for where, numbers in CONTRACT_EXPECTED[as_of].items():
        block = got["company"] if where == "company" else orgs[where]
        assert {k: block[k] for k in numbers} == pytest.approx(numbers), where


def test_json_shape_exactly(contract):
    SponsorFactory(
        program=contract,
        organization=org("Contoso/Engineering"),
        employee=Employee.objects.get(email="grace@contoso.example"),
    )
    SponsorFactory(
        program=contract,
        organization=org("Contoso/Sales"),
        employee=Employee.objects.get(email="mary@contoso.example"),
    )
    for day, rate in ((30, 0.5), (31, 0.625)):
        ProgressSnapshot.objects.create(
            program=contract,
            day=dt.date(2024, 12, day),
            eligible=8,
            met=0,
            completions=0,
            curated_completions=0,
            rate=rate,
        )

    got = progress_json("--program", CONTRACT_PROGRAM, "--as-of", "2024-12-31")

    assert list(got) == ["program", "as_of", "target", "required", "company", "organizations", "executives"]
    assert (got["program"], got["as_of"], got["target"], got["required"]) == (CONTRACT_PROGRAM, "2024-12-31", 0.9, 1)
    assert type(got["target"]) is float
    assert got["company"] == {
        "eligible": 6,
        "met": 4,
        "rate": 4 / 6,
        "completions": 4,
        "curated_completions": 3,
        "curated_share": 0.75,
        "pace": 0.9,
        "on_track": False,
        "projection": 0.625,  # the line through the two snapshots, on the last day
    }
    assert got["organizations"][2] == {
        "path": "Contoso/Sales",
        "eligible": 3,
        "met": 1,
        "rate": 1 / 3,
        "completions": 1,
        "curated_completions": 1,
        "curated_share": 1.0,
    }
    assert [list(o) for o in got["organizations"]] == [
        ["path", "eligible", "met", "rate", "completions", "curated_completions", "curated_share"]
    ] * 3
    assert got["executives"] == [
        {"email": "grace@contoso.example", "organization": "Contoso/Engineering", "met": True},
        {"email": "mary@contoso.example", "organization": "Contoso/Sales", "met": False},
    ]


def test_null_rate_and_share_are_json_null(db):
    program = ProgramFactory(starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2024, 12, 31))
    org("Acme/Empty")
    got = progress_json("--program", program.name, "--as-of", "2024-01-01")
    assert got["company"] == {
        "eligible": 0,
        "met": 0,
        "rate": None,
        "completions": 0,
        "curated_completions": 0,
        "curated_share": None,
        "pace": 0.0,
        "on_track": False,
        "projection": None,
    }
    assert got["organizations"] == [
        {
            "path": p,
            "eligible": 0,
            "met": 0,
            "rate": None,
            "completions": 0,
            "curated_completions": 0,
            "curated_share": None,
        }
        for p in ("Acme", "Acme/Empty")
    ]
    assert got["executives"] == []


def test_default_program_is_the_current_one_and_as_of_is_clamped(db):
    ProgramFactory(
        name="Old", starts_on=dt.date(2022, 1, 1), ends_on=dt.date(2022, 12, 31), status=ProgramStatus.CLOSED
    )
    ProgramFactory(name="Current", starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2024, 12, 31))
    got = progress_json("--as-of", "2030-01-01")
    assert (got["program"], got["as_of"]) == ("Current", "2024-12-31")


def test_table(contract):
    SponsorFactory(
        program=contract,
        organization=org("Contoso/Engineering"),
        employee=Employee.objects.get(email="grace@contoso.example"),
    )
    lines = progress("--program", CONTRACT_PROGRAM, "--as-of", "2024-06-30").splitlines()
    assert lines[:4] == [
        "Program:  Contract Program 2024",
        "As of:    2024-06-30",
        "Target:   90.0% of eligible employees, 1 course each",
        "Pace:     44.6% expected today; behind pace; projection -",
    ]
    assert lines[5:11] == [
        "Organization             Eligible  Met   Rate  Completions  Curated  Curated share",
        "-----------------------  --------  ---  -----  -----------  -------  -------------",
        "Company                         5    2  40.0%            2        2         100.0%",
        "  Contoso                       5    2  40.0%            2        2         100.0%",
        "    Contoso/Engineering         2    1  50.0%            1        1         100.0%",
        "    Contoso/Sales               2    0   0.0%            0        0              -",
    ]
    assert lines[12:] == [
        "Executive sponsor      Organization         Commitment",
        "---------------------  -------------------  ----------",
        "grace@contoso.example  Contoso/Engineering  met",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--program", "Nope"], "No program is named 'Nope'. Programs: 'Contract Program 2024'."),
        (
            ["--as-of", "2024-13-01"],
            "--as-of must be a date written YYYY-MM-DD (for example 2024-06-30), not '2024-13-01'.",
        ),
        (
            ["--as-of", "31/12/2024"],
            "--as-of must be a date written YYYY-MM-DD (for example 2024-06-30), not '31/12/2024'.",
        ),
    ],
)
def test_bad_input_is_a_clear_error(contract, args, message):
    with pytest.raises(CommandError) as error:
        progress(*args)
    assert str(error.value) == message
    assert ProgressSnapshot.objects.count() == 0


def test_no_program_at_all(db):
    with pytest.raises(CommandError, match="There is no program yet"):
        progress()
