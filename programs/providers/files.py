"""What the provider file adapters share (the Coursera export, LearnHub's completions file):
check a whole file before anything is written, then read it as records, page by page.

A file format says how its header is read and checked (`read_header`, raising CsvFileError
for an empty file, a missing or doubled column, ...) and how one row becomes a
ProviderRecord (`record`); `ProviderFileAdapter` does the rest through `programs.csv_files`
(encoding, line numbers, NUL bytes, quotes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import IO

from programs.csv_files import (
    CsvCheck,
    CsvFileError,
    CsvHeader,
    CsvReader,
    CsvRow,
    csv_file_check,
    nul_lines_message,
)
from programs.providers.base import AdapterStats, ProviderError, ProviderRecord

DEFAULT_PAGE_SIZE = 1000


class ProviderFileAdapter:
    """Yields the rows of a provider file as ProviderRecords, `page_size` a page.

    `file` is a binary file (UTF-8 with or without BOM; Windows-1252 too when the format
    says `windows_1252`) or a text file. A file-level problem (`read_header`) raises
    ProviderError before any record is yielded; one met later (encoding, unterminated
    quote) raises it at that line, after the pages before it: `check` finds those first.
    A row whose values do not parse, or that has a NUL byte, carries the reason in
    `problem`; `line` is its line in the file (the header is line 1). `zone` is the company
    time zone, for formats whose days and times are local.
    """

    windows_1252 = False

    def __init__(
        self, *, file: IO[bytes] | IO[str], zone: dt.tzinfo = dt.UTC, page_size: int = DEFAULT_PAGE_SIZE
    ) -> None:
        self.file = file
        self.zone = zone
        self.page_size = page_size
        self.stats = AdapterStats()

    @classmethod
    def read_header(cls, reader: CsvReader) -> CsvHeader:
        """The file's columns; raises CsvFileError when the header does not fit the format."""
        raise NotImplementedError

    def record(self, row: CsvRow, *, header: CsvHeader) -> ProviderRecord:
        """One row as a ProviderRecord."""
        raise NotImplementedError

    @classmethod
    def check(cls, *, file: IO[bytes] | IO[str], whole: bool = True) -> CsvCheck:
        """Check a file before importing it: the header (`read_header`) and, with `whole`,
        every row to the end of the file (encoding, quotes, NUL bytes: any of them refuses
        the file with its line). Returns the number of data rows (0 without `whole`) and
        the encoding, and puts `file` back at its start. Raises CsvFileError; values that
        do not parse are not checked here: the import keeps those rows as invalid records
        with their reason."""
        reader = CsvReader(file, windows_1252=cls.windows_1252)
        try:
            cls.read_header(reader)
            if not whole:
                return CsvCheck(rows=0, encoding=reader.encoding, nul_lines=[])
            check = csv_file_check(reader)
        finally:
            file.seek(0)
        if check.nul_lines:
            raise CsvFileError(nul_lines_message(check.nul_lines), line=check.nul_lines[0])
        return check

    def pages(self) -> Iterator[list[ProviderRecord]]:
        try:
            reader = CsvReader(self.file, windows_1252=self.windows_1252)
            header = self.read_header(reader)
            yield from self._pages(reader, header)
        except CsvFileError as exc:
            raise ProviderError(str(exc)) from None

    def _pages(self, reader: CsvReader, header: CsvHeader) -> Iterator[list[ProviderRecord]]:
        page: list[ProviderRecord] = []
        for row in reader.rows():
            page.append(self.record(row, header=header))
            if len(page) >= self.page_size:
                self.stats.pages += 1
                yield page
                page = []
        if page:
            self.stats.pages += 1
            yield page
