"""Email-to-case rules (DOMAIN.md §9, Dynamics' convertrule): per source queue, an ordered list of items, each
with conditions on an incoming mail and what the case it opens gets. One rule per queue is Active at a time;
an active rule is read-only. mailbridge.rules runs the active rule on each mail its queue's mailbox tracks.

The conditions are JSON in the shape routing rules use, checked when the rule is saved (422 naming the
faulty part), on facts of the mail rather than fields of a case:

    {"all": [node, ...]}   {"any": [node, ...]}   {"not": node}   {"field": F, "op": OP, "value": V}

| field | ops | value |
| sender, sender_domain, subject | eq, ne, in, not_in, contains, not_contains, starts_with, ends_with | text |
| to, cc, recipients (to or cc) | contains, not_contains (an address); includes_queue, excludes_queue | - |
| known_customer, has_active_contract | eq | true or false |

`{"all": []}` (the default) matches every mail. Text comparisons ignore case. The acknowledgement templates
take the placeholders {case_number}, {title} and {customer_name}, checked when saved too."""

import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import select

from crm_core import case_states
from crm_core.email_addresses import normalize
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import CaseCreationRule, CaseCreationRuleItem, CaseRuleDecision, Queue, Subject
from crm_core.models.case_creation_rules import DEFAULT_ACK_BODY, DEFAULT_ACK_SUBJECT
from crm_core.security.privileges import Privilege
from crm_core.services.records import RecordService
from crm_core.services.routing import check_assignee, switch_rule_state

