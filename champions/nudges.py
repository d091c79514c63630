"""Nudges: a reminder to people who have not met the goal yet.

`nudge_request` is THE hook the communication issue (issue 6, e-mail reminders) fills
in. Today it records nothing and sends nothing: it only says how many people a nudge
would reach, so the page can tell the champion honestly that nothing was sent yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from programs.models import Employee, LearningProgram

EMAIL_REMINDERS_ENABLED = False  # switched on by issue 6


@dataclass(frozen=True)
class NudgeResult:
    """What a nudge did: `would_send` people would get one; `sent` did (0 until issue 6)."""

    would_send: int
    sent: int = 0
    enabled: bool = EMAIL_REMINDERS_ENABLED


def nudge_request(*, sender: Employee, employees: Iterable[Employee], program: LearningProgram) -> NudgeResult:
    """Ask for a nudge from `sender` to `employees` about `program`.

    The caller has already checked that `sender` may see these people (their champion,
    sponsor or an L&D admin). Each distinct person counts once. Until e-mail reminders are
    switched on (issue 6) nothing is stored or sent: the result is the number of people a
    nudge would reach.
    """
    distinct = {employee.pk for employee in employees}
    return NudgeResult(would_send=len(distinct))
