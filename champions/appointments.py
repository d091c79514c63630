"""Appointments: L&D appoints executive sponsors and learning champions for an
organization in a program, confirms the proposals a program clone carried over, and
removes them. (Who an appointment lets do what is learnhub/roles.py; the lists of the
admin pages are in champions/selectors.py.) The dashboards show the sponsors' commitment
and the champions' names: every change calls `reports.hooks.progress_changed`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from champions.models import APPOINTMENT_MODELS, ROLE_LABELS, AppointmentRole, ExecutiveSponsor, LearningChampion
from programs.models import Employee, LearningProgram, Organization
from reports.hooks import progress_changed


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
        raise ValidationError(
            {"email": [_("Nobody on the roster has the e-mail address '%(email)s'.") % {"email": email}]}
        )
    if employee.has_departed(timezone.localdate()):
        raise ValidationError(
            {"email": [_("%(name)s left on %(day)s.") % {"name": employee, "day": f"{employee.departed_on:%Y-%m-%d}"}]}
        )
    existing = model.objects.filter(program=program, organization=organization, employee=employee).first()
    if existing is not None:
        message = (
            _("%(name)s is already %(role)s of %(organization)s in %(program)s.")
            if existing.is_confirmed
            else _(
                "%(name)s is already proposed as %(role)s of %(organization)s in %(program)s. "
                "Confirm the proposal in the list below."
            )
        )
        raise ValidationError({"email": [message % _appointment_names(employee, role, organization, program)]})
    try:
        with transaction.atomic():
            appointment = model.objects.create(program=program, organization=organization, employee=employee)
            progress_changed(program_ids=[program.pk])
            return appointment
    except IntegrityError as exc:
        message = _("%(name)s is already %(role)s of %(organization)s in %(program)s.")
        raise ValidationError({"email": [message % _appointment_names(employee, role, organization, program)]}) from exc


def _appointment_names(
    employee: Employee, role: AppointmentRole, organization: Organization, program: LearningProgram
) -> dict[str, str]:
    return {
        "name": str(employee),
        "role": str(ROLE_LABELS[role]),
        "organization": organization.path,
        "program": program.name,
    }


def appointment_confirm(*, program: LearningProgram, role: AppointmentRole, appointment_id: int) -> bool:
    """Confirm a proposed appointment of `program` (carried over by a clone). Returns
    False when there was nothing to confirm (already confirmed or removed)."""
    model = APPOINTMENT_MODELS[role]
    confirmed = bool(
        model.objects.filter(program=program, pk=appointment_id, is_confirmed=False).update(is_confirmed=True)
    )
    if confirmed:
        progress_changed(program_ids=[program.pk])
    return confirmed


def appointments_confirm_all(*, program: LearningProgram) -> int:
    """Confirm every proposed appointment of `program` (a clone's carry-overs), each by
    `appointment_confirm`, in one transaction. Returns how many were confirmed."""
    with transaction.atomic():
        return sum(
            appointment_confirm(program=program, role=role, appointment_id=pk)  # type: ignore[arg-type]
            for role, model in APPOINTMENT_MODELS.items()
            for pk in model.objects.filter(program=program, is_confirmed=False).values_list("pk", flat=True)
        )


def appointment_remove(*, program: LearningProgram, role: AppointmentRole, appointment_id: int) -> bool:
    """Remove an appointment (confirmed or proposed) of `program`. Returns False when it
    was already gone."""
    model = APPOINTMENT_MODELS[role]
    deleted, _ = model.objects.filter(program=program, pk=appointment_id).delete()
    if deleted:
        progress_changed(program_ids=[program.pk])
    return bool(deleted)


def appointments_carry_over(*, source: LearningProgram, target: LearningProgram) -> None:
    """Every sponsor and champion appointment of `source`, proposed again in `target`
    (next year's program), unconfirmed: they grant nothing until L&D confirms them."""
    for model in APPOINTMENT_MODELS.values():
        manager: Any = model.objects  # one model at a time: its rows are of its own kind
        keys = manager.for_program(source).order_by("id").values_list("organization_id", "employee_id")
        manager.bulk_create(
            model(program=target, organization_id=org_id, employee_id=employee_id, is_confirmed=False)
            for org_id, employee_id in keys
        )
