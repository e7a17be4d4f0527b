"""The criteria of a dynamic marketing list: a small JSON language a user writes, parsed into a typed tree,
checked against an allow-list of fields per member type, and compiled to a SQLAlchemy condition.

    {"all": [{"field": "age", "op": "between", "value": [25, 35]},
             {"field": "addresses.city", "op": "eq", "value": "Seattle"}]}

A node is a group `{"all": [...]}` / `{"any": [...]}`, a negation `{"not": node}`, or a condition
`{"field", "op", "value"}`. Only the fields of FIELDS can be named (never an arbitrary column); each kind of
field takes its own operators. Every condition is two-valued: an empty value never makes it "unknown", so
`not` means what it says (`ne` and `not eq` both match records where the field is empty). Text compares
ignoring case; `contains` is a substring test. `age` is whole years since birth_date, on today's UTC date.
`addresses.*` hold when any address of the record does; their `ne` means "no address has this value" and
`is_null` "no address has one". Any input outside the language is a 422 naming the path of the fault."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, literal, not_, or_, select, true

from crm_core.db import column_limits
from crm_core.errors import ValidationFailed
from crm_core.models import Account, Address, Contact, Lead

MAX_CONDITIONS = 100
MAX_DEPTH = 8
MAX_IN_VALUES = 500
MAX_AGE = 200
OPS = ("eq", "ne", "contains", "in", "gte", "lte", "between", "is_null")

_ORDERED = frozenset({"eq", "ne", "in", "gte", "lte", "between", "is_null"})
OPS_OF_KIND: dict[str, frozenset[str]] = {
    "string": frozenset({"eq", "ne", "contains", "in", "is_null"}),
    "integer": _ORDERED, "decimal": _ORDERED, "date": _ORDERED, "datetime": _ORDERED, "age": _ORDERED,
    "boolean": frozenset({"eq", "ne", "is_null"}),
    "uuid": frozenset({"eq", "ne", "in", "is_null"}),
}


@dataclass(frozen=True)
class FieldSpec:
    kind: str  # string, integer, decimal, date, datetime, boolean, uuid, age
    column: str  # the model's attribute (Address's for addresses.*, birth_date for age)
    on_address: bool = False


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any  # coerced to the field's type: a value, a list (in), a pair (between) or a bool (is_null)


@dataclass(frozen=True)
class Group:
    mode: str  # "all" or "any"
    items: tuple["Node", ...]


@dataclass(frozen=True)
class Not:
    item: "Node"


Node = Condition | Group | Not


def _fields(kind_by_name: dict[str, str]) -> dict[str, FieldSpec]:
    return {name: FieldSpec(kind, name) for name, kind in kind_by_name.items()}


_ADDRESS_FIELDS = {f"addresses.{c}": FieldSpec("string", c, on_address=True)
                   for c in ("name", "line1", "city", "state_or_province", "postal_code", "country")}
_OWNED = {"statecode": "integer", "statuscode": "integer", "owning_user_id": "uuid", "owning_team_id": "uuid",
          "owning_business_unit_id": "uuid", "created_on": "datetime", "modified_on": "datetime",
          "created_by_id": "uuid", "modified_by_id": "uuid", "description": "string"}

FIELDS: dict[str, dict[str, FieldSpec]] = {
    "contact": {
        **_fields({"first_name": "string", "last_name": "string", "full_name": "string", "job_title": "string",
                   "email_address1": "string", "email_address2": "string", "telephone1": "string",
                   "mobile_phone": "string", "birth_date": "date", "preferred_contact_method_code": "integer",
                   "do_not_email": "boolean", "parent_account_id": "uuid", "email_address3": "string",
                   "originating_lead_id": "uuid", **_OWNED}),
        "age": FieldSpec("age", "birth_date"),
        **_ADDRESS_FIELDS,
    },
    "account": {
        **_fields({"name": "string", "account_number": "string", "email_address1": "string",
                   "email_address2": "string", "telephone1": "string", "website_url": "string",
                   "industry_code": "integer", "customer_type_code": "integer", "revenue": "decimal",
                   "number_of_employees": "integer", "do_not_email": "boolean", "parent_account_id": "uuid",
                   "email_address3": "string", "primary_contact_id": "uuid", "originating_lead_id": "uuid",
                   **_OWNED}),
        **_ADDRESS_FIELDS,
    },
    "lead": _fields({"subject": "string", "first_name": "string", "last_name": "string", "full_name": "string",
                     "company_name": "string", "job_title": "string", "email_address1": "string",
                     "telephone1": "string", "website_url": "string", "lead_source_code": "integer",
                     "lead_quality_code": "integer", "estimated_amount": "decimal", "parent_account_id": "uuid",
                     "parent_contact_id": "uuid", "campaign_id": "uuid", "campaign_response_id": "uuid",
                     "qualifying_opportunity_id": "uuid",
                     **_OWNED}),
}
MODELS: dict[str, type[Any]] = {"account": Account, "contact": Contact, "lead": Lead}


# --- parsing -----------------------------------------------------------------------------------------
def parse(member_type: str, doc: Any) -> Node:
    """The criteria as a checked tree; ValidationFailed (422) naming the path of the first fault."""
    if member_type not in FIELDS:
        raise ValidationFailed.field("member_type", "one of account, contact, lead")
    counter = [0]
    return _node(member_type, doc, "criteria", 0, counter)


def _node(member_type: str, doc: Any, path: str, depth: int, counter: list[int]) -> Node:
    if depth > MAX_DEPTH:
        raise ValidationFailed.field(path, f"criteria nest at most {MAX_DEPTH} levels deep")
    if not isinstance(doc, dict):
        raise ValidationFailed.field(path, 'expected an object: {"all": [...]}, {"any": [...]}, {"not": {...}} '
                                     'or {"field": ..., "op": ..., "value": ...}')
    if "field" in doc or "op" in doc:
        counter[0] += 1
        if counter[0] > MAX_CONDITIONS:
            raise ValidationFailed.field(path, f"at most {MAX_CONDITIONS} conditions")
        return _condition(member_type, doc, path)
    if len(doc) != 1:
        raise ValidationFailed.field(path, 'a group has exactly one key: "all", "any" or "not"')
    (key, value), = doc.items()
    if key == "not":
        return Not(_node(member_type, value, f"{path}.not", depth + 1, counter))
    if key not in ("all", "any"):
        raise ValidationFailed.field(path, f'unknown key {str(key)[:40]!r}; expected "all", "any" or "not"')
    if not isinstance(value, list):
        raise ValidationFailed.field(f"{path}.{key}", "expected a list of criteria")
    items = tuple(_node(member_type, item, f"{path}.{key}[{i}]", depth + 1, counter)
                  for i, item in enumerate(value))
    return Group(key, items)


def _condition(member_type: str, doc: dict[str, Any], path: str) -> Condition:
    unknown = set(doc) - {"field", "op", "value"}
    if unknown:
        raise ValidationFailed.field(path, f"unknown keys {sorted(str(k)[:40] for k in unknown)}; a condition "
                                     "has field, op and value")
    name, op = doc.get("field"), doc.get("op")
    fields = FIELDS[member_type]
    if not isinstance(name, str) or name not in fields:
        raise ValidationFailed.field(f"{path}.field", f"a {member_type} list can filter on {', '.join(fields)}")
    spec = fields[name]
    allowed = OPS_OF_KIND[spec.kind]
    if not isinstance(op, str) or op not in allowed:
        ops = ", ".join(o for o in OPS if o in allowed)
        raise ValidationFailed.field(f"{path}.op", f"{name} takes {ops}")
    vpath = f"{path}.value"
    if op == "is_null":
        value = doc.get("value", True)
        if not isinstance(value, bool):
            raise ValidationFailed.field(vpath, "is_null takes true (empty) or false (filled in)")
        return Condition(name, op, value)
    if "value" not in doc:
        raise ValidationFailed.field(vpath, f"{op} needs a value")
    raw = doc["value"]
    if op == "in":
        if not isinstance(raw, list) or not raw:
            raise ValidationFailed.field(vpath, "in takes a non-empty list")
        if len(raw) > MAX_IN_VALUES:
            raise ValidationFailed.field(vpath, f"in takes at most {MAX_IN_VALUES} values")
        return Condition(name, op, tuple(_value(member_type, spec, v, f"{vpath}[{i}]") for i, v in enumerate(raw)))
    if op == "between":
        if not isinstance(raw, list) or len(raw) != 2:
            raise ValidationFailed.field(vpath, "between takes a list of two values [low, high]")
        low, high = (_value(member_type, spec, v, f"{vpath}[{i}]") for i, v in enumerate(raw))
        if low > high:
            raise ValidationFailed.field(vpath, "the low bound is above the high bound")
        return Condition(name, op, (low, high))
    return Condition(name, op, _value(member_type, spec, raw, vpath))


def _value(member_type: str, spec: FieldSpec, raw: Any, path: str) -> Any:
    """One value, coerced to the field's kind and checked against what its column can hold."""
    kind = spec.kind

    def wrong(expected: str) -> ValidationFailed:
        return ValidationFailed.field(path, f"expected {expected}")

    if kind == "string":
        if not isinstance(raw, str):
            raise wrong("text")
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationFailed.field(path, "text must be valid Unicode") from None
        value: Any = raw
    elif kind in ("integer", "age"):
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise wrong("a whole number")
        if kind == "age" and not 0 <= raw <= MAX_AGE:
            raise ValidationFailed.field(path, f"an age between 0 and {MAX_AGE}")
        value = raw
    elif kind == "decimal":
        value = _decimal(raw, wrong)
    elif kind == "boolean":
        if not isinstance(raw, bool):
            raise wrong("true or false")
        value = raw
    elif kind == "uuid":
        if not isinstance(raw, str):
            raise wrong("an id")
        try:
            value = uuid.UUID(raw)
        except ValueError:
            raise wrong("an id") from None
    elif kind == "date":
        if not isinstance(raw, str):
            raise wrong("a date, YYYY-MM-DD")
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            raise wrong("a date, YYYY-MM-DD") from None
    else:  # datetime
        value = _datetime(raw, wrong)
    if kind != "age":
        model = Address if spec.on_address else MODELS[member_type]
        column_limits.check(model.__mapper__.columns[spec.column], value, path)
    return value


