"""Reading the CSV files people give LearnHub (the roster, collections, provider exports):
one set of rules for decoding, the header and line numbers, so that every reader names
the same problems the same way and with the line they are on.

- Text is UTF-8, with or without a byte-order mark, or UTF-16 (little or big endian)
  with its byte-order mark, as Excel's "Unicode text" and many exports save it. A byte that is not UTF-8 stops the
  reading with the line and the byte it is on. A reader made with `windows_1252` also
  reads what Excel on Windows saves as "CSV" (Windows-1252): a file without a byte-order
  mark whose first byte that is not UTF-8 comes before any UTF-8 character beyond ASCII
  is read as Windows-1252 from its first line (the lines before are ASCII, the same in
  both); a file that mixes the two, or a byte Windows-1252 does not define, stops the
  reading with its line.
- Lines end with LF, CRLF or CR. Line numbers are physical lines of the file (the
  header is line 1; a row with a quoted cell over two lines takes two).
- The header is the first row that is not blank; blank rows are skipped.
- A NUL byte is not text (the database refuses it): the row that has one says on which
  line, and each reader reports it as a bad line.
- A quote that opens a cell and is never closed would swallow the rest of the file into
  that cell: it stops the reading with the line where the quote opened.
- Header names are compared ignoring case, a byte-order mark and repeated spaces. The
  same name twice, or two names of one column, stop the reading: which one holds the
  data is anybody's guess.

The file is read in chunks, never whole, so its size does not matter.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

BOM = "\ufeff"
CHUNK_SIZE = 32 * 1024
UTF8, UTF8_BOM, WINDOWS_1252 = "utf-8", "utf-8-sig", "cp1252"
UTF16_LE, UTF16_BE = "utf-16-le", "utf-16-be"
UTF16_BOMS = {codecs.BOM_UTF16_LE: UTF16_LE, codecs.BOM_UTF16_BE: UTF16_BE}
ENCODING_LABELS = {
    UTF8: "UTF-8",
    UTF8_BOM: gettext_lazy("UTF-8 with byte-order mark"),
    WINDOWS_1252: "Windows-1252",
    UTF16_LE: gettext_lazy("UTF-16 little endian"),
    UTF16_BE: gettext_lazy("UTF-16 big endian"),
}
_LINE_END = re.compile(r"(?<=\r)(?!\n)|(?<=\n)")  # after LF, or after a CR not followed by LF
NUL = "\x00"
# A row's problem, one of the problems listed for its line.
NUL_PROBLEM = gettext_lazy("contains a NUL byte (0x00), which is not text: the file is damaged or not a CSV export")
_NOTHING = b""


class CsvFileError(ValueError):
    """The file as a whole cannot be read (encoding, header, an unterminated quote). Nothing
    was imported. `line` is the line of the file the problem is on, when there is one."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class CsvRow:
    line: int  # physical line where the row starts; the header is line 1
    cells: list[str]
    nul_line: int | None = None  # the first line of the row with a NUL byte, if any


def header_key(name: str) -> str:
    """How header names are compared: no byte-order mark, spaces collapsed, lower case."""
    return re.sub(r"\s+", " ", name.replace(BOM, "")).strip().lower()


