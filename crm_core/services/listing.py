"""Lists: filters, a sort key and opaque cursors (keyset pagination, stable under inserts)."""

import base64
import binascii
import dataclasses
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, TypeVar

import orjson
from sqlalchemy import Select, or_, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from crm_core.db import column_limits
from crm_core.errors import ValidationFailed

T = TypeVar("T")


class Op(StrEnum):
    EQ = "eq"
    CONTAINS = "contains"
    GTE = "gte"
    LTE = "lte"
    IN = "in"


@dataclass(frozen=True)
class Filter:
    column: str
    op: Op
    value: Any


@dataclass(frozen=True)
class ListQuery:
    filters: list[Filter] = field(default_factory=list)
    sort: str = "-created_on"  # a column name, "-" for descending
    cursor: str | None = None
    limit: int = 50


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def _encode(values: list[Any]) -> str:
    raw = orjson.dumps([v.isoformat() if isinstance(v, datetime | date) else str(v) for v in values])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str, columns: list[InstrumentedAttribute[Any]]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
        if not isinstance(values, list) or len(values) != len(columns):
            raise ValueError("shape")
        return [_coerce(col, v) for col, v in zip(columns, values, strict=True)]
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise ValidationFailed.field("cursor", "not a cursor this list gave out (or for another sort)") from None


def _coerce(column: InstrumentedAttribute[Any], value: str) -> Any:
    py = column.type.python_type
    if py is datetime:
        return datetime.fromisoformat(value)
    if py is date:
        return date.fromisoformat(value)
    if py is uuid.UUID:
        return uuid.UUID(value)
    if py is Decimal:
        return Decimal(value)
    if py is bool:
        return value == "True"
    return py(value)


def apply(stmt: Select[Any], model: type[Any], query: ListQuery, sortable: set[str]) -> Select[Any]:
    """Adds filters, the keyset condition of the cursor, the order and the limit (+1, to see a next page)."""
    for f in query.filters:
        col = getattr(model, f.column)
        for value in f.value if isinstance(f.value, list) else [f.value]:
            column_limits.check(col.expression, value, f.column if f.op is Op.EQ else f"{f.column}__{f.op.value}")
        if f.op is Op.EQ:
            stmt = stmt.where(col == f.value)
        elif f.op is Op.CONTAINS:
            stmt = stmt.where(col.icontains(f.value, autoescape=True))
        elif f.op is Op.GTE:
            stmt = stmt.where(col >= f.value)
        elif f.op is Op.LTE:
            stmt = stmt.where(col <= f.value)
        elif f.op is Op.IN:
            stmt = stmt.where(col.in_(f.value))
    desc = query.sort.startswith("-")
    key = query.sort.lstrip("-")
    if key not in sortable:
        raise ValidationFailed.field("sort", f"cannot sort by {key!r}; choose one of {', '.join(sorted(sortable))}")
    sort_col, id_col = getattr(model, key), model.id
    if query.cursor:
        # A row-value comparison, which an index on (sort column, id) serves directly (SQLite has them too).
        last = tuple_(*_decode(query.cursor, [sort_col, id_col]))
        key_pair = tuple_(sort_col, id_col)
        stmt = stmt.where(key_pair < last if desc else key_pair > last)
    order = (sort_col.desc(), id_col.desc()) if desc else (sort_col.asc(), id_col.asc())
    return stmt.order_by(*order).limit(query.limit + 1)


def page(rows: list[T], query: ListQuery) -> Page[T]:
    if len(rows) <= query.limit:
        return Page(rows, None)
    rows = rows[: query.limit]
    key = query.sort.lstrip("-")
    last = rows[-1]
    return Page(rows, _encode([getattr(last, key), last.id]))


def customer_filter(query: ListQuery, model: type[Any]) -> tuple[list[Any], ListQuery]:
    """customer_id is one value over two indexed columns (the account or the contact) of records with a
    Customer lookup: the conditions it makes, and the query without it for `apply`."""
    conditions = [or_(model.customer_account_id == f.value, model.customer_contact_id == f.value)
                  for f in query.filters if f.column == "customer_id"]
    return conditions, dataclasses.replace(query, filters=[f for f in query.filters if f.column != "customer_id"])
