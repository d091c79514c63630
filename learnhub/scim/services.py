"""SCIM's write: a person saved by the roster's rules (`programs.roster.roster_person_save`),
with the organization attributes the identity provider sent kept beside them, so that they
are read back as it sent them (`learnhub.scim.resources.user_of`)."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction

from programs.models import Employee
from programs.roster import RosterImportResult, roster_person_save


def scim_person_save(
    *, values: Mapping[str, str], organization: Mapping[str, str], employee: Employee | None = None
) -> RosterImportResult:
    """Save the roster row `values` (a new person, or `employee`) and keep `organization`
    (attribute -> value) with them; nothing is written when the roster refuses the row."""
    with transaction.atomic():
        result = roster_person_save(values=values, employee=employee)
        if result.applied:
            Employee.objects.filter(email__iexact=values["email"]).update(scim_organization=dict(organization))
    return result
