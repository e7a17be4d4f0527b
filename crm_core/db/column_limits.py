"""Refuse, with the field's name, values a column cannot hold, before the database does it with a 500.

PostgreSQL rejects NUL characters in text and out-of-range integers; SQLite overflows past 64 bits and ignores
string lengths. Checking against the column type gives every entity the same rule and a clear 422."""

from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Column, Integer, Numeric, SmallInteger, String

from crm_core.errors import ValidationFailed

_INT_BITS = ((SmallInteger, 16), (BigInteger, 64), (Integer, 32))


def check(column: Column[Any], value: Any, field: str) -> None:
    if value is None:
        return
    kind = column.type
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationFailed.field(field, "text cannot contain NUL characters")
        length = getattr(kind, "length", None)
        if isinstance(kind, String) and length and len(value) > length:
            raise ValidationFailed.field(field, f"at most {length} characters")
    elif isinstance(value, bool):
        return
    elif isinstance(value, int) and isinstance(kind, Integer):
        bits = next(b for t, b in _INT_BITS if isinstance(kind, t))
        limit = 2 ** (bits - 1)
        if not -limit <= value < limit:
            raise ValidationFailed.field(field, f"must be between {-limit} and {limit - 1}")
    elif isinstance(value, Decimal | int) and isinstance(kind, Numeric) and kind.precision:
        whole_digits = kind.precision - (kind.scale or 0)
        if abs(Decimal(value)) >= Decimal(10) ** whole_digits:
            raise ValidationFailed.field(field, f"at most {whole_digits} digits before the decimal point")


def check_values(model: type[Any], values: dict[str, Any], prefix: str = "") -> None:
    """Checks each value that maps to a column of `model` (others are the service's business)."""
    table_columns = model.__mapper__.columns
    for key, value in values.items():
        if key in table_columns:
            check(table_columns[key], value, prefix + key)