def _decimal(raw: Any, wrong: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise wrong("a number")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise wrong("a number") from None
    if not value.is_finite():
        raise wrong("a finite number")
    if value.as_tuple().exponent < -4:  # type: ignore[operator]
        raise wrong("a number with at most 4 decimal places")
    return value


def _datetime(raw: Any, wrong: Any) -> datetime:
    expected = "a date and time with its offset, e.g. 2024-05-01T09:00:00Z"
    if not isinstance(raw, str):
        raise wrong(expected)
    try:
        value = datetime.fromisoformat(raw)
        if value.tzinfo is None:
            raise ValueError("naive")
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise wrong(expected) from None


# --- the stored form -----------------------------------------------------------------------------
def to_json(node: Node) -> dict[str, Any]:
    """The canonical JSON of a parsed tree, as stored on the list and shown back to the user."""
    if isinstance(node, Group):
        return {node.mode: [to_json(i) for i in node.items]}
    if isinstance(node, Not):
        return {"not": to_json(node.item)}
    many = node.op in ("in", "between")
    value = [_json_value(v) for v in node.value] if many else _json_value(node.value)
    return {"field": node.field, "op": node.op, "value": value}


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    return value


# --- compiling -----------------------------------------------------------------------------------
def today_utc() -> date:
    return datetime.now(UTC).date()


def compile_criteria(member_type: str, node: Node, today: date | None = None) -> ColumnElement[bool]:
    """The SQL condition on the member type's model that selects the records matching `node`."""
    return _compile(member_type, node, today or today_utc())


def _compile(member_type: str, node: Node, today: date) -> ColumnElement[bool]:
    if isinstance(node, Group):
        parts = [_compile(member_type, i, today) for i in node.items]
        if not parts:  # all of nothing holds; any of nothing does not
            return true() if node.mode == "all" else false()
        return and_(*parts) if node.mode == "all" else or_(*parts)
    if isinstance(node, Not):
        return not_(_compile(member_type, node.item, today))
    spec = FIELDS[member_type][node.field]
    model = MODELS[member_type]
    if spec.on_address:
        return _on_address(model, spec, node)
    column = getattr(model, spec.column)
    if spec.kind == "age":
        return _age(column, node, today)
    return _test(column, spec.kind, node.op, node.value)


def _test(column: Any, kind: str, op: str, value: Any) -> ColumnElement[bool]:
    """A two-valued test of one column: false (never unknown) where the column is empty, except for ne and
    is_null, which hold there."""
    if op == "is_null":
        return column.is_(None) if value else column.is_not(None)  # type: ignore[no-any-return]
    if op == "ne":
        return or_(column.is_(None), not_(_positive(column, kind, "eq", value)))
    return and_(column.is_not(None), _positive(column, kind, op, value))


def _positive(column: Any, kind: str, op: str, value: Any) -> ColumnElement[bool]:
    if kind == "string":
        if op == "contains":
            return column.icontains(value, autoescape=True)  # type: ignore[no-any-return]
        lowered = func.lower(column)
        if op == "in":
            return lowered.in_([func.lower(literal(v)) for v in value])  # type: ignore[no-any-return]
        return lowered == func.lower(literal(value))  # type: ignore[no-any-return]
    if op == "eq":
        return column == value  # type: ignore[no-any-return]
    if op == "in":
        return column.in_(list(value))  # type: ignore[no-any-return]
    if op == "gte":
        return column >= value  # type: ignore[no-any-return]
    if op == "lte":
        return column <= value  # type: ignore[no-any-return]
    low, high = value  # between
    return and_(column >= low, column <= high)


def _on_address(model: type[Any], spec: FieldSpec, node: Condition) -> ColumnElement[bool]:
    parent = Address.account_id if model is Account else Address.contact_id
    column = getattr(Address, spec.column)

    def any_address(condition: ColumnElement[bool]) -> ColumnElement[bool]:
        return exists(select(Address.id).where(parent == model.id, condition))

    if node.op == "is_null":  # empty: no address has one
        filled = any_address(column.is_not(None))
        return not_(filled) if node.value else filled
    if node.op == "ne":  # no address has this value
        return not_(any_address(_test(column, spec.kind, "eq", node.value)))
    return any_address(_test(column, spec.kind, node.op, node.value))


def years_before(day: date, years: int) -> date:
    """The same calendar day `years` earlier; 29 February falls back to the 28th in a common year."""
    if day.year - years < 1:
        return date.min
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _age(birth_date: Any, node: Condition, today: date) -> ColumnElement[bool]:
    """Age in whole years: at least n when born on or before today n years ago; at most n when born after
    today n + 1 years ago."""

    def at_least(n: int) -> ColumnElement[bool]:
        return birth_date <= years_before(today, n)  # type: ignore[no-any-return]

    def at_most(n: int) -> ColumnElement[bool]:
        return birth_date > years_before(today, n + 1)  # type: ignore[no-any-return]

    def positive(op: str, value: Any) -> ColumnElement[bool]:
        if op == "gte":
            return at_least(value)
        if op == "lte":
            return at_most(value)
        if op == "between":
            return and_(at_least(value[0]), at_most(value[1]))
        if op == "in":
            return or_(*(positive("eq", v) for v in value))
        return and_(at_least(value), at_most(value))  # eq

    if node.op == "is_null":
        return birth_date.is_(None) if node.value else birth_date.is_not(None)  # type: ignore[no-any-return]
    if node.op == "ne":
        return or_(birth_date.is_(None), not_(positive("eq", node.value)))
    return and_(birth_date.is_not(None), positive(node.op, node.value))


def age_on(birth_date: date, today: date) -> int:
    """Whole years from birth_date to today (the Python twin of the `age` pseudo-field)."""
    return today.year - birth_date.year - ((today.month, today.day) < (birth_date.month, birth_date.day))


def check(member_type: str, doc: Any) -> dict[str, Any]:
    """Parses, compiles (so that nothing is stored that cannot run) and returns the canonical form."""
    node = parse(member_type, doc)
    compile_criteria(member_type, node)
    return to_json(node)
