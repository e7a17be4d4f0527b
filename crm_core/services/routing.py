"""Routing rules (DOMAIN.md §9, Dynamics' routingrule and ApplyRoutingRule): an ordered list of items, each
with conditions on the case's fields and a queue, or a user or team, to send it to. The active rule set (one
at a time) is applied to every new case and on demand; the first item whose conditions match wins.

Conditions are JSON, checked when the rule is saved (422 naming the faulty part) against an allow-list of
case fields and the operators each kind of field takes:

    {"all": [node, ...]}   {"any": [node, ...]}   {"not": node}   {"field": F, "op": OP, "value": V}

`{"all": []}` (the default) matches every case. Text comparisons ignore case. Routing acts as the
organisation: it needs no privilege of the caller on the queue, user or team it routes to. An item whose
queue is inactive, or whose user is disabled, is passed over."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from crm_core import case_states
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import Case, Queue, RoutingRule, RoutingRuleItem, Subject, Team, User
from crm_core.security.privileges import Privilege
from crm_core.services.queues import place
from crm_core.services.records import RecordService
from crm_core.services.subjects import subject_and_below

_BASE_OPS = frozenset({"eq", "ne", "in", "not_in", "is_null", "not_null"})
_TEXT_OPS = _BASE_OPS | {"contains", "not_contains", "starts_with"}
_VALUELESS = frozenset({"is_null", "not_null"})
MAX_DEPTH, MAX_LEAVES, MAX_LIST, MAX_TEXT = 8, 100, 100, 400


@dataclass(frozen=True)
class CaseField:
    kind: str  # "text", "option" (choices), "id"
    ops: frozenset[str]
    choices: dict[Any, str] | None = None


def _option(choices: dict[Any, str]) -> CaseField:
    return CaseField("option", _BASE_OPS, choices)


def _id(*extra: str) -> CaseField:
    return CaseField("id", _BASE_OPS | set(extra))


FIELDS: dict[str, CaseField] = {
    "title": CaseField("text", _TEXT_OPS),
    "description": CaseField("text", _TEXT_OPS),
    "origin_code": _option(case_states.ORIGIN),
    "case_type_code": _option(case_states.CASE_TYPE),
    "priority_code": _option(case_states.PRIORITY),
    "customer_type": _option({t: t for t in case_states.CUSTOMER_TYPES}),
    "customer_id": _id(),
    "primary_contact_id": _id(),
    "subject_id": _id("under"),  # under: the subject or any subject below it
    "product_id": _id(),
    "parent_case_id": _id(),
    "owning_user_id": _id(),
    "owning_team_id": _id(),
    "owning_business_unit_id": _id(),
}


# --- checking ----------------------------------------------------------------------------------------
def check_conditions(node: Any, path: str, session: Session) -> dict[str, Any]:
    """The conditions in canonical form (ids as strings), or a 422 naming the first faulty part."""
    leaves = [0]
    return _check(node, path, session, 0, leaves)


def _check(node: Any, path: str, session: Session, depth: int, leaves: list[int]) -> dict[str, Any]:
    if not isinstance(node, dict):
        raise ValidationFailed.field(path, 'an object: {"all": [...]}, {"any": [...]}, {"not": ...} or a condition')
    if depth > MAX_DEPTH:
        raise ValidationFailed.field(path, f"conditions nest at most {MAX_DEPTH} levels deep")
    groups = [k for k in ("all", "any", "not") if k in node]
    if groups:
        key = groups[0]
        if len(node) != 1:
            raise ValidationFailed.field(path, f"a {key!r} group takes no other keys")
        if key == "not":
            return {"not": _check(node["not"], f"{path}.not", session, depth + 1, leaves)}
        if not isinstance(node[key], list):
            raise ValidationFailed.field(f"{path}.{key}", "a list of conditions")
        return {key: [_check(n, f"{path}.{key}[{i}]", session, depth + 1, leaves) for i, n in enumerate(node[key])]}
    leaves[0] += 1
    if leaves[0] > MAX_LEAVES:
        raise ValidationFailed.field(path, f"at most {MAX_LEAVES} conditions in one item")
    unknown = set(node) - {"field", "op", "value"}
    if unknown:
        raise ValidationFailed.field(path, f"unknown keys {sorted(unknown)}")
    name, op = node.get("field"), node.get("op")
    if name not in FIELDS:
        raise ValidationFailed.field(f"{path}.field", f"one of {', '.join(FIELDS)}")
    spec = FIELDS[name]
    if op not in spec.ops:
        raise ValidationFailed.field(f"{path}.op", f"{name} takes {', '.join(sorted(spec.ops))}")
    if op in _VALUELESS:
        if node.get("value") is not None:
            raise ValidationFailed.field(f"{path}.value", f"{op} takes no value")
        return {"field": name, "op": op}
    if op in ("in", "not_in"):
        values = node.get("value")
        if not isinstance(values, list) or not values or len(values) > MAX_LIST:
            raise ValidationFailed.field(f"{path}.value", f"a list of 1 to {MAX_LIST} values")
        value: Any = [_check_value(spec, name, op, v, f"{path}.value[{i}]", session) for i, v in enumerate(values)]
    else:
        value = _check_value(spec, name, op, node.get("value"), f"{path}.value", session)
    return {"field": name, "op": op, "value": value}


def _check_value(spec: CaseField, name: str, op: str, value: Any, path: str, session: Session) -> Any:
    if spec.kind == "text":
        if not isinstance(value, str) or not value or len(value) > MAX_TEXT or "\x00" in value:
            raise ValidationFailed.field(path, f"a text of 1 to {MAX_TEXT} characters")
        return value
    if spec.kind == "option":
        assert spec.choices is not None
        if isinstance(value, bool) or not isinstance(value, int | str) or value not in spec.choices:
            allowed = ", ".join(f"{k} {v}" if k != v else str(k) for k, v in spec.choices.items())
            raise ValidationFailed.field(path, f"{name} is one of {allowed}")
        return value
    try:
        parsed = uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise ValidationFailed.field(path, "an id (UUID)")
    if name == "subject_id" and session.get(Subject, parsed) is None:
        raise ValidationFailed.field(path, f"no subject with id {parsed}")
    return str(parsed)


def check_assignee(session: Session, prefix: str, target_type: Any, target_id: Any) -> dict[str, uuid.UUID | None]:
    """assign_to_type + assign_to_id of a rule item: an enabled user or a team, as assign_user_id and
    assign_team_id; a 422 naming the part otherwise."""
    if target_type not in ("user", "team") or target_id is None:
        raise ValidationFailed.field(f"{prefix}.assign_to_type", "give both assign_to_type (user or team) "
                                     "and assign_to_id")
    if target_type == "user":
        user = session.get(User, target_id)
        if user is None or user.is_disabled:
            raise ValidationFailed.field(f"{prefix}.assign_to_id", f"no enabled user with id {target_id}")
        return {"assign_user_id": target_id, "assign_team_id": None}
    if session.get(Team, target_id) is None:
        raise ValidationFailed.field(f"{prefix}.assign_to_id", f"no team with id {target_id}")
    return {"assign_user_id": None, "assign_team_id": target_id}


# --- evaluating --------------------------------------------------------------------------------------
class MatchContext:
    """What matching conditions against several cases can share: the subject trees already looked up."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._below: dict[str, set[str]] = {}

    def subjects_below(self, subject_id: str) -> set[str]:
        if subject_id not in self._below:
            below = subject_and_below(self.session, uuid.UUID(subject_id))
            self._below[subject_id] = {str(s) for s in below}
        return self._below[subject_id]


