"""Rule events, written to the outbox (rule_events) in the transaction of the change they report.

The same source as webhooks (crm_core.webhook_events): every audit entry of a flush, and those inserted in bulk
by a mail sync, stands for its events (record.created, record.updated, email.tracked...). An entry becomes a
rule event only when an active rule waits for that event on that entity, so that a CRM without rules writes
nothing more.

A rule's own actions run in a session whose info carries the chain that led to them (`stamp`): the events
their changes make carry it on, one run deeper, which is how the runner sees a loop."""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm_core import audit_outbox
from crm_core.automation.definitions import NOT_WATCHED, TRIGGER_EVENTS
from crm_core.db.types import utcnow
from crm_core.models import BusinessRule, RuleEvent
from crm_core.webhook_events import event_types

_CACHE = "rule_subscriptions"
_CHAIN = "rule_chain"
MAX_TEXT = 500  # a long text (an email body) is cut: rules compare fields, they do not read letters


@dataclass(frozen=True)
class Chain:
    """Where a change comes from: `depth` rule runs since a person's change, through these (rule, record)s."""

    depth: int = 0
    links: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    origin_run_id: uuid.UUID | None = None

    def then(self, rule_id: uuid.UUID, record_id: uuid.UUID | None, run_id: uuid.UUID) -> "Chain":
        return Chain(self.depth + 1, (*self.links, (str(rule_id), str(record_id))), run_id)


def install(factory: sessionmaker[Session]) -> None:
    """After crm_core.audit.install: the outbox reads the entries the audit hook wrote."""
    audit_outbox.install(factory, RuleEvent, event_rows, _CACHE)


def stamp(session: Session, chain: Chain) -> None:
    """The changes this session makes from now on come from this chain of rule runs."""
    session.info[_CHAIN] = chain


def _subscriptions(session: Session) -> frozenset[tuple[str, str]]:
    """(entity, event type) pairs some active rule waits for, read once per transaction."""
    cached = session.info.get(_CACHE)
    if cached is None:
        with session.no_autoflush:
            rows = session.execute(
                select(BusinessRule.entity, BusinessRule.trigger).where(BusinessRule.is_active.is_(True))
            ).all()
        cached = session.info[_CACHE] = frozenset(
            (entity, name) for entity, trigger in rows for name in TRIGGER_EVENTS.get(trigger.get("type"), ())
        )
    return cached  # type: ignore[no-any-return]


def _shown(value: Any) -> Any:
    return value[:MAX_TEXT] if isinstance(value, str) and len(value) > MAX_TEXT else value


def event_rows(session: Session, entries: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Outbox rows for audit entries (as mappings of the audit_log columns)."""
    rows: list[dict[str, Any]] = []
    waited: frozenset[tuple[str, str]] | None = None
    chain: Chain = session.info.get(_CHAIN) or Chain()
    now = utcnow()
    for entry in entries:
        entity = entry["entity"]
        if entity in NOT_WATCHED or entry["record_id"] is None:
            continue
        types = event_types(entity, entry["operation"], entry["action"], entry["changes"] or {})
        if not types:
            continue
        if waited is None:
            waited = _subscriptions(session)
            if not waited:
                return rows
        changes = {
            k: [_shown(v[0]), _shown(v[1])]
            for k, v in (entry["changes"] or {}).items()
            if "." not in k and isinstance(v, list) and len(v) == 2
        }
        rows.extend(
            {
                "id": uuid.uuid4(),
                "event_type": name,
                "entity": entity,
                "record_id": entry["record_id"],
                "changes": changes,
                "user_id": entry["user_id"],
                "occurred_on": entry["at"] or now,
                "depth": chain.depth,
                "chain": [list(link) for link in chain.links],
                "origin_run_id": chain.origin_run_id,
                "processed_on": None,
            }
            for name in types
            if (entity, name) in waited
        )
    return rows
