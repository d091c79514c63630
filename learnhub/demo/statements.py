"""What the demo's LinkedIn Learning pushes to its xapi connection ("LinkedIn Learning xAPI
(demo)"), as `manage.py post_demo_statements` sends it: a few completions of LinkedIn
Learning courses by people on the roster, and statements LearnHub stores and ignores
(progressed, experienced). They go through the real xAPI intake (`statements_parsed`, then
`xapi_statements_store` and `xapi_statements_process`, as the statements endpoint does), so
the demo's ledger holds completions pushed by a provider beside the synced ones.

Deterministic for a seed: the same learners, courses, ids and days (in the current
program, before today).
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from learnhub.demo.company import DEMO_XAPI_CONNECTION_NAME, demo_rng
from learnhub.roles import current_program
from programs.models import Employee, ProviderConnection, SyncRun, XapiStatement
from programs.xapi.services import xapi_statements_process, xapi_statements_store
from programs.xapi.statements import VERB_COMPLETED, VERB_PASSED, VERBS, statements_parsed

LINKEDIN_COURSES = (  # (activity id, title)
    ("https://www.linkedin.com/learning/excel-essential-training-microsoft-365", "Excel Essential Training"),
    ("https://www.linkedin.com/learning/communicating-with-confidence", "Communicating with Confidence"),
    ("https://www.linkedin.com/learning/time-management-fundamentals", "Time Management Fundamentals"),
)
# (verb, whether LearnHub counts it as a completion), one statement each, in this order.
VERBS_SENT = (
    (VERB_COMPLETED, True),
    (VERB_COMPLETED, True),
    (VERB_PASSED, True),
    (VERB_COMPLETED, True),
    (VERBS + "progressed", False),
    (VERBS + "experienced", False),
)
DEMO_STATEMENTS = len(VERBS_SENT)
DEMO_STATEMENT_COMPLETIONS = sum(1 for _, counts in VERBS_SENT if counts)
ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://acme.example/learnhub-demo/xapi")


@dataclass(frozen=True)
class PostedStatements:
    """What `demo_statements_post` did: statements stored now (0 when they already were) and
    the run that took them in (None when none was needed)."""

    stored: int
    run: SyncRun | None


def demo_statements(*, seed: int, today: dt.date) -> list[dict[str, Any]]:
    """The demo's xAPI statements (see the module docstring): learners drawn from the people
    on the roster today, each statement on a day of the current program before `today`."""
    rng = demo_rng(seed, "xapi statements")
    program = current_program()
    first_day = program.starts_on if program else today - dt.timedelta(days=90)
    last_day = max(first_day, today - dt.timedelta(days=1))
    people = list(Employee.objects.on_roster(today).exclude(organization=None).order_by("email"))
    learners = rng.sample(people, min(len(people), DEMO_STATEMENTS))
    statements = []
    for number, ((verb, counts), learner) in enumerate(zip(VERBS_SENT, learners, strict=False)):
        activity, title = LINKEDIN_COURSES[number % len(LINKEDIN_COURSES)]
        day = first_day + dt.timedelta(days=rng.randint(0, (last_day - first_day).days))
        statement: dict[str, Any] = {
            "id": str(uuid.uuid5(ID_NAMESPACE, f"{seed}:{number}")),
            "actor": {"objectType": "Agent", "name": learner.full_name, "mbox": f"mailto:{learner.email}"},
            "verb": {"id": verb, "display": {"en-US": verb.rsplit("/", 1)[-1]}},
            "object": {
                "objectType": "Activity",
                "id": activity,
                "definition": {"name": {"en-US": title}, "type": "http://adlnet.gov/expapi/activities/course"},
            },
            "timestamp": f"{day.isoformat()}T{rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}:00Z",
        }
        if counts:
            statement["result"] = {"completion": True, "success": True}
        statements.append(statement)
    return statements


def demo_statements_post(*, seed: int) -> PostedStatements:
    """Push the demo's statements to its xapi connection through the xAPI intake and take
    them in. Once is enough: when the connection already holds statements nothing changes
    (the statements' days move with today, so sending them again on another day would be
    a conflict of ids)."""
    connection = ProviderConnection.objects.get(name=DEMO_XAPI_CONNECTION_NAME)
    if XapiStatement.objects.filter(connection=connection).exists():
        return PostedStatements(stored=0, run=None)
    parsed = statements_parsed(demo_statements(seed=seed, today=timezone.localdate()))
    xapi_statements_store(connection=connection, statements=parsed, received_at=timezone.now())
    run = xapi_statements_process(connection=connection)  # with tasks in process it is done already: nothing left
    last = run or connection.runs.order_by("-started_at", "-pk").first()
    return PostedStatements(stored=len(parsed), run=last)
