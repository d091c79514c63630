from io import StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from programs.collections_import import LineError, collections_import
from programs.models import Collection, CollectionItem, Course
from programs.selectors import collections_visible
from tests.factories import (
    CollectionFactory,
    CollectionItemFactory,
    CourseFactory,
    ProgramFactory,
    org,
)

pytestmark = pytest.mark.django_db

CONTRACT_CSV = Path(__file__).resolve().parent / "data" / "contract" / "collections.csv"
HEADER = "collection,organization,provider,course_id,course_title,position\n"
ACME_FILE = HEADER + (
    "Engineering essentials,Acme/Engineering,coursera,ML101,Machine Learning,1\n"
    "Engineering essentials,Acme/Engineering,coursera,PY101,Python for Everybody,2\n"
    "Sales craft,Acme/Sales,linkedin,NEG1,Negotiation,1\n"
    "Company foundations,,coursera,LEAD1,Leading People,1\n"
)


def state(program) -> list[tuple[str, str, str, str, int]]:
    """Every item of the program's collections: (org path or '', collection, provider, course id, position)."""
    items = CollectionItem.objects.filter(collection__program=program).select_related(
        "collection__organization", "course"
    )
    return sorted(
        (
            i.collection.organization.path if i.collection.organization else "",
            i.collection.name,
            i.course.provider,
            i.course.provider_course_id,
            i.position,
        )
        for i in items
    )


def counts(result) -> dict[str, int]:
    return {
        "rows": result.rows,
        "collections_created": result.collections_created,
        "items_added": result.items_added,
        "items_moved": result.items_moved,
        "items_unchanged": result.items_unchanged,
        "courses_created": result.courses_created,
        "course_titles_updated": result.course_titles_updated,
    }


def totals() -> tuple[int, int, int]:
    return Collection.objects.count(), CollectionItem.objects.count(), Course.objects.count()


def test_contract_file_imports_then_reimports_without_changes():
    org("Contoso/Engineering")
    program = ProgramFactory(name="Contract Program 2024")
    content = CONTRACT_CSV.read_bytes()

    first = collections_import(program=program, content=content)

    assert first.errors == []
    assert counts(first) == {
        "rows": 3,
        "collections_created": 2,
        "items_added": 3,
        "items_moved": 0,
        "items_unchanged": 0,
        "courses_created": 3,
        "course_titles_updated": 0,
    }
    assert state(program) == [
        ("", "Company foundations", "coursera", "LEAD1", 1),
        ("Contoso/Engineering", "Engineering essentials", "coursera", "ML101", 1),
        ("Contoso/Engineering", "Engineering essentials", "coursera", "PY101", 2),
    ]
    assert dict(Course.objects.values_list("provider_course_id", "title")) == {
        "ML101": "Machine Learning",
        "PY101": "Python for Everybody",
        "LEAD1": "Leading People",
    }
    assert Collection.objects.get(name="Company foundations").organization is None

    second = collections_import(program=program, content=content)

    assert second.errors == []
    assert second.changed is False
    assert counts(second) == {
        "rows": 3,
        "collections_created": 0,
        "items_added": 0,
        "items_moved": 0,
        "items_unchanged": 3,
        "courses_created": 0,
        "course_titles_updated": 0,
    }
    assert totals() == (2, 3, 3)


def test_reimport_moves_adds_retitles_and_leaves_other_items_alone(personas):
    program = personas.program
    collections_import(program=program, content=ACME_FILE)
    kept = CollectionItemFactory(
        collection=Collection.objects.get(name="Engineering essentials"),
        course=CourseFactory(provider_course_id="OLD1", title="Kept by hand"),
        position=9,
    )
    changed = HEADER + (
        "Engineering essentials,Acme/Engineering,coursera,PY101,Python 3 for Everybody,1\n"
        "Engineering essentials,Acme/Engineering,coursera,ML101,,2\n"
        "Engineering essentials,Acme/Engineering,coursera,DL101,Deep Learning,\n"
        "Sales craft,Acme/Sales,linkedin,NEG1,Negotiation,1\n"
    )

    result = collections_import(program=program, content=changed)

    assert result.errors == []
    assert counts(result) == {
        "rows": 4,
        "collections_created": 0,
        "items_added": 1,
        "items_moved": 2,
        "items_unchanged": 1,
        "courses_created": 1,
        "course_titles_updated": 1,
    }
    assert state(program) == [
        ("", "Company foundations", "coursera", "LEAD1", 1),
        ("Acme/Engineering", "Engineering essentials", "coursera", "DL101", 3),
        ("Acme/Engineering", "Engineering essentials", "coursera", "ML101", 2),
        ("Acme/Engineering", "Engineering essentials", "coursera", "OLD1", 9),
        ("Acme/Engineering", "Engineering essentials", "coursera", "PY101", 1),
        ("Acme/Sales", "Sales craft", "linkedin", "NEG1", 1),
    ]
    assert Course.objects.get(provider_course_id="PY101").title == "Python 3 for Everybody"
    assert Course.objects.get(provider_course_id="ML101").title == "Machine Learning"  # empty title keeps it
    assert CollectionItem.objects.filter(pk=kept.pk, position=9).exists()


