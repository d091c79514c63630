"""A run's writes at the speed of the database: each page staged and merged in a few
set-based statements against the run's merge state, which lives in the database.

The merge state of a run is a table of its own, `sync_merge_<run id>` (UNLOGGED on
PostgreSQL: nothing to recover after a crash, the run is taken over and starts afresh),
made when the run starts (`merge_state_create`) and dropped when it ends or, for a run that
died, when the next run starts (`merge_states_drop_ended`). It holds one row per
(learner key, course id) the run has read: the kept record's MergeRank and place in the
run, its fingerprint, the fingerprint of the row it is written to as it was before the run,
and how the key is counted. Every task of the run (one per provider program,
`programs.sync.pipeline`) merges into the same table, so a duplicate is merged exactly once
whichever task reads it. Python keeps nothing per key: a run's memory does not grow with
its size.

The adapter's pages are written in batches: the first page alone, then BATCH_PAGES at a
time (`RunWriter.page_batches`), each batch in one transaction and handled as one page
below. One page (`RunWriter.page_write`: `page_prepared`, then `prepared_write` inside the
caller's page transaction):

1. In Python, without a query (the run does it in a thread of its own, a page ahead):
   normalize and validate each record (invalid: an InvalidRecord; not a course: skipped),
   fold duplicates within the page (`record_better`), match the learner from the run's
   employee map (`EmployeeMap`: an admin's alias, then external id, then e-mail ignoring case), fingerprint each
   record. Then, in the writer's thread, make sure the courses exist (`CourseCache`).
2. The page's keys go to a staging table (COPY on PostgreSQL) and ONE upsert
   (`MERGE_STATE_UPSERT`) merges them into the merge state: a key read for the first time
   is inserted with its outcome ("c" created, "u" updated, "n" unchanged, by the
   fingerprint of its enrollment before the run; "x" unmatched; "n" too when the stored
   enrollment is better than the record by `record_better`, whose rank and fingerprint the
   key then keeps, unless the run's source may undo a completion); a duplicate replaces the
   kept record only when it is better (the same rule as `record_better`, ties settled by
   the place in the run: MERGE_BETTER), and then the key's outcome is worked out again
   against the row as it was before the run. RETURNING says which records are now kept
   and how to count them; the others are merged.
3. Only kept records whose row must change are written. On PostgreSQL a key that had no
   row before the run, read for the first time, is COPYed straight into the table
   (`_enrollments_copied`); the others are staged (COPY) and merged by one
   `INSERT ... ON CONFLICT DO UPDATE ... WHERE` the stored fingerprint differs. A record
   whose fingerprint is unchanged costs that comparison, not a write. A key kept again on
   a later page that ends as it was before the run gets its row back as it was
   (updated_at included), so a re-sync counts it unchanged.
4. People not on the roster: their changed UnmatchedRecords upserted; invalid records kept.

A re-sync need not parse what did not change. An adapter that hands its records over
unparsed (`programs.providers.base.RawPagesAdapter`: Coursera, Udemy Business, LinkedIn
Learning) is read by `RunWriter.raw_page_prepared` instead of step 1: each record is only
keyed and matched (the adapter reads its learner and course as its parsing does) and its raw
JSON digested (`raw_digest`, kept on each enrollment). Then ONE statement (`UNCHANGED_KEPT`)
merges every record whose enrollment holds the same raw JSON for the same employee into the
merge state as it is, with the row's rank and fingerprint (what parsing it would give), and
counts it unchanged: no parsing, no staging, no write. It runs a batch ahead of the writes,
in a thread of its own with its own database connection (`RunWriter.looked_up_ahead`), in a
transaction of its own: a record it keeps is written nowhere else, and its count is added
with its batch's. (Inside a caller's transaction, e.g. a test's, it runs in the batch's
transaction instead.) The rest (a changed record, someone not on the roster, a key read
twice, a row written before digests were kept) is parsed and goes through steps 1-4; a row
whose digest differs although it is unchanged gets the record's digest. A batch where fewer
than half of the records looked up are found (a large change) ends the lookups for the run,
and every later record is parsed a batch ahead as in step 1. A first sync (no earlier run of
the connection created enrollments) does no lookup. PostgreSQL only: SQLite parses every
record.

Counting rule (the module docstring of `programs.sync.pipeline`): each key counts once in
created / updated / unchanged / unmatched by the outcome of the record finally kept for it
(a better duplicate moves the key from its old outcome to its new one); every other
record of the key counts as merged.

Locking contract: the merge upsert takes the row lock of each key of the page, in key order
(so two tasks of one run never deadlock), and holds it until the page commits: a second
task reading the same key waits for the first page to commit, then compares with what it
kept. Enrollment and unmatched rows are written only by the task holding their key's lock,
in key order; courses are added in course id order. UNCHANGED_KEPT locks the keys it keeps
in key order too, in a transaction of its own when it runs ahead. A page looked up in its
own transaction locks its unchanged keys first, then the others: so the tasks of a run that
looks records up write their pages one at a time (each page transaction takes the run's
advisory lock first), and read, look up and parse them side by side.

SQLite (`make run`) runs the same statements but for the lookup of the rows before the run
(a join where PostgreSQL uses LATERAL, so that its planner probes the unique index whatever
it knows of the tables), loading the staging tables with executemany instead of COPY; both
give the same rows and counts.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.db.models.functions import Lower
from django.utils import timezone

from programs.models import (
    Course,
    Employee,
    Enrollment,
    InvalidRecord,
    LearnerAlias,
    ProviderConnection,
    SyncRun,
    UnmatchedRecord,
)
from programs.providers.base import ProviderRecord
from programs.sync.records import (
    NO_ACTIVITY,
    MergeRank,
    enrollment_fingerprint,
    learner_key,
    learner_key_of,
    learner_normalized,
    raw_digest,
    raw_digest_of,
    raw_json,
    record_better,
    record_is_course,
    record_normalized,
    record_problem,
    record_rank,
    record_to_json,
    unmatched_fingerprint,
)

MERGE_TABLE_PREFIX = "sync_merge_"
# A record's place in its run: its part (provider program) in the high bits, its place in
# that part's pages below, so places are unique and ordered as a single reader would read.
PART_SHIFT = 40
# The adapter's pages written in one transaction, after the first (written alone).
BATCH_PAGES = 4
# A page transaction's settings (`RunWriter.prepared_write`), and the session's of a thread that
# looks records up ahead (`RunWriter.looked_up_ahead`, whose connection is closed when the pages end).
# A commit need not wait for the disk: a database crash may lose the last pages committed (rows and
# counts together), which the next sync writes again. Nor need the lookups, each by a unique key,
# remember the last (Memoize).
WRITE_SETTINGS = ("synchronous_commit = off", "enable_memoize = off")
# The place of the enrollment stored before the run: it loses every tie to a record of the run
# (of two completions at the same instant the first read stays, otherwise the later read wins).
STORED_PLACE = f"CASE WHEN e.is_completed THEN {2**63 - 1} ELSE -1 END"  # the largest bigint, or before all
# Outcomes of a key in the merge state: how it is counted.
CREATED, UPDATED, UNCHANGED, UNMATCHED = "c", "u", "n", "x"
_COUNTED_AS = {CREATED: "created", UPDATED: "updated", UNCHANGED: "unchanged", UNMATCHED: "unmatched"}
_MERGE_TABLE_NAME = re.compile(rf"^{MERGE_TABLE_PREFIX}(\d+)$")


def merge_table(run_id: int) -> str:
    """The name of a run's merge state table."""
    return f"{MERGE_TABLE_PREFIX}{int(run_id)}"


