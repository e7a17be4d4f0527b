"""A rule's definition checked at save, so that a rule that cannot run is refused (422 naming the field)
rather than failing later in the workers: the trigger, the conditions and each action against the entity's
columns and the records they name (a queue, a template, a webhook, a user or team)."""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Column
from sqlalchemy.orm import Session

from crm_core import case_states
from crm_core.automation import conditions as cond
from crm_core.automation.durations import parse_duration
from crm_core.db.types import json_value
from crm_core.entities import EntitySpec
from crm_core.errors import ValidationFailed
from crm_core.models import EmailTemplate, Queue, Team, User, Webhook

TRIGGER_TYPES = ("created", "updated", "threshold", "relative_time", "email_tracked", "sla_warning")
ACTION_TYPES = ("set_fields", "assign", "route_to_queue", "create_task", "follow_up", "send_email", "call_webhook")
# The change events (crm_core.webhook_events' names) each change-driven trigger waits for.
TRIGGER_EVENTS: dict[str, tuple[str, ...]] = {
    "created": ("record.created",),
    "updated": ("record.updated",),
    "threshold": ("record.created", "record.updated"),
    "email_tracked": ("email.tracked",),
}
TIME_TRIGGERS = ("relative_time", "sla_warning")
# Entities no rule watches: the rules themselves (a rule changing rules), webhooks and the trail.
NOT_WATCHED = frozenset({"business_rule", "webhook", "audit"})
# Columns a rule never sets: identity, bookkeeping, ownership (the assign action) and state (lifecycle verbs).
_NOT_SET = frozenset(
    {
        "id",
        "created_on",
        "modified_on",
        "created_by_id",
        "modified_by_id",
        "owning_user_id",
        "owning_team_id",
        "owning_business_unit_id",
        "statecode",
        "statuscode",
        "activity_type",
    }
)
CONTACT_COLUMNS = ("primary_contact_id", "customer_contact_id")
MAX_ACTIONS = 20


@dataclass(frozen=True)
class Definition:
    trigger: dict[str, Any]
    conditions: dict[str, Any] | None
    actions: list[dict[str, Any]]


def check(session: Session, spec: EntitySpec, trigger: Any, conditions: Any, actions: Any) -> Definition:
    cols = cond.columns(spec.model)
    return Definition(
        check_trigger(spec, cols, trigger),
        cond.check(conditions, cols) if conditions else None,
        check_actions(session, spec, cols, actions),
    )


