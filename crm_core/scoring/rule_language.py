"""The rules of a scoring model, as an administrator writes them, checked at save (a 422 naming the path of the
first fault) and evaluated against a lead's facts.

    {"name": "Came from the web", "points": 15,
     "condition": {"field": "lead_source_code", "op": "in", "value": [8, 4]}}
    {"name": "Replied this month", "points": 20,
     "condition": {"field": "replies", "days": 30, "op": "gte", "value": 1}}

A condition names a field of the lead (FIELDS) or a behaviour signal, which counts what happened in the last
`days` days (SIGNALS). Text compares ignoring case. An empty field makes every test false except `ne` and
`is_null`, as in marketing list criteria. The score is the sum of the points of the rules that hold, kept
within 0..100; the grade is the first of A, B, C whose threshold it reaches, else D."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from crm_core.errors import ValidationFailed
from crm_core.scoring.facts import SIGNALS, LeadFacts

MAX_RULES = 100
MAX_POINTS = 100
MAX_DAYS = 3650
MAX_IN_VALUES = 200
DEFAULT_GRADES = {"A": 70, "B": 40, "C": 20}

FIELDS: dict[str, str] = {
    "lead_source_code": "integer",
    "lead_quality_code": "integer",
    "industry_code": "integer",
    "number_of_employees": "integer",
    "days_since_created": "integer",
    "estimated_amount": "decimal",
    "company_name": "string",
    "job_title": "string",
    "email_address1": "string",
    "website_url": "string",
    "subject": "string",
    "email_domain": "string",
    "email_domain_kind": "string",
    "has_company": "boolean",
}
_NUMBER_OPS = ("eq", "ne", "in", "gte", "lte", "between", "is_null")
OPS_OF_KIND: dict[str, tuple[str, ...]] = {
    "integer": _NUMBER_OPS,
    "decimal": _NUMBER_OPS,
    "string": ("eq", "ne", "contains", "in", "is_null"),
    "boolean": ("eq", "ne", "is_null"),
    "count": ("eq", "ne", "gte", "lte", "between"),
}


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any  # coerced: a value, a tuple (in, between) or a bool (is_null)
    days: int | None = None  # signals only


@dataclass(frozen=True)
class Rule:
    name: str
    points: int
    condition: Condition


# --- checking ------------------------------------------------------------------------------------------
def parse_rules(doc: Any) -> list[Rule]:
    if not isinstance(doc, list):
        raise ValidationFailed.field("rules", "expected a list of rules")
    if len(doc) > MAX_RULES:
        raise ValidationFailed.field("rules", f"at most {MAX_RULES} rules")
    return [_rule(item, f"rules[{i}]") for i, item in enumerate(doc)]


def _rule(doc: Any, path: str) -> Rule:
    if not isinstance(doc, dict):
        raise ValidationFailed.field(path, 'expected {"name": ..., "points": ..., "condition": {...}}')
    unknown = set(doc) - {"name", "points", "condition"}
    if unknown:
        raise ValidationFailed.field(path, f"unknown keys {sorted(str(k)[:40] for k in unknown)}")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValidationFailed.field(f"{path}.name", "a rule needs a name (200 characters at most)")
    points = doc.get("points")
    if isinstance(points, bool) or not isinstance(points, int) or not -MAX_POINTS <= points <= MAX_POINTS:
        raise ValidationFailed.field(f"{path}.points", f"a whole number from -{MAX_POINTS} to {MAX_POINTS}")
    return Rule(name.strip(), points, _condition(doc.get("condition"), f"{path}.condition"))


def _condition(doc: Any, path: str) -> Condition:
    if not isinstance(doc, dict):
        raise ValidationFailed.field(path, 'expected {"field": ..., "op": ..., "value": ...}')
    unknown = set(doc) - {"field", "op", "value", "days"}
    if unknown:
        raise ValidationFailed.field(path, f"unknown keys {sorted(str(k)[:40] for k in unknown)}")
    name, op = doc.get("field"), doc.get("op")
    if not isinstance(name, str) or (name not in FIELDS and name not in SIGNALS):
        raise ValidationFailed.field(f"{path}.field", f"one of {', '.join([*FIELDS, *SIGNALS])}")
    kind = "count" if name in SIGNALS else FIELDS[name]
    days = None
    if kind == "count":
        days = doc.get("days")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            raise ValidationFailed.field(
                f"{path}.days", f"{name} counts the last N days: a whole number from 1 to {MAX_DAYS}"
            )
    elif "days" in doc:
        raise ValidationFailed.field(f"{path}.days", f"only {', '.join(SIGNALS)} take days")
    if not isinstance(op, str) or op not in OPS_OF_KIND[kind]:
        raise ValidationFailed.field(f"{path}.op", f"{name} takes {', '.join(OPS_OF_KIND[kind])}")
    vpath = f"{path}.value"
    if op == "is_null":
        value = doc.get("value", True)
        if not isinstance(value, bool):
            raise ValidationFailed.field(vpath, "is_null takes true (empty) or false (filled in)")
        return Condition(name, op, value, days)
    if "value" not in doc:
        raise ValidationFailed.field(vpath, f"{op} needs a value")
    raw = doc["value"]
    if op in ("in", "between"):
        if not isinstance(raw, list) or not raw or len(raw) > MAX_IN_VALUES:
            raise ValidationFailed.field(vpath, f"{op} takes a list (of 1 to {MAX_IN_VALUES} values)")
        values = tuple(_value(kind, v, f"{vpath}[{i}]") for i, v in enumerate(raw))
        if op == "between" and (len(values) != 2 or values[0] > values[1]):
            raise ValidationFailed.field(vpath, "between takes [low, high], low not above high")
        return Condition(name, op, values, days)
    return Condition(name, op, _value(kind, raw, vpath), days)


def _value(kind: str, raw: Any, path: str) -> Any:
    if kind in ("integer", "count"):
        if isinstance(raw, bool) or not isinstance(raw, int) or abs(raw) > 2**31:
            raise ValidationFailed.field(path, "expected a whole number")
        return raw
    if kind == "decimal":
        if isinstance(raw, bool) or not isinstance(raw, int | float | str):
            raise ValidationFailed.field(path, "expected a number")
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            raise ValidationFailed.field(path, "expected a number") from None
        if not value.is_finite():
            raise ValidationFailed.field(path, "expected a finite number")
        return value
    if kind == "boolean":
        if not isinstance(raw, bool):
            raise ValidationFailed.field(path, "expected true or false")
        return raw
    if not isinstance(raw, str) or len(raw) > 400:
        raise ValidationFailed.field(path, "expected text (400 characters at most)")
    return raw.lower()


def to_json(rules: list[Rule]) -> list[dict[str, Any]]:
    """The canonical form, as stored and shown back."""
    out = []
    for rule in rules:
        c = rule.condition
        many = c.op in ("in", "between")
        value = [_plain(v) for v in c.value] if many else _plain(c.value)
        condition: dict[str, Any] = {"field": c.field, "op": c.op, "value": value}
        if c.days is not None:
            condition["days"] = c.days
        out.append({"name": rule.name, "points": rule.points, "condition": condition})
    return out


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def parse_grades(doc: Any) -> dict[str, int]:
    if doc is None:
        return dict(DEFAULT_GRADES)
    if not isinstance(doc, dict) or set(doc) != {"A", "B", "C"}:
        raise ValidationFailed.field("grade_thresholds", 'expected {"A": 70, "B": 40, "C": 20}')
    for grade, value in doc.items():
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            raise ValidationFailed.field(f"grade_thresholds.{grade}", "a whole number from 0 to 100")
    if not doc["A"] > doc["B"] > doc["C"]:
        raise ValidationFailed.field("grade_thresholds", "A must be above B, and B above C")
    return {"A": doc["A"], "B": doc["B"], "C": doc["C"]}


# --- evaluating ----------------------------------------------------------------------------------------
def holds(condition: Condition, facts: LeadFacts) -> bool:
    if condition.days is not None:
        actual: Any = facts.count(condition.field, condition.days)
    else:
        actual = facts.fields.get(condition.field)
        if isinstance(actual, str):
            actual = actual.strip().lower() or None
    op, value = condition.op, condition.value
    if op == "is_null":
        return (actual is None) == value
    if op == "ne":
        return actual is None or actual != value
    if actual is None:
        return False
    if op == "eq":
        return bool(actual == value)
    if op == "contains":
        return value in actual
    if op == "in":
        return actual in value
    if op == "gte":
        return bool(actual >= value)
    if op == "lte":
        return bool(actual <= value)
    low, high = value
    return bool(low <= actual <= high)


def grade_of(score: int, thresholds: dict[str, int]) -> str:
    for grade in ("A", "B", "C"):
        if score >= thresholds.get(grade, DEFAULT_GRADES[grade]):
            return grade
    return "D"