def _postgresql() -> bool:
    return db.vendor == "postgresql"


def merge_state_create(*, run_id: int) -> None:
    """Make the merge state table of a run (once, when it starts; idempotent). Booleans
    and times are stored as Django stores them on each database (SQLite: integers and
    text), so the same comparisons hold on both; its keys compare byte by byte (they are
    only ever compared for equality)."""
    postgresql = _postgresql()
    with db.cursor() as cursor:
        cursor.execute(
            MERGE_STATE_TABLE.format(
                table=merge_table(run_id),
                unlogged="UNLOGGED" if postgresql else "",
                boolean="boolean" if postgresql else "integer",
                timestamp="timestamptz" if postgresql else "text",
                binary='COLLATE "C"' if postgresql else "",
            )
        )


def merge_state_drop(*, run_id: int) -> None:
    """Drop a run's merge state (the run has ended)."""
    with db.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{merge_table(run_id)}"')


def merge_states_drop_ended() -> list[int]:
    """Drop the merge state of every run that is no longer running (a failed run leaves
    its own behind: another task of it may still be finishing a page). Returns their ids."""
    run_ids = [
        int(match.group(1))
        for name in db.introspection.table_names()
        if (match := _MERGE_TABLE_NAME.match(name)) is not None
    ]
    running = set(SyncRun.objects.filter(pk__in=run_ids, status="running").values_list("pk", flat=True))
    ended = [run_id for run_id in run_ids if run_id not in running]
    for run_id in ended:
        merge_state_drop(run_id=run_id)
    return ended


def merge_state_unmatched_resolved_delete(*, connection: ProviderConnection, run_id: int) -> int:
    """At the end of a run: drop the kept unmatched records of keys the run matched (the
    person joined the roster without the roster hook, e.g. through the Django admin).
    One statement, whatever the size of the run."""
    with db.cursor() as cursor:
        cursor.execute(
            UNMATCHED_RESOLVED_DELETE.format(table=UnmatchedRecord._meta.db_table, merge=merge_table(run_id)),
            [connection.pk],
        )
        return cursor.rowcount


# --- The run's lookups ------------------------------------------------------------------


class EmployeeMap:
    """Every employee's id by external id and by lower-case e-mail, and the L&D admins'
    learner aliases by (provider kind, learner key), read once per run (two queries;
    100,000 people take a few MB). Matching: an alias first (an admin's explicit link),
    then the external id (trimmed, exact), then the e-mail (trimmed, case-insensitive);
    Coursera's external id defaults to the e-mail, so an external id that matches no one
    falls through to the e-mail."""

    def __init__(
        self,
        *,
        by_external_id: dict[str, int],
        by_email: dict[str, int],
        by_alias: dict[tuple[str, str], int] | None = None,
    ) -> None:
        self.by_external_id = by_external_id
        self.by_email = by_email
        self.by_alias = by_alias or {}

    @classmethod
    def load(cls) -> EmployeeMap:
        by_external_id: dict[str, int] = {}
        by_email: dict[str, int] = {}
        people = (
            Employee.objects.annotate(email_ci=Lower("email")).order_by().values_list("pk", "external_id", "email_ci")
        )
        for pk, external_id, email_ci in people.iterator(chunk_size=10_000):
            if external_id:
                by_external_id[external_id] = pk
            by_email[email_ci] = pk
        aliases = LearnerAlias.objects.order_by().values_list("provider", "learner_key", "employee_id")
        by_alias = {(provider, key): pk for provider, key, pk in aliases}
        return cls(by_external_id=by_external_id, by_email=by_email, by_alias=by_alias)

    def employee_id(self, record: ProviderRecord, *, provider: str) -> int | None:
        """The employee a normalized record of a `provider` connection is about, or None
        (not on the roster)."""
        return self.employee_id_of(
            key=learner_key(record), external_id=record.external_id, email=record.email, provider=provider
        )

    def employee_id_of(self, *, key: str, external_id: str, email: str, provider: str) -> int | None:
        """`employee_id` from a record's learner key, normalized external id and e-mail."""
        employee_id = self.by_alias.get((provider, key)) if self.by_alias else None
        if employee_id is None and external_id:
            employee_id = self.by_external_id.get(external_id)
        if employee_id is None and email:
            employee_id = self.by_email.get(email)
        return employee_id


class CourseCache:
    """The run's Course rows by provider course id: created in bulk when missing, with
    title / partner / url / hours filled where still empty (never overwritten, even by
    another task of the run at once: each fill is a conditional UPDATE). A course seen
    before in the run costs no query."""

    def __init__(self, *, provider: str) -> None:
        self.provider = provider
        self.courses: dict[str, Course] = {}

    def ensure(self, records: Iterable[ProviderRecord]) -> dict[str, Course]:
        wanted: dict[str, ProviderRecord] = {}
        for record in records:
            wanted.setdefault(record.provider_course_id, record)
        missing = sorted(course_id for course_id in wanted if course_id not in self.courses)
        if missing:
            self._load(missing, wanted)
        for course_id, record in wanted.items():
            self._fill(self.courses[course_id], record)
        return self.courses

    def provider_courses_load(self) -> None:
        """Read every course of the provider (a few thousand at most), as a re-sync that
        looks its records up needs them from its first page."""
        self._read()

    def known(self, course_ids: Iterable[str]) -> dict[str, Course]:
        """The run's courses with these ids that exist (none is created)."""
        missing = sorted(set(course_ids).difference(self.courses))
        if missing:
            self._read(provider_course_id__in=missing)
        return self.courses

    def _read(self, **filters: Any) -> None:
        self.courses.update((c.provider_course_id, c) for c in Course.objects.filter(provider=self.provider, **filters))

    def _load(self, course_ids: list[str], wanted: dict[str, ProviderRecord]) -> None:
        known = self.known(course_ids)
        new = [
            Course(
                provider=self.provider,
                provider_course_id=course_id,
                title=wanted[course_id].course_title[:300],
                partner=wanted[course_id].partner[:300],
                url=wanted[course_id].course_url[:500],
                hours=wanted[course_id].course_hours,
            )
            for course_id in course_ids
            if course_id not in known
        ]
        if new:
            Course.objects.bulk_create(new, ignore_conflicts=True)  # another task may add the same course
            self.known(course_ids)

    def _fill(self, course: Course, record: ProviderRecord) -> None:
        changes: dict[str, Any] = {}
        for attr, value in (
            ("title", record.course_title[:300]),
            ("partner", record.partner[:300]),
            ("url", record.course_url[:500]),
        ):
            if value and not getattr(course, attr):
                changes[attr] = value
        if record.course_hours is not None and course.hours is None:
            changes["hours"] = record.course_hours
        if not changes:
            return
        now = timezone.now()
        for attr, value in changes.items():
            empty: dict[str, Any] = {f"{attr}__isnull": True} if attr == "hours" else {attr: ""}
            Course.objects.filter(pk=course.pk, **empty).update(**{attr: value, "updated_at": now})
            setattr(course, attr, value)


