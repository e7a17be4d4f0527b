"""Every write audited, in the same transaction: a before_flush hook records who changed what, old and new.

Hooked on the session factory rather than called by services, so that no service can forget it. Child rows
(addresses, activity parties) are recorded against their parent record through `audit_target()`.

Rows inserted in bulk (a mail sync's batches) pass no flush: their writer records the same entries through
`created_changes` and `entry_row`, which compute what the hook would."""

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapper, Session, sessionmaker
from sqlalchemy.orm.attributes import History

from crm_core.db.row_ids import new_id
from crm_core.db.types import json_value, utcnow
from crm_core.entities import entity_of
from crm_core.models import AuditEntry

_SKIP = {"modified_on", "modified_by_id", "created_on", "created_by_id"}
# What a redacted column (a model's `__audit_redacted__`: ciphertext of passwords and tokens) shows in the
# trail: that it was set, changed or cleared, never its value.
REDACTED = "***"


def install(factory: sessionmaker[Session]) -> None:
    event.listen(factory, "before_flush", _before_flush)


def _target(obj: Any) -> tuple[str, uuid.UUID, str] | None:
    """(entity, record id, field prefix) under which a change of `obj` is recorded, or None."""
    if getattr(obj, "__audited__", False):
        if obj.id is None:
            obj.id = uuid.uuid4()
        return entity_of(obj).name, obj.id, ""
    hook = getattr(obj, "audit_target", None)
    return hook() if hook else None


# json_value's answers for the commonest types, without its checks (a mail batch audits thousands of values).
_PLAIN = frozenset({str, int, float, bool, list, dict})
_AS_TEXT: dict[type, Callable[[Any], str]] = {uuid.UUID: str, datetime: datetime.isoformat}


def _shown(key: str, value: Any, redacted: frozenset[str]) -> Any:
    if key in redacted:
        return REDACTED if value is not None else None
    kind = type(value)
    if value is None or kind in _PLAIN:
        return value
    as_text = _AS_TEXT.get(kind)
    return as_text(value) if as_text is not None else json_value(value)


@cache
def _column_keys(mapper: Mapper[Any]) -> tuple[str, ...]:
    return tuple(attr.key for attr in mapper.column_attrs if attr.key not in _SKIP)


@cache
def _model_keys(model: type) -> tuple[tuple[str, ...], frozenset[str]]:
    return _column_keys(inspect(model)), getattr(model, "__audit_redacted__", frozenset())


def created_changes(model: type, values: Mapping[str, Any]) -> dict[str, list[Any]]:
    """What the trail records for a new `model` whose attributes are `values` (missing ones are None): for
    rows written in bulk, which no flush sees (mailbridge's batches). The same as the hook records for a new
    object with those attributes set."""
    keys, redacted = _model_keys(model)
    return {key: [None, _shown(key, value, redacted)] for key in keys if (value := values.get(key)) is not None}


def entry_row(session: Session, entity: str, record_id: uuid.UUID, operation: str,
              changes: dict[str, Any]) -> dict[str, Any]:
    """An audit_log row, as the hook would write it in this session (its actor and action), for bulk inserts."""
    action = session.info.get("audit_action")
    return {"id": new_id(), "at": utcnow(), "user_id": session.info.get("actor_id"), "entity": entity,
            "record_id": record_id, "operation": operation, "action": action or operation, "changes": changes}


def _values(obj: Any, changed_only: bool) -> dict[str, list[Any]]:
    state = inspect(obj)
    redacted: frozenset[str] = getattr(obj, "__audit_redacted__", frozenset())
    out: dict[str, list[Any]] = {}
    for key in _column_keys(state.mapper):
        if changed_only:
            hist: History = state.attrs[key].history
            if not hist.has_changes():
                continue
            old = hist.deleted[0] if hist.deleted else None
            new = hist.added[0] if hist.added else None
            if old == new:
                continue
            out[key] = [_shown(key, old, redacted), _shown(key, new, redacted)]
        else:  # a new or deleted record: its values as they are (no history to compute, which costs)
            value = getattr(obj, key)
            if value is not None:
                out[key] = [None, _shown(key, value, redacted)]
    for rel in state.mapper.relationships:
        if rel.secondary is None:
            continue
        hist = state.attrs[rel.key].history
        if hist.added or hist.deleted:
            out[rel.key] = [[str(o.id) for o in hist.deleted], [str(o.id) for o in hist.added]]
    return out


def _before_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    actor = session.info.get("actor_id")
    action = session.info.get("audit_action")
    now = utcnow()
    # One entry per record and flush: a child row's changes (an address, a party) fold into its parent's.
    entries: dict[tuple[str, uuid.UUID], AuditEntry] = {}

    def record(obj: Any, operation: str, values: Callable[[], dict[str, list[Any]]]) -> None:
        target = _target(obj)
        if target is None:
            return  # not audited: its values are not even looked at (a mail sync writes thousands of such rows)
        changes = values()
        if not changes:
            return
        entity, record_id, prefix = target
        if prefix:
            changes = {f"{prefix}.{k}": v for k, v in changes.items()}
        entry = entries.get((entity, record_id))
        if entry is None:
            entry = entries[(entity, record_id)] = AuditEntry(
                at=now, user_id=actor, entity=entity, record_id=record_id, operation="update",
                action=action or "update", changes={},
            )
        if not prefix:
            entry.operation = operation
            entry.action = action or operation
        entry.changes = {**entry.changes, **changes}

    new = [obj for obj in session.new if not isinstance(obj, AuditEntry)]
    for obj in new:  # ids first, so that child rows can name their new parent
        if getattr(obj, "id", False) is None:
            obj.id = uuid.uuid4()
    for obj in new:
        if hasattr(obj, "created_by_id") and obj.created_by_id is None:
            obj.created_by_id = actor
            obj.modified_by_id = actor
        record(obj, "create", lambda obj=obj: _values(obj, changed_only=False))
    for obj in list(session.dirty):
        if not session.is_modified(obj, include_collections=True):
            continue
        changes = _values(obj, changed_only=True)
        # A record whose child rows changed (its addresses, say) counts as modified too.
        if hasattr(obj, "modified_by_id"):
            obj.modified_by_id = actor
            obj.modified_on = now
        record(obj, "update", lambda changes=changes: changes)
    for obj in list(session.deleted):
        record(obj, "delete", lambda obj=obj: {k: [v[1], None] for k, v in _values(obj, changed_only=False).items()})
    session.add_all(entries.values())
