"""Reading the values providers send: times, numbers, yes/no flags, and the record's
problems. Shared by every adapter, so a date or a number is read, and a bad one named,
the same way whichever provider or file it came from.

- `parse_timestamp`: epoch milliseconds (or seconds) or ISO-8601; no zone means UTC.
- `parse_local_time`: LearnHub's own dates (the completions file, edX's `passed_date`): a
  date alone is that day in the company time zone, at noon (`LOCAL_DAY_TIME`); a date and
  time without a zone is in the company time zone too.
- `FieldReader` reads the fields of one record and notes every value that does not parse,
  so an adapter turns them into `ProviderRecord.problem` instead of raising;
  `csv_row_fields` is the FieldReader of one row of a provider file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from programs.csv_files import CsvHeader, CsvRow

# Epoch values below this are seconds, not milliseconds (1e11 ms is March 1973).
EPOCH_MILLISECONDS_FLOOR = 100_000_000_000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EPOCH_MILLISECONDS_MAX = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last time Python knows
TRUE_WORDS = frozenset({"true", "yes", "y", "1"})
FALSE_WORDS = frozenset({"false", "no", "n", "0", ""})
# A completion known by its day only is recorded at noon of that day, company time: the
# day stays the same whatever the time zone between UTC-12 and UTC+12 it is read in.
LOCAL_DAY_TIME = dt.time(12)
SHOWN_MAX = 80


def parse_timestamp(value: Any) -> dt.datetime | None:
    """An aware UTC datetime from epoch milliseconds (int, float or numeric string; values
    too small to be milliseconds are read as seconds) or ISO-8601 ("2024-08-15T09:10:18.000Z",
    "+02:00" offsets, "2024-01-26 10:16:04" without a zone is UTC, a bare date is midnight
    UTC). None/"" -> None; anything else -> ValueError."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"cannot parse {value!r}")
    if isinstance(value, int | float):
        return _from_epoch(value)
    text = str(value).strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        return _from_epoch(number)
    parsed = _iso(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def parse_local_time(value: Any, *, zone: dt.tzinfo) -> dt.datetime | None:
    """An aware UTC datetime from a date or an ISO-8601 date and time read in `zone` (the
    company time zone): "2024-12-31" is noon of that day in `zone` (LOCAL_DAY_TIME);
    "2024-12-31 07:30" (no zone) is that time in `zone`; "2024-12-31T07:30:00+01:00" or
    "...Z" keep their zone. None/"" -> None; anything else (epoch numbers included) ->
    ValueError."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    parsed = _iso(text)
    if len(text) == len("YYYY-MM-DD"):
        parsed = dt.datetime.combine(parsed.date(), LOCAL_DAY_TIME)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(dt.UTC)


def epoch_ms(moment: dt.datetime) -> int:
    """`moment` as epoch milliseconds (what LinkedIn and Coursera send)."""
    return int(moment.timestamp() * 1000)


def _iso(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise ValueError(f"cannot parse {text!r}") from None


def _from_epoch(number: float) -> dt.datetime:
    if type(number) is int and EPOCH_MILLISECONDS_FLOOR <= number <= EPOCH_MILLISECONDS_MAX:
        return EPOCH + dt.timedelta(0, 0, 0, number)  # whole milliseconds, as most providers send them: the quick way
    if number != number or number < 0 or number == float("inf"):  # NaN, before 1970, infinite
        raise ValueError(f"cannot parse {number!r}")
    span = dt.timedelta(milliseconds=number) if number >= EPOCH_MILLISECONDS_FLOOR else dt.timedelta(seconds=number)
    try:
        return EPOCH + span
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"cannot parse {number!r}") from None


def parse_decimal(value: Any) -> Decimal | None:
    """A Decimal from 82.35, "82.35" or "82.35%"; None/"" -> None; else ValueError."""
    if value is None or isinstance(value, bool):
        if value is None:
            return None
        raise ValueError(f"cannot parse {value!r}")
    if type(value) is int:
        return Decimal(value)
    text = str(value).strip().removesuffix("%").strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"cannot parse {str(value)!r}") from None
    if not number.is_finite():
        raise ValueError(f"cannot parse {str(value)!r}")
    return number


def parse_flag(value: Any) -> bool:
    """True/False from a JSON boolean or "true"/"Yes"/"1" words; None -> False; else ValueError."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"expected Yes or No, got {str(value)!r}")


def shown(value: Any) -> str:
    """A value as a problem message quotes it: 'text' or its repr, cut at SHOWN_MAX."""
    text = f"'{value}'" if isinstance(value, str) else repr(value)
    return text if len(text) <= SHOWN_MAX else text[: SHOWN_MAX - 3] + "..."


def text_of(value: Any) -> str:
    """A source value as text, trimmed ("" for none): how `FieldReader.text` reads a field."""
    return "" if value is None else str(value).strip()


class FieldReader:
    """Reads the fields of one source record (`get(key)` gives a raw value) and notes each
    value that does not parse in `problems`, as "<label>: cannot parse '<value>'" (`label`
    names the field as the source does: a JSON key, a CSV header). The failed field reads
    as empty (None, False)."""

    def __init__(self, get: Callable[[str], Any], *, label: Callable[[str], str] = str) -> None:
        self.get = get
        self.label = label
        self.problems: list[str] = []

    def text(self, key: str) -> str:
        return text_of(self.get(key))

    def time(self, key: str) -> dt.datetime | None:
        return self._parsed(key, parse_timestamp)

    def local_time(self, key: str, *, zone: dt.tzinfo) -> dt.datetime | None:
        return self._parsed(key, lambda value: parse_local_time(value, zone=zone))

    def number(self, key: str) -> Decimal | None:
        return self._parsed(key, parse_decimal)

    def flag(self, key: str) -> bool:
        try:
            return parse_flag(self.get(key))
        except ValueError as exc:
            self.problems.append(f"{self.label(key)}: {exc}")
            return False

    def failed(self, key: str) -> bool:
        """True when reading `key` noted a problem."""
        return any(problem.startswith(f"{self.label(key)}: ") for problem in self.problems)

    def problem(self) -> str:
        return "; ".join(self.problems)

    def _parsed(self, key: str, parse: Callable[[Any], Any]) -> Any:
        value = self.get(key)
        try:
            return parse(value)
        except ValueError:
            self.problems.append(f"{self.label(key)}: cannot parse {shown(value)}")
            return None


def csv_row_fields(
    csv_row: CsvRow, *, header: CsvHeader, columns: Mapping[str, Sequence[str]]
) -> tuple[FieldReader, dict[str, str]]:
    """The FieldReader of one row of a provider file, by column (`columns`: column ->
    accepted header names; a cell is trimmed, a column the file lacks reads ""), its
    problems labelled with the file's own header names; and the row as its raw JSON
    (header name -> cell). A row with a NUL byte starts with that problem, and its cells
    lose the NUL: the database stores none, not even in an invalid record's raw JSON."""
    # Imported here: the sandboxes read this module's timestamps without Django (csv_files
    # speaks the reader's language).
    from programs.csv_files import NUL, NUL_PROBLEM

    cells = csv_row.cells
    problems: list[str] = []
    if csv_row.nul_line is not None:
        cells = [cell.replace(NUL, "") for cell in cells]
        problems.append(f"line {csv_row.nul_line} {NUL_PROBLEM}")

    def cell(column: str) -> str:
        index = header.positions.get(column)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    def label(column: str) -> str:
        index = header.positions.get(column)
        return header.names[index] if index is not None else columns[column][0]

    fields = FieldReader(cell, label=label)
    fields.problems.extend(problems)
    raw = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header.names) if name}
    return fields, raw