# --- One page ---------------------------------------------------------------------------


@dataclass
class PageCounts:
    """What one page adds to its run's counts (a key moved from one outcome to another
    subtracts from the first)."""

    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0
    skipped: int = 0
    invalid: int = 0
    unmatched: int = 0

    def counted(self, outcome: str, by: int) -> None:
        name = _COUNTED_AS[outcome]
        setattr(self, name, getattr(self, name) + by)


@dataclass(slots=True)
class _Kept:
    """A record kept on its page, with what its merge and its write need."""

    place: int
    record: ProviderRecord
    key: str
    employee_id: int | None = None
    course_pk: int | None = None
    raw_text: str = ""
    raw_digest: str = ""
    fingerprint: str = ""
    # On PostgreSQL, its lines of the staging tables but for the course's pk (and the row's
    # updated_at), made where it is prepared: the writer's thread only joins them.
    keys_text: str = ""
    row_text: str = ""


@dataclass(slots=True)
class _Unparsed:
    """A record of a raw page, keyed and matched but not parsed (`raw_page_prepared`)."""

    place: int
    raw: dict[str, Any]
    key: str
    course_id: str
    employee_id: int


@dataclass
class PreparedPage:
    """A page made ready to write (`RunWriter.page_prepared`): what it adds to the counts
    so far, its invalid records, its kept records; how many of the adapter's pages it holds."""

    counts: PageCounts
    pages: int = 1
    invalid: list[InvalidRecord] = field(default_factory=list)
    kept: dict[tuple[str, str], _Kept] = field(default_factory=dict)  # by (learner key, course id)
    # Of a raw page: the records to look up first (`RunWriter.raw_page_prepared`), and their
    # lines for UNCHANGED_KEPT.
    unparsed: list[_Unparsed] = field(default_factory=list)
    unparsed_lines: str = ""


