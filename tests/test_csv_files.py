"""programs.csv_files, the reader shared by the roster, collections and Coursera CSV imports:
physical line numbers, encodings, NUL bytes, unterminated quotes and the header rules."""

from __future__ import annotations

import io

import pytest

from programs import csv_files
from programs.csv_files import CsvFileError, CsvReader, CsvRow, csv_file_check, csv_header, unknown_columns_message


def rows(data: bytes | str) -> list[tuple[int, list[str], int | None]]:
    reader = CsvReader(data)
    header = reader.header()
    assert header is not None
    return [(row.line, row.cells, row.nul_line) for row in [header, *reader.rows()]]


def test_rows_carry_the_physical_line_they_start_on_whatever_the_line_endings():
    lf = b'a,b\n1,"two\nlines"\n\n3,x\n'
    crlf = lf.replace(b"\n", b"\r\n")
    cr = lf.replace(b"\n", b"\r")

    expected = [(1, ["a", "b"], None), (2, ["1", "two\nlines"], None), (5, ["3", "x"], None)]
    assert rows(lf) == expected
    assert rows(crlf) == [(1, ["a", "b"], None), (2, ["1", "two\r\nlines"], None), (5, ["3", "x"], None)]
    assert rows(cr) == [(1, ["a", "b"], None), (2, ["1", "two\rlines"], None), (5, ["3", "x"], None)]
    assert rows(lf.decode()) == expected  # text in, same rows


def test_lines_split_across_read_chunks_are_whole(monkeypatch):
    monkeypatch.setattr(csv_files, "CHUNK_SIZE", 7)
    data = "name,city\r\nZoë Ørsted,Zürich\r\nÅsa,Malmö\r\n".encode()

    assert rows(data) == [(1, ["name", "city"], None), (2, ["Zoë Ørsted", "Zürich"], None), (3, ["Åsa", "Malmö"], None)]


def test_a_byte_order_mark_is_skipped_and_noted():
    reader = CsvReader(io.BytesIO("\ufeffEmail\nzoë@acme.example\n".encode()))

    assert reader.header() == CsvRow(line=1, cells=["Email"])
    assert [row.cells for row in reader.rows()] == [["zoë@acme.example"]]
    assert reader.encoding == "utf-8-sig"
    assert CsvReader(b"Email\n").encoding == "utf-8"


def test_a_byte_that_is_not_utf8_stops_the_reading_with_its_line_and_byte():
    data = b"a,b\n" + b"x,y\n" * 2999 + b"z,Jos\xe9\n" + b"w,v\n"
    reader = CsvReader(data)

    with pytest.raises(CsvFileError) as refused:
        csv_file_check(reader)

    assert str(refused.value) == (
        "The file is not UTF-8 text (byte 12,006 cannot be read, on line 3001). "
        "Save it as CSV UTF-8 and import it again."
    )
    assert refused.value.line == 3001


def test_a_nul_byte_is_noted_on_the_row_with_its_line():
    data = b'a,b\n1,ok\n2,"multi\nli\x00ne"\n3,fine\x00\n'

    assert rows(data) == [
        (1, ["a", "b"], None),
        (2, ["1", "ok"], None),
        (3, ["2", "multi\nli\x00ne"], 4),
        (5, ["3", "fine\x00"], 5),
    ]
    assert csv_file_check(CsvReader(data)).nul_lines == [4, 5]


@pytest.mark.parametrize(
    "data",
    [b'a,b\n1,x\n2,"never closed\n3,y\n4,z\n', b'a,b\n1,x\n2,"never closed', b'a,b\n1,x\n2,"'],
)
def test_an_unterminated_quote_is_reported_with_the_line_it_opens_on(data):
    with pytest.raises(CsvFileError) as refused:
        csv_file_check(CsvReader(data))

    assert str(refused.value) == (
        'Line 3: a quote (") opens a cell that is never closed, so the rest of the file would be read as that '
        'one cell. Close the quote, or double it ("") if it is part of the text.'
    )
    assert refused.value.line == 3


def test_a_closed_quote_at_the_very_end_and_a_missing_last_newline_are_fine():
    assert rows(b'a,b\n1,"x"') == [(1, ["a", "b"], None), (2, ["1", "x"], None)]
    assert rows(b"a,b\n1,x") == [(1, ["a", "b"], None), (2, ["1", "x"], None)]
    assert rows(b'a,b\n1,"say ""hi"""\n') == [(1, ["a", "b"], None), (2, ["1", 'say "hi"'], None)]


