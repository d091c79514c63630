"""The Coursera CSV export adapter, on files shaped like the real exports."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from programs.csv_files import CsvFileError
from programs.providers.base import ProviderError, ProviderRecord
from programs.providers.coursera_csv import CourseraCsvAdapter, coursera_csv_check

CONTRACT_EXPORT = Path(__file__).resolve().parent / "data" / "contract" / "CourseActivity.csv"
EXPORT_2026_HEADER = (
    "Name,Email,External ID,Course,Course ID,Course Slug,University,Enrollment Time,Class Start Time,"
    "Class End Time,Last Course Activity Time,Overall Progress,Total Estimated Learning Hours (since enrolled),"
    "Completed,Removed From Program,Program Slug,Program Name,Collection Name,Collection ID,Completion Time,"
    "Course Grade,Course Certificate URL,Contract,Is Enterprise Contract Active,Learning Hours,Course Type,"
    "Manager Name,Manager Email,Job Title,Job Type,Business Unit,Business Unit 2,Location City,Location Region,"
    "Location Country"
)


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)  # type: ignore[misc]


def read(data: bytes | str, **options: int) -> list[ProviderRecord]:
    file = io.BytesIO(data) if isinstance(data, bytes) else io.StringIO(data, newline="")
    return [record for page in CourseraCsvAdapter(file=file, **options).pages() for record in page]


def export_row(**values: str) -> str:
    """A full 2026 CourseActivity row; `values` by header name with spaces as underscores."""
    header = EXPORT_2026_HEADER.split(",")
    defaults = {
        "Name": "Ada Lovelace",
        "Email": "ada@contoso.example",
        "External ID": "C001",
        "Course": "Leading People",
        "Course ID": "LEAD1",
        "Course Slug": "leading-people",
        "University": "University of Michigan",
        "Enrollment Time": "2024-01-10T09:00:00.000Z",
        "Last Course Activity Time": "2024-02-01T10:00:00.000Z",
        "Overall Progress": "100",
        "Total Estimated Learning Hours (since enrolled)": "18.5",
        "Completed": "Yes",
        "Removed From Program": "No",
        "Completion Time": "2024-02-01T10:00:00.000Z",
        "Course Type": "Course",
        "Learning Hours": "7.25",
    }
    for key, value in values.items():
        defaults[key.replace("_", " ")] = value
    return ",".join(f'"{defaults.get(h, "")}"' for h in header)


# --- The real shapes ------------------------------------------------------------------------


def test_contract_export_with_bom_reads_every_row_with_its_line():
    with CONTRACT_EXPORT.open("rb") as file:
        adapter = CourseraCsvAdapter(file=file)
        records = [r for page in adapter.pages() for r in page]
        assert not file.closed

    assert adapter.stats.pages == 1
    assert [(r.line, r.email, r.external_id, r.provider_course_id) for r in records] == [
        (2, "ada@contoso.example", "C001", "LEAD1"),
        (3, "GRACE@Contoso.example", "", "ML101"),
        (4, "GRACE@Contoso.example", "", "ML101"),
        (5, "linus@contoso.example", "C003", "ST200"),
        (6, "ken@contoso.example", "C004", "PY101"),
        (7, "mary@contoso.example", "C005", "PY101"),
        (8, "joan@contoso.example", "C006", "LEAD1"),
        (9, "barb@contoso.example", "C007", "NG300"),
        (10, "vendor@elsewhere.example", "V1", "LEAD1"),
    ]
    assert [(r.is_completed, r.completed_at, r.progress, r.is_removed) for r in records] == [
        (True, utc(2024, 2, 1, 10), Decimal("100"), False),
        (True, utc(2024, 3, 3, 12), Decimal("37"), False),
        (True, utc(2024, 3, 3, 12), Decimal("37"), False),
        (True, utc(2025, 1, 1, 6), Decimal("100"), False),
        (True, utc(2024, 3, 1), Decimal("100"), False),
        (False, None, Decimal("55"), False),
        (True, utc(2024, 12, 1), Decimal("100"), False),
        (False, None, Decimal("10"), True),
        (True, utc(2024, 2, 20), Decimal("100"), False),
    ]
    assert {r.problem for r in records} == {""}
    assert {r.content_type for r in records} == {"course"}
    assert records[0] == ProviderRecord(
        raw={
            "Name": "Ada Lovelace",
            "Email": "ada@contoso.example",
            "External ID": "C001",
            "Course": "Leading People",
            "Course ID": "LEAD1",
            "Course Slug": "leading-people",
            "University": "Univ",
            "Enrollment Time": "2024-01-10T09:00:00.000Z",
            "Last Course Activity Time": "2024-02-01T10:00:00.000Z",
            "Overall Progress": "100",
            "Completed": "Yes",
            "Removed From Program": "No",
            "Program Name": "Contoso Academy",
            "Completion Time": "2024-02-01T10:00:00.000Z",
            "Course Grade": "0.95",
        },
        email="ada@contoso.example",
        external_id="C001",
        full_name="Ada Lovelace",
        provider_course_id="LEAD1",
        content_type="course",
        course_title="Leading People",
        partner="Univ",
        course_url="https://www.coursera.org/learn/leading-people",
        course_hours=None,
        enrolled_at=utc(2024, 1, 10, 9),
        last_activity_at=utc(2024, 2, 1, 10),
        is_completed=True,
        completed_at=utc(2024, 2, 1, 10),
        progress=Decimal("100"),
        is_removed=False,
        line=2,
        problem="",
    )


def test_full_2026_export_columns_and_both_time_formats():
    data = "\n".join(
        [
            EXPORT_2026_HEADER,
            export_row(),
            export_row(
                Email=" grace@contoso.example ",
                External_ID="",
                Course_ID="ML101",
                Completion_Time="2024-01-26 10:16:04",
                Enrollment_Time="2024-01-05 08:00:00",
                Overall_Progress="82.35",
                Course_Type="Specialization",
            ),
        ]
    )

    first, second = read(data.encode())

    assert (first.course_hours, first.content_type, first.partner) == (
        Decimal("18.5"),
        "course",
        "University of Michigan",
    )
    assert (second.email, second.external_id, second.provider_course_id) == ("grace@contoso.example", "", "ML101")
    assert (second.enrolled_at, second.completed_at) == (utc(2024, 1, 5, 8), utc(2024, 1, 26, 10, 16, 4))
    assert second.progress == Decimal("82.35")
    assert second.content_type == "specialization"
    assert first.completed_at.tzinfo is dt.UTC


def test_older_usage_report_headers_are_accepted_by_alias():
    data = (
        "  name ,EMAIL,External Id,Course,course id,University,Enrollment Time,Last Course Activity Time,"
        "Overall Progress,Estimated Learning Hours,Completed,Removed From Program,Completion Time,"
        "Enrollment Source,For Credit\n"
        "Ken Example,ken@contoso.example,C004,Python,PY101,Univ,2024-01-02 00:00:00,2024-03-01 00:00:00,"
        "100,19,yes,no,2024-03-01 00:00:00,Admin,No\n"
    )

    [record] = read(data.encode())

    assert (record.full_name, record.email, record.external_id, record.provider_course_id) == (
        "Ken Example",
        "ken@contoso.example",
        "C004",
        "PY101",
    )
    assert (record.course_hours, record.is_completed, record.completed_at, record.is_removed) == (
        Decimal("19"),
        True,
        utc(2024, 3, 1),
        False,
    )
    assert record.raw["Enrollment Source"] == "Admin"
    assert record.problem == ""


def test_text_file_with_bom_and_utf8_without_bom_read_the_same():
    body = "Email,Course ID,Completed,Completion Time,Name\nzoë@acme.example,C1,Yes,2024-08-15T09:10:18.000Z,Zoë\n"
    with_bom_text = read("\ufeff" + body)
    with_bom_bytes = read(b"\xef\xbb\xbf" + body.encode())
    without_bom = read(body.encode())

    assert with_bom_text == with_bom_bytes == without_bom
    assert (without_bom[0].full_name, without_bom[0].completed_at) == ("Zoë", utc(2024, 8, 15, 9, 10, 18))


def test_an_uploaded_file_is_read_and_left_open():
    upload = SimpleUploadedFile("CourseActivity.csv", CONTRACT_EXPORT.read_bytes(), content_type="text/csv")

    records = [r for page in CourseraCsvAdapter(file=upload).pages() for r in page]

    assert len(records) == 9
    assert not upload.closed


def test_removed_rows_are_flagged_and_duplicates_yielded_as_they_are():
    data = (
        "Email,Course ID,Completed,Completion Time,Removed From Program\n"
        "a@acme.example,C1,No,,Yes\n"
        "b@acme.example,C1,Yes,2024-02-01 00:00:00,No\n"
        "b@acme.example,C1,Yes,2024-02-01 00:00:00,No\n"
    )

    records = read(data.encode())

    assert [(r.line, r.email, r.is_removed, r.is_completed) for r in records] == [
        (2, "a@acme.example", True, False),
        (3, "b@acme.example", False, True),
        (4, "b@acme.example", False, True),
    ]
    assert records[1].raw == records[2].raw


def test_without_a_completed_column_a_completion_time_means_completed():
    data = b"Email,Course ID,Completion Time\na@acme.example,C1,2024-02-01 00:00:00\nb@acme.example,C1,\n"

    records = read(data)

    assert [(r.is_completed, r.completed_at, r.problem) for r in records] == [
        (True, utc(2024, 2, 1), ""),
        (False, None, ""),
    ]


# --- Bad input ------------------------------------------------------------------------------------


def test_missing_required_columns_raise_before_any_record():
    data = b"Name,E-mail,Course\nAda,ada@contoso.example,Leading People\n"

    with pytest.raises(ProviderError) as missing:
        read(data)

    assert str(missing.value) == (
        "missing column(s): Email, Course ID. Is this a Coursera CourseActivity export? "
        "Columns found: Name, E-mail, Course"
    )


def test_program_activity_export_is_refused_for_its_missing_course_id():
    data = b"Name,Email,External Id,Program Name,Program Slug,# Enrolled Courses,# Completed Courses\n"

    with pytest.raises(ProviderError, match=r"^missing column\(s\): Course ID\."):
        read(data)


def test_bad_rows_carry_their_reason_and_line_number():
    data = (
        "Email,Course ID,Completed,Completion Time,Overall Progress,Enrollment Time,Name\n"  # 1
        "ok@acme.example,C1,Yes,2024-08-15T09:10:18.000Z,100,2024-08-01 00:00:00,Ok\n"  # 2
        "date@acme.example,C1,Yes,15/08/2024,100,,Bad date\n"  # 3
        "nodate@acme.example,C1,Yes,,100,,No completion time\n"  # 4
        "\n"  # 5: blank, skipped
        'multi@acme.example,C1,No,,12,,"Two\nlines"\n'  # 6-7
        "maybe@acme.example,C1,Maybe,,abc,2024-02-30 00:00:00,Odd values\n"  # 8
        ",,No,,,,Nobody\n"  # 9
        "last@acme.example,C2,No,,0,,Last\n"  # 10
    )

    records = read(data.encode())

    assert [(r.line, r.problem) for r in records] == [
        (2, ""),
        (3, "Completion Time: cannot parse '15/08/2024'"),
        (4, "Completed is Yes but Completion Time is empty"),
        (6, ""),
        (
            8,
            "Enrollment Time: cannot parse '2024-02-30 00:00:00'; Completed: expected Yes or No, got 'Maybe'; "
            "Overall Progress: cannot parse 'abc'",
        ),
        (9, "Course ID is empty; Email and External ID are both empty"),
        (10, ""),
    ]
    assert records[3].full_name == "Two\nlines"


def test_a_file_that_is_not_utf8_is_refused_with_a_clear_message():
    data = "Email,Course ID,Name\nx@acme.example,C1,Jos\xe9\n".encode("latin-1")

    with pytest.raises(ProviderError) as refused:
        read(data)

    assert str(refused.value) == (
        "The file is not UTF-8 text (byte 43 cannot be read, on line 2). Save it as CSV UTF-8 and import it again."
    )


def test_a_row_with_a_nul_byte_is_invalid_with_its_line_and_its_raw_values_are_storable():
    data = (
        b"Email,Course ID,Completed,Completion Time,Name\nnul@acme.example,C1,No,,Jo\x00e\nok@acme.example,C1,No,,Ok\n"
    )

    first, second = read(data)

    assert (first.line, first.problem) == (
        2,
        "line 2 contains a NUL byte (0x00), which is not text: the file is damaged or not a CSV export",
    )
    assert first.raw["Name"] == "Joe"
    assert (second.line, second.problem) == (3, "")


def test_a_column_named_twice_is_refused_but_unknown_columns_are_allowed():
    twice = b"Email,Course ID,Completed,Email\na@acme.example,C1,No,b@acme.example\n"
    two_names = b"Email,Course ID,Email Address\na@acme.example,C1,b@acme.example\n"
    unknown = b"Email,Course ID,Shoe Size,Business Unit\na@acme.example,C1,42,Sales\n"

    with pytest.raises(ProviderError) as named_twice:
        read(twice)
    with pytest.raises(ProviderError) as named_two_ways:
        read(two_names)
    [record] = read(unknown)

    assert str(named_twice.value) == (
        "The column 'Email' appears twice in the header (line 1, columns 1 and 4): keep one, so it is clear which "
        "one holds the data."
    )
    assert str(named_two_ways.value) == (
        "The columns 'Email' and 'Email Address' of the header (line 1) are the same column (Email): keep one, so "
        "it is clear which one holds the data."
    )
    assert (record.email, record.raw["Shoe Size"], record.problem) == ("a@acme.example", "42", "")


def test_an_unterminated_quote_is_refused_with_its_line():
    data = b'Email,Course ID,Name\na@acme.example,C1,"Ada\nb@acme.example,C2,Bob\n'

    with pytest.raises(ProviderError, match=r"^Line 2: a quote \(\"\) opens a cell that is never closed"):
        read(data)


# --- Checking a whole file before an import ----------------------------------------------------


def test_the_check_counts_the_rows_and_puts_the_file_back_at_its_start():
    file = io.BytesIO(CONTRACT_EXPORT.read_bytes())

    check = coursera_csv_check(file=file)

    assert (check.rows, check.encoding, check.nul_lines, file.tell()) == (9, "utf-8-sig", [], 0)
    assert coursera_csv_check(file=file, whole=False).rows == 0


def test_the_check_finds_a_bad_byte_far_into_the_file():
    rows = "".join(f"p{n}@acme.example,C1,No,\n" for n in range(3000))
    data = ("Email,Course ID,Completed,Completion Time\n" + rows).encode() + b"late@acme.example,C\xe9,No,\n"

    with pytest.raises(CsvFileError) as refused:
        coursera_csv_check(file=io.BytesIO(data))
    header_only = coursera_csv_check(file=io.BytesIO(data), whole=False)

    assert str(refused.value).startswith("The file is not UTF-8 text (byte 76,952 cannot be read, on line 3002).")
    assert header_only.encoding == "utf-8"


def test_the_check_refuses_nul_bytes_naming_the_lines():
    data = "Email,Course ID\n" + "".join(f"p{n}@acme.example,C{n}\x00\n" for n in range(12)) + "ok@acme.example,C1\n"

    with pytest.raises(CsvFileError) as refused:
        coursera_csv_check(file=io.BytesIO(data.encode()))

    assert str(refused.value) == (
        "Lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 2 more contain a NUL byte (0x00), which is not text: the file is "
        "damaged or not a CSV export. Export it again."
    )
    assert refused.value.line == 2


def test_an_empty_file_is_refused():
    with pytest.raises(ProviderError, match=r"^The file is empty"):
        read(b"")


# --- Streaming --------------------------------------------------------------------------------


class CountingFile(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def read1(self, size: int = -1) -> bytes:
        chunk = super().read1(size)
        self.bytes_read += len(chunk)
        return chunk

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def, override]
        count = super().readinto(buffer)
        self.bytes_read += count
        return count


def test_pages_stream_the_file_page_by_page():
    rows = "".join(f"p{n}@acme.example,C{n % 7},No,,{n % 100}\n" for n in range(20_000))
    data = ("Email,Course ID,Completed,Completion Time,Overall Progress\n" + rows).encode()
    file = CountingFile(data)
    adapter = CourseraCsvAdapter(file=file, page_size=500)
    pages = adapter.pages()

    first = next(pages)

    assert [r.line for r in first[:2]] == [2, 3]
    assert len(first) == 500
    assert file.bytes_read < len(data) // 10
    rest = list(pages)
    assert adapter.stats.pages == 40
    assert [len(p) for p in rest] == [500] * 39
    assert rest[-1][-1].line == 20_001
    assert rest[-1][-1].email == "p19999@acme.example"