@dataclass
class RunWriter:
    """Writes the pages of one part of a run (one task's share). Holds the run's employee
    map and courses; everything per key is in the merge state, in the database."""

    connection: ProviderConnection
    run: SyncRun
    part: int = 0
    employees: EmployeeMap = field(default_factory=EmployeeMap.load)
    # Of a stored enrollment and a record for it, keep the better (`record_better`): a sync never
    # undoes or moves later a stored completion. Off for a source that may undo one (xAPI voiding).
    keeps_stored: bool = True
    # An adapter that hands its records over unread (`raw_page_prepared`), or None.
    raw_reader: Any = None
    read: int = 0  # records of this part read so far: the next record's place
    staged_on: Any = None  # the database connection whose staging tables exist

    def __post_init__(self) -> None:
        self.courses = CourseCache(provider=self.connection.kind)
        self.copies = _postgresql()  # its records' staging lines are made as they are prepared
        # Look records up before parsing them: on PostgreSQL, for a raw adapter, when an
        # earlier run of the connection created enrollments (not on a first sync). Every task
        # of the run decides the same, and then they write their pages one at a time (the
        # locking contract); a first sync's tasks write side by side.
        self.lookups = (
            self.raw_reader is not None
            and _postgresql()
            and SyncRun.objects.filter(connection=self.connection, pk__lt=self.run.pk, created__gt=0).exists()
        )
        self.pages_one_at_a_time = self.lookups and self.run.parts > 1
        if self.lookups:  # a record is looked up by its course's pk, found where it is prepared
            self.courses.provider_courses_load()

    def page_write(self, page: Sequence[ProviderRecord]) -> PageCounts:
        """Write one page (see the module docstring) and return what it adds to the run's
        counts. Call inside the page's transaction."""
        return self.prepared_write(self.page_prepared(page))

    def page_prepared(self, page: Sequence[ProviderRecord], *, pages: int = 1) -> PreparedPage:
        """Step 1 of a page (or a batch of `pages` pages), in Python alone (no query: it may
        run in a thread of its own, a page ahead of the writes; pages in their order):
        normalized, validated, folded, matched and fingerprinted."""
        prepared, first = self._page_started(len(page))
        prepared.pages = pages
        self._records_folded(prepared, [(first + index, record) for index, record in enumerate(page)])
        return prepared

    @staticmethod
    def page_batches(pages: Iterable[list[Any]]) -> Iterator[tuple[list[Any], int]]:
        """The adapter's pages, each batch with how many of them it holds: the first alone
        (its commit comes soon, and a re-sync learns from it whether records are found
        unchanged), then BATCH_PAGES at a time, each batch written in one transaction (a
        page's statements and commit cost a fraction of their rows). When reading fails, the
        pages read before the error are yielded first, so they are written as before it."""
        batch: list[Any] = []
        taken = 0
        first = True
        try:
            for page in pages:
                batch += page
                taken += 1
                if first or taken >= BATCH_PAGES:
                    yield batch, taken
                    batch, taken, first = [], 0, False
        except Exception:  # a reading error (not the generator being closed)
            if taken:
                yield batch, taken
            raise
        if taken:
            yield batch, taken

    def raw_page_prepared(self, page: Sequence[dict[str, Any]], *, pages: int = 1) -> PreparedPage:
        """Step 1 of a page of an adapter that hands its records over unread
        (`programs.providers.base.RawPagesAdapter`), in Python alone like `page_prepared`.
        While the run finds most records unchanged (`lookups`), a record is only keyed,
        matched and its raw JSON digested: the writer counts the enrollments holding the
        same raw JSON for the same employee unchanged (`_unchanged_missed`) and parses the
        rest. A record of no one on the roster, of a course with no row yet (no enrollment
        can hold it), keyed like another record of the page, or whose key or course id holds
        a tab or a line break (it cannot go on a line), is parsed here."""
        prepared, first = self._page_started(len(page))
        prepared.pages = pages
        reader = self.raw_reader
        if not self.lookups:
            self._records_folded(prepared, [(first + i, reader.record_from_raw(raw)) for i, raw in enumerate(page)])
            return prepared
        unparsed: dict[tuple[str, str], _Unparsed] = {}
        parsed: list[tuple[int, dict[str, Any]]] = []
        parsed_keys: set[tuple[str, str]] = set()
        courses = self.courses.courses  # the writer's thread adds to it meanwhile, never removes
        # Every record of a re-sync comes through this loop: what it calls is looked up once.
        learner_of, employee_id_of, kind = reader.learner_from_raw, self.employees.employee_id_of, self.connection.kind
        for place, raw in enumerate(page, first):
            email, external_id, course_id = learner_normalized(*learner_of(raw))
            key = learner_key_of(external_id=external_id, email=email)
            keyed = (key, course_id)
            employee_id = employee_id_of(key=key, external_id=external_id, email=email, provider=kind)
            if (
                employee_id is None
                or course_id not in courses
                or keyed in parsed_keys
                or not (key.isprintable() and course_id.isprintable())
            ):
                parsed.append((place, raw))
                parsed_keys.add(keyed)
            elif keyed in unparsed:  # keyed like an earlier record: both are parsed and folded
                earlier = unparsed.pop(keyed)
                parsed += [(earlier.place, earlier.raw), (place, raw)]
                parsed_keys.add(keyed)
            else:
                unparsed[keyed] = _Unparsed(place, raw, key, course_id, employee_id)
        prepared.unparsed = list(unparsed.values())
        prepared.unparsed_lines = "\n".join(
            f"{courses[item.course_id].pk}\t{item.place}\t{item.key}\t{item.course_id}\t{item.employee_id}\t"
            f"{raw_digest_of(item.raw)}"
            for item in prepared.unparsed
        )
        parsed.sort(key=lambda placed: placed[0])
        self._records_folded(prepared, [(place, reader.record_from_raw(raw)) for place, raw in parsed])
        return prepared

    def looked_up_ahead(self, prepared: Iterable[tuple[Any, PreparedPage]]) -> Iterator[tuple[Any, PreparedPage]]:
        """The prepared pages of a run that looks records up (`lookups`), each looked up
        (`_unparsed_merged`) as it arrives, on this thread's own database connection, in a
        transaction of its own: run in a thread a batch ahead of the writes (the pipeline),
        so that the writer's statements and the lookups run side by side. The connection is
        closed when the pages end."""
        try:
            with db.cursor() as cursor:
                cursor.execute("; ".join(f"SET {setting}" for setting in WRITE_SETTINGS))
            for page, ready in prepared:
                if ready.unparsed:
                    self._unparsed_merged(ready)
                yield page, ready
        finally:
            db.close()

    def _page_started(self, size: int) -> tuple[PreparedPage, int]:
        """A new page of `size` records, and the place in the run of its first."""
        first = (self.part << PART_SHIFT) + self.read
        self.read += size
        return PreparedPage(counts=PageCounts(fetched=size)), first

    def _records_folded(self, prepared: PreparedPage, placed: list[tuple[int, ProviderRecord]]) -> None:
        """Add records (each with its place in the run, in order) to a prepared page:
        normalized, validated (invalid: an InvalidRecord; not a course: skipped), folded into
        its kept records by key (`record_better`), and the records kept matched and
        fingerprinted."""
        kept = prepared.kept
        added: list[tuple[_Kept, ProviderRecord]] = []
        for place, original in placed:
            record = record_normalized(original)
            problem = record_problem(record)
            if problem:
                prepared.invalid.append(
                    InvalidRecord(
                        connection=self.connection,
                        run=self.run,
                        line=record.line,
                        reason=problem[:500],
                        raw=_plain(record.raw),
                    )
                )
                continue
            if not record_is_course(record):
                prepared.counts.skipped += 1
                continue
            key = learner_key(record)
            previous = kept.get((key, record.provider_course_id))
            if previous is not None:
                prepared.counts.merged += 1
                if record_better(previous.record, record) is previous.record:
                    continue
            item = _Kept(place=place, record=record, key=key)
            kept[(key, record.provider_course_id)] = item
            added.append((item, record))
        prepared.counts.invalid = len(prepared.invalid)
        for item, record in added:
            if kept[(item.key, record.provider_course_id)] is item:
                item.employee_id = self.employees.employee_id(record, provider=self.connection.kind)
                _fingerprinted(item, record, copies=self.copies)

    def prepared_write(self, prepared: PreparedPage) -> PageCounts:
        """Steps 2 to 4 of a prepared page, the writes: call inside the page's transaction."""
        counts = prepared.counts
        if _postgresql():
            with db.cursor() as cursor:
                cursor.execute("; ".join(f"SET LOCAL {setting}" for setting in WRITE_SETTINGS))
                if self.pages_one_at_a_time:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [self.run.pk])
        if prepared.unparsed:
            self._unparsed_merged(prepared)
        if prepared.invalid:
            InvalidRecord.objects.bulk_create(prepared.invalid)
        if prepared.kept:
            self._merge(list(prepared.kept.values()), counts)
        return counts

    def _unparsed_merged(self, prepared: PreparedPage) -> None:
        """The unparsed records of a raw page found unchanged are merged as they are
        (`_unchanged_missed`) and counted unchanged; the others are parsed and folded into
        the page's kept records. Lookups stop for the rest of the run when fewer than half
        of those looked up were found unchanged (a large change): parsing every record a
        page ahead is then quicker. (The pages prepared ahead meanwhile are looked up.)"""
        missed = _unchanged_missed(connection=self.connection, run_id=self.run.pk, lines=prepared.unparsed_lines)
        unparsed, prepared.unparsed, prepared.unparsed_lines = prepared.unparsed, [], ""
        self._records_folded(
            prepared,
            [(item.place, self.raw_reader.record_from_raw(item.raw)) for item in unparsed if item.place in missed],
        )
        kept = len(unparsed) - len(missed)
        prepared.counts.unchanged += kept
        self.lookups = kept * 2 >= len(unparsed)

    def _merge(self, kept: list[_Kept], counts: PageCounts) -> None:
        courses = self.courses.ensure(item.record for item in kept if item.employee_id is not None)
        for item in kept:
            if item.employee_id is not None:
                item.course_pk = courses[item.record.provider_course_id].pk
        if db.connection is not self.staged_on:
            _staging_tables_create()
            self.staged_on = db.connection
        outcomes = _merge_state_upsert(
            connection=self.connection, run_id=self.run.pk, kept=kept, keeps_stored=self.keeps_stored
        )
        counts.merged += len(kept) - len(outcomes)  # kept on this page, but not better than the run's
        by_place = {item.place: item for item in kept}
        now = timezone.now()
        enrollments: list[tuple[_Kept, Any]] = []
        new: list[_Kept] = []
        unmatched: list[_Kept] = []
        stale: list[_Kept] = []
        outcome_counts = dict.fromkeys(_COUNTED_AS, 0)
        for place, outcome, outcome_was, before_fingerprint, before_updated_at, stale_digest in outcomes:
            outcome_counts[outcome] += 1
            if place not in by_place:  # the stored enrollment is better than the record: it stays
                continue
            item = by_place[place]
            if outcome_was is not None:  # a better duplicate: its key moves to its new outcome; the record merged
                outcome_counts[outcome_was] -= 1
                counts.merged += 1
            if outcome == UNMATCHED:
                if outcome_was is not None or item.fingerprint != before_fingerprint:
                    unmatched.append(item)
            elif outcome == CREATED and outcome_was is None and self.copies:
                new.append(item)  # no row before the run, read for the first time: none to conflict with
            elif outcome in (CREATED, UPDATED) or outcome_was is not None:
                # Back as it was before the run: its row as it was then, updated_at included.
                restored = before_updated_at if item.fingerprint == before_fingerprint else None
                enrollments.append((item, restored or now))
            elif stale_digest:
                stale.append(item)
        for outcome, number in outcome_counts.items():
            counts.counted(outcome, number)
        if new:
            _enrollments_copied(connection=self.connection, items=new, now=now)
        if enrollments:
            _enrollments_upsert(connection=self.connection, rows=enrollments, now=now)
        if stale:
            _raw_digests_update(connection=self.connection, items=stale)
        if unmatched:
            _unmatched_upsert(connection=self.connection, run=self.run, kept=unmatched)