class CsvReader:
    """The rows of a CSV file: `header()` then `rows()`, each a CsvRow with its line.

    `file` is a binary file (UTF-8, with or without BOM, or UTF-16 with its BOM; also
    Windows-1252 with `windows_1252`), a text file, or the content as bytes or str. The file is read, never
    closed. `encoding` is what was found so far. Raises CsvFileError while reading."""

    def __init__(self, file: IO[bytes] | IO[str] | bytes | str, *, windows_1252: bool = False) -> None:
        if isinstance(file, bytes):
            file = io.BytesIO(file)
        elif isinstance(file, str):
            file = io.StringIO(file, newline="")
        self._file = file
        self.windows_1252 = windows_1252
        self.encoding = UTF8
        self._rows = self._read()
        self._header: CsvRow | None = None
        self._header_read = False

    def header(self) -> CsvRow | None:
        """The first row that is not blank, or None for a file without one."""
        if not self._header_read:
            self._header = next(self._rows, None)
            self._header_read = True
        return self._header

    def rows(self) -> Iterator[CsvRow]:
        """The rows after the header that are not blank."""
        self.header()
        return self._rows

    def _read(self) -> Iterator[CsvRow]:
        lines: list[int] = [0]  # physical lines handed to the parser so far
        nul_lines: list[int] = []
        at_end = [False]

        def feed() -> Iterator[str]:
            for number, text in enumerate(self._text_lines(), start=1):
                lines[0] = number
                if NUL in text:
                    nul_lines.append(number)
                yield text
            at_end[0] = True

        reader = csv.reader(feed())
        previous_end = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                start = previous_end + 1
                if "field larger than field limit" in str(exc):
                    raise CsvFileError(
                        _(
                            "Line %(line)d: a cell is longer than %(limit)s characters. Most likely a "
                            'quote (") opened on this line is never closed.'
                        )
                        % {"line": start, "limit": f"{csv.field_size_limit():,}"},
                        line=start,
                    ) from None
                raise CsvFileError(
                    _("Line %(line)d is not valid CSV: %(error)s.") % {"line": start, "error": exc}, line=start
                ) from None
            start, previous_end = previous_end + 1, lines[0]
            if at_end[0]:
                # The parser asks for more lines only inside a quoted cell: reaching the end
                # of the file there means the quote was never closed.
                raise CsvFileError(
                    _(
                        'Line %(line)d: a quote (") opens a cell that is never closed, so the rest of the file would '
                        'be read as that one cell. Close the quote, or double it ("") if it is part of the text.'
                    )
                    % {"line": start},
                    line=start,
                )
            nul_line = next((n for n in nul_lines if n >= start), None)
            nul_lines.clear()
            if any(cell.strip() for cell in cells):
                yield CsvRow(line=start, cells=cells, nul_line=nul_line)

    def _text_lines(self) -> Iterator[str]:
        first = self._file.read(0)
        if isinstance(first, str):
            yield from _text_file_lines(self._file)  # type: ignore[arg-type]
            return
        start = self._file.read(len(codecs.BOM_UTF16_LE))
        if start in UTF16_BOMS:
            self.encoding = UTF16_BOMS[start]
            yield from self._utf16_lines()
            return
        offset = 0
        beyond_ascii = False  # a UTF-8 character beyond ASCII was read: the file is UTF-8
        for number, raw in enumerate(_binary_lines(self._file, start=start), start=1):  # type: ignore[arg-type]
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                self.encoding = UTF8_BOM
                raw, offset = raw[3:], 3
            if self.encoding == WINDOWS_1252:
                text = self._windows_1252_line(raw, number=number)
            else:
                try:
                    text = raw.decode(UTF8)
                except UnicodeDecodeError as exc:
                    if not self.windows_1252 or self.encoding == UTF8_BOM or beyond_ascii:
                        raise self._not_utf8(exc, offset=offset, number=number) from None
                    self.encoding = WINDOWS_1252
                    text = self._windows_1252_line(raw, number=number)
                else:
                    beyond_ascii = beyond_ascii or not raw.isascii()
            offset += len(raw)
            yield text

    def _utf16_lines(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(self.encoding)()
        pending = ""
        number = 1
        while True:
            chunk = self._file.read(CHUNK_SIZE)
            try:
                text = pending + decoder.decode(chunk, final=not chunk)  # type: ignore[arg-type]
            except UnicodeDecodeError:
                raise CsvFileError(
                    _(
                        "The file starts as %(encoding)s but cannot be read as it on line %(line)d. "
                        "Save it as CSV UTF-8 and import it again."
                    )
                    % {"encoding": ENCODING_LABELS[self.encoding], "line": number},
                    line=number,
                ) from None
            lines = _LINE_END.split(text)
            # The last line may go on in the next chunk, and so may a CR (it could be a CRLF).
            pending = lines.pop() if chunk else ""
            if chunk and pending == "" and lines and lines[-1].endswith("\r"):
                pending = lines.pop()
            for line in lines:
                if line:
                    number += 1
                    yield line
            if not chunk:
                if pending:
                    yield pending
                return

    def _not_utf8(self, exc: UnicodeDecodeError, *, offset: int, number: int) -> CsvFileError:
        byte = offset + exc.start + 1
        if not self.windows_1252:
            return CsvFileError(
                _(
                    "The file is not UTF-8 text (byte %(byte)s cannot be read, on line %(line)d). "
                    "Save it as CSV UTF-8 and import it again."
                )
                % {"byte": f"{byte:,}", "line": number},
                line=number,
            )
        return CsvFileError(
            _(
                "The file mixes UTF-8 with another encoding: byte %(byte)s, on line %(line)d, is not UTF-8 although "
                "the lines before it are. Save it again as CSV UTF-8 and import it again."
            )
            % {"byte": f"{byte:,}", "line": number},
            line=number,
        )

    @staticmethod
    def _windows_1252_line(raw: bytes, *, number: int) -> str:
        try:
            return raw.decode(WINDOWS_1252)
        except UnicodeDecodeError as exc:
            raise CsvFileError(
                _(
                    "The file is neither UTF-8 nor Windows-1252 text (byte %(byte)s on line %(line)d "
                    "is neither). Save it as CSV UTF-8 and import it again."
                )
                % {"byte": f"0x{raw[exc.start]:02X}", "line": number},
                line=number,
            ) from None


def _text_file_lines(file: IO[str]) -> Iterator[str]:
    for number, line in enumerate(file, start=1):
        yield line.removeprefix(BOM) if number == 1 else line


def _binary_lines(file: IO[bytes], *, start: bytes = _NOTHING) -> Iterator[bytes]:
    """The physical lines of a binary file, each with its line ending (LF, CRLF or CR),
    `start` being its first bytes, already read."""
    pending = start
    while True:
        chunk = file.read(CHUNK_SIZE)
        if not chunk:
            break
        lines = (pending + chunk).splitlines(keepends=True)
        # The last line may go on in the next chunk, and so may a CR (it could be a CRLF).
        pending = lines.pop() if lines and not lines[-1].endswith(b"\n") else _NOTHING
        yield from lines
    if pending:
        yield pending


@dataclass(frozen=True)
class CsvHeader:
    line: int
    names: list[str]  # as written, without the byte-order mark and surrounding spaces
    positions: dict[str, int]  # column (the reader's name for it) -> index in the row
    unknown: list[str]  # names of the header that are no column of the reader, as written

    def missing(self, required: Iterable[str]) -> list[str]:
        return [column for column in required if column not in self.positions]


def csv_header(header: CsvRow, *, columns: Mapping[str, Sequence[str]]) -> CsvHeader:
    """Find `columns` (column -> the header names it accepts) in `header`.

    Raises CsvFileError when a name appears twice, or when two names of the header are
    names of the same column. Empty header cells are no column and are not reported."""
    accepted = {header_key(name): column for column, names in columns.items() for name in names}
    names = [name.replace(BOM, "").strip() for name in header.cells]
    first_index: dict[str, int] = {}
    positions: dict[str, int] = {}
    unknown: list[str] = []
    for index, name in enumerate(names):
        key = header_key(name)
        if not key:
            continue
        if key in first_index:
            raise CsvFileError(
                _(
                    "The column '%(name)s' appears twice in the header (line %(line)d, columns %(first)d and "
                    "%(second)d): keep one, so it is clear which one holds the data."
                )
                % {"name": name, "line": header.line, "first": first_index[key] + 1, "second": index + 1},
                line=header.line,
            )
        first_index[key] = index
        column = accepted.get(key)
        if column is None:
            unknown.append(name)
        elif column in positions:
            raise CsvFileError(
                _(
                    "The columns '%(first)s' and '%(second)s' of the header (line %(line)d) are the same column "
                    "(%(column)s): keep one, so it is clear which one holds the data."
                )
                % {
                    "first": names[positions[column]],
                    "second": name,
                    "line": header.line,
                    "column": columns[column][0],
                },
                line=header.line,
            )
        else:
            positions[column] = index
    return CsvHeader(line=header.line, names=names, positions=positions, unknown=unknown)


def unknown_columns_named(header: CsvHeader, *, known: Sequence[str]) -> str:
    """The unknown names of `header`, each with the known column it is closest to (a typo
    is the usual cause): "'departed on' (did you mean departed_on?), 'notes'"."""
    shown = []
    for name in header.unknown:
        close = difflib.get_close_matches(header_key(name), list(known), n=1, cutoff=0.75)
        shown.append(
            _("'%(name)s' (did you mean %(column)s?)") % {"name": name, "column": close[0]}
            if close
            else _("'%(name)s'") % {"name": name}
        )
    return ", ".join(shown)


def unknown_columns_message(header: CsvHeader, *, known: Sequence[str]) -> str:
    """The refusal of a file whose header has columns the format does not have: each
    unknown name (see `unknown_columns_named`) and the known columns."""
    return ngettext(
        "The header (line %(line)d) has a column LearnHub does not know: %(unknown)s. The columns are: "
        "%(columns)s. Rename or remove it: its data would be ignored.",
        "The header (line %(line)d) has columns LearnHub does not know: %(unknown)s. The columns are: "
        "%(columns)s. Rename or remove them: their data would be ignored.",
        len(header.unknown),
    ) % {"line": header.line, "unknown": unknown_columns_named(header, known=known), "columns": ", ".join(known)}


def unknown_columns_also(header: CsvHeader, *, known: Sequence[str]) -> str:
    """The unknown columns as a sentence added to another refusal ("" when none)."""
    if not header.unknown:
        return ""
    return " " + ngettext("Unknown column: %(unknown)s.", "Unknown columns: %(unknown)s.", len(header.unknown)) % {
        "unknown": unknown_columns_named(header, known=known)
    }


@dataclass(frozen=True)
class CsvCheck:
    """What checking a whole file found: its data rows (blank rows not counted), its
    encoding (UTF8 or UTF8_BOM) and the lines with a NUL byte."""

    rows: int
    encoding: str
    nul_lines: list[int]


def csv_file_check(reader: CsvReader) -> CsvCheck:
    """Read every row of `reader` (after its header) to the end: raises CsvFileError on the
    first line that cannot be read."""
    rows = 0
    nul_lines: list[int] = []
    for row in reader.rows():
        rows += 1
        if row.nul_line is not None:
            nul_lines.append(row.nul_line)
    return CsvCheck(rows=rows, encoding=reader.encoding, nul_lines=nul_lines)


def nul_lines_message(lines: Sequence[int], *, shown: int = 10) -> str:
    """The refusal of a file with NUL bytes, naming the first `shown` lines that have one."""
    listed = ", ".join(str(line) for line in lines[:shown])
    if len(lines) > shown:
        listed = _("%(lines)s and %(more)d more") % {"lines": listed, "more": len(lines) - shown}
    if len(lines) == 1:
        return _(
            "Line %(lines)s contains a NUL byte (0x00), which is not text: the file is damaged or not a CSV export. "
            "Export it again."
        ) % {"lines": listed}
    return _(
        "Lines %(lines)s contain a NUL byte (0x00), which is not text: the file is damaged or not a CSV export. "
        "Export it again."
    ) % {"lines": listed}