def test_empty_position_follows_the_previous_course_of_the_same_collection(personas):
    content = HEADER + (
        "Path A,Acme/Engineering,coursera,A1,,\n"
        "Path B,,coursera,B1,,5\n"
        "Path A,Acme/Engineering,coursera,A2,,\n"
        "Path B,,coursera,B2,,\n"
        "Path A,Acme/Engineering,coursera,A3,,10\n"
        "Path A,Acme/Engineering,coursera,A4,,\n"
    )
    result = collections_import(program=personas.program, content=content)
    assert result.errors == []
    assert state(personas.program) == [
        ("", "Path B", "coursera", "B1", 5),
        ("", "Path B", "coursera", "B2", 6),
        ("Acme/Engineering", "Path A", "coursera", "A1", 1),
        ("Acme/Engineering", "Path A", "coursera", "A2", 2),
        ("Acme/Engineering", "Path A", "coursera", "A3", 10),
        ("Acme/Engineering", "Path A", "coursera", "A4", 11),
    ]


def test_provider_is_matched_ignoring_case_and_existing_courses_are_reused(personas):
    course = CourseFactory(provider="linkedin", provider_course_id="NEG1", title="Negotiation")
    content = (
        "Position,Course_ID,Provider,Collection, Organization ,COURSE_TITLE\n"
        "1,NEG1,LinkedIn,Sales craft,Acme / Sales,\n"
        "2,UD9,UDEMY,Sales craft,Acme/Sales,Cold calls\n"
        "3,EDX1,edX for Business,Sales craft,Acme/Sales,Pricing\n"
    )
    result = collections_import(program=personas.program, content=content)
    assert result.errors == []
    assert (result.courses_created, result.items_added) == (2, 3)
    assert state(personas.program) == [
        ("Acme/Sales", "Sales craft", "edx", "EDX1", 3),
        ("Acme/Sales", "Sales craft", "linkedin", "NEG1", 1),
        ("Acme/Sales", "Sales craft", "udemy", "UD9", 2),
    ]
    assert Course.objects.get(provider="linkedin", provider_course_id="NEG1").pk == course.pk


def test_same_names_in_another_program_are_separate_collections(personas):
    collections_import(program=personas.program, content=ACME_FILE)
    next_year = ProgramFactory(name="Learning Program 2027")
    result = collections_import(program=next_year, content=ACME_FILE)
    assert (result.collections_created, result.items_added, result.courses_created) == (3, 4, 0)
    assert totals() == (6, 8, 4)