def _fingerprinted(item: _Kept, record: ProviderRecord, *, copies: bool) -> None:
    """Fill in what merging and writing `item` (whose record is `record`) needs: its raw
    JSON, its digest, its fingerprint, and when the writer `copies` (PostgreSQL) its lines of
    the staging tables."""
    item.raw_text = raw_json(record.raw)
    item.raw_digest = raw_digest(item.raw_text)
    if item.employee_id is None:
        item.fingerprint = unmatched_fingerprint(
            email=record.email[:254],
            external_id=record.external_id[:200],
            reason=unmatched_reason(record)[:500],
            record=record_to_json(record),
            raw_text=item.raw_text,
        )
    else:
        item.fingerprint = enrollment_fingerprint(
            employee_id=item.employee_id,
            enrolled_at=record.enrolled_at,
            last_activity_at=record.last_activity_at,
            progress=record.progress,
            is_completed=record.is_completed,
            completed_at=record.completed_at,
            is_removed=record.is_removed,
            raw_text=item.raw_text,
        )
    if copies:
        item.keys_text = _keys_text(item, record_rank(record))
        if item.employee_id is not None:
            item.row_text = _row_text(item)


def enrollments_write(
    *, connection: ProviderConnection, matched: list[tuple[ProviderRecord, int]], courses: CourseCache
) -> None:
    """Upsert one enrollment per (connection, learner key, course) from (normalized
    record, employee id) pairs already merged (one per key), outside a run (kept unmatched
    records matched again): the same statement as a run's pages, rows whose fingerprint is
    unchanged left alone."""
    if not matched:
        return
    known = courses.ensure(record for record, _ in matched)
    items = []
    for record, employee_id in matched:
        item = _Kept(place=0, record=record, key=learner_key(record), employee_id=employee_id)
        item.course_pk = known[record.provider_course_id].pk
        _fingerprinted(item, record, copies=_postgresql())
        items.append(item)
    now = timezone.now()
    with transaction.atomic():
        _staging_tables_create()
        _enrollments_upsert(connection=connection, rows=[(item, now) for item in items], now=now)


def _unchanged_missed(*, connection: ProviderConnection, run_id: int, lines: str) -> set[int]:
    """Merge the unparsed records of a page whose enrollment holds the same raw JSON
    (`raw_digest`) for the same employee into the run's merge state, as they are (PostgreSQL,
    one statement, UNCHANGED_KEPT): such a record would be parsed into the values its row
    holds, so it is kept with that row's MergeRank and fingerprint, unchanged, as
    MERGE_STATE_UPSERT would keep it (a better duplicate later in the run still replaces
    it). A key the run has already read is left to be parsed and merged as usual. `lines`:
    one line of tab-separated values per record (`RunWriter.raw_page_prepared`), split by
    the database (ten times quicker than arrays). Returns the places of the records not kept."""
    sql = UNCHANGED_KEPT.format(
        merge=merge_table(run_id),
        enrollment=Enrollment._meta.db_table,
        completed_us=_MOMENT_US_POSTGRESQL.format(column="e.completed_at"),
        activity_us=f"COALESCE({_MOMENT_US_POSTGRESQL.format(column='e.last_activity_at')}, {NO_ACTIVITY})",
        progress=_PROGRESS_HUNDREDTHS,
    )
    with db.cursor() as cursor:
        cursor.execute(sql, [lines, connection.pk])
        return {place for (place,) in cursor.fetchall()}  # usually a few: the places kept are not sent back


def _raw_digests_update(*, connection: ProviderConnection, items: list[_Kept]) -> None:
    """Write the raw digest of enrollments read unchanged whose stored digest differs (rows
    written before digests were kept, or before RECORD_FORMAT changed), so that the next
    sync finds them without parsing them; a row whose fingerprint differs by now is left."""
    table = Enrollment._meta.db_table
    with db.cursor() as cursor:
        if _postgresql():
            cursor.execute(
                RAW_DIGESTS_UPDATE.format(enrollment=table),
                [
                    [item.key for item in items],
                    [item.course_pk for item in items],
                    [item.fingerprint for item in items],
                    [item.raw_digest for item in items],
                    connection.pk,
                ],
            )
        else:
            cursor.executemany(
                f'UPDATE "{table}" SET raw_digest = %s '  # noqa: S608 (the model's own table)
                "WHERE connection_id = %s AND learner_key = %s AND course_id = %s AND fingerprint = %s",
                [(item.raw_digest, connection.pk, item.key, item.course_pk, item.fingerprint) for item in items],
            )


def _plain(raw: Any) -> Any:
    """`raw` as plain JSON values, for the ORM's JSON fields (the rare rows: invalid and
    unmatched records)."""
    return orjson.loads(raw_json(raw))


def unmatched_reason(record: ProviderRecord) -> str:
    who = " or ".join(
        part
        for part in (
            f"external id {record.external_id!r}" if record.external_id else "",
            f"e-mail {record.email!r}" if record.email else "",
        )
        if part
    )
    return f"no employee on the roster with {who}"


def _unmatched_upsert(*, connection: ProviderConnection, run: SyncRun, kept: list[_Kept]) -> None:
    """Keep the records of people not on the roster that are new or changed, one row per
    (connection, learner key, course), in key order."""
    rows = [
        UnmatchedRecord(
            connection=connection,
            learner_key=item.key,
            provider_course_id=item.record.provider_course_id,
            email=item.record.email[:254],
            external_id=item.record.external_id[:200],
            reason=unmatched_reason(item.record)[:500],
            record=record_to_json(item.record),
            raw=_plain(item.record.raw),
            fingerprint=item.fingerprint,
            last_run=run,
        )
        for item in sorted(kept, key=lambda item: (item.key, item.record.provider_course_id))
    ]
    UnmatchedRecord.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["connection", "learner_key", "provider_course_id"],
        update_fields=["email", "external_id", "reason", "record", "raw", "fingerprint", "last_run", "last_seen_at"],
    )


# --- Statements ---------------------------------------------------------------------------------

MERGE_STATE_TABLE = """
CREATE {unlogged} TABLE IF NOT EXISTS "{table}" (
    learner_key text {binary} NOT NULL,
    course_id text {binary} NOT NULL,
    place bigint NOT NULL,
    is_completed {boolean} NOT NULL,
    completed_us bigint,
    activity_us bigint NOT NULL,
    progress integer NOT NULL,
    fingerprint text NOT NULL,
    outcome char(1) NOT NULL,
    outcome_was char(1),
    before_fingerprint text,
    before_updated_at {timestamp},
    stale_digest {boolean} NOT NULL,
    PRIMARY KEY (learner_key, course_id)
)"""

