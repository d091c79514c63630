"""Learning programs: the rules every program obeys, how its status moves, creating and
changing one (every change to the target, window, completions required or status is
audited), and what next year's program starts from.

`program_create` and `program_update` are the only writes of a program: the pages, the
Django admin, the API and the commands all call them; `program_errors` is the check they
make first, which a form can call to show the same errors next to its fields.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from programs.models import (
    PROGRAM_CHANGE_REASON_MAX_LENGTH,
    Employee,
    LearningProgram,
    ProgramChange,
    ProgramStatus,
)
from programs.templatetags.formats import target
from reports.hooks import progress_changed

TARGET_RATE_PLACES = 3  # LearningProgram.target_rate keeps 0.001 (0.1 percentage point)

# How a program's status moves: draft -> active -> closed, never back.
PROGRAM_TRANSITIONS: dict[str, frozenset[str]] = {
    ProgramStatus.DRAFT: frozenset({ProgramStatus.ACTIVE}),
    ProgramStatus.ACTIVE: frozenset({ProgramStatus.CLOSED}),
    ProgramStatus.CLOSED: frozenset(),
}
# Why a program cannot make a step PROGRAM_TRANSITIONS refuses, by (current status, wanted status).
_REFUSED_STEPS: dict[tuple[str, str], Promise] = {
    (ProgramStatus.CLOSED, ProgramStatus.ACTIVE): gettext_lazy(
        "Only a draft program can be activated; this one is closed."
    ),
    (ProgramStatus.DRAFT, ProgramStatus.CLOSED): gettext_lazy(
        "Only an active program can be closed; this one is draft."
    ),
    (ProgramStatus.ACTIVE, ProgramStatus.DRAFT): gettext_lazy(
        "An active program cannot become draft: draft -> active -> closed only."
    ),
    (ProgramStatus.CLOSED, ProgramStatus.DRAFT): gettext_lazy(
        "A closed program cannot become draft: draft -> active -> closed only."
    ),
}

AUDITED_FIELDS = {
    "target_rate": gettext_lazy("Target"),
    "starts_on": gettext_lazy("Start"),
    "ends_on": gettext_lazy("End"),
    "required_completions": gettext_lazy("Completions required"),
    "status": gettext_lazy("Status"),
}


def program_transition_error(*, current: str, to: str) -> str:
    """Why a program whose status is `current` cannot become `to` ("" when it can, or
    when nothing changes), by PROGRAM_TRANSITIONS."""
    if to == current or to in PROGRAM_TRANSITIONS.get(current, frozenset()):
        return ""
    if to not in PROGRAM_TRANSITIONS:
        return _("The status must be one of: %(statuses)s.") % {"statuses": ", ".join(ProgramStatus.values)}
    return str(_REFUSED_STEPS[(current, to)])


def program_errors(
    *,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date,
    target_rate: Decimal,
    required_completions: int,
    status: str,
    program: LearningProgram | None = None,
) -> dict[str, list[str]]:
    """The rules every program obeys, on creation (`program` None) and on each change of
    `program`: a unique non-empty name (ignoring case), an end after the start, a target
    in (0, 1] with at most three decimals, at least one completion required, and a status
    that is draft, active or closed and, for a change, one PROGRAM_TRANSITIONS allows from
    the current status. Returns the broken rules keyed by field (empty when all hold)."""
    errors: dict[str, list[str]] = {}
    if not name:
        errors.setdefault("name", []).append(_("The program needs a name."))
    elif LearningProgram.objects.filter(name__iexact=name).exclude(pk=program.pk if program else 0).exists():
        errors.setdefault("name", []).append(_("A program named '%(name)s' already exists.") % {"name": name})
    if ends_on <= starts_on:
        errors.setdefault("ends_on", []).append(
            _("The program must end after it starts (%(end)s is not after %(start)s).")
            % {"end": ends_on.isoformat(), "start": starts_on.isoformat()}
        )
    if not target_rate.is_finite() or not (0 < target_rate <= 1):
        errors.setdefault("target_rate", []).append(_("The target must be more than 0%% and at most 100%%.") % {})
    elif target_rate != round(target_rate, TARGET_RATE_PLACES):
        errors.setdefault("target_rate", []).append(
            _("The target can have at most one decimal place, like 87.5%%.") % {}  # %% is a percent sign
        )
    if required_completions < 1:
        errors.setdefault("required_completions", []).append(_("Each person needs at least one completion."))
    if status not in ProgramStatus.values:
        errors.setdefault("status", []).append(
            _("The status must be one of: %(statuses)s.") % {"statuses": ", ".join(ProgramStatus.values)}
        )
    elif program is not None:
        refused = program_transition_error(current=program.status, to=status)
        if refused:
            errors.setdefault("status", []).append(refused)
    return errors


def _name_taken(name: str) -> ValidationError:
    return ValidationError({"name": [_("A program named '%(name)s' already exists.") % {"name": name}]})


def program_create(
    *,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date,
    target_rate: Decimal,
    required_completions: int = 1,
    status: str = ProgramStatus.ACTIVE,
) -> LearningProgram:
    """Create a learning program under the rules of `program_errors` (the name trimmed
    first; dates inclusive; 87.5% is 0.875). Every broken rule is reported at once, as a
    ValidationError keyed by field. A new program has numbers: `progress_changed`."""
    name = name.strip()
    errors = program_errors(
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        target_rate=target_rate,
        required_completions=required_completions,
        status=status,
    )
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            program = LearningProgram.objects.create(
                name=name,
                starts_on=starts_on,
                ends_on=ends_on,
                target_rate=target_rate,
                required_completions=required_completions,
                status=status,
            )
            progress_changed(program_ids=[program.pk])
            return program
    except IntegrityError as exc:  # created by someone else since the check above
        raise _name_taken(name) from exc


def _audit_value(field: str, value: object) -> str:
    if field == "target_rate" and isinstance(value, Decimal):
        return target(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def program_update(
    *,
    program: LearningProgram,
    changed_by: Employee | None,
    name: str | None = None,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    target_rate: Decimal | None = None,
    required_completions: int | None = None,
    status: str | None = None,
    reason: str = "",
) -> list[ProgramChange]:
    """Change the given fields of `program` (None keeps a field) under the rules of
    `program_errors`, the status only as PROGRAM_TRANSITIONS allows. The row is locked
    for the check and the write, so the rules and the audit trail see the values in the
    database, not those of the object passed in; every change to the target, the window,
    the completions required or the status is written to the audit trail (ProgramChange:
    who, when, old -> new, and the `reason` when given, of at most
    PROGRAM_CHANGE_REASON_MAX_LENGTH characters) in the same transaction, with
    `reports.hooks.progress_changed`
    (the window, the completions required and the target change the numbers). Every
    broken rule is reported at once, as a ValidationError keyed by field. Returns the
    audit rows."""
    with transaction.atomic():
        locked = LearningProgram.objects.select_for_update().get(pk=program.pk)
        wanted: dict[str, object] = {
            "name": locked.name if name is None else name.strip(),
            "starts_on": locked.starts_on if starts_on is None else starts_on,
            "ends_on": locked.ends_on if ends_on is None else ends_on,
            "target_rate": locked.target_rate if target_rate is None else target_rate,
            "required_completions": locked.required_completions
            if required_completions is None
            else required_completions,
            "status": locked.status if status is None else status,
        }
        errors = program_errors(program=locked, **wanted)  # type: ignore[arg-type]
        reason = reason.strip()
        if len(reason) > PROGRAM_CHANGE_REASON_MAX_LENGTH:
            errors.setdefault("reason", []).append(
                _("The reason can have at most %(max)d characters.") % {"max": PROGRAM_CHANGE_REASON_MAX_LENGTH}
            )
        if errors:
            raise ValidationError(errors)
        before = {field: getattr(locked, field) for field in wanted}
        changed = [field for field, value in wanted.items() if before[field] != value]
        for field in changed:
            setattr(locked, field, wanted[field])
        try:
            with transaction.atomic():
                locked.save(update_fields=changed)
        except IntegrityError as exc:  # renamed by someone else since the check above
            raise _name_taken(str(wanted["name"])) from exc
        audit = ProgramChange.objects.bulk_create(
            ProgramChange(
                program=locked,
                field=field,
                old_value=_audit_value(field, before[field]),
                new_value=_audit_value(field, wanted[field]),
                reason=reason,
                changed_by=changed_by,
            )
            for field in changed
            if field in AUDITED_FIELDS
        )
        if changed:
            progress_changed(program_ids=[locked.pk])
    for field, value in wanted.items():
        setattr(program, field, value)
    return audit


# --- Next year's program ------------------------------------------------------------------

YEAR_IN_NAME = re.compile(r"\b(19|20)\d\d\b")


def next_year_name(name: str, *, fallback_year: int | None) -> str:
    """ "Learning Program 2026" -> "Learning Program 2027" (the last year in the name goes
    up by one); a name without a year gets `fallback_year` appended (None: kept as is)."""
    matches = list(YEAR_IN_NAME.finditer(name))
    if not matches:
        return name if fallback_year is None else f"{name} {fallback_year}"
    last = matches[-1]
    return f"{name[: last.start()]}{int(last.group()) + 1}{name[last.end() :]}"


def next_year_date(day: dt.date) -> dt.date:
    """The same day one year later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


@dataclass(frozen=True)
class CloneDefaults:
    name: str
    starts_on: dt.date
    ends_on: dt.date
    target_rate: Decimal
    required_completions: int


def program_clone_defaults(*, program: LearningProgram) -> CloneDefaults:
    """What the clone form proposes: the year in the name bumped, the same window one
    year later, the same target and completions required."""
    starts_on = next_year_date(program.starts_on)
    return CloneDefaults(
        name=next_year_name(program.name, fallback_year=starts_on.year),
        starts_on=starts_on,
        ends_on=next_year_date(program.ends_on),
        target_rate=program.target_rate,
        required_completions=program.required_completions,
    )
