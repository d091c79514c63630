"""Writes for the programs app: organizations, programs and more (see the import modules
for roster and collections)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from programs.models import PATH_SEPARATOR, LearningProgram, Organization, ProgramStatus


def organization_path_split(path: str) -> list[str]:
    """ "Acme / Engineering/Platform" -> ["Acme", "Engineering", "Platform"]; empty parts dropped."""
    return [part.strip() for part in path.split(PATH_SEPARATOR) if part.strip()]


def organization_ensure(*, path: str, cache: dict[str, Organization] | None = None) -> Organization:
    """The organization at `path` (e.g. "Acme/Engineering/Platform"), creating it and any
    missing ancestors. `cache` (path -> organization) saves queries in bulk imports."""
    parts = organization_path_split(path)
    if not parts:
        raise ValueError("An organization path needs at least one name.")
    cache = {} if cache is None else cache
    org: Organization | None = None
    for depth in range(len(parts)):
        current_path = PATH_SEPARATOR.join(parts[: depth + 1])
        parent, org = org, cache.get(current_path)
        if org is None:
            org, _ = Organization.objects.get_or_create(
                path=current_path, defaults={"name": parts[depth], "parent": parent, "depth": depth}
            )
            cache[current_path] = org
    return org  # type: ignore[return-value]  # parts is not empty


TARGET_RATE_PLACES = 3  # LearningProgram.target_rate keeps 0.001 (0.1 percentage point)


def program_rule_errors(
    *,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date,
    target_rate: Decimal,
    required_completions: int,
    exclude_pk: int | None = None,
) -> dict[str, list[str]]:
    """The rules every program obeys, on creation and on each edit: a unique non-empty
    name (ignoring case; `exclude_pk` is the program being edited), an end after the
    start, a target in (0, 1] with at most three decimals, at least one completion
    required. Returns the broken rules keyed by field (empty when all hold)."""
    errors: dict[str, list[str]] = {}
    if not name:
        errors.setdefault("name", []).append("The program needs a name.")
    elif LearningProgram.objects.filter(name__iexact=name).exclude(pk=exclude_pk or 0).exists():
        errors.setdefault("name", []).append(f"A program named '{name}' already exists.")
    if ends_on <= starts_on:
        errors.setdefault("ends_on", []).append(
            f"The program must end after it starts ({ends_on.isoformat()} is not after {starts_on.isoformat()})."
        )
    if not target_rate.is_finite() or not (0 < target_rate <= 1):
        errors.setdefault("target_rate", []).append("The target must be more than 0% and at most 100%.")
    elif target_rate != round(target_rate, TARGET_RATE_PLACES):
        errors.setdefault("target_rate", []).append("The target can have at most one decimal place, like 87.5%.")
    if required_completions < 1:
        errors.setdefault("required_completions", []).append("Each person needs at least one completion.")
    return errors


def program_create(
    *,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date,
    target_rate: Decimal,
    required_completions: int = 1,
    status: str = ProgramStatus.ACTIVE,
) -> LearningProgram:
    """Create a learning program.

    Rules: those of `program_rule_errors` (the name trimmed first; dates inclusive;
    87.5% is 0.875), and the status is draft, active or closed. Every broken rule is
    reported at once, as a ValidationError keyed by field.
    """
    name = name.strip()
    errors = program_rule_errors(
        name=name,
        starts_on=starts_on,
        ends_on=ends_on,
        target_rate=target_rate,
        required_completions=required_completions,
    )
    if status not in ProgramStatus.values:
        errors.setdefault("status", []).append(f"The status must be one of: {', '.join(ProgramStatus.values)}.")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            return LearningProgram.objects.create(
                name=name,
                starts_on=starts_on,
                ends_on=ends_on,
                target_rate=target_rate,
                required_completions=required_completions,
                status=status,
            )
    except IntegrityError as exc:  # created by someone else since the check above
        raise ValidationError({"name": [f"A program named '{name}' already exists."]}) from exc


def organization_create(*, name: str, parent: Organization | None) -> Organization:
    """A new organization named `name` under `parent` (a root when `parent` is None).
    Its path is the parent's path plus the name and its depth one more than the parent's,
    so a subtree stays one prefix query. The name is trimmed and must not be empty or
    contain the path separator."""
    name = name.strip()
    if not name or PATH_SEPARATOR in name:
        raise ValueError(f"An organization name must not be empty or contain {PATH_SEPARATOR!r}.")
    if parent is None:
        return Organization.objects.create(name=name, parent=None, path=name, depth=0)
    return Organization.objects.create(
        name=name, parent=parent, path=f"{parent.path}{PATH_SEPARATOR}{name}", depth=parent.depth + 1
    )
