"""Next year's program, cloned from this year's: the program, its collections and its
appointments (learnhub/manage calls it from the program's page)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from champions.appointments import appointments_carry_over
from programs.collections import collections_copy
from programs.learning_programs import program_create
from programs.models import Employee, LearningProgram, ProgramStatus


class ProgramAlreadyClonedError(ValidationError):
    """The program has a clone already; `clone` is that program."""

    def __init__(self, clone: LearningProgram) -> None:
        super().__init__(
            _("This program was already cloned for next year: %(name)s. Nothing was created.") % {"name": clone.name}
        )
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
    target and completions required (`program_create`'s rules); every collection copied
    with its courses in order and its approval reset to draft ("to be reviewed",
    `collections_copy`); every sponsor and champion appointment carried over unconfirmed,
    as a proposal to confirm (`appointments_carry_over`).

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
        collections_copy(source=source, target=clone)
        appointments_carry_over(source=source, target=clone)
    return clone
