"""What L&D admins do to programs, collections and appointments (issue 5, "L&D admins").

Writes: program_update / program_activate / program_close (each audited in ProgramChange),
program_clone, collection_create / collection_update, collection_course_add /
collection_course_remove / collection_course_move, appointment_create / appointment_confirm /
appointment_remove. Reads for the admin pages sit at the end of the module.

Every function is keyword-only; a broken rule raises django's ValidationError with a
message meant for people (keyed by form field where there is one).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import BooleanField, Case, Count, F, Q, QuerySet, Value, When
from django.utils import timezone

from champions.models import ExecutiveSponsor, LearningChampion
from programs.models import (
    PATH_SEPARATOR,
    ApprovalStatus,
    Collection,
    CollectionItem,
    Course,
    Employee,
    LearningProgram,
    Organization,
    ProgramChange,
    ProgramStatus,
)
from programs.services import program_create, program_rule_errors

# --- Programs ---------------------------------------------------------------------------

AUDITED_FIELDS = {
    "target_rate": "Target",
    "starts_on": "Start",
    "ends_on": "End",
    "required_completions": "Completions required",
    "status": "Status",
}


def target_percent(rate: Decimal) -> Decimal:
    """0.900 -> Decimal("90"), 0.875 -> Decimal("87.5"): a target rate as a percentage
    with one decimal, the decimal dropped when it is zero."""
    percent = (rate * 100).quantize(Decimal("0.1"))
    return percent.quantize(Decimal(1)) if percent == percent.to_integral_value() else percent


def target_label(rate: Decimal) -> str:
    """0.900 -> "90%", 0.875 -> "87.5%": a target as people read it."""
    return f"{target_percent(rate)}%"


def _audit_value(field: str, value: object) -> str:
    if field == "target_rate" and isinstance(value, Decimal):
        return target_label(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _record_changes(
    *, program: LearningProgram, before: dict[str, object], changed_by: Employee | None
) -> list[ProgramChange]:
    rows = [
        ProgramChange(
            program=program,
            field=field,
            old_value=_audit_value(field, old),
            new_value=_audit_value(field, getattr(program, field)),
            changed_by=changed_by,
        )
        for field, old in before.items()
        if field in AUDITED_FIELDS and old != getattr(program, field)
    ]
    return ProgramChange.objects.bulk_create(rows)


def program_update(
    *,
    program: LearningProgram,
    changed_by: Employee | None,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date,
    target_rate: Decimal,
    required_completions: int,
    status: str | None = None,
) -> list[ProgramChange]:
    """Change a program's name, window, target or completions required, under the rules
    of program_create (see program_rule_errors). Every change to the target, the window
    or the completions required is written to the audit trail (ProgramChange: who, when,
    old -> new) in the same transaction; the values compared are those in the database
    (the row is locked), not those of the object passed in. `status`, when given, is set
    too (the Django admin edits it with the rest; the pages use program_activate /
    program_close) and audited. Returns the audit rows."""
    name = name.strip()
    errors = program_rule_errors(
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        target_rate=target_rate,
        required_completions=required_completions,
        exclude_pk=program.pk,
    )
    if status is not None and status not in ProgramStatus.values:
        errors.setdefault("status", []).append(f"The status must be one of: {', '.join(ProgramStatus.values)}.")
    if errors:
        raise ValidationError(errors)
    new_values: dict[str, object] = {
        "name": name,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "target_rate": target_rate,
        "required_completions": required_completions,
    }
    if status is not None:
        new_values["status"] = status
    try:
        with transaction.atomic():
            locked = LearningProgram.objects.select_for_update().get(pk=program.pk)
            before = {field: getattr(locked, field) for field in new_values}
            for field, value in new_values.items():
                setattr(locked, field, value)
            locked.save(update_fields=list(new_values))
            changes = _record_changes(program=locked, before=before, changed_by=changed_by)
    except IntegrityError as exc:  # renamed by someone else since the check above
        raise ValidationError({"name": [f"A program named '{name}' already exists."]}) from exc
    for field, value in new_values.items():
        setattr(program, field, value)
    return changes


def _program_status_set(
    *, program: LearningProgram, changed_by: Employee | None, allowed_from: set[str], to: str, refusal: str
) -> LearningProgram:
    with transaction.atomic():
        locked = LearningProgram.objects.select_for_update().get(pk=program.pk)
        if locked.status not in allowed_from:
            raise ValidationError(refusal.format(status=locked.get_status_display().lower()))
        before: dict[str, object] = {"status": locked.status}
        locked.status = to
        locked.save(update_fields=["status"])
        _record_changes(program=locked, before=before, changed_by=changed_by)
    program.status = to
    return locked


def program_activate(*, program: LearningProgram, changed_by: Employee | None) -> LearningProgram:
    """A draft program becomes active (audited). An active or closed one is refused."""
    return _program_status_set(
        program=program,
        changed_by=changed_by,
        allowed_from={ProgramStatus.DRAFT},
        to=ProgramStatus.ACTIVE,
        refusal="Only a draft program can be activated; this one is {status}.",
    )


def program_close(*, program: LearningProgram, changed_by: Employee | None) -> LearningProgram:
    """An active program is closed (audited). A draft or closed one is refused."""
    return _program_status_set(
        program=program,
        changed_by=changed_by,
        allowed_from={ProgramStatus.ACTIVE},
        to=ProgramStatus.CLOSED,
        refusal="Only an active program can be closed; this one is {status}.",
    )


# --- Clone for next year ----------------------------------------------------------------

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


class ProgramAlreadyClonedError(ValidationError):
    """The program has a clone already; `clone` is that program."""

    def __init__(self, clone: LearningProgram) -> None:
        super().__init__(f"This program was already cloned for next year: {clone.name}. Nothing was created.")
        self.clone = clone


def program_clone(
    *,
    program: LearningProgram,
    cloned_by: Employee | None,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date,
    target_rate: Decimal,
    required_completions: int,
) -> LearningProgram:
    """Create next year's program from `program`, as a draft: the given name, window,
    target and completions required (program_create's rules); every collection copied
    with its courses in the same order (positions 1..n) and its approval reset to draft
    ("to be reviewed"); every sponsor and champion appointment carried over unconfirmed,
    as a proposal to confirm.

    A program is cloned at most once (LearningProgram.cloned_from is one-to-one): the
    source row is locked (select_for_update) for the whole clone, so of two concurrent
    requests the second waits, then finds the clone and raises ProgramAlreadyClonedError,
    which names the existing clone. Nothing is written on any refusal."""
    with transaction.atomic():
        source = LearningProgram.objects.select_for_update().get(pk=program.pk)
        existing = LearningProgram.objects.filter(cloned_from=source).first()
        if existing is not None:
            raise ProgramAlreadyClonedError(existing)
        clone = program_create(
            name=name,
            starts_on=starts_on,
            ends_on=ends_on,
            target_rate=target_rate,
            required_completions=required_completions,
            status=ProgramStatus.DRAFT,
        )
        clone.cloned_from = source
        clone.save(update_fields=["cloned_from"])
        _collections_copy(source=source, target=clone)
        ExecutiveSponsor.objects.bulk_create(
            ExecutiveSponsor(program=clone, organization_id=org_id, employee_id=employee_id, is_confirmed=False)
            for org_id, employee_id in _appointment_keys(ExecutiveSponsor.objects.filter(program=source))
        )
        LearningChampion.objects.bulk_create(
            LearningChampion(program=clone, organization_id=org_id, employee_id=employee_id, is_confirmed=False)
            for org_id, employee_id in _appointment_keys(LearningChampion.objects.filter(program=source))
        )
    return clone


def _appointment_keys(appointments: QuerySet) -> list[tuple[int, int]]:
    return list(appointments.order_by("id").values_list("organization_id", "employee_id"))


def _collections_copy(*, source: LearningProgram, target: LearningProgram) -> None:
    for collection in Collection.objects.filter(program=source).order_by("id"):
        copy = Collection.objects.create(
            program=target,
            organization_id=collection.organization_id,
            name=next_year_name(collection.name, fallback_year=None),
            needs=collection.needs,
            launch_video_url=collection.launch_video_url,
            approval_status=ApprovalStatus.DRAFT,
        )
        course_ids = collection.items.order_by("position", "id").values_list("course_id", flat=True)
        CollectionItem.objects.bulk_create(
            CollectionItem(collection=copy, course_id=course_id, position=position)
            for position, course_id in enumerate(course_ids, start=1)
        )


# --- Collections ------------------------------------------------------------------------


def _collection_name_errors(
    *, program: LearningProgram, organization: Organization | None, name: str, exclude_pk: int | None
) -> dict[str, list[str]]:
    if not name:
        return {"name": ["The collection needs a name."]}
    same = Collection.objects.filter(program=program, organization=organization, name__iexact=name)
    if exclude_pk is not None:
        same = same.exclude(pk=exclude_pk)
    if same.exists():
        where = organization.path if organization is not None else "the whole company"
        return {"name": [f"{where} already has a collection named '{name}' in {program.name}."]}
    return {}


def collection_create(
    *,
    program: LearningProgram,
    organization: Organization | None,
    name: str,
    needs: str = "",
    launch_video_url: str = "",
) -> Collection:
    """A new, empty collection of `program` for `organization` (None: the whole company),
    in draft. Its name is unique (ignoring case) per organization, or among the
    company-wide collections, of the program."""
    name = name.strip()
    errors = _collection_name_errors(program=program, organization=organization, name=name, exclude_pk=None)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return Collection.objects.create(
                program=program,
                organization=organization,
                name=name,
                needs=needs.strip(),
                launch_video_url=launch_video_url.strip(),
            )
    except IntegrityError as exc:
        raise ValidationError({"name": [f"A collection named '{name}' was just created there."]}) from exc


def collection_update(
    *,
    collection: Collection,
    organization: Organization | None,
    name: str,
    needs: str,
    launch_video_url: str,
) -> Collection:
    """Rename a collection, move it to another organization (or the whole company), or
    change the needs it answers and its launch video; same naming rule as collection_create."""
    name = name.strip()
    errors = _collection_name_errors(
        program=collection.program, organization=organization, name=name, exclude_pk=collection.pk
    )
    if errors:
        raise ValidationError(errors)
    collection.organization = organization
    collection.name = name
    collection.needs = needs.strip()
    collection.launch_video_url = launch_video_url.strip()
    try:
        with transaction.atomic():
            collection.save(update_fields=["organization", "name", "needs", "launch_video_url"])
    except IntegrityError as exc:
        raise ValidationError({"name": [f"A collection named '{name}' was just created there."]}) from exc
    return collection


def _positions_write(items: list[CollectionItem]) -> None:
    for position, item in enumerate(items, start=1):
        item.position = position
    CollectionItem.objects.bulk_update(items, ["position"])


def _locked_items(collection: Collection) -> list[CollectionItem]:
    """Lock the collection row (so concurrent edits queue up) and return its items in order."""
    list(Collection.objects.select_for_update().filter(pk=collection.pk).order_by().values_list("pk"))
    return list(
        CollectionItem.objects.filter(collection=collection).select_related("course").order_by("position", "id")
    )


def collection_course_add(*, collection: Collection, course: Course) -> CollectionItem:
    """Add `course` at the end of the collection (position n + 1). A course is in a
    collection once: adding it again is refused."""
    with transaction.atomic():
        items = _locked_items(collection)
        if any(item.course_id == course.pk for item in items):
            raise ValidationError(f"'{course}' is already in {collection.name}.")
        last = max((item.position for item in items), default=0)
        return CollectionItem.objects.create(collection=collection, course=course, position=last + 1)


def collection_course_remove(*, collection: Collection, item_id: int) -> Course:
    """Take one item out of the collection; the positions of the others stay dense (1..n)."""
    with transaction.atomic():
        items = _locked_items(collection)
        item = next((item for item in items if item.pk == item_id), None)
        if item is None:
            raise ValidationError("That course is no longer in this collection.")
        remaining = [other for other in items if other.pk != item_id]
        item.delete()
        _positions_write(remaining)
    return item.course


def collection_course_move(*, collection: Collection, item_id: int, direction: Literal["up", "down"]) -> None:
    """Move one item a place up or down; positions are rewritten 1..n. Moving the first
    item up or the last one down changes nothing."""
    with transaction.atomic():
        items = _locked_items(collection)
        index = next((i for i, item in enumerate(items) if item.pk == item_id), None)
        if index is None:
            raise ValidationError("That course is no longer in this collection.")
        other = index - 1 if direction == "up" else index + 1
        if 0 <= other < len(items):
            items[index], items[other] = items[other], items[index]
        _positions_write(items)


def courses_search(*, query: str, limit: int = 25) -> QuerySet[Course]:
    """Catalog courses whose title, partner or provider course id contains `query`
    (ignoring case); nothing for an empty query."""
    query = query.strip()
    if not query:
        return Course.objects.none()
    return Course.objects.filter(
        Q(title__icontains=query) | Q(partner__icontains=query) | Q(provider_course_id__icontains=query)
    ).order_by("title", "provider", "provider_course_id")[:limit]


# --- Appointments -----------------------------------------------------------------------

AppointmentRole = Literal["sponsor", "champion"]
APPOINTMENT_MODELS: dict[str, type[ExecutiveSponsor] | type[LearningChampion]] = {
    "sponsor": ExecutiveSponsor,
    "champion": LearningChampion,
}
ROLE_LABELS = {"sponsor": "executive sponsor", "champion": "learning champion"}


def appointment_create(
    *, program: LearningProgram, organization: Organization, role: AppointmentRole, email: str
) -> ExecutiveSponsor | LearningChampion:
    """Appoint the roster employee with this e-mail (ignoring case) as sponsor or champion
    of `organization` in `program`, confirmed. Someone is appointed once per role,
    organization and program: a second appointment is refused with a message (a proposal
    carried over by a clone is confirmed instead). People who have left (departed on or
    before today) cannot be appointed; someone leaving later can, until that day."""
    model = APPOINTMENT_MODELS[role]
    email = email.strip()
    employee = Employee.objects.filter(email__iexact=email).first()
    if employee is None:
        raise ValidationError({"email": [f"Nobody on the roster has the e-mail address '{email}'."]})
    if employee.has_departed(timezone.localdate()):
        raise ValidationError({"email": [f"{employee} left on {employee.departed_on:%Y-%m-%d}."]})
    existing = model.objects.filter(program=program, organization=organization, employee=employee).first()
    if existing is not None:
        state = "already" if existing.is_confirmed else "already proposed as"
        raise ValidationError(
            {
                "email": [
                    f"{employee} is {state} {ROLE_LABELS[role]} of {organization.path} in {program.name}."
                    + ("" if existing.is_confirmed else " Confirm the proposal in the list below.")
                ]
            }
        )
    try:
        with transaction.atomic():
            return model.objects.create(program=program, organization=organization, employee=employee)
    except IntegrityError as exc:
        raise ValidationError(
            {"email": [f"{employee} is already {ROLE_LABELS[role]} of {organization.path} in {program.name}."]}
        ) from exc


def appointment_confirm(*, program: LearningProgram, role: AppointmentRole, appointment_id: int) -> bool:
    """Confirm a proposed appointment of `program` (carried over by a clone). Returns
    False when there was nothing to confirm (already confirmed or removed)."""
    model = APPOINTMENT_MODELS[role]
    return bool(model.objects.filter(program=program, pk=appointment_id, is_confirmed=False).update(is_confirmed=True))


def appointment_remove(*, program: LearningProgram, role: AppointmentRole, appointment_id: int) -> bool:
    """Remove an appointment (confirmed or proposed) of `program`. Returns False when it
    was already gone."""
    model = APPOINTMENT_MODELS[role]
    deleted, _ = model.objects.filter(program=program, pk=appointment_id).delete()
    return bool(deleted)


# --- Reads for the admin pages ----------------------------------------------------------

APPOINTMENT_ORG_DEPTH = 1  # company (0) > organization (1) > team (2): appointments are per organization


@dataclass(frozen=True)
class OrgGaps:
    organization: Organization
    has_sponsor: bool
    has_champion: bool
    vacated: tuple[str, ...] = ()  # "Executive sponsor Sam Sponsor left on 2026-11-30", ...


def organizations_without_appointments(*, program: LearningProgram) -> list[OrgGaps]:
    """Organizations (the level below the company) with no sponsor or no champion holding
    the appointment today in `program`. An appointment for the organization or for one
    above it (the company) covers it; proposals not yet confirmed do not, and neither
    does the appointment of someone who left (it is vacant)."""
    today = timezone.localdate()
    orgs = list(Organization.objects.filter(depth=APPOINTMENT_ORG_DEPTH).order_by("path"))
    sponsor_paths = set(
        ExecutiveSponsor.objects.held(today).filter(program=program).values_list("organization__path", flat=True)
    )
    champion_paths = set(
        LearningChampion.objects.held(today).filter(program=program).values_list("organization__path", flat=True)
    )

    def covered(org: Organization, paths: set[str]) -> bool:
        parts = org.path.split(PATH_SEPARATOR)
        return any(PATH_SEPARATOR.join(parts[: i + 1]) in paths for i in range(len(parts)))

    vacated: dict[int, list[str]] = {}
    for role, model in APPOINTMENT_MODELS.items():
        for appointment in model.objects.vacated(today).filter(program=program).select_related("employee"):
            vacated.setdefault(appointment.organization_id, []).append(
                f"{ROLE_LABELS[role].capitalize()} {appointment.employee} left on "
                f"{appointment.employee.departed_on:%Y-%m-%d}"
            )
    gaps = [
        OrgGaps(
            org,
            has_sponsor=covered(org, sponsor_paths),
            has_champion=covered(org, champion_paths),
            vacated=tuple(vacated.get(org.pk, ())),
        )
        for org in orgs
    ]
    return [gap for gap in gaps if not (gap.has_sponsor and gap.has_champion)]


def appointments_of(*, program: LearningProgram) -> dict[str, QuerySet]:
    """The sponsors and champions of `program`, proposals first, then vacant ones (the
    employee left: `vacant` is True), then by organization."""
    left = Q(employee__departed_on__lte=timezone.localdate())
    return {
        role: model.objects.filter(program=program)
        .select_related("organization", "employee")
        .annotate(vacant=Case(When(left, then=Value(True)), default=Value(False), output_field=BooleanField()))
        .order_by("is_confirmed", "-vacant", "organization__path", "employee__email")
        for role, model in APPOINTMENT_MODELS.items()
    }


def employees_search(*, query: str, limit: int = 20) -> QuerySet[Employee]:
    """Employees still here today whose e-mail or name contains `query` (ignoring case)."""
    query = query.strip()
    if not query:
        return Employee.objects.none()
    return (
        Employee.objects.not_departed(timezone.localdate())
        .filter(Q(email__icontains=query) | Q(full_name__icontains=query))
        .select_related("organization")
        .order_by("email")[:limit]
    )


def collections_of(*, program: LearningProgram) -> QuerySet[Collection]:
    """The collections of `program` with their course counts, company-wide ones first."""
    return (
        Collection.objects.filter(program=program)
        .select_related("organization")
        .annotate(course_count=Count("items"))
        .order_by(F("organization__path").asc(nulls_first=True), "name")
    )


__all__ = [
    "AUDITED_FIELDS",
    "CloneDefaults",
    "OrgGaps",
    "ProgramAlreadyClonedError",
    "appointment_confirm",
    "appointment_create",
    "appointment_remove",
    "appointments_of",
    "collection_course_add",
    "collection_course_move",
    "collection_course_remove",
    "collection_create",
    "collection_update",
    "collections_of",
    "courses_search",
    "employees_search",
    "next_year_date",
    "next_year_name",
    "organizations_without_appointments",
    "program_activate",
    "program_clone",
    "program_clone_defaults",
    "program_close",
    "program_rule_errors",
    "program_update",
    "target_label",
    "target_percent",
]
