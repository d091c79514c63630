"""The sync pipeline's adapter for stored xAPI statements: it turns a batch of statements
into provider records, so statements go through the same validation, learner matching,
upsert, unmatched and invalid records and SyncRun counts as any provider's data
(`programs.sync.pipeline.sync_run`, source "xapi").

The rule: a batch does not yield its statements one by one, but the **current state of
every learner x course it touches**, recomputed from all the statements of that pair that
still stand (not voided) on the connection:
- completed, at the earliest standing completion (its time, its statement as `raw`);
- not completed when none stands any more (every completion voided).
A pair is touched by a completion in the batch, or by a voiding statement in the batch that
names a completion. Because each record is the state of its pair, processing a batch twice,
or two batches in any order, writes the same enrollment: the same statement posted twice
counts once, and a voided completion stops counting wherever its enrollment stands.
A completion whose actor LearnHub cannot match (only mbox_sha1sum or openid) is yielded as
an invalid record with the reason. Statements that are not completions are not yielded.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from programs.models import ProviderConnection, XapiStatement
from programs.providers.base import AdapterStats, ProviderRecord
from programs.xapi.statements import activity_title

PAGE_SIZE = 500  # learner x course pairs per page
UNMATCHABLE = (
    "the actor has neither an account name nor an mbox e-mail (only mbox_sha1sum, openid or an anonymous "
    "group), so LearnHub cannot tell who completed the course"
)
_FIELDS = (
    "pk",
    "statement",
    "learner_key",
    "email",
    "external_id",
    "object_id",
    "is_completion",
    "voids",
    "voided",
    "occurred_at",
    "received_at",
)


class XapiStatementsAdapter:
    """The records of the learner x course pairs that the statements `statement_pks` of
    `connection` touch (see the module docstring). Reads the database, writes nothing: the
    pipeline reads it in its own thread, under the connection's lease (`reads_database`), so
    a pair's state is read after every run before it has written."""

    reads_database = True
    may_uncomplete = True  # a pair's record is its current state: a voided completion is undone

    def __init__(self, *, connection: ProviderConnection, statement_pks: list[int], page_size: int = PAGE_SIZE) -> None:
        self.connection = connection
        self.statement_pks = list(statement_pks)
        self.page_size = page_size
        self.stats = AdapterStats()

    def pages(self) -> Iterator[list[ProviderRecord]]:
        pairs, unmatchable = self._touched()
        ordered = sorted(pairs)
        for start in range(0, len(ordered), self.page_size):
            self.stats.pages += 1
            yield self._pair_records(ordered[start : start + self.page_size])
        if unmatchable:
            self.stats.pages += 1
            yield [_record(statement, completed=True, problem=UNMATCHABLE) for statement in unmatchable]

    def _touched(self) -> tuple[set[tuple[str, str]], list[XapiStatement]]:
        """The pairs the batch touches, and its completions nobody can be matched to."""
        batch = XapiStatement.objects.filter(pk__in=self.statement_pks).order_by("pk").only(*_FIELDS)
        pairs: set[tuple[str, str]] = set()
        unmatchable: list[XapiStatement] = []
        voids = set()
        for statement in batch:
            if statement.is_completion and statement.learner_key:
                pairs.add((statement.learner_key, statement.object_id))
            elif statement.is_completion and not statement.voided:
                unmatchable.append(statement)
            elif statement.voids is not None:
                voids.add(statement.voids)
        if voids:
            pairs |= {
                (key, object_id)
                for key, object_id in XapiStatement.objects.filter(
                    connection=self.connection, statement_id__in=voids, is_completion=True
                )
                .exclude(learner_key="")
                .values_list("learner_key", "object_id")
            }
        return pairs, unmatchable

    def _pair_records(self, pairs: list[tuple[str, str]]) -> list[ProviderRecord]:
        """One record per pair: its earliest standing completion, else "not completed" with
        its latest statement. One query for the page."""
        wanted = set(pairs)
        by_pair: dict[tuple[str, str], list[XapiStatement]] = {}
        rows = (
            XapiStatement.objects.filter(
                connection=self.connection, is_completion=True, learner_key__in={key for key, _ in pairs}
            )
            .order_by("occurred_at", "received_at", "pk")
            .only(*_FIELDS)
        )
        for statement in rows:
            pair = (statement.learner_key, statement.object_id)
            if pair in wanted:
                by_pair.setdefault(pair, []).append(statement)
        records = []
        for pair in pairs:
            statements = by_pair.get(pair, [])
            if not statements:  # deleted meanwhile (the connection's statements were removed)
                continue
            standing = [s for s in statements if not s.voided]
            chosen = standing[0] if standing else statements[-1]
            title = next((t for t in (_title(s) for s in [chosen, *statements]) if t), "")
            records.append(_record(chosen, completed=bool(standing), title=title))
        return records


def _title(statement: XapiStatement) -> str:
    target = statement.statement.get("object")
    return activity_title(target.get("definition")) if isinstance(target, dict) else ""


def _record(
    statement: XapiStatement, *, completed: bool, title: str | None = None, problem: str = ""
) -> ProviderRecord:
    actor: Any = statement.statement.get("actor")
    name = actor.get("name") if isinstance(actor, dict) else None
    url = statement.object_id if statement.object_id.startswith(("https://", "http://")) else ""
    return ProviderRecord(
        raw=statement.statement,
        email=statement.email,
        external_id=statement.external_id,
        full_name=name.strip() if isinstance(name, str) else "",
        provider_course_id=statement.object_id,
        content_type="course",
        course_title=_title(statement) if title is None else title,
        course_url=url if len(url) <= 500 else "",
        last_activity_at=statement.occurred_at,
        is_completed=completed,
        completed_at=statement.occurred_at if completed else None,
        problem=problem,
    )
