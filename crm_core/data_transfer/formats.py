"""Tables in files: CSV (UTF-8 with or without a BOM, the delimiter sniffed or given) and Excel workbooks
(openpyxl: read-only mode to read, write-only mode to write, so that a large file is never held whole).

Reading yields the header and then the rows one by one, with the row number a spreadsheet user sees (the
header is row 1). Writing escapes text that a spreadsheet would run as a formula (OWASP "CSV injection"):
a cell starting with = + - @ tab or carriage return gets a leading apostrophe; reading takes it off again,
so that an export imports back unchanged."""

from __future__ import annotations

import codecs
import csv
import io
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from crm_core.errors import ValidationFailed

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPE = "'"
_SNIFF_BYTES = 64 * 1024
_XLSX_MAGIC = b"PK\x03\x04"


class FileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


def format_of(name: str | None, head: bytes = b"", given: str | None = None) -> FileFormat:
    """The format asked for, else the one the file's name or first bytes say (a workbook is a zip)."""
    if given:
        try:
            return FileFormat(given.lower())
        except ValueError:
            raise ValidationFailed.field("format", f"must be csv or xlsx, not {given!r}") from None
    suffix = Path(name or "").suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return FileFormat.XLSX
    if suffix in (".csv", ".txt", ".tsv"):
        return FileFormat.CSV
    return FileFormat.XLSX if head.startswith(_XLSX_MAGIC) else FileFormat.CSV


@dataclass
class Table:
    """A file's header and its data rows as (row number, cells); `total` is the row count when known."""

    headers: list[str]
    rows: Iterator[tuple[int, list[Any]]]
    total: int | None = None


def escape_cell(value: Any) -> Any:
    """Text a spreadsheet would take for a formula, made inert; other values are left as they are."""
    if isinstance(value, str) and value.startswith((*FORMULA_STARTS, ESCAPE)):
        return ESCAPE + value
    return value


def unescape_cell(value: Any) -> Any:
    """The inverse of escape_cell: one leading apostrophe before a formula character (or another) goes."""
    if isinstance(value, str) and len(value) > 1 and value[0] == ESCAPE and value[1] in (*FORMULA_STARTS, ESCAPE):
        return value[1:]
    return value


# --- reading -------------------------------------------------------------------------------------------
def read_table(
    binary: IO[bytes], fmt: FileFormat, delimiter: str | None = None, sheet: str | None = None, count_rows: bool = False
) -> Table:
    """Opens a table on a seekable binary file. `count_rows` reads a CSV once ahead to know its length."""
    if fmt is FileFormat.XLSX:
        return _read_xlsx(binary, sheet)
    return _read_csv(binary, delimiter, count_rows)


def _text(binary: IO[bytes]) -> io.TextIOWrapper:
    # utf-8-sig takes off a BOM if there is one (Excel writes it) and reads plain UTF-8 otherwise.
    return io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")


def _sniff(binary: IO[bytes], delimiter: str | None) -> str:
    if delimiter:
        if len(delimiter) != 1:
            raise ValidationFailed.field("delimiter", "must be one character")
        return delimiter
    start = binary.tell()
    head = binary.read(_SNIFF_BYTES)
    binary.seek(start)
    sample = codecs.decode(head, "utf-8", errors="ignore").lstrip("\ufeff")
    lines = sample.splitlines()
    sample = "\n".join(lines[:-1] if len(lines) > 1 else lines)  # the last line may be cut in half
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_csv(binary: IO[bytes], delimiter: str | None, count_rows: bool) -> Table:
    sep = _sniff(binary, delimiter)
    start = binary.tell()
    total = None
    if count_rows:
        total = sum(1 for cells in _csv_records(binary, sep) if any(cells)) - 1
        binary.seek(start)
    records = _csv_records(binary, sep)
    try:
        headers = next(records)
    except StopIteration:
        raise ValidationFailed.field("file", "the file is empty: the first row must name the columns") from None

    def rows() -> Iterator[tuple[int, list[Any]]]:
        for number, cells in enumerate(records, start=2):
            if any(c.strip() for c in cells):
                yield number, cells

    return Table([h.strip() for h in headers], rows(), max(total, 0) if total is not None else None)


def _csv_records(binary: IO[bytes], sep: str) -> Iterator[list[str]]:
    text = _text(binary)
    try:
        yield from csv.reader(text, delimiter=sep)
    except UnicodeDecodeError:
        raise ValidationFailed.field("file", "the file is not UTF-8 text (save it as CSV UTF-8)") from None
    except csv.Error as exc:
        raise ValidationFailed.field("file", f"the CSV cannot be read: {exc}") from None
    finally:
        if not binary.closed:  # the caller owns the binary file (and may have closed it already)
            text.detach()


def _read_xlsx(binary: IO[bytes], sheet: str | None) -> Table:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        book = load_workbook(binary, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ValidationFailed.field("file", f"not an Excel workbook (.xlsx): {exc}") from None
    if sheet is not None and sheet not in book.sheetnames:
        book.close()
        raise ValidationFailed.field("sheet", f"no sheet {sheet!r}; the workbook has {book.sheetnames}")
    ws = book[sheet] if sheet is not None else book.worksheets[0]
    values = ws.iter_rows(values_only=True)
    header = next(values, None)
    if header is None:
        book.close()
        raise ValidationFailed.field("file", "the sheet is empty: the first row must name the columns")
    headers = [str(h).strip() if h is not None else "" for h in header]
    while headers and not headers[-1]:
        headers.pop()
    total = ws.max_row - 1 if ws.max_row else None  # from the sheet's dimension, when the writer recorded it

    def rows() -> Iterator[tuple[int, list[Any]]]:
        try:
            for number, cells in enumerate(values, start=2):
                if any(c is not None and str(c).strip() for c in cells):
                    yield number, list(cells)
        finally:
            book.close()

    return Table(headers, rows(), total)


# --- writing -------------------------------------------------------------------------------------------
def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(escape_cell(value) if isinstance(value, str) else value)


def csv_chunks(
    headers: list[str], rows: Iterable[list[Any]], delimiter: str = ",", rows_per_chunk: int = 200
) -> Iterator[bytes]:
    """UTF-8 with a BOM (so that Excel reads the accents right), a chunk of rows at a time for streaming."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([escape_cell(h) for h in headers])
    first = True
    pending = 1
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
        pending += 1
        if pending >= rows_per_chunk:
            yield _drain(buffer, first)
            first, pending = False, 0
    if pending or first:
        yield _drain(buffer, first)


def _drain(buffer: io.StringIO, first: bool) -> bytes:
    data = ("\ufeff" if first else "") + buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return data.encode("utf-8")


def xlsx_cell(value: Any) -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Excel has no time zones: the workbook holds UTC, as the header says.
        from datetime import UTC

        return value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, str):
        return escape_cell(ILLEGAL_CHARACTERS_RE.sub("", value))
    if isinstance(value, bool | int | float | Decimal | date | datetime) or value is None:
        return value
    return str(value)


def write_xlsx(target: IO[bytes], headers: list[str], rows: Iterable[list[Any]], title: str = "Export") -> None:
    """A write-only workbook (rows go to disk as they come); `target` is a file or a spooled temp file."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet(title[:31])
    ws.append([xlsx_cell(h) for h in headers])
    for row in rows:
        ws.append([xlsx_cell(v) for v in row])
    book.save(target)
