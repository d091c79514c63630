import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from programs.learning_programs import program_create
from programs.models import LearningProgram, ProgramStatus
from tests.factories import ProgramFactory

pytestmark = pytest.mark.django_db

JAN_1, DEC_31 = dt.date(2027, 1, 1), dt.date(2027, 12, 31)


def create(**overrides):
    values = {"name": "Learning Program 2027", "starts_on": JAN_1, "ends_on": DEC_31, "target_rate": Decimal("0.9")}
    return program_create(**{**values, **overrides})


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_program", *args, stdout=out)
    return out.getvalue()


def test_program_create_stores_every_field():
    program = create(name="  Learning Program 2027 ", target_rate=Decimal("0.875"), required_completions=2)
    program.refresh_from_db()
    assert (program.name, program.starts_on, program.ends_on) == ("Learning Program 2027", JAN_1, DEC_31)
    assert (program.target_rate, program.required_completions, program.status) == (Decimal("0.875"), 2, "active")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "   "}, "name", "The program needs a name."),
        ({"ends_on": JAN_1}, "ends_on", "The program must end after it starts (2027-01-01 is not after 2027-01-01)."),
        (
            {"ends_on": dt.date(2026, 12, 31)},
            "ends_on",
            "The program must end after it starts (2026-12-31 is not after 2027-01-01).",
        ),
        ({"target_rate": Decimal("0")}, "target_rate", "The target must be more than 0% and at most 100%."),
        ({"target_rate": Decimal("-0.5")}, "target_rate", "The target must be more than 0% and at most 100%."),
        ({"target_rate": Decimal("1.01")}, "target_rate", "The target must be more than 0% and at most 100%."),
        ({"target_rate": Decimal("NaN")}, "target_rate", "The target must be more than 0% and at most 100%."),
        (
            {"target_rate": Decimal("0.8755")},
            "target_rate",
            "The target can have at most one decimal place, like 87.5%.",
        ),
        ({"required_completions": 0}, "required_completions", "Each person needs at least one completion."),
        ({"status": "paused"}, "status", "The status must be one of: draft, active, closed."),
    ],
)
def test_program_create_refuses_each_broken_rule(overrides, field, message):
    with pytest.raises(ValidationError) as refused:
        create(**overrides)
    assert refused.value.message_dict == {field: [message]}
    assert LearningProgram.objects.count() == 0


def test_program_create_refuses_a_name_in_use_whatever_its_case():
    ProgramFactory(name="Learning Program 2027")
    with pytest.raises(ValidationError) as refused:
        create(name="learning program 2027")
    assert refused.value.message_dict == {"name": ["A program named 'learning program 2027' already exists."]}
    assert list(LearningProgram.objects.values_list("name", flat=True)) == ["Learning Program 2027"]


def test_program_create_reports_every_problem_at_once():
    with pytest.raises(ValidationError) as refused:
        create(name="", ends_on=JAN_1, target_rate=Decimal("0"), required_completions=0)
    assert sorted(refused.value.message_dict) == ["ends_on", "name", "required_completions", "target_rate"]


def test_target_100_percent_is_allowed():
    assert create(target_rate=Decimal("1")).target_rate == Decimal("1")


def test_command_creates_an_active_program_by_default():
    out = run("--name", "Learning Program 2027", "--start", "2027-01-01", "--end", "2027-12-31", "--target", "90")
    program = LearningProgram.objects.get()
    assert out == (
        f"Created program 'Learning Program 2027' (id {program.pk}): 2027-01-01 to 2027-12-31, target 90%, "
        "1 completion per person, status active.\n"
    )
    assert (program.target_rate, program.required_completions, program.status) == (
        Decimal("0.900"),
        1,
        ProgramStatus.ACTIVE,
    )


def test_command_takes_decimal_target_required_and_status():
    out = run(
        "--name", "Pilot", "--start", "2027-01-01", "--end", "2027-06-30", "--target", "87.5",
        "--required", "2", "--status", "draft",
    )  # fmt: skip
    program = LearningProgram.objects.get()
    assert "target 87.5%, 2 completions per person, status draft." in out
    assert (program.target_rate, program.required_completions, program.status) == (Decimal("0.875"), 2, "draft")


@pytest.mark.parametrize(
    ("start", "end", "target", "problem"),
    [
        ("2027-02-30", "2027-12-31", "90", "--start: '2027-02-30' is not a date like 2026-01-31."),
        ("2027-01-01", "31/12/2027", "90", "--end: '31/12/2027' is not a date like 2026-01-31."),
        ("2027-01-01", "2026-12-31", "90", "--end: The program must end after it starts"),
        ("2027-01-01", "2027-12-31", "0", "--target: 0 is in percent and must be from 1 to 100 (90 means 90%)."),
        ("2027-01-01", "2027-12-31", "0.9", "--target: 0.9 is in percent and must be from 1 to 100"),
        ("2027-01-01", "2027-12-31", "101", "--target: The target must be more than 0% and at most 100%."),
        ("2027-01-01", "2027-12-31", "ninety", "--target: 'ninety' is not a number"),
    ],
)
def test_command_refuses_bad_input_and_creates_nothing(start, end, target, problem):
    with pytest.raises(CommandError) as refused:
        run("--name", "Learning Program 2027", "--start", start, "--end", end, "--target", target)
    assert str(refused.value).startswith("The program was not created.\n")
    assert problem in str(refused.value)
    assert LearningProgram.objects.count() == 0


def test_command_refuses_a_duplicate_name():
    existing = ProgramFactory(name="Learning Program 2027", target_rate=Decimal("0.8"))
    with pytest.raises(CommandError) as refused:
        run("--name", "Learning Program 2027", "--start", "2027-01-01", "--end", "2027-12-31", "--target", "95")
    assert str(refused.value) == (
        "The program was not created.\n--name: A program named 'Learning Program 2027' already exists."
    )
    assert list(LearningProgram.objects.values_list("pk", "target_rate")) == [(existing.pk, Decimal("0.800"))]