# The page's kept records, staged (a temporary table of each task's database session). The
# course's pk first: the rest of a record's line is made where it is prepared (`_keys_text`).
_KEYS_COLUMNS = (
    "course_pk",
    "place",
    "learner_key",
    "course_id",
    "is_completed",
    "completed_us",
    "activity_us",
    "progress",
    "fingerprint",
    "matched",
    "raw_digest",
)
_KEYS_TYPES = (
    "bigint",
    "bigint",
    "text",
    "text",
    "boolean",
    "bigint",
    "bigint",
    "integer",
    "text",
    "boolean",
    "text",
)
# The enrollments to write, staged (PostgreSQL; SQLite inserts them directly). The course's pk
# and the row's updated_at first: the rest of a record's line is made where it is prepared.
_ROWS_COLUMNS = (
    "course_pk",
    "updated_at",
    "learner_key",
    "employee_id",
    "enrolled_at",
    "last_activity_at",
    "progress",
    "is_completed",
    "completed_at",
    "is_removed",
    "raw",
    "fingerprint",
    "raw_digest",
)
_ROWS_TYPES = (
    "bigint",
    "timestamptz",
    "text",
    "bigint",
    "timestamptz",
    "timestamptz",
    "numeric(5, 2)",
    "boolean",
    "timestamptz",
    "boolean",
    "text",
    "text",
    "text",
)

# A record (`{new}`) better than the one kept (`{kept}`): `record_better`, ties settled by the place in
# the run (of two completions at the same instant the first read stays; otherwise the later read wins).
# The row stored before the run loses every tie (STORED_PLACE).
MERGE_BETTER = """
CASE WHEN {new}.is_completed <> {kept}.is_completed THEN {new}.is_completed
     WHEN {new}.is_completed THEN ({new}.completed_us, {new}.place) < ({kept}.completed_us, {kept}.place)
     ELSE ({new}.activity_us, {new}.progress, {new}.place) > ({kept}.activity_us, {kept}.progress, {kept}.place)
END"""

# The rows as they were before the run, by key: one probe of a unique index per record. On
# PostgreSQL a LATERAL subquery with LIMIT 1 (which the planner cannot turn into a join): a join
# could hash a whole table for a page of 500 keys, and the page's staging table has no statistics.
# An enrollment comes with its MergeRank (`e.is_completed` ... `e.place`), to be compared with the
# page's record by MERGE_BETTER; `r` says whether the run read the key before (in the merge state),
# probed here once per key: a NOT EXISTS among the rule's columns became a scan of the whole merge
# state per column and per page, so re-syncs grew with the square of their size.
_BEFORE_POSTGRESQL = """
sync_keys k
LEFT JOIN LATERAL (
    SELECT e.fingerprint, e.raw_digest, e.updated_at, e.is_completed, {completed_us} AS completed_us,
           {activity_us} AS activity_us, {progress} AS progress, {stored_place} AS place
    FROM "{enrollment}" e
    WHERE e.connection_id = %s AND e.learner_key = k.learner_key AND e.course_id = k.course_pk
    LIMIT 1
) e ON true
LEFT JOIN LATERAL (
    SELECT u.fingerprint FROM "{unmatched}" u
    WHERE NOT k.matched AND u.connection_id = %s AND u.learner_key = k.learner_key
        AND u.provider_course_id = k.course_id
    LIMIT 1
) u ON true
LEFT JOIN LATERAL (
    SELECT true AS read FROM "{merge}" r WHERE r.learner_key = k.learner_key AND r.course_id = k.course_id LIMIT 1
) r ON true"""
_BEFORE_SQLITE = """
sync_keys k
LEFT JOIN (
    SELECT e.connection_id, e.learner_key, e.course_id, e.fingerprint, e.raw_digest, e.updated_at, e.is_completed,
           {completed_us} AS completed_us, {activity_us} AS activity_us, {progress} AS progress,
           {stored_place} AS place
    FROM "{enrollment}" e
) e ON e.connection_id = %s AND e.learner_key = k.learner_key AND e.course_id = k.course_pk
LEFT JOIN "{unmatched}" u
    ON NOT k.matched AND u.connection_id = %s AND u.learner_key = k.learner_key
        AND u.provider_course_id = k.course_id
LEFT JOIN (SELECT learner_key, course_id, 1 AS read FROM "{merge}") r
    ON r.learner_key = k.learner_key AND r.course_id = k.course_id"""
# A stored time as whole microseconds since 1970 (`moment_us`). SQLite keeps UTC times as text,
# "YYYY-MM-DD HH:MM:SS" and ".ffffff" when it is not zero.
_MOMENT_US_POSTGRESQL = "(extract(epoch FROM {column}) * 1000000)::bigint"
_MOMENT_US_SQLITE = (
    "(CAST(strftime('%%s', {column}) AS integer) * 1000000 + CAST(substr({column} || '.000000', 21, 6) AS integer))"
)

_PROGRESS_HUNDREDTHS = "COALESCE(CAST(round(e.progress * 100) AS integer), 0)"

# Outcomes: c created, u updated, n unchanged, x unmatched (CREATED, UPDATED, UNCHANGED, UNMATCHED).
# A key read for the first time in the run whose stored enrollment is better than the record
# (`stays`: the run keeps the better of the two, unless its source may undo a completion) keeps the
# stored row's rank and fingerprint, so it counts as unchanged and a better duplicate still
# replaces it. (A key already in the merge state has its row as it was before the run there.)
MERGE_STATE_UPSERT = """
INSERT INTO "{merge}" AS m (learner_key, course_id, place, is_completed, completed_us, activity_us, progress,
                            fingerprint, outcome, before_fingerprint, before_updated_at, stale_digest)
SELECT learner_key, course_id,
       CASE WHEN stays THEN stored_place ELSE place END,
       CASE WHEN stays THEN stored_is_completed ELSE is_completed END,
       CASE WHEN stays THEN stored_completed_us ELSE completed_us END,
       CASE WHEN stays THEN stored_activity_us ELSE activity_us END,
       CASE WHEN stays THEN stored_progress ELSE progress END,
       CASE WHEN stays THEN before_fingerprint ELSE fingerprint END,
       CASE WHEN NOT matched THEN 'x' WHEN before_fingerprint IS NULL THEN 'c'
            WHEN stays OR before_fingerprint = fingerprint THEN 'n' ELSE 'u' END,
       before_fingerprint, before_updated_at, stale_digest
FROM (
    SELECT k.learner_key, k.course_id, k.place, k.is_completed, k.completed_us, k.activity_us, k.progress,
           k.fingerprint, k.matched,
           CASE WHEN k.matched THEN e.fingerprint ELSE u.fingerprint END AS before_fingerprint,
           e.updated_at AS before_updated_at, e.place AS stored_place, e.is_completed AS stored_is_completed,
           e.completed_us AS stored_completed_us, e.activity_us AS stored_activity_us, e.progress AS stored_progress,
           e.fingerprint IS NOT NULL AND %s AND NOT ({stored_better}) AND r.read IS NULL AS stays,
           k.matched AND e.fingerprint IS NOT NULL AND e.raw_digest <> k.raw_digest AS stale_digest
    FROM {before}
) page
WHERE true
ORDER BY learner_key, course_id
ON CONFLICT (learner_key, course_id) DO UPDATE SET
    place = excluded.place, is_completed = excluded.is_completed, completed_us = excluded.completed_us,
    activity_us = excluded.activity_us, progress = excluded.progress, fingerprint = excluded.fingerprint,
    outcome_was = m.outcome,
    outcome = CASE WHEN excluded.outcome = 'x' THEN 'x' WHEN m.before_fingerprint IS NULL THEN 'c'
                   WHEN m.before_fingerprint = excluded.fingerprint THEN 'n' ELSE 'u' END
WHERE {better}
RETURNING place, outcome, outcome_was,
    CASE WHEN outcome = 'x' OR outcome_was IS NOT NULL THEN before_fingerprint END,
    CASE WHEN outcome_was IS NOT NULL THEN before_updated_at END,
    stale_digest AND outcome = 'n' AND outcome_was IS NULL"""

