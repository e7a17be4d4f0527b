"""A rule's conditions: a small expression tree, `{"all": [...]}` or `{"any": [...]}` of comparisons
`{"field", "op", "value"}` (or of other trees), checked against the entity's columns when the rule is saved and
evaluated against the record when it runs.

Values are stored as JSON and read back as the column's type (a number as Decimal for a money column, a date
as a datetime for a timestamp), so that a comparison means what it says rather than comparing text."""

import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Column, inspect

from crm_core.db.types import json_value
from crm_core.errors import ValidationFailed

OPS = ("eq", "ne", "gt", "ge", "lt", "le", "contains", "in", "is_null")
_ORDERED = frozenset({"gt", "ge", "lt", "le"})
MAX_LEAVES = 50
MAX_NESTING = 5


def columns(model: type) -> Mapping[str, Column[Any]]:
    """The entity's own columns by attribute name (what a rule may read)."""
    mapper = inspect(model)
    return {attr.key: attr.columns[0] for attr in mapper.column_attrs}


def kind_of(column: Column[Any]) -> type:
    try:
        return column.type.python_type  # type: ignore[no-any-return]
    except NotImplementedError:
        return object


def coerce(column: Column[Any], value: Any, where: str) -> Any:
    """`value` (from JSON) as the column's Python type; ValidationFailed naming `where` if it cannot be."""
    if value is None:
        return None
    kind = kind_of(column)
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
        elif kind is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lstrip("-").isdigit():
                return int(value)
        elif kind in (float, Decimal):
            if isinstance(value, int | float | str | Decimal) and not isinstance(value, bool):
                number = Decimal(str(value))
                if number.is_finite():
                    return number
        elif kind is datetime:
            if isinstance(value, datetime):
                return value if value.tzinfo else value.replace(tzinfo=UTC)
            if isinstance(value, str):
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
                return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        elif kind is date:
            if isinstance(value, date):
                return value
            if isinstance(value, str):
                return date.fromisoformat(value)
        elif kind is uuid.UUID:
            return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
        elif kind is str:
            if isinstance(value, str):
                return value
        elif isinstance(value, str | int | float | bool):
            return value
    except (ValueError, InvalidOperation, TypeError):
        pass
    raise ValidationFailed.field(where, f"{value!r} is not a {getattr(kind, '__name__', 'value')}")


def check(tree: Any, cols: Mapping[str, Column[Any]], where: str = "conditions", depth: int = 0) -> dict[str, Any]:
    """The tree, checked against the columns and with its values stored as JSON of the column's type."""
    leaves = [0]
    return _check(tree, cols, where, depth, leaves)


def _check(tree: Any, cols: Mapping[str, Column[Any]], where: str, depth: int, leaves: list[int]) -> dict[str, Any]:
    if not isinstance(tree, dict):
        raise ValidationFailed.field(where, 'an object: {"all": [...]}, {"any": [...]} or {field, op, value}')
    groups = [k for k in ("all", "any") if k in tree]
    if groups:
        if len(tree) != 1:
            raise ValidationFailed.field(where, 'a group has one key, "all" or "any"')
        if depth >= MAX_NESTING:
            raise ValidationFailed.field(where, f"groups nest at most {MAX_NESTING} deep")
        items = tree[groups[0]]
        if not isinstance(items, list) or not items:
            raise ValidationFailed.field(f"{where}.{groups[0]}", "a non-empty list")
        return {
            groups[0]: [_check(t, cols, f"{where}.{groups[0]}[{i}]", depth + 1, leaves) for i, t in enumerate(items)]
        }
    leaves[0] += 1
    if leaves[0] > MAX_LEAVES:
        raise ValidationFailed.field(where, f"at most {MAX_LEAVES} comparisons")
    return check_leaf(tree, cols, where)


def check_leaf(leaf: dict[str, Any], cols: Mapping[str, Column[Any]], where: str) -> dict[str, Any]:
    unknown = set(leaf) - {"field", "op", "value"}
    if unknown:
        raise ValidationFailed.field(where, f"unknown keys {sorted(unknown)}")
    field, op = leaf.get("field"), leaf.get("op")
    if not isinstance(field, str) or field not in cols:
        raise ValidationFailed.field(f"{where}.field", f"{field!r} is not a field of this entity")
    if op not in OPS:
        raise ValidationFailed.field(f"{where}.op", f"one of {', '.join(OPS)}")
    column, value = cols[field], leaf.get("value")
    if op == "is_null":
        if value is None:
            value = True
        if not isinstance(value, bool):
            raise ValidationFailed.field(f"{where}.value", "true (the field is empty) or false (it is not)")
        return {"field": field, "op": op, "value": value}
    if op == "in":
        if not isinstance(value, list) or not value:
            raise ValidationFailed.field(f"{where}.value", "a non-empty list of values")
        return {
            "field": field,
            "op": op,
            "value": [json_value(coerce(column, v, f"{where}.value[{i}]")) for i, v in enumerate(value)],
        }
    if op == "contains":
        if kind_of(column) is not str or not isinstance(value, str):
            raise ValidationFailed.field(f"{where}.op", "contains compares text with text")
        return {"field": field, "op": op, "value": value}
    if op in _ORDERED and kind_of(column) in (bool, uuid.UUID, dict, list, object):
        raise ValidationFailed.field(f"{where}.op", f"{field} has no order; use eq, ne, in or is_null")
    if value is None:
        raise ValidationFailed.field(f"{where}.value", f"{op} needs a value (is_null tests emptiness)")
    return {"field": field, "op": op, "value": json_value(coerce(column, value, f"{where}.value"))}


def holds(leaf: Mapping[str, Any], column: Column[Any], actual: Any) -> bool:
    """Whether the comparison holds for the value `actual` (the column's type, or JSON of it)."""
    op, expected = leaf["op"], leaf["value"]
    try:
        actual = coerce(column, actual, leaf["field"])
    except ValidationFailed:
        return False
    if op == "is_null":
        return (actual is None) is bool(expected)
    if op == "in":
        return actual in [coerce(column, v, leaf["field"]) for v in expected]
    if actual is None:
        return op == "ne"
    if op == "contains":
        return str(expected).casefold() in str(actual).casefold()
    wanted = coerce(column, expected, leaf["field"])
    if isinstance(actual, datetime) and not isinstance(wanted, datetime) and isinstance(wanted, date):
        actual = actual.date()
    try:
        match op:
            case "eq":
                return bool(actual == wanted)
            case "ne":
                return bool(actual != wanted)
            case "gt":
                return bool(actual > wanted)
            case "ge":
                return bool(actual >= wanted)
            case "lt":
                return bool(actual < wanted)
            case "le":
                return bool(actual <= wanted)
    except TypeError:
        return False
    return False


def evaluate(tree: Mapping[str, Any] | None, cols: Mapping[str, Column[Any]], record: Any) -> bool:
    """Whether the record meets the conditions (none: it always does)."""
    if not tree:
        return True
    if "all" in tree:
        return all(evaluate(t, cols, record) for t in tree["all"])
    if "any" in tree:
        return any(evaluate(t, cols, record) for t in tree["any"])
    return holds(tree, cols[tree["field"]], getattr(record, tree["field"], None))