def test_every_bad_line_is_reported_and_nothing_is_applied(personas):
    program = personas.program
    collections_import(program=program, content=ACME_FILE)
    before, before_totals = state(program), totals()
    content = HEADER + (
        "Engineering essentials,Acme/Engineering,coursera,PY101,Python renamed,7\n"  # 2: fine
        ",Acme/Engineering,coursera,X1,,1\n"  # 3
        "Engineering essentials,Acme/Enginering,coursera,X2,,x\n"  # 4: two problems
        "Engineering essentials,Acme/Engineering,pluralsight,X3,,1\n"  # 5
        "Engineering essentials,Acme/Engineering,coursera,,,1\n"  # 6
        "Engineering essentials,Acme/Engineering,coursera,X4,,0\n"  # 7
        "Engineering essentials,Acme/Engineering,coursera,X5,,two\n"  # 8
        "Engineering essentials,Acme/Engineering,coursera,X6,,1.5\n"  # 9
        "Engineering essentials,Acme/Engineering,coursera,PY101,,3\n"  # 10
        "\n"  # 11: blank lines are skipped
        "Sales craft,Acme/Sales,,X7,,-1\n"  # 12
        "New collection,Acme/Sales,coursera,NEW1,New course,1\n"  # 13: fine
    )

    result = collections_import(program=program, content=content)

    assert result.errors == [
        LineError(3, "The collection name is missing."),
        LineError(4, "Bad position 'x': use a whole number from 1, or leave it empty."),
        LineError(4, "Unknown organization 'Acme/Enginering'; add it to the roster first."),
        LineError(5, "Unknown provider 'pluralsight'; use one of: coursera, udemy, linkedin, edx, other, xapi."),
        LineError(6, "The course id is missing."),
        LineError(7, "Bad position '0': use a whole number from 1, or leave it empty."),
        LineError(8, "Bad position 'two': use a whole number from 1, or leave it empty."),
        LineError(9, "Bad position '1.5': use a whole number from 1, or leave it empty."),
        LineError(10, "Course coursera PY101 is already in collection 'Engineering essentials' on line 2."),
        LineError(12, "Unknown provider '(empty)'; use one of: coursera, udemy, linkedin, edx, other, xapi."),
        LineError(12, "Bad position '-1': use a whole number from 1, or leave it empty."),
    ]
    assert result.applied is False
    assert counts(result)["rows"] == 0
    assert state(program) == before
    assert totals() == before_totals
    assert Course.objects.get(provider_course_id="PY101").title == "Python for Everybody"


def test_line_numbers_count_physical_lines_of_quoted_multiline_cells(personas):
    content = HEADER + '"Engineering\nessentials",Acme/Engineering,coursera,A1,"Two\nlines",1\n,,coursera,A2,,\n'
    result = collections_import(program=personas.program, content=content)
    assert result.errors == [LineError(5, "The collection name is missing.")]  # row 1 is lines 2 to 4


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"", LineError(1, "The file is empty; the first line must name the columns: "
                           "collection, organization, provider, course_id, course_title, position.")),
        (b"collection,provider,course_id\nA,coursera,C1\n",
         LineError(1, "Missing columns: organization, course_title, position.")),
        (HEADER.encode(), LineError(2, "The file has no collection rows below the header.")),
        ("collection,organization,provider,course_id,course_title,position\nCafé,,coursera,C1,,1\n".encode("latin-1"),
         LineError(2, "The file is not UTF-8 text (byte 69 cannot be read, on line 2). Save it as CSV UTF-8 and "
                      "import it again.")),
        (HEADER + "A,,coursera,C1,,1\n" + "B,,coursera,C2,\"Unclosed,1\n" + "C,,coursera,C3,,1\n",
         LineError(3, 'Line 3: a quote (") opens a cell that is never closed, so the rest of the file would be '
                      'read as that one cell. Close the quote, or double it ("") if it is part of the text.')),
        (HEADER.replace("course_title", "course title"),
         LineError(1, "Missing column: course_title. Unknown column: 'course title' (did you mean course_title?).")),
        (HEADER.replace("\n", ",notes\n") + "A,,coursera,C1,,1,ignored\n",
         LineError(1, "The header (line 1) has a column LearnHub does not know: 'notes'. The columns are: collection, "
                      "organization, provider, course_id, course_title, position. Rename or remove it: its data "
                      "would be ignored.")),
        (HEADER.replace("\n", ",Provider\n") + "A,,coursera,C1,,1,udemy\n",
         LineError(1, "The column 'Provider' appears twice in the header (line 1, columns 3 and 7): keep one, so it "
                      "is clear which one holds the data.")),
    ],
)  # fmt: skip
def test_unreadable_files_are_refused_whole(personas, content, error):
    result = collections_import(program=personas.program, content=content)
    assert result.errors == [error]
    assert totals() == (0, 0, 0)


def test_a_nul_byte_is_a_bad_line_and_nothing_is_applied(personas):
    content = HEADER + "Fine,,coursera,F1,,1\n" + "Broken,,coursera,B\x001,,2\n" + "Bad,,coursera,B2,,x\n"

    result = collections_import(program=personas.program, content=content.encode())

    assert result.errors == [
        LineError(
            3,
            "This line contains a NUL byte (0x00), which is not text: the file is damaged or not a CSV export.",
        ),
        LineError(4, "Bad position 'x': use a whole number from 1, or leave it empty."),
    ]
    assert totals() == (0, 0, 0)


