"""The communications tick: run hourly (Celery beat, `reports.tasks.communications_tick`, or
`manage.py send_communications`), it sends what each active program's message settings
make due now, in the company time zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from programs.models import LearningProgram, ProgramStatus
from reports.messaging.announcements import leaderboard_update_send, milestone_announcements
from reports.messaging.digests import digests_send
from reports.messaging.escalations import escalations
from reports.messaging.ledger import claims_mark_unknown, local_now
from reports.messaging.nudges import nudges_send
from reports.messaging.settings import settings_for


@dataclass
class TickReport:
    """What one tick did, per program name."""

    digests: dict[str, int] = field(default_factory=dict)
    escalations: dict[str, int] = field(default_factory=dict)
    nudges: dict[str, int] = field(default_factory=dict)
    leaderboard: dict[str, int] = field(default_factory=dict)
    milestones: dict[str, int] = field(default_factory=dict)
    unknown_marked: int = 0

    def lines(self) -> list[str]:
        out = []
        for label, counts in [
            ("digests", self.digests),
            ("escalations", self.escalations),
            ("nudges", self.nudges),
            ("leaderboard updates", self.leaderboard),
            ("milestone announcements", self.milestones),
        ]:
            out += [f"{program}: {n} {label} sent" for program, n in counts.items()]
        if self.unknown_marked:
            out.append(f"{self.unknown_marked} stale pending messages marked 'unknown delivery'")
        return out


def communications_tick(
    *, now: dt.datetime | None = None, programs: Iterable[LearningProgram] | None = None
) -> TickReport:
    """Send what is due now (company time zone) for each active program, by its
    MessageSettings: milestones on every tick; the weekly digest and escalations on the
    digest weekday from the digest hour; nudges daily from the nudge hour; the
    leaderboard update on the 1st of the month from its hour. Run hourly; every message's
    unique key makes later ticks of the same day (or two at once) send nothing twice.
    First, stale pending e-mail claims are marked "unknown delivery" (`claims_mark_unknown`)."""
    local = local_now(now)
    report = TickReport(unknown_marked=claims_mark_unknown(now=now))
    chosen = LearningProgram.objects.active() if programs is None else programs
    for program in chosen:
        if program.status != ProgramStatus.ACTIVE or local.date() < program.starts_on:
            continue
        s = settings_for(program=program)
        if s.milestones_enabled:
            report.milestones[program.name] = milestone_announcements(program=program, now=now)
        if local.date() > program.ends_on:
            continue
        weekly_due = local.weekday() == s.digest_weekday and local.hour >= s.digest_hour
        if s.digest_enabled and weekly_due:
            report.digests[program.name] = digests_send(program=program, now=now)
        if s.escalations_enabled and weekly_due:
            report.escalations[program.name] = escalations(program=program, now=now)
        if s.nudges_enabled and local.hour >= s.nudge_hour:
            report.nudges[program.name] = nudges_send(program=program, now=now).sent_count
        if s.leaderboard_enabled and local.day == 1 and local.hour >= s.leaderboard_hour:
            report.leaderboard[program.name] = leaderboard_update_send(program=program, now=now)
    return report