def test_an_open_quote_in_a_large_file_is_named_by_its_line_not_the_field_limit():
    data = b'a,b\n1,"open\n' + b"x,y\n" * 40_000

    with pytest.raises(CsvFileError) as refused:
        csv_file_check(CsvReader(data))

    assert str(refused.value) == (
        'Line 2: a cell is longer than 131,072 characters. Most likely a quote (") opened on this line is never closed.'
    )


COLUMNS = {"email": ("Email", "Email Address"), "name": ("Name",)}


def test_the_header_finds_columns_by_any_of_their_names_and_lists_the_unknown_ones():
    header = csv_header(CsvRow(line=1, cells=["\ufeff  EMAIL  address ", "", "Departed   On", "name"]), columns=COLUMNS)

    assert header.positions == {"email": 0, "name": 3}
    assert header.names == ["EMAIL  address", "", "Departed   On", "name"]
    assert header.unknown == ["Departed   On"]
    assert header.missing(["email", "name", "team"]) == ["team"]


def test_a_column_named_twice_or_by_two_of_its_names_is_refused():
    with pytest.raises(CsvFileError) as twice:
        csv_header(CsvRow(line=1, cells=["Email", "Name", "email "]), columns=COLUMNS)
    with pytest.raises(CsvFileError) as aliases:
        csv_header(CsvRow(line=2, cells=["Email Address", "Name", "Email"]), columns=COLUMNS)
    with pytest.raises(CsvFileError) as unknown_twice:
        csv_header(CsvRow(line=1, cells=["Email", "Notes", "notes"]), columns=COLUMNS)

    assert str(twice.value) == (
        "The column 'email' appears twice in the header (line 1, columns 1 and 3): keep one, so it is clear which "
        "one holds the data."
    )
    assert str(aliases.value) == (
        "The columns 'Email Address' and 'Email' of the header (line 2) are the same column (Email): keep one, so "
        "it is clear which one holds the data."
    )
    assert "The column 'notes' appears twice in the header (line 1, columns 2 and 3)" in str(unknown_twice.value)


def test_unknown_columns_are_named_with_the_known_column_they_look_like():
    header = csv_header(CsvRow(line=1, cells=["email", "departed on", "shoe size"]), columns={"email": ("email",)})

    assert unknown_columns_message(header, known=["email", "departed_on"]) == (
        "The header (line 1) has columns LearnHub does not know: 'departed on' (did you mean departed_on?), "
        "'shoe size'. The columns are: email, departed_on. Rename or remove them: their data would be ignored."
    )


@pytest.mark.parametrize("chunk_size", [3, 7, 32 * 1024])
@pytest.mark.parametrize(
    ("bom", "codec", "encoding"), [(b"\xff\xfe", "utf-16-le", "utf-16-le"), (b"\xfe\xff", "utf-16-be", "utf-16-be")]
)
def test_utf_16_with_its_byte_order_mark_is_read_with_the_same_lines_in_any_chunks(
    monkeypatch, chunk_size, bom, codec, encoding
):
    monkeypatch.setattr(csv_files, "CHUNK_SIZE", chunk_size)
    text = 'email,name\r\nzoe@acme.example,"Zoë\r\nË"\rrene@acme.example,René\n'
    reader = CsvReader(bom + text.encode(codec))

    assert [(row.line, row.cells) for row in [reader.header(), *reader.rows()] if row] == [
        (1, ["email", "name"]),
        (2, ["zoe@acme.example", "Zoë\r\nË"]),
        (4, ["rene@acme.example", "René"]),
    ]
    assert reader.encoding == encoding


def test_utf_16_that_breaks_off_names_the_line():
    reader = CsvReader(b"\xff\xfe" + "a,b\n1,2\n".encode("utf-16-le") + b"\x00\xd8")

    with pytest.raises(CsvFileError) as refused:
        csv_file_check(reader)

    assert str(refused.value) == (
        "The file starts as UTF-16 little endian but cannot be read as it on line 3. Save it as CSV UTF-8 and "
        "import it again."
    )
    assert refused.value.line == 3