# The records of a page read unchanged (`_unchanged_missed`), merged as MERGE_STATE_UPSERT merges a
# record equal to its stored enrollment that the run reads for the first time: kept with the row's
# MergeRank and fingerprint, outcome n. The row of each key: one probe of its unique index, as in
# _BEFORE_POSTGRESQL. The keys are locked in key order, as MERGE_STATE_UPSERT locks them. Returns the
# places of the records not kept.
UNCHANGED_KEPT = """
WITH k AS MATERIALIZED (
    SELECT f[1]::bigint AS course_pk, f[2]::bigint AS place, f[3] AS learner_key, f[4] AS course_id,
           f[5]::bigint AS employee_id, f[6] AS raw_digest
    FROM unnest(string_to_array(%s, E'\\n')) AS line, string_to_array(line, E'\\t') AS f
), kept AS (
    INSERT INTO "{merge}" AS m (learner_key, course_id, place, is_completed, completed_us, activity_us, progress,
                                fingerprint, outcome, before_fingerprint, before_updated_at, stale_digest)
    SELECT k.learner_key, k.course_id, k.place, e.is_completed, {completed_us}, {activity_us}, {progress},
           e.fingerprint, 'n', e.fingerprint, e.updated_at, false
    FROM k
    JOIN LATERAL (
        SELECT e.is_completed, e.completed_at, e.last_activity_at, e.progress, e.fingerprint, e.updated_at,
               e.employee_id, e.raw_digest
        FROM "{enrollment}" e
        WHERE e.connection_id = %s AND e.learner_key = k.learner_key AND e.course_id = k.course_pk
        LIMIT 1
    ) e ON e.raw_digest = k.raw_digest AND e.employee_id = k.employee_id
    ORDER BY k.learner_key, k.course_id
    ON CONFLICT (learner_key, course_id) DO NOTHING
    RETURNING place
)
SELECT place FROM k EXCEPT SELECT place FROM kept"""

RAW_DIGESTS_UPDATE = """
UPDATE "{enrollment}" e SET raw_digest = k.raw_digest
FROM unnest(%s::text[], %s::bigint[], %s::text[], %s::text[]) AS k(learner_key, course_pk, fingerprint, raw_digest)
WHERE e.connection_id = %s AND e.learner_key = k.learner_key AND e.course_id = k.course_pk
    AND e.fingerprint = k.fingerprint"""

ENROLLMENTS_UPSERT = """
INSERT INTO "{enrollment}" AS e (connection_id, learner_key, course_id, employee_id, enrolled_at, last_activity_at,
                                 progress, is_completed, completed_at, is_removed, raw, fingerprint, raw_digest,
                                 first_seen_at, updated_at)
{rows}
ON CONFLICT (connection_id, learner_key, course_id) DO UPDATE SET
    employee_id = excluded.employee_id, enrolled_at = excluded.enrolled_at,
    last_activity_at = excluded.last_activity_at, progress = excluded.progress,
    is_completed = excluded.is_completed, completed_at = excluded.completed_at, is_removed = excluded.is_removed,
    raw = excluded.raw, fingerprint = excluded.fingerprint, raw_digest = excluded.raw_digest,
    updated_at = excluded.updated_at
WHERE e.fingerprint {distinct} excluded.fingerprint OR e.raw_digest {distinct} excluded.raw_digest"""
_ROWS_POSTGRESQL = """
SELECT %s, learner_key, course_pk, employee_id, enrolled_at, last_activity_at, progress, is_completed, completed_at,
       is_removed, raw::jsonb, fingerprint, raw_digest, %s, updated_at
FROM sync_rows ORDER BY learner_key, course_pk"""
_ROWS_SQLITE = "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"

UNMATCHED_RESOLVED_DELETE = """
DELETE FROM "{table}" WHERE connection_id = %s AND EXISTS (
    SELECT 1 FROM "{merge}" m
    WHERE m.learner_key = "{table}".learner_key AND m.course_id = "{table}".provider_course_id AND m.outcome <> 'x'
)"""

_NULL = r"\N"


def _staging_tables_create() -> None:
    """This database session's staging tables (temporary: each task has its own). On
    PostgreSQL they empty themselves at each commit (ON COMMIT DELETE ROWS)."""
    if _postgresql():
        keys = ", ".join(f"{c} {t}" for c, t in zip(_KEYS_COLUMNS, _KEYS_TYPES, strict=True))
        rows = ", ".join(f"{c} {t}" for c, t in zip(_ROWS_COLUMNS, _ROWS_TYPES, strict=True))
        on_commit = " ON COMMIT DELETE ROWS"
    else:
        keys, rows, on_commit = ", ".join(_KEYS_COLUMNS), ", ".join(_ROWS_COLUMNS), ""
    with db.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS sync_keys ({keys}){on_commit}")
        cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS sync_rows ({rows}){on_commit}")


def _staged(table: str, columns: Sequence[str], *, text: Callable[[], str], rows: Callable[[], list[Any]]) -> None:
    """Load an empty staging table: COPY on PostgreSQL (`text()`: its lines in COPY's text
    format), executemany elsewhere (`rows()`). Rows left by an earlier page of the same
    transaction (a caller's outer transaction: the tests) are deleted first."""
    with db.cursor() as cursor:
        if not _postgresql() or db.savepoint_ids:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 (our own staging table)
        if _postgresql():
            data = text()
            with db.wrap_database_errors:
                # Sent in one piece: each piece lets the run's other threads take the GIL, and
                # the writer then waits its turn to send the next one.
                cursor.cursor.copy_expert(
                    f"COPY {table} ({', '.join(columns)}) FROM STDIN", io.StringIO(data), size=len(data) + 1
                )
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows())  # noqa: S608 (our own staging table)