TEXT_OPS = frozenset({"eq", "ne", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with"})
ADDRESS_OPS = frozenset({"contains", "not_contains", "includes_queue", "excludes_queue"})
_VALUELESS = frozenset({"includes_queue", "excludes_queue"})
FIELDS: dict[str, tuple[str, frozenset[str]]] = {
    "sender": ("text", TEXT_OPS), "sender_domain": ("text", TEXT_OPS), "subject": ("text", TEXT_OPS),
    "to": ("addresses", ADDRESS_OPS), "cc": ("addresses", ADDRESS_OPS), "recipients": ("addresses", ADDRESS_OPS),
    "known_customer": ("bool", frozenset({"eq"})), "has_active_contract": ("bool", frozenset({"eq"})),
}
PLACEHOLDERS = ("case_number", "title", "customer_name")
_REQUIRED = ("queue_id", "allow_unknown_sender", "check_active_contract", "send_acknowledgement",
             "acknowledgement_limit", "reply_to_resolved", "resolved_since_days")
MAX_DEPTH, MAX_LEAVES, MAX_LIST, MAX_TEXT = 8, 100, 100, 400


@dataclass(frozen=True)
class MailFacts:
    """What the conditions of an item see of a mail (addresses normalised, lower case)."""

    sender: str
    subject: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    queue_addresses: frozenset[str]  # the queue's and its mailbox's address
    known_customer: bool
    has_active_contract: bool

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2]

    @property
    def recipients(self) -> tuple[str, ...]:
        return self.to + self.cc


# --- checking ----------------------------------------------------------------------------------------
def check_conditions(node: Any, path: str) -> dict[str, Any]:
    """The conditions in canonical form (addresses normalised), or a 422 naming the first faulty part."""
    return _check(node, path, 0, [0])


def _check(node: Any, path: str, depth: int, leaves: list[int]) -> dict[str, Any]:
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
            return {"not": _check(node["not"], f"{path}.not", depth + 1, leaves)}
        if not isinstance(node[key], list):
            raise ValidationFailed.field(f"{path}.{key}", "a list of conditions")
        return {key: [_check(n, f"{path}.{key}[{i}]", depth + 1, leaves) for i, n in enumerate(node[key])]}
    leaves[0] += 1
    if leaves[0] > MAX_LEAVES:
        raise ValidationFailed.field(path, f"at most {MAX_LEAVES} conditions in one item")
    unknown = set(node) - {"field", "op", "value"}
    if unknown:
        raise ValidationFailed.field(path, f"unknown keys {sorted(unknown)}")
    name, op = node.get("field"), node.get("op")
    if name not in FIELDS:
        raise ValidationFailed.field(f"{path}.field", f"one of {', '.join(FIELDS)}")
    kind, ops = FIELDS[name]
    if op not in ops:
        raise ValidationFailed.field(f"{path}.op", f"{name} takes {', '.join(sorted(ops))}")
    if op in _VALUELESS:
        if node.get("value") is not None:
            raise ValidationFailed.field(f"{path}.value", f"{op} takes no value")
        return {"field": name, "op": op}
    value = node.get("value")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value or len(value) > MAX_LIST:
            raise ValidationFailed.field(f"{path}.value", f"a list of 1 to {MAX_LIST} texts")
        value = [_check_value(kind, v, f"{path}.value[{i}]") for i, v in enumerate(value)]
    else:
        value = _check_value(kind, value, f"{path}.value")
    return {"field": name, "op": op, "value": value}


def _check_value(kind: str, value: Any, path: str) -> Any:
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValidationFailed.field(path, "true or false")
        return value
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT or "\x00" in value:
        raise ValidationFailed.field(path, f"a text of 1 to {MAX_TEXT} characters")
    if kind == "addresses":
        try:
            return normalize(value)
        except ValueError as exc:
            raise ValidationFailed.field(path, f"an email address: {exc}") from None
    return value


def check_template(text: str | None, field: str) -> str:
    """A subject or body template whose only placeholders are {case_number}, {title} and {customer_name}."""
    if text is None or not text.strip():
        raise ValidationFailed.field(field, "the acknowledgement needs a text")
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValidationFailed.field(field, f"braces must pair ({exc}); write {{{{ and }}}} for a brace") from None
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            raise ValidationFailed.field(field, f"{{{name}}} is not a placeholder; use "
                                         f"{', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
    return text


def render(template: str, values: Mapping[str, str]) -> str:
    """A checked template filled in (values are inserted as they are, never parsed again)."""
    return template.format_map({p: values.get(p, "") for p in PLACEHOLDERS})


# --- evaluating --------------------------------------------------------------------------------------
def matches(node: dict[str, Any], facts: MailFacts) -> bool:
    if "all" in node:
        return all(matches(n, facts) for n in node["all"])
    if "any" in node:
        return any(matches(n, facts) for n in node["any"])
    if "not" in node:
        return not matches(node["not"], facts)
    name, op = node["field"], node["op"]
    actual = getattr(facts, name)
    kind = FIELDS[name][0]
    if kind == "bool":
        return bool(actual == node["value"])
    if kind == "addresses":
        if op in _VALUELESS:
            return bool(facts.queue_addresses & set(actual)) == (op == "includes_queue")
        return (node["value"] in actual) == (op == "contains")
    text, value = actual.casefold(), node["value"]
    if op in ("in", "not_in"):
        return (text in {v.casefold() for v in value}) == (op == "in")
    value = value.casefold()
    if op in ("eq", "ne"):
        return (text == value) == (op == "eq")
    if op in ("contains", "not_contains"):
        return (value in text) == (op == "contains")
    return text.startswith(value) if op == "starts_with" else text.endswith(value)


# --- the rules themselves ----------------------------------------------------------------------------
class CaseCreationRuleService(RecordService[CaseCreationRule]):
    """Organisation-wide rules that only roles with the case_creation_rule privileges (admins) see and change."""

    entity_name = "case_creation_rule"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def apply(self, record: CaseCreationRule, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        items = values.pop("items", None)
        super().apply(record, values, creating)
        if items is not None:
            checked = [self._check_item(i, data) for i, data in enumerate(items)]
            record.items.clear()
            for number, data in enumerate(checked, start=1):
                record.items.append(CaseCreationRuleItem(id=uuid.uuid4(), rule_id=record.id,
                                                         sequence_number=number, **data))

    def validate(self, record: CaseCreationRule, values: dict[str, Any], creating: bool) -> None:
        for key in _REQUIRED:
            if key in values and values[key] is None:
                raise ValidationFailed.field(key, "cannot be null")
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a case creation rule needs a name")
        if ("queue_id" in values or creating) and (
                record.queue_id is None or self.session.get(Queue, record.queue_id) is None):
            raise ValidationFailed.field("queue_id", f"no queue with id {record.queue_id}")
        for name, default in (("acknowledgement_subject", DEFAULT_ACK_SUBJECT),
                              ("acknowledgement_body", DEFAULT_ACK_BODY)):
            if creating and getattr(record, name) is None:
                setattr(record, name, default)
            if name in values or creating:
                setattr(record, name, check_template(getattr(record, name), name))
        if record.reply_to_resolved is not None and record.reply_to_resolved not in ("reopen", "new_case"):
            raise ValidationFailed.field("reply_to_resolved", "reopen or new_case")
        for name, low, high in (("acknowledgement_limit", 0, 100), ("resolved_since_days", 0, 3650)):
            value = getattr(record, name)
            if value is not None and not low <= value <= high:
                raise ValidationFailed.field(name, f"from {low} to {high}")

    def _check_item(self, i: int, data: dict[str, Any]) -> dict[str, Any]:
        prefix = f"items[{i}]"
        conditions = data.get("conditions")
        out: dict[str, Any] = {
            "name": data.get("name"),
            "conditions": check_conditions({"all": []} if conditions is None else conditions, f"{prefix}.conditions"),
            "priority_code": data.get("priority_code"), "case_type_code": data.get("case_type_code"),
            "subject_id": data.get("subject_id"), "assign_user_id": None, "assign_team_id": None,
        }
        for name, choices in (("priority_code", case_states.PRIORITY), ("case_type_code", case_states.CASE_TYPE)):
            if out[name] is not None and out[name] not in choices:
                allowed = ", ".join(f"{k} {v}" for k, v in choices.items())
                raise ValidationFailed.field(f"{prefix}.{name}", f"one of {allowed}")
        if out["subject_id"] is not None and self.session.get(Subject, out["subject_id"]) is None:
            raise ValidationFailed.field(f"{prefix}.subject_id", f"no subject with id {out['subject_id']}")
        target_type, target_id = data.get("assign_to_type"), data.get("assign_to_id")
        if target_type is None and target_id is None:
            return out
        out.update(check_assignee(self.session, prefix, target_type, target_id))
        return out

    def set_state(self, record_id: uuid.UUID, statecode: int, statuscode: int | None,
                  action: str = "set_state") -> CaseCreationRule:
        """Activating a rule deactivates the one that was active for the same queue: one per queue."""
        record = self.get(record_id, Privilege.WRITE)
        switch_rule_state(self, record, "case creation rule", statecode, statuscode, action,
                          scope=(CaseCreationRule.queue_id == record.queue_id,))
        return record

    def ensure_editable(self, record: CaseCreationRule) -> None:
        if record.statecode == case_states.RULE_ACTIVE:
            raise Conflict("this case creation rule is active and read-only; deactivate it first")

    def before_delete(self, record: CaseCreationRule) -> None:
        self.ensure_editable(record)

    def decisions(self, email_id: uuid.UUID | None = None, rule_id: uuid.UUID | None = None,
                  case_id: uuid.UUID | None = None, limit: int = 100) -> list[CaseRuleDecision]:
        """What the rules decided about tracked mail, newest first (administrators: read on the rules)."""
        self.principal.require(self.entity_name, Privilege.READ)
        stmt = select(CaseRuleDecision)
        for column, value in ((CaseRuleDecision.email_id, email_id), (CaseRuleDecision.rule_id, rule_id),
                              (CaseRuleDecision.case_id, case_id)):
            if value is not None:
                stmt = stmt.where(column == value)
        stmt = stmt.order_by(CaseRuleDecision.decided_on.desc(), CaseRuleDecision.id).limit(limit)
        return list(self.session.scalars(stmt))