def matches(node: dict[str, Any], case: Case, ctx: MatchContext) -> bool:
    if "all" in node:
        return all(matches(n, case, ctx) for n in node["all"])
    if "any" in node:
        return any(matches(n, case, ctx) for n in node["any"])
    if "not" in node:
        return not matches(node["not"], case, ctx)
    spec, op = FIELDS[node["field"]], node["op"]
    actual = getattr(case, node["field"])
    if op in _VALUELESS:
        return (actual is None) == (op == "is_null")
    if actual is not None and spec.kind == "id":
        actual = str(actual)
    if spec.kind == "text":
        actual = actual.casefold() if actual else None
    value = node["value"]
    if spec.kind == "text":
        value = [v.casefold() for v in value] if isinstance(value, list) else value.casefold()
    if op == "eq":
        return actual == value
    if op == "ne":
        return actual != value
    if op == "in":
        return actual in value
    if op == "not_in":
        return actual not in value
    if op == "under":
        return actual is not None and actual in ctx.subjects_below(value)
    if actual is None:  # text operators on an empty field
        return op == "not_contains"
    if op == "contains":
        return value in actual
    if op == "not_contains":
        return value not in actual
    return bool(actual.startswith(value))  # starts_with


def apply_routing(session: Session, case: Case) -> RoutingRuleItem | None:
    """ApplyRoutingRule: sends the case where the first matching item of the active rule says. Returns the
    item that routed it, or None. No access checks (routing acts as the organisation), no commit."""
    rule = session.scalars(select(RoutingRule).where(RoutingRule.statecode == case_states.RULE_ACTIVE)).first()
    if rule is None:
        return None
    ctx = MatchContext(session)
    for item in rule.items:
        if not matches(item.conditions, case, ctx):
            continue
        if item.queue_id is not None:
            queue = session.get(Queue, item.queue_id)
            if queue is None or queue.statecode != 0:
                continue
            place(session, queue, case)
            return item
        unit = _target_unit(session, item)
        if unit is None:
            continue
        case.owning_user_id, case.owning_team_id = item.assign_user_id, item.assign_team_id
        case.owning_business_unit_id = unit
        session.flush()
        return item
    return None


