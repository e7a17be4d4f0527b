"""Webhook events, written to the outbox in the transaction of the change they report.

Every change that reaches the audit trail is an event, so the trail's hook point is ours too: after the audit
hook has written its entries for a flush, this hook turns them into deliveries for the webhooks subscribed
to them. Audit entries inserted in bulk (a mail sync's batches, crm_core.audit.entry_row) pass no flush; the
session's do_orm_execute hook sees their INSERT and does the same. A rollback takes the deliveries with it;
a commit keeps both.

Events: record.created, record.updated, record.deleted (any audited entity), case.resolved (a case's
"resolve" action) and email.tracked (an email activity written with its tracked-message row)."""

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm_core import audit_outbox
from crm_core.db.types import json_value, utcnow
from crm_core.models import Webhook, WebhookDelivery

EVENT_TYPES = ("record.created", "record.updated", "record.deleted", "case.resolved", "email.tracked")
TEST_EVENT = "webhook.test"
_OPERATION_EVENTS = {"create": "record.created", "update": "record.updated", "delete": "record.deleted"}
# Changes to these never leave: a webhook's own record (its secret, its URL) and the trail itself.
_SILENT = frozenset({"webhook", "audit"})
_CACHE = "webhook_subscriptions"


def install(factory: sessionmaker[Session]) -> None:
    """After crm_core.audit.install: the outbox reads the entries the audit hook wrote."""
    audit_outbox.install(factory, WebhookDelivery, delivery_rows, _CACHE)


def event_types(entity: str, operation: str, action: str, changes: Mapping[str, Any]) -> list[str]:
    """The events an audit entry stands for."""
    if entity in _SILENT:
        return []
    found = [_OPERATION_EVENTS[operation]] if operation in _OPERATION_EVENTS else []
    if entity == "case" and action == "resolve":
        found.append("case.resolved")
    tracked = changes.get("tracking.fingerprint")
    if entity == "activity" and isinstance(tracked, list) and tracked and tracked[0] is None:
        found.append("email.tracked")
    return found


def payload(
    event_id: uuid.UUID,
    event_type: str,
    occurred_on: datetime,
    entity: str | None,
    record_id: uuid.UUID | None,
    action: str | None,
    user_id: uuid.UUID | None,
    changes: Mapping[str, Any],
) -> dict[str, Any]:
    """The JSON body of a delivery. `changes` holds the record's own fields as {field: {"old", "new"}}
    (the trail's values: secrets show as ***); its child rows (parties, addresses) are left out."""
    return {
        "id": str(event_id),
        "type": event_type,
        "occurred_on": occurred_on.isoformat(),
        "record": None if entity is None else {"entity": entity, "id": str(record_id)},
        "action": action,
        "user_id": None if user_id is None else str(user_id),
        "changes": {
            k: {"old": v[0], "new": v[1]}
            for k, v in changes.items()
            if "." not in k and isinstance(v, list) and len(v) == 2
        },
    }


def _subscriptions(session: Session) -> list[tuple[uuid.UUID, frozenset[str], frozenset[str]]]:
    """The enabled webhooks (id, events, entities), read once per transaction."""
    cached = session.info.get(_CACHE)
    if cached is None:
        with session.no_autoflush:
            rows = session.execute(
                select(Webhook.id, Webhook.events, Webhook.entities).where(Webhook.is_enabled.is_(True))
            ).all()
        cached = session.info[_CACHE] = [(r[0], frozenset(r[1] or ()), frozenset(r[2] or ())) for r in rows]
    return cached  # type: ignore[no-any-return]


def delivery_rows(session: Session, entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Outbox rows for audit entries (as mappings of the audit_log columns)."""
    rows: list[dict[str, Any]] = []
    subscriptions: list[tuple[uuid.UUID, frozenset[str], frozenset[str]]] | None = None
    now = utcnow()
    for entry in entries:
        types = event_types(entry["entity"], entry["operation"], entry["action"], entry["changes"] or {})
        if not types:
            continue
        if subscriptions is None:
            subscriptions = _subscriptions(session)
            if not subscriptions:
                return rows
        for event_type in types:
            targets = [
                w
                for w, events, entities in subscriptions
                if event_type in events and (not entities or entry["entity"] in entities)
            ]
            if not targets:
                continue
            event_id = uuid.uuid4()
            body = payload(
                event_id,
                event_type,
                entry["at"] or now,
                entry["entity"],
                entry["record_id"],
                entry["action"],
                entry["user_id"],
                json_value(entry["changes"] or {}),
            )
            rows.extend(
                {
                    "id": uuid.uuid4(),
                    "webhook_id": w,
                    "event_id": event_id,
                    "event_type": event_type,
                    "entity": entry["entity"],
                    "record_id": entry["record_id"],
                    "payload": body,
                    "status": "pending",
                    "attempt_count": 0,
                    "next_attempt_at": now,
                    "created_on": now,
                }
                for w in targets
            )
    return rows
