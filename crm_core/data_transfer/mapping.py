"""From a file's columns to an entity's fields, and from a cell to a value, with a clear reason when a cell
cannot be one.

Columns map by field name or label, case and spacing blind (`Last Name`, `last_name`); a lookup maps by its
name without `_id` too (`Parent Account`). An explicit mapping wins, and maps a column to nothing with an
empty field. Cells: lookups by the target's id or its name (among the records the caller can read), option
sets by value or label, dates as ISO 8601 (or a given strptime format) or the workbook's own dates, numbers
with a decimal point, booleans as true/false, yes/no, 1/0. An empty cell is "not given": it sets nothing,
on create and on update alike (the Import Data Wizard does the same)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_core.data_transfer.formats import unescape_cell
from crm_core.data_transfer.profiles import FieldInfo
from crm_core.entities import entity
from crm_core.errors import Forbidden, ValidationFailed
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege

ID_FIELD = FieldInfo("id", "uuid", "Id", False)
_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


class CellError(ValueError):
    """A cell that is not a value of its field; the message is the reason shown to the user."""


def _key(text: str) -> str:
    return re.sub(r"[\s_\-]+", "", text).lower()


@dataclass
class ColumnMap:
    headers: list[str]
    fields: dict[int, FieldInfo]  # column index -> field
    unmapped: list[str] = field(default_factory=list)

    def column_of(self, field_name: str) -> str:
        for index, info in self.fields.items():
            if info.name == field_name:
                return self.headers[index]
        return field_name

    def has(self, field_name: str) -> bool:
        return any(info.name == field_name for info in self.fields.values())

    def as_json(self) -> dict[str, str]:
        return {self.headers[i]: info.name for i, info in self.fields.items()}


def build_mapping(
    headers: list[str],
    fields: dict[str, FieldInfo],
    explicit: dict[str, str] | None = None,
) -> ColumnMap:
    """Maps each column; an explicit mapping naming a column the file lacks, or a field the entity lacks, is
    refused, and so are two columns for one field."""
    everything = {"id": ID_FIELD, **fields}
    by_key: dict[str, FieldInfo] = {}
    for info in everything.values():
        for name in info.names:
            by_key.setdefault(_key(name), info)
    explicit = dict(explicit or {})
    by_header = {_key(h): i for i, h in enumerate(headers) if h}
    for column in explicit:
        if _key(column) not in by_header:
            raise ValidationFailed.field("mapping", f"the file has no column {column!r}; it has {headers}")
    chosen = {by_header[_key(c)]: target for c, target in explicit.items()}
    mapped: dict[int, FieldInfo] = {}
    unmapped: list[str] = []
    for index, header in enumerate(headers):
        if not header:
            continue
        target = chosen.get(index)
        if target is not None:
            if not target.strip():
                unmapped.append(header)
                continue
            info = by_key.get(_key(target))
            if info is None:
                raise ValidationFailed.field(
                    "mapping", f"{header!r} -> {target!r}: no such field; the fields are {sorted(everything)}"
                )
        else:
            info = by_key.get(_key(header))
            if info is None:
                unmapped.append(header)
                continue
        twice = next((headers[i] for i, other in mapped.items() if other.name == info.name), None)
        if twice is not None:
            raise ValidationFailed.field(
                "mapping", f"columns {twice!r} and {header!r} both map to {info.name}; map one of them to nothing"
            )
        mapped[index] = info
    return ColumnMap(list(headers), mapped, unmapped)


class CellParser:
    """Turns cells into values; lookups are found by name or id among the records the caller can read."""

    def __init__(self, session: Session, principal: Principal, date_format: str | None = None) -> None:
        self.session = session
        self.principal = principal
        self.date_format = date_format
        self._found: dict[tuple[str, str], uuid.UUID] = {}  # hits only: a miss may be created by a later row

    def parse(self, info: FieldInfo, raw: Any) -> Any:
        """The value of the cell, None for an empty one; CellError says why a cell is not a value."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        value = unescape_cell(raw.strip() if isinstance(raw, str) else raw)
        parse = getattr(self, f"_{info.kind}")
        return parse(info, value)

    # one method per FieldInfo.kind
    def _text(self, info: FieldInfo, value: Any) -> str:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))  # a phone or account number the workbook stored as a number
        if isinstance(value, datetime | date):
            return value.isoformat()
        return str(value)

    def _int(self, info: FieldInfo, value: Any) -> int:
        if isinstance(value, bool):
            raise CellError(f"{value!r} is not a whole number")
        if isinstance(value, int):
            return value
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise CellError(f"{value!r} is not a whole number") from None
        if number != number.to_integral_value():
            raise CellError(f"{value!r} is not a whole number")
        return int(number)

    def _decimal(self, info: FieldInfo, value: Any) -> Decimal:
        if isinstance(value, bool):
            raise CellError(f"{value!r} is not a number")
        try:
            number = Decimal(str(value).strip().replace(" ", ""))
        except InvalidOperation:
            raise CellError(f"{value!r} is not a number (use a point for decimals, no thousands separators)") from None
        if not number.is_finite():
            raise CellError(f"{value!r} is not a number")
        return number

    def _bool(self, info: FieldInfo, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise CellError(f"{value!r} is not yes or no (true/false, yes/no, 1/0)")

    def _date(self, info: FieldInfo, value: Any) -> date:
        if isinstance(value, datetime):
            return value.date()
        if isinstance(value, date):
            return value
        text = str(value).strip()
        try:
            if self.date_format:
                return datetime.strptime(text, self.date_format).date()
            return date.fromisoformat(text[:10] if "T" in text else text)
        except ValueError:
            raise CellError(f"{text!r} is not a date ({self.date_format or 'YYYY-MM-DD'})") from None

    def _datetime(self, info: FieldInfo, value: Any) -> datetime:
        if isinstance(value, datetime):
            return value
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day)
        try:
            return datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise CellError(f"{value!r} is not a date and time (ISO 8601, such as 2026-03-01T09:30:00Z)") from None

    def _uuid(self, info: FieldInfo, value: Any) -> uuid.UUID:
        try:
            return uuid.UUID(str(value).strip())
        except ValueError:
            raise CellError(f"{value!r} is not an id (a GUID)") from None

    def _choice(self, info: FieldInfo, value: Any) -> str:
        text = str(value).strip()
        for choice in info.choices:
            if choice.lower() == text.lower():
                return choice
        raise CellError(f"{text!r} is not one of {', '.join(info.choices)}")

    def _option(self, info: FieldInfo, value: Any) -> int:
        text = str(value).strip()
        for number, label in info.options:
            if text.lower() == label.lower():
                return number
        try:
            number = self._int(info, value)
        except CellError:
            number = None
        if number is not None and any(number == n for n, _ in info.options):
            return number
        known = ", ".join(f"{n} {label}" for n, label in info.options)
        raise CellError(f"{text!r} is not one of {known}")

    def _lookup(self, info: FieldInfo, value: Any) -> uuid.UUID:
        assert info.target is not None
        text = str(value).strip()
        try:
            return uuid.UUID(text)  # the service checks that it exists and may be linked to
        except ValueError:
            pass
        cache_key = (info.target, text.lower())
        if cache_key in self._found:
            return self._found[cache_key]
        spec = entity(info.target)
        try:
            readable = access.scope(self.principal, spec, Privilege.READ)
        except Forbidden:
            raise CellError(f"your roles do not let you read {info.target} records to find {text!r}") from None
        name = getattr(spec.model, spec.display_column)
        ids = list(
            self.session.scalars(select(spec.model.id).where(func.lower(name) == text.lower(), readable).limit(3))
        )
        if not ids:
            raise CellError(f"no {info.target.replace('_', ' ')} named {text!r}")
        if len(ids) > 1:
            raise CellError(f"several {info.target.replace('_', ' ')} records are named {text!r}; give the id")
        self._found[cache_key] = ids[0]
        return ids[0]