def _target_unit(session: Session, item: RoutingRuleItem) -> uuid.UUID | None:
    if item.assign_user_id is not None:
        user = session.get(User, item.assign_user_id)
        return None if user is None or user.is_disabled else user.business_unit_id
    team = session.get(Team, item.assign_team_id)
    return team.business_unit_id if team is not None else None


# --- the rules themselves ----------------------------------------------------------------------------
def switch_rule_state(service: RecordService[Any], record: Any, label: str, statecode: int, statuscode: int | None,
                      action: str, *, scope: Sequence[ColumnElement[bool]] = ()) -> None:
    """A rule set (routing, case creation) between Draft and Active, committed. Activating needs items and
    deactivates the rule that was active within `scope` (all rules of the kind when empty): one is active at a
    time, which a partial unique index also holds."""
    model, states = type(record), case_states.ROUTING_RULE
    new_state, new_status = states.resolve(statecode, statuscode)
    if new_state == record.statecode:
        raise Conflict(f"this {label} is already {states.label(new_state, new_status)[0]}")
    if new_state == case_states.RULE_ACTIVE:
        if not record.items:
            raise ValidationFailed.field("items", f"a {label} needs at least one item to be activated")
        service.uow.set_action("deactivate")
        others = select(model).where(model.statecode == case_states.RULE_ACTIVE, model.id != record.id, *scope)
        for other in service.session.scalars(others):
            other.statecode, other.statuscode = states.resolve(case_states.DRAFT, None)
        service.session.flush()  # before the activation, which the one-active index checks
    service.uow.set_action(action)
    record.statecode, record.statuscode = new_state, new_status
    service.session.flush()
    service.uow.commit()


class RoutingRuleService(RecordService[RoutingRule]):
    """Organisation-wide rules that only roles with the routing_rule privileges (admins) see and change."""

    entity_name = "routing_rule"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def apply(self, record: RoutingRule, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        items = values.pop("items", None)
        super().apply(record, values, creating)
        if items is not None:
            checked = [self._check_item(i, data) for i, data in enumerate(items)]
            record.items.clear()
            for number, data in enumerate(checked, start=1):
                record.items.append(RoutingRuleItem(id=uuid.uuid4(), rule_id=record.id, sequence_number=number,
                                                    **data))

    def validate(self, record: RoutingRule, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a routing rule needs a name")

    def _check_item(self, i: int, data: dict[str, Any]) -> dict[str, Any]:
        prefix = f"items[{i}]"
        conditions = data.get("conditions")
        conditions = check_conditions({"all": []} if conditions is None else conditions,
                                      f"{prefix}.conditions", self.session)
        queue_id, target_type, target_id = data.get("queue_id"), data.get("assign_to_type"), data.get("assign_to_id")
        if (queue_id is None) == (target_type is None and target_id is None):
            raise ValidationFailed.field(f"{prefix}.queue_id",
                                         "give a queue_id, or an assign_to_type and assign_to_id: one target")
        out = {"name": data.get("name"), "conditions": conditions, "queue_id": queue_id,
               "assign_user_id": None, "assign_team_id": None}
        if queue_id is not None:
            if self.session.get(Queue, queue_id) is None:
                raise ValidationFailed.field(f"{prefix}.queue_id", f"no queue with id {queue_id}")
            return out
        out.update(check_assignee(self.session, prefix, target_type, target_id))
        return out

    def set_state(self, record_id: uuid.UUID, statecode: int, statuscode: int | None,
                  action: str = "set_state") -> RoutingRule:
        """Activating a rule set deactivates the one that was active: one is active at a time."""
        record = self.get(record_id, Privilege.WRITE)
        switch_rule_state(self, record, "routing rule", statecode, statuscode, action)
        return record

    def ensure_editable(self, record: RoutingRule) -> None:
        if record.statecode == case_states.RULE_ACTIVE:
            raise Conflict("this routing rule is active and read-only; deactivate it first")

    def before_delete(self, record: RoutingRule) -> None:
        self.ensure_editable(record)