def test_the_page_reports_a_nul_byte_instead_of_failing(personas):
    content = HEADER + "Fine,,coursera,F1,,1\n" + "Broken,,coursera,B\x001,,2\n"

    response = personas.client_for(personas.admin).post(
        IMPORT_URL, {"program": personas.program.pk, "file": upload(content)}
    )

    assert response.status_code == 200
    assert '<tr><td class="num">3</td><td>This line contains a NUL byte (0x00)' in response.content.decode()
    assert totals() == (0, 0, 0)


def test_utf8_with_byte_order_mark_is_read(personas):
    result = collections_import(program=personas.program, content=("\ufeff" + ACME_FILE).encode("utf-8"))
    assert (result.errors, result.items_added) == ([], 4)


def test_query_count_does_not_grow_with_the_file(personas):
    small = ACME_FILE
    big = HEADER + "".join(
        f"Path {n % 5},{'Acme/Engineering' if n % 2 else ''},coursera,BIG{n},Course {n},{n + 1}\n" for n in range(60)
    )
    other = ProgramFactory(name="Other")
    with CaptureQueriesContext(connection) as small_run:
        small_result = collections_import(program=personas.program, content=small)
    with CaptureQueriesContext(connection) as big_run:
        big_result = collections_import(program=other, content=big)
    assert (small_result.items_added, big_result.items_added, big_result.collections_created) == (4, 60, 10)
    assert len(big_run.captured_queries) == len(small_run.captured_queries) == 12


def test_an_existing_collection_of_another_org_with_the_same_name_is_not_reused(personas):
    CollectionFactory(program=personas.program, organization=personas.sales, name="Essentials")
    content = HEADER + "Essentials,Acme/Engineering,coursera,A1,,1\nEssentials,,coursera,A1,,1\n"
    result = collections_import(program=personas.program, content=content)
    assert (result.collections_created, result.items_added) == (2, 2)
    assert sorted(
        (c.organization.path if c.organization else "", c.name)
        for c in Collection.objects.filter(program=personas.program)
    ) == [("", "Essentials"), ("Acme/Engineering", "Essentials"), ("Acme/Sales", "Essentials")]


# --- the command -----------------------------------------------------------------------


def test_command_imports_the_contract_file_and_prints_the_summary():
    org("Contoso/Engineering")
    ProgramFactory(name="Contract Program 2024")
    out = StringIO()
    call_command("import_collections", str(CONTRACT_CSV), "--program", "Contract Program 2024", stdout=out)
    assert out.getvalue() == (
        "Imported collections into 'Contract Program 2024'.\n"
        "  rows: 3\n  collections created: 2\n  items added: 3\n  items moved: 0\n  items unchanged: 0\n"
        "  courses created: 3\n  course titles updated: 0\n"
    )
    out = StringIO()
    call_command("import_collections", str(CONTRACT_CSV), "--program", "contract program 2024", stdout=out)
    assert "  collections created: 0\n  items added: 0\n  items moved: 0\n  items unchanged: 3\n" in out.getvalue()


def test_command_reports_bad_lines_and_applies_nothing(personas, tmp_path):
    path = tmp_path / "collections.csv"
    path.write_text(
        HEADER + "Good,,coursera,G1,,1\nBad,Nowhere,coursera,B1,,1\nBad,,coursera,B2,,x\n", encoding="utf-8"
    )
    with pytest.raises(CommandError) as refused:
        call_command("import_collections", str(path), "--program", personas.program.name)
    assert str(refused.value) == (
        f"Nothing was imported: 2 problems in {path}.\n"
        "line 3: Unknown organization 'Nowhere'; add it to the roster first.\n"
        "line 4: Bad position 'x': use a whole number from 1, or leave it empty."
    )
    assert totals() == (0, 0, 0)


def test_command_refuses_an_unknown_program_or_a_missing_file(personas, tmp_path):
    with pytest.raises(CommandError, match=r"^No program named 'Nope'\. Create it first with create_program\.$"):
        call_command("import_collections", str(CONTRACT_CSV), "--program", "Nope")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_collections", str(tmp_path / "missing.csv"), "--program", personas.program.name)
    assert totals() == (0, 0, 0)


# --- the upload page --------------------------------------------------------------------

IMPORT_URL = reverse("programs:collections_import")