def _keys(obj: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise ValidationFailed.field(where, "an object")
    unknown = set(obj) - allowed
    if unknown:
        raise ValidationFailed.field(where, f"unknown keys {sorted(unknown)}")
    return obj


def _duration(value: Any, where: str) -> str:
    try:
        parse_duration(value)
    except ValueError as exc:
        raise ValidationFailed.field(where, str(exc)) from None
    return str(value).strip().upper()


def check_trigger(spec: EntitySpec, cols: Mapping[str, Column[Any]], trigger: Any) -> dict[str, Any]:
    if not isinstance(trigger, dict) or trigger.get("type") not in TRIGGER_TYPES:
        raise ValidationFailed.field("trigger.type", f"one of {', '.join(TRIGGER_TYPES)}")
    kind = trigger["type"]
    if kind in ("created", "email_tracked"):
        _keys(trigger, "trigger", {"type"})
        if kind == "email_tracked" and spec.name != "activity":
            raise ValidationFailed.field("entity", "an email_tracked rule watches activities (the tracked email)")
        return {"type": kind}
    if kind == "updated":
        _keys(trigger, "trigger", {"type", "fields"})
        fields = trigger.get("fields") or []
        if not isinstance(fields, list):
            raise ValidationFailed.field("trigger.fields", "a list of field names")
        for i, name in enumerate(fields):
            if name not in cols:
                raise ValidationFailed.field(f"trigger.fields[{i}]", f"{name!r} is not a field of {spec.name}")
        return {"type": kind, "fields": list(dict.fromkeys(fields))}
    if kind == "threshold":
        _keys(trigger, "trigger", {"type", "field", "op", "value"})
        leaf = cond.check_leaf({k: v for k, v in trigger.items() if k != "type"}, cols, "trigger")
        return {"type": kind, **leaf}
    if kind == "relative_time":
        _keys(trigger, "trigger", {"type", "date_field", "offset"})
        field = trigger.get("date_field")
        if field not in cols or cond.kind_of(cols[field]) not in (datetime, date):
            raise ValidationFailed.field("trigger.date_field", f"{field!r} is not a date field of {spec.name}")
        return {"type": kind, "date_field": field, "offset": _duration(trigger.get("offset", "PT0S"), "trigger.offset")}
    _keys(trigger, "trigger", {"type"})  # sla_warning
    if spec.name != "case":
        raise ValidationFailed.field("entity", "an sla_warning rule watches cases (their SLA clocks)")
    return {"type": kind}


def check_actions(
    session: Session, spec: EntitySpec, cols: Mapping[str, Column[Any]], actions: Any
) -> list[dict[str, Any]]:
    if not isinstance(actions, list) or not actions:
        raise ValidationFailed.field("actions", "a non-empty list of actions")
    if len(actions) > MAX_ACTIONS:
        raise ValidationFailed.field("actions", f"at most {MAX_ACTIONS} actions")
    checked = []
    for i, action in enumerate(actions):
        where = f"actions[{i}]"
        if not isinstance(action, dict) or action.get("type") not in ACTION_TYPES:
            raise ValidationFailed.field(f"{where}.type", f"one of {', '.join(ACTION_TYPES)}")
        checked.append(_ACTIONS[action["type"]](session, spec, cols, action, where))
    return checked


def _set_fields(
    session: Session, spec: EntitySpec, cols: Mapping[str, Column[Any]], action: dict[str, Any], where: str
) -> dict[str, Any]:
    _keys(action, where, {"type", "fields"})
    fields = action.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise ValidationFailed.field(f"{where}.fields", "an object of field: value")
    out = {}
    for name, value in fields.items():
        if name not in cols or name in _NOT_SET or cols[name].primary_key:
            raise ValidationFailed.field(f"{where}.fields.{name}", f"not a field a rule sets on {spec.name}")
        if value is None and not cols[name].nullable:
            raise ValidationFailed.field(f"{where}.fields.{name}", "cannot be empty")
        out[name] = json_value(cond.coerce(cols[name], value, f"{where}.fields.{name}"))
    return {"type": "set_fields", "fields": out}


def _assign(
    session: Session, spec: EntitySpec, cols: Mapping[str, Column[Any]], action: dict[str, Any], where: str
) -> dict[str, Any]:
    _keys(action, where, {"type", "user_id", "team_id"})
    if spec.ownership != "user":
        raise ValidationFailed.field(where, f"{spec.name} records have no owner to assign")
    given = [k for k in ("user_id", "team_id") if action.get(k)]
    if len(given) != 1:
        raise ValidationFailed.field(where, "either user_id or team_id")
    model = User if given[0] == "user_id" else Team
    target = _exists(session, model, action[given[0]], f"{where}.{given[0]}")
    return {"type": "assign", given[0]: str(target.id)}


def _route_to_queue(
    session: Session, spec: EntitySpec, cols: Mapping[str, Column[Any]], action: dict[str, Any], where: str
) -> dict[str, Any]:
    _keys(action, where, {"type", "queue_id"})
    if spec.name not in case_states.QUEUE_OBJECT_TYPES:
        raise ValidationFailed.field(where, "only cases and activities are queued")
    queue = _exists(session, Queue, action.get("queue_id"), f"{where}.queue_id")
    return {"type": "route_to_queue", "queue_id": str(queue.id)}


def _task(
    session: Session, spec: EntitySpec, cols: Mapping[str, Column[Any]], action: dict[str, Any], where: str
) -> dict[str, Any]:
    kind = action["type"]
    delay_key = "due_in" if kind == "create_task" else "in"
    _keys(action, where, {"type", "subject", "description", delay_key})
    if not (spec.activity_enabled or spec.name == "activity"):
        raise ValidationFailed.field(where, f"a {spec.name} cannot be the regarding record of a task")
    subject = action.get("subject")
    if kind == "create_task" and (not isinstance(subject, str) or not subject.strip()):
        raise ValidationFailed.field(f"{where}.subject", "a task needs a subject")
    if subject is not None and (not isinstance(subject, str) or len(subject) > 400):
        raise ValidationFailed.field(f"{where}.subject", "text of at most 400 characters")
    out: dict[str, Any] = {"type": kind, "subject": subject.strip() if subject else None}
    if action.get("description") is not None:
        out["description"] = str(action["description"])
    delay = action.get(delay_key)
    if delay is None and kind == "follow_up":
        raise ValidationFailed.field(f"{where}.in", "when the follow-up is due, as a duration (P2D)")
    if delay is not None:
        out[delay_key] = _duration(delay, f"{where}.{delay_key}")
        if parse_duration(delay) < timedelta(0):
            raise ValidationFailed.field(f"{where}.{delay_key}", "a duration from now, not before it")
    return out


def _send_email(
    session: Session, spec: EntitySpec, cols: Mapping[str, Column[Any]], action: dict[str, Any], where: str
) -> dict[str, Any]:
    _keys(action, where, {"type", "template_id", "to"})
    if not spec.activity_enabled:
        raise ValidationFailed.field(where, f"an email cannot be regarding a {spec.name}")
    template = _exists(session, EmailTemplate, action.get("template_id"), f"{where}.template_id")
    if template.target_entity not in (None, spec.name):
        raise ValidationFailed.field(f"{where}.template_id", f"this template is for a {template.target_entity}")
    to = action.get("to") or "record"
    if to not in ("record", "primary_contact"):
        raise ValidationFailed.field(f"{where}.to", "record (the record or the contact it looks up) or primary_contact")
    if to == "primary_contact" and not any(c in cols for c in CONTACT_COLUMNS):
        raise ValidationFailed.field(f"{where}.to", f"a {spec.name} has no primary contact")
    return {"type": "send_email", "template_id": str(template.id), "to": to}


def _call_webhook(
    session: Session, spec: EntitySpec, cols: Mapping[str, Column[Any]], action: dict[str, Any], where: str
) -> dict[str, Any]:
    _keys(action, where, {"type", "webhook_id"})
    webhook = _exists(session, Webhook, action.get("webhook_id"), f"{where}.webhook_id")
    return {"type": "call_webhook", "webhook_id": str(webhook.id)}


def _exists(session: Session, model: type, value: Any, where: str) -> Any:
    try:
        found = session.get(model, uuid.UUID(str(value))) if value else None
    except ValueError:
        found = None
    if found is None:
        raise ValidationFailed.field(where, f"no {model.__tablename__.removesuffix('s')} with id {value}")
    return found


_ACTIONS = {
    "set_fields": _set_fields,
    "assign": _assign,
    "route_to_queue": _route_to_queue,
    "create_task": _task,
    "follow_up": _task,
    "send_email": _send_email,
    "call_webhook": _call_webhook,
}
