"""What a rule does, each action through the service a person's request would use, as the rule's owner: his
privileges, the entity's validation and the audit trail apply to a rule as to him. The services share the
run's unit of work (SharedWork), so a run's actions commit together with its run row, or not at all.

Each action returns what it did, for the run history."""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_core.automation import conditions as cond
from crm_core.automation.definitions import CONTACT_COLUMNS
from crm_core.automation.durations import parse_duration
from crm_core.db.unit_of_work import SharedWork, UnitOfWork
from crm_core.entities import EntitySpec
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import BusinessRule, Webhook, WebhookDelivery
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services.activities import ActivityService
from crm_core.services.email_sending import request_send
from crm_core.services.email_templates import EmailTemplateService
from crm_core.services.queues import QueueItemService
from crm_core.services.records import OwnerRef, RecordService
from crm_core.webhook_events import payload

RULE_EVENT = "rule.action"  # the event type of a delivery a rule's call_webhook enqueues

RecordServices = Mapping[str, type[RecordService[Any]]]


@dataclass(frozen=True)
class Target:
    spec: EntitySpec
    record: Any

    @property
    def record_id(self) -> uuid.UUID:
        return self.record.id  # type: ignore[no-any-return]

    def regarding(self) -> tuple[str | None, uuid.UUID | None]:
        """The record an activity made by the rule is regarding: this one, or for an activity its own (maybe
        none: a tracked email that correlation linked to no record)."""
        if self.spec.name != "activity":
            return self.spec.name, self.record_id
        return self.record.regarding_type, self.record.regarding_id


@dataclass(frozen=True)
class Context:
    uow: UnitOfWork  # the run's
    principal: Principal  # the rule's owner
    services: RecordServices
    rule: BusinessRule
    run_id: uuid.UUID
    now: datetime

    def shared(self) -> SharedWork:
        return SharedWork(self.uow)

    def service(self, name: str) -> RecordService[Any]:
        service = self.services.get(name)
        if service is None:
            raise Conflict(f"{name} records cannot be changed by a rule")
        return service(self.shared(), self.principal)


def perform(ctx: Context, target: Target, action: Mapping[str, Any]) -> dict[str, Any]:
    return _DO[action["type"]](ctx, target, action)


def _set_fields(ctx: Context, target: Target, action: Mapping[str, Any]) -> dict[str, Any]:
    cols = cond.columns(target.spec.model)
    values = {k: cond.coerce(cols[k], v, f"fields.{k}") for k, v in action["fields"].items()}
    ctx.service(target.spec.name).update(target.record_id, values)
    return {"type": "set_fields", "fields": dict(action["fields"])}


def _assign(ctx: Context, target: Target, action: Mapping[str, Any]) -> dict[str, Any]:
    kind = "user" if action.get("user_id") else "team"
    owner = OwnerRef(kind, uuid.UUID(action[f"{kind}_id"]))
    ctx.service(target.spec.name).assign(target.record_id, owner)
    return {"type": "assign", "owner_type": kind, "owner_id": str(owner.id)}


def _route_to_queue(ctx: Context, target: Target, action: Mapping[str, Any]) -> dict[str, Any]:
    item, _moved = QueueItemService(ctx.shared(), ctx.principal).add(
        uuid.UUID(action["queue_id"]), target.spec.name, target.record_id
    )
    return {"type": "route_to_queue", "queue_id": action["queue_id"], "queue_item_id": str(item.id)}


def _task(ctx: Context, target: Target, action: Mapping[str, Any]) -> dict[str, Any]:
    kind = action["type"]
    delay = action.get("due_in" if kind == "create_task" else "in")
    due = ctx.now + parse_duration(delay) if delay else None
    subject = action.get("subject")
    if not subject:  # a follow-up without a subject names what it follows up
        shown = getattr(target.record, target.spec.display_column, None) or target.spec.name
        subject = f"Follow up: {shown}"
    regarding_type, regarding_id = target.regarding()
    values: dict[str, Any] = {
        "activity_type": "task",
        "subject": subject,
        "scheduled_end": due,
        "regarding_type": regarding_type,
        "regarding_id": regarding_id,
    }
    if action.get("description"):
        values["description"] = action["description"]
    task = ActivityService(ctx.shared(), ctx.principal).create(values)
    return {"type": kind, "task_id": str(task.id), "due": due.isoformat() if due else None}


def _send_email(ctx: Context, target: Target, action: Mapping[str, Any]) -> dict[str, Any]:
    regarding_type, regarding_id = target.regarding()
    if regarding_type is None or regarding_id is None:
        raise Conflict("this activity is regarding no record: there is nobody to write to")
    email = EmailTemplateService(ctx.shared(), ctx.principal).instantiate(
        uuid.UUID(action["template_id"]), regarding_type, regarding_id
    )
    if action.get("to") == "primary_contact":
        contact_id = next((getattr(target.record, c) for c in CONTACT_COLUMNS if getattr(target.record, c, None)), None)
        if contact_id is None:
            raise ValidationFailed.field("to", f"this {target.spec.name} has no primary contact")
        parties = [
            {"role": "sender", "party_type": "user", "party_id": ctx.principal.user_id},
            {"role": "to", "party_type": "contact", "party_id": contact_id},
        ]
        ActivityService(ctx.shared(), ctx.principal).update(email.id, {"parties": parties})
    sent = request_send(ctx.shared(), ctx.principal, email.id)
    return {"type": "send_email", "email_id": str(sent.id), "mailbox_id": str(sent.sending_mailbox_id)}


def _call_webhook(ctx: Context, target: Target, action: Mapping[str, Any]) -> dict[str, Any]:
    ctx.principal.require("webhook", Privilege.READ)
    webhook = ctx.uow.session.get(Webhook, uuid.UUID(action["webhook_id"]))
    if webhook is None or not webhook.is_enabled:
        raise Conflict("the webhook is gone or disabled")
    event_id = uuid.uuid4()
    body = payload(event_id, RULE_EVENT, ctx.now, target.spec.name, target.record_id, "rule", ctx.principal.user_id, {})
    body["rule"] = {
        "id": str(ctx.rule.id),
        "name": ctx.rule.name,
        "version": ctx.rule.version,
        "run_id": str(ctx.run_id),
    }
    delivery = WebhookDelivery(
        id=uuid.uuid4(),
        webhook_id=webhook.id,
        event_id=event_id,
        event_type=RULE_EVENT,
        entity=target.spec.name,
        record_id=target.record_id,
        payload=body,
        status="pending",
        attempt_count=0,
        next_attempt_at=ctx.now,
        created_on=ctx.now,
    )
    ctx.uow.session.add(delivery)
    ctx.uow.session.flush()
    return {"type": "call_webhook", "webhook_id": action["webhook_id"], "delivery_id": str(delivery.id)}


_DO: dict[str, Callable[[Context, Target, Mapping[str, Any]], dict[str, Any]]] = {
    "set_fields": _set_fields,
    "assign": _assign,
    "route_to_queue": _route_to_queue,
    "create_task": _task,
    "follow_up": _task,
    "send_email": _send_email,
    "call_webhook": _call_webhook,
}