def upload(content: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("collections.csv", content.encode("utf-8"), content_type="text/csv")


def test_admin_sees_the_form_with_the_current_program_chosen(personas):
    response = personas.client_for(personas.admin).get(IMPORT_URL)
    assert response.status_code == 200
    assert response.context["form"].initial == {"program": personas.program.pk}
    assert b'<label for="id_file">CSV file</label>' in response.content


def test_admin_uploads_a_file_and_sees_the_summary(personas):
    response = personas.client_for(personas.admin).post(
        IMPORT_URL, {"program": personas.program.pk, "file": upload(ACME_FILE)}
    )
    assert response.status_code == 200
    result = response.context["result"]
    assert (result.errors, result.collections_created, result.items_added, result.courses_created) == ([], 3, 4, 4)
    assert "Imported into Learning Program 2026" in response.content.decode()
    assert totals() == (3, 4, 4)


def test_admin_sees_each_bad_line_and_nothing_changes(personas):
    content = HEADER + "Fine,,coursera,F1,,1\n<b>Sneaky</b>,Acme/Nowhere,coursera,B1,,1\n"
    response = personas.client_for(personas.admin).post(
        IMPORT_URL, {"program": personas.program.pk, "file": upload(content)}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Nothing was imported" in page
    assert '<tr><td class="num">3</td><td>Unknown organization &#x27;Acme/Nowhere&#x27;;' in page
    assert "<b>Sneaky</b>" not in page
    assert response.context["form"]["program"].value() == str(personas.program.pk)
    assert totals() == (0, 0, 0)


def test_upload_without_a_file_shows_the_error_next_to_the_field(personas):
    response = personas.client_for(personas.admin).post(IMPORT_URL, {"program": personas.program.pk})
    assert response.status_code == 200
    assert response.context["form"].errors == {"file": ["This field is required."]}
    assert response.context["result"] is None


@pytest.mark.parametrize("who", ["employee", "sponsor", "champion"])
def test_upload_is_refused_to_people_who_are_not_ld_admins(personas, who):
    client = personas.client_for(getattr(personas, who))
    assert client.get(IMPORT_URL).status_code == 403
    response = client.post(IMPORT_URL, {"program": personas.program.pk, "file": upload(ACME_FILE)})
    assert response.status_code == 403
    assert totals() == (0, 0, 0)


def test_upload_sends_anonymous_visitors_to_sign_in(personas):
    response = personas.client_for(None).post(IMPORT_URL, {"program": personas.program.pk, "file": upload(ACME_FILE)})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    assert totals() == (0, 0, 0)


# --- who sees which collections (programs.selectors.collections_visible) ----------------


def shown(program, user) -> list[tuple[str, list[str]]]:
    visible = collections_visible(program=program, user=user).order_by("organization__path", "name")
    return [(c.name, [i.course.provider_course_id for i in c.items.all()]) for c in visible]


def test_employee_sees_their_org_and_company_wide_collections_in_order(personas):
    content = ACME_FILE + "Engineering essentials,Acme/Engineering,coursera,AA0,Algorithms,\n"
    collections_import(program=personas.program, content=content)
    CollectionItem.objects.filter(course__provider_course_id="ML101").update(position=5)
    assert sorted(shown(personas.program, personas.employee)) == [
        ("Company foundations", ["LEAD1"]),
        ("Engineering essentials", ["PY101", "AA0", "ML101"]),
    ]


def test_team_member_sees_collections_of_the_org_above(personas):
    collections_import(program=personas.program, content=ACME_FILE)
    platform = personas.employee
    platform.organization = org("Acme/Engineering/Platform")
    platform.save(update_fields=["organization"])
    assert sorted(name for name, _ in shown(personas.program, platform)) == [
        "Company foundations",
        "Engineering essentials",
    ]


def test_outsider_and_admin_see_their_own_sets(personas):
    collections_import(program=personas.program, content=ACME_FILE)
    assert sorted(name for name, _ in shown(personas.program, personas.outsider)) == [
        "Company foundations",
        "Sales craft",
    ]
    assert sorted(name for name, _ in shown(personas.program, personas.admin)) == [
        "Company foundations",
        "Engineering essentials",
        "Sales craft",
    ]


def test_a_file_over_the_size_limit_is_refused_next_to_the_field(personas):
    too_big = SimpleUploadedFile("big.csv", b"x" * (2 * 1024 * 1024 + 1), content_type="text/csv")
    response = personas.client_for(personas.admin).post(IMPORT_URL, {"program": personas.program.pk, "file": too_big})
    assert response.context["form"].errors == {"file": ["The file is 2048 KB; a collections file can be at most 2 MB."]}
    assert totals() == (0, 0, 0)
