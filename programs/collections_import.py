"""Import curated collections from a CSV file: the one function behind the
`import_collections` command and the upload page."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from programs.csv_files import (
    CsvFileError,
    CsvReader,
    csv_header,
    unknown_columns_also,
    unknown_columns_message,
)
from programs.models import (
    PATH_SEPARATOR,
    Collection,
    CollectionItem,
    Course,
    LearningProgram,
    Organization,
    Provider,
)
from programs.organizations import organization_path_split
from reports.hooks import progress_changed

COLUMNS = ("collection", "organization", "provider", "course_id", "course_title", "position")
MAX_POSITION = 2_147_483_647  # PositiveIntegerField on PostgreSQL
MAX_TITLE = Course._meta.get_field("title").max_length or 300
MAX_COURSE_ID = Course._meta.get_field("provider_course_id").max_length or 200
MAX_COLLECTION_NAME = Collection._meta.get_field("name").max_length or 200

_PROVIDER_BY_NAME = {
    **{value.lower(): value for value in Provider.values},
    **{str(label).lower(): value for value, label in Provider.choices},
}


@dataclass(frozen=True)
class LineError:
    line: int
    message: str


@dataclass
class CollectionsImportResult:
    """What an import did. When `errors` is not empty nothing was applied and the
    counts are all zero."""

    rows: int = 0
    collections_created: int = 0
    items_added: int = 0
    items_moved: int = 0
    items_unchanged: int = 0
    courses_created: int = 0
    course_titles_updated: int = 0
    errors: list[LineError] = field(default_factory=list)

    @property
    def applied(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> bool:
        return any(
            (
                self.collections_created,
                self.items_added,
                self.items_moved,
                self.courses_created,
                self.course_titles_updated,
            )
        )


@dataclass(frozen=True)
class _Row:
    line: int
    collection: str
    org_path: str  # normalized; "" for company-wide
    provider: str
    course_id: str
    title: str
    position: int | None
    is_valid: bool  # False when the line has a problem of its own (its organization is checked anyway)


CollectionKey = tuple[str, str]  # (organization path or "", collection name)
CourseKey = tuple[str, str]  # (provider, provider course id)


def _parse(content: bytes | str, errors: list[LineError]) -> list[_Row]:
    """Rows of the file, checked one by one; problems go to `errors` with their line. A
    file that cannot be read to its end (encoding, a quote never closed) or whose header is
    wrong (a column missing, unknown or named twice) gives that one error and no rows."""
    reader = CsvReader(content)
    rows: list[_Row] = []
    try:
        header_row = reader.header()
        if header_row is None:
            errors.append(
                LineError(
                    1,
                    _("The file is empty; the first line must name the columns: %(columns)s.")
                    % {"columns": ", ".join(COLUMNS)},
                )
            )
            return []
        header = csv_header(header_row, columns={column: (column,) for column in COLUMNS})
        missing = header.missing(COLUMNS)
        if missing:
            message = ngettext("Missing column: %(columns)s.", "Missing columns: %(columns)s.", len(missing)) % {
                "columns": ", ".join(missing)
            }
            errors.append(LineError(header.line, message + unknown_columns_also(header, known=COLUMNS)))
            return []
        if header.unknown:
            errors.append(LineError(header.line, unknown_columns_message(header, known=COLUMNS)))
            return []
        for csv_row in reader.rows():
            if csv_row.nul_line is not None:
                errors.append(
                    LineError(
                        csv_row.nul_line,
                        _(
                            "This line contains a NUL byte (0x00), which is not text: the file is damaged or not a "
                            "CSV export."
                        ),
                    )
                )
                continue
            cells = csv_row.cells
            values = {column: (cells[i].strip() if i < len(cells) else "") for column, i in header.positions.items()}
            rows.append(_row(csv_row.line, values, errors))
    except CsvFileError as exc:
        errors.append(LineError(exc.line or 1, str(exc)))
        return []
    return rows


def _row(line: int, values: dict[str, str], errors: list[LineError]) -> _Row:
    problems: list[str] = []
    name = values["collection"]
    if not name:
        problems.append(_("The collection name is missing."))
    elif len(name) > MAX_COLLECTION_NAME:
        problems.append(_("The collection name is longer than %(max)d characters.") % {"max": MAX_COLLECTION_NAME})
    provider = _PROVIDER_BY_NAME.get(values["provider"].lower())
    if provider is None:
        shown = values["provider"] or _("(empty)")
        problems.append(
            _("Unknown provider '%(provider)s'; use one of: %(providers)s.")
            % {"provider": shown, "providers": ", ".join(Provider.values)}
        )
    course_id = values["course_id"]
    if not course_id:
        problems.append(_("The course id is missing."))
    elif len(course_id) > MAX_COURSE_ID:
        problems.append(_("The course id is longer than %(max)d characters.") % {"max": MAX_COURSE_ID})
    title = values["course_title"]
    if len(title) > MAX_TITLE:
        problems.append(_("The course title is longer than %(max)d characters.") % {"max": MAX_TITLE})
    position: int | None = None
    if values["position"]:
        raw = values["position"]
        if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_POSITION:
            position = int(raw)
        else:
            problems.append(
                _("Bad position '%(position)s': use a whole number from 1, or leave it empty.") % {"position": raw}
            )
    errors.extend(LineError(line, problem) for problem in problems)
    return _Row(
        line=line,
        collection=name,
        org_path=PATH_SEPARATOR.join(organization_path_split(values["organization"])),
        provider=provider or "",
        course_id=course_id,
        title=title,
        position=position,
        is_valid=not problems,
    )


def collections_import(*, program: LearningProgram, content: bytes | str) -> CollectionsImportResult:
    """Create or update the collections of `program` from a CSV file.

    Columns (header on line 1, any order, each once, no others: a misspelt column must
    not be ignored): collection, organization, provider, course_id, course_title, position.
    The file is read by programs.csv_files (UTF-8 with or without BOM, physical line
    numbers); a line with a NUL byte is a bad line.

    - `organization` is a path like "Acme/Engineering" that must already exist (a typo
      must not create an organization); empty means a company-wide collection.
      A collection is identified by (program, organization, name).
    - `provider` is one of the Provider values (or labels), in any case. Courses are
      identified by (provider, course id) and created when new; a non-empty
      `course_title` fills or updates the title (the last one in the file wins).
    - `position` is a whole number from 1; empty puts the course right after the
      previous course of the same collection in the file (1 for its first course).
    - A course already in the collection at another position is moved; at the same
      position it is unchanged. Courses of a collection that the file does not list
      are left as they are: the file adds and reorders, it never removes (removal is a
      curation decision made on the collection itself, not by omission in a file).
    - Every bad line is reported with its line number (the header is line 1), and then
      nothing at all is applied. Re-importing the same file changes nothing.

    Runs a fixed number of queries whatever the file size, inside one transaction that
    holds a lock on the program row, so two imports for one program run one after the
    other and report exact counts.
    """
    result = CollectionsImportResult()
    rows = _parse(content, result.errors)
    if not rows and not result.errors:
        result.errors.append(LineError(2, _("The file has no collection rows below the header.")))

    orgs = {org.path: org for org in Organization.objects.filter(path__in={r.org_path for r in rows if r.org_path})}
    wanted: dict[CollectionKey, dict[CourseKey, int]] = {}
    line_of: dict[tuple[CollectionKey, CourseKey], int] = {}
    titles: dict[CourseKey, str] = {}
    for row in rows:
        if row.org_path and row.org_path not in orgs:
            result.errors.append(
                LineError(
                    row.line,
                    _("Unknown organization '%(organization)s'; add it to the roster first.")
                    % {"organization": row.org_path},
                )
            )
            continue
        if not row.is_valid:
            continue
        key: CollectionKey = (row.org_path, row.collection)
        course: CourseKey = (row.provider, row.course_id)
        items = wanted.setdefault(key, {})
        if course in items:
            result.errors.append(
                LineError(
                    row.line,
                    _("Course %(provider)s %(course)s is already in collection '%(collection)s' on line %(line)d.")
                    % {
                        "provider": row.provider,
                        "course": row.course_id,
                        "collection": row.collection,
                        "line": line_of[key, course],
                    },
                )
            )
            continue
        previous = next(reversed(items.values()), 0)
        items[course] = row.position if row.position is not None else previous + 1
        line_of[key, course] = row.line
        if row.title:
            titles[course] = row.title
    result.errors.sort(key=lambda error: error.line)
    if result.errors:
        return result
    result.rows = len(rows)

    with transaction.atomic():
        list(LearningProgram.objects.select_for_update().filter(pk=program.pk).values_list("pk", flat=True))
        courses = _courses_ensure({c for items in wanted.values() for c in items}, titles, result)
        collections = _collections_ensure(program, set(wanted), orgs, result)
        _items_apply(wanted, courses, collections, result)
        if result.items_added:  # curated completions count the courses of every collection
            progress_changed(program_ids=[program.pk])
    return result


def _courses_ensure(
    keys: set[CourseKey], titles: dict[CourseKey, str], result: CollectionsImportResult
) -> dict[CourseKey, Course]:
    def fetch() -> dict[CourseKey, Course]:
        by_key = Q(pk__in=[])
        for provider in {p for p, _course in keys}:
            by_key |= Q(provider=provider, provider_course_id__in=[c for p, c in keys if p == provider])
        return {(c.provider, c.provider_course_id): c for c in Course.objects.filter(by_key).order_by()}

    courses = fetch()
    new = [Course(provider=p, provider_course_id=c, title=titles.get((p, c), "")) for p, c in keys - set(courses)]
    if new:
        Course.objects.bulk_create(new, ignore_conflicts=True)
        result.courses_created = len(new)
        courses = fetch()
    retitled = [course for key, course in courses.items() if key in titles and course.title != titles[key]]
    for course in retitled:
        course.title = titles[course.provider, course.provider_course_id]
    if retitled:
        Course.objects.bulk_update(retitled, ["title"])
    result.course_titles_updated = len(retitled)
    return courses


def _collections_ensure(
    program: LearningProgram,
    keys: set[CollectionKey],
    orgs: dict[str, Organization],
    result: CollectionsImportResult,
) -> dict[CollectionKey, Collection]:
    def fetch() -> dict[CollectionKey, Collection]:
        found = Collection.objects.filter(program=program, name__in={name for _, name in keys}).select_related(
            "organization"
        )
        by_key = {(c.organization.path if c.organization else "", c.name): c for c in found}
        return {key: c for key, c in by_key.items() if key in keys}

    collections = fetch()
    new = [
        Collection(program=program, organization=orgs[path] if path else None, name=name)
        for path, name in sorted(keys - set(collections))
    ]
    if new:
        Collection.objects.bulk_create(new, ignore_conflicts=True)
        result.collections_created = len(new)
        collections = fetch()
    return collections


def _items_apply(
    wanted: dict[CollectionKey, dict[CourseKey, int]],
    courses: dict[CourseKey, Course],
    collections: dict[CollectionKey, Collection],
    result: CollectionsImportResult,
) -> None:
    existing = {
        (item.collection_id, item.course_id): item
        for item in CollectionItem.objects.filter(collection__in=list(collections.values()))
    }
    added: list[CollectionItem] = []
    moved: list[CollectionItem] = []
    for key, items in wanted.items():
        collection = collections[key]
        for course_key, position in items.items():
            course = courses[course_key]
            item = existing.get((collection.pk, course.pk))
            if item is None:
                added.append(CollectionItem(collection=collection, course=course, position=position))
            elif item.position != position:
                item.position = position
                moved.append(item)
            else:
                result.items_unchanged += 1
    CollectionItem.objects.bulk_create(added)
    CollectionItem.objects.bulk_update(moved, ["position"])
    result.items_added, result.items_moved = len(added), len(moved)