def _merge_state_upsert(
    *, connection: ProviderConnection, run_id: int, kept: list[_Kept], keeps_stored: bool
) -> list[tuple[int, str, str | None, str | None, Any, bool]]:
    """Merge the page's kept records into the run's merge state (MERGE_STATE_UPSERT);
    returns (place, outcome, outcome_was, before_fingerprint, before_updated_at,
    stale_digest) of the records now kept for their key: read for the first time
    (outcome_was None) or better than the one kept before. The row before the run is
    returned only where it is used: its fingerprint for unmatched records and better
    duplicates, its updated_at for better duplicates; `stale_digest` says that a key read
    for the first time, unchanged, has another raw digest on its row."""

    def rows() -> list[tuple[Any, ...]]:
        values = []
        for item in kept:
            rank = record_rank(item.record)
            values.append(
                (
                    item.course_pk,
                    item.place,
                    item.key,
                    item.record.provider_course_id,
                    rank.is_completed,
                    rank.completed_us,
                    rank.activity_us,
                    rank.progress,
                    item.fingerprint,
                    item.employee_id is not None,
                    item.raw_digest,
                )
            )
        return values

    _staged(
        "sync_keys",
        _KEYS_COLUMNS,
        text=lambda: "".join(f"{_int(item.course_pk)}\t{item.keys_text}" for item in kept),
        rows=rows,
    )
    before, moment_us = (
        (_BEFORE_POSTGRESQL, _MOMENT_US_POSTGRESQL) if _postgresql() else (_BEFORE_SQLITE, _MOMENT_US_SQLITE)
    )
    before = before.format(
        merge=merge_table(run_id),
        enrollment=Enrollment._meta.db_table,
        unmatched=UnmatchedRecord._meta.db_table,
        completed_us=moment_us.format(column="e.completed_at"),
        activity_us=f"COALESCE({moment_us.format(column='e.last_activity_at')}, {NO_ACTIVITY})",
        progress=_PROGRESS_HUNDREDTHS,
        stored_place=STORED_PLACE,
    )
    sql = MERGE_STATE_UPSERT.format(
        merge=merge_table(run_id),
        before=before,
        stored_better=MERGE_BETTER.format(new="k", kept="e"),
        better=MERGE_BETTER.format(new="excluded", kept="m"),
    )
    with db.cursor() as cursor:
        cursor.execute(sql, [keeps_stored, connection.pk, connection.pk])
        return list(cursor.fetchall())


def _enrollments_upsert(*, connection: ProviderConnection, rows: list[tuple[_Kept, Any]], now: dt.datetime) -> None:
    """Upsert the enrollments of `rows` ((kept record, updated_at)) in key order
    (ENROLLMENTS_UPSERT); a row whose stored fingerprint and raw digest are the same is left alone."""
    enrollment = Enrollment._meta.db_table
    with db.cursor() as cursor:
        if _postgresql():  # in key order: ENROLLMENTS_UPSERT sorts them
            stamp = _when(now)
            _staged(
                "sync_rows",
                _ROWS_COLUMNS,
                text=lambda: "".join(
                    f"{item.course_pk}\t{stamp if updated_at is now else _when(updated_at)}\t{item.row_text}"
                    for item, updated_at in rows
                ),
                rows=list,
            )
            sql = ENROLLMENTS_UPSERT.format(enrollment=enrollment, rows=_ROWS_POSTGRESQL, distinct="IS DISTINCT FROM")
            cursor.execute(sql, [connection.pk, now])
        else:
            ops = db.ops
            first_seen = ops.adapt_datetimefield_value(now)
            values = []
            for item, updated_at in sorted(rows, key=lambda row: (row[0].key, row[0].course_pk or 0)):
                record = item.record
                values.append(
                    (
                        connection.pk,
                        item.key,
                        item.course_pk,
                        item.employee_id,
                        ops.adapt_datetimefield_value(record.enrolled_at),
                        ops.adapt_datetimefield_value(record.last_activity_at),
                        ops.adapt_decimalfield_value(record.progress, 5, 2),
                        record.is_completed,
                        ops.adapt_datetimefield_value(record.completed_at),
                        record.is_removed,
                        item.raw_text,
                        item.fingerprint,
                        item.raw_digest,
                        first_seen,
                        ops.adapt_datetimefield_value(updated_at)
                        if isinstance(updated_at, dt.datetime)
                        else updated_at,
                    )
                )
            sql = ENROLLMENTS_UPSERT.format(enrollment=enrollment, rows=_ROWS_SQLITE, distinct="IS NOT")
            cursor.executemany(sql, values)


def _enrollments_copied(*, connection: ProviderConnection, items: list[_Kept], now: dt.datetime) -> None:
    """Insert the enrollments of keys that had no row before the run, read for the first time
    in it (PostgreSQL): COPY straight into the table, in key order, a third quicker than
    staging them for ENROLLMENTS_UPSERT. Their keys are locked in the merge state, so no task
    of the run writes them meanwhile; should another writer have added one of them since
    (the re-match of unmatched records), the COPY is undone (a savepoint) and they are upserted
    instead."""
    items = sorted(items, key=lambda item: (item.key, item.course_pk or 0))
    stamp = _when(now)
    data = "".join(f"{connection.pk}\t{item.course_pk}\t{stamp}\t{stamp}\t{item.row_text}" for item in items)
    columns = ", ".join(("connection_id", "course_id", "first_seen_at", "updated_at", *_ROWS_COLUMNS[2:]))
    try:
        with transaction.atomic(), db.cursor() as cursor, db.wrap_database_errors:
            cursor.cursor.copy_expert(
                f'COPY "{Enrollment._meta.db_table}" ({columns}) FROM STDIN', io.StringIO(data), size=len(data) + 1
            )
    except IntegrityError:
        _enrollments_upsert(connection=connection, rows=[(item, now) for item in items], now=now)


# COPY's text format: tab-separated, \N for NULL, backslash, tab, newline and return escaped.


def _text(value: str) -> str:
    if value.isprintable() and "\\" not in value:
        return value
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _json_text(value: str) -> str:
    """JSON text: its strings escape tabs and line breaks, only its backslashes remain."""
    return value.replace("\\", "\\\\")


def _int(value: int | None) -> str:
    return _NULL if value is None else str(value)


def _when(value: dt.datetime | None) -> str:
    return _NULL if value is None else value.isoformat()


def _keys_text(item: _Kept, rank: MergeRank) -> str:
    """`item`'s line of sync_keys after its course's pk (_KEYS_COLUMNS); `rank`: its record's."""
    return (
        f"{item.place}\t{_text(item.key)}\t{_text(item.record.provider_course_id)}\t"
        f"{'t' if rank.is_completed else 'f'}\t{_int(rank.completed_us)}\t{rank.activity_us}\t{rank.progress}\t"
        f"{item.fingerprint}\t{'f' if item.employee_id is None else 't'}\t{item.raw_digest}\n"
    )


def _row_text(item: _Kept) -> str:
    """`item`'s line of sync_rows after its course's pk and updated_at (_ROWS_COLUMNS)."""
    record = item.record
    progress = _NULL if record.progress is None else str(record.progress)
    return (
        f"{_text(item.key)}\t{item.employee_id}\t{_when(record.enrolled_at)}\t{_when(record.last_activity_at)}\t"
        f"{progress}\t{'t' if record.is_completed else 'f'}\t{_when(record.completed_at)}\t"
        f"{'t' if record.is_removed else 'f'}\t{_json_text(item.raw_text)}\t{item.fingerprint}\t{item.raw_digest}\n"
    )
