"""Running rules: for each pending rule event, every active rule of its entity whose trigger it fires and whose
conditions the record meets runs once, as its owner, in a transaction of its own.

Exactly once per (rule, event): the run row carries a unique (rule, event key) and is written in the run's own
transaction, before the actions and committed with them. A second worker, or the same event looked at again
after a crash, meets the key and leaves. A run that fails is rolled back whole and recorded as failed, with
what it had done and the error.

Loops: a change made by a rule's action carries the chain of runs that led to it (crm_core.automation.events).
A rule that would run again on a record its own run changed earlier in the chain, or a chain deeper than the
limit (settings: rule_max_depth), is stopped and recorded as "loop_stopped"."""

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from crm_core.automation import conditions as cond
from crm_core.automation.actions import Context, RecordServices, Target, perform
from crm_core.automation.definitions import TRIGGER_EVENTS
from crm_core.automation.events import Chain, stamp
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import SharedWork, UnitOfWork
from crm_core.entities import entity
from crm_core.errors import CrmError
from crm_core.models import BusinessRule, BusinessRuleRun, RuleEvent
from crm_core.security.principal import load_principal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Occurrence:
    """Something a rule may run for: a change (a rule event), a date reached, an SLA warning."""

    key: str  # unique per rule: the event id, relative_time:record:date, sla_warning:kpi
    event_type: str
    entity: str
    record_id: uuid.UUID
    event_id: uuid.UUID | None = None
    chain: Chain = field(default_factory=Chain)


@dataclass
class Summary:
    events: int = 0
    succeeded: int = 0
    failed: int = 0
    loop_stopped: int = 0

    def count(self, outcome: str | None) -> None:
        if outcome is not None:
            setattr(self, outcome, getattr(self, outcome) + 1)


def trigger_fires(
    trigger: Mapping[str, Any], event_type: str, changes: Mapping[str, Any], cols: Mapping[str, Column[Any]]
) -> bool:
    """Whether a change event fires a change-driven trigger (a threshold: the value crossed it)."""
    kind = trigger.get("type")
    if event_type not in TRIGGER_EVENTS.get(kind, ()):  # type: ignore[arg-type]
        return False
    if kind == "updated":
        fields = trigger.get("fields") or []
        return not fields or any(f in changes for f in fields)
    if kind == "threshold":
        name = trigger["field"]
        if name not in changes or name not in cols:
            return False
        old, new = changes[name]
        return not cond.holds(trigger, cols[name], old) and cond.holds(trigger, cols[name], new)
    return True


def run_pending(
    factory: sessionmaker[Session],
    services: RecordServices,
    max_depth: int,
    limit: int = 200,
    summary: Summary | None = None,
) -> Summary:
    """The pending rule events, oldest first: each one's rules run, then it is marked processed."""
    summary = summary or Summary()
    with UnitOfWork(factory) as uow:
        ids = list(
            uow.session.scalars(
                select(RuleEvent.id)
                .where(RuleEvent.processed_on.is_(None))
                .order_by(RuleEvent.occurred_on, RuleEvent.id)
                .limit(limit)
            )
        )
    for event_id in ids:
        process_event(factory, services, max_depth, event_id, summary)
    return summary


def process_event(
    factory: sessionmaker[Session], services: RecordServices, max_depth: int, event_id: uuid.UUID, summary: Summary
) -> None:
    with UnitOfWork(factory) as uow:
        event = uow.session.get(RuleEvent, event_id)
        if event is None or event.processed_on is not None:
            return
        rules = uow.session.scalars(
            select(BusinessRule)
            .where(BusinessRule.is_active.is_(True), BusinessRule.entity == event.entity)
            .order_by(BusinessRule.created_on)
        )
        cols = cond.columns(entity(event.entity).model)
        fired = [r.id for r in rules if trigger_fires(r.trigger, event.event_type, event.changes or {}, cols)]
        occurrence = Occurrence(
            str(event.id),
            event.event_type,
            event.entity,
            event.record_id,
            event.id,
            Chain(event.depth, tuple((a, b) for a, b in event.chain or []), event.origin_run_id),
        )
    for rule_id in fired:
        summary.count(run_rule(factory, services, max_depth, rule_id, occurrence))
    with UnitOfWork(factory) as uow:
        event = uow.session.get(RuleEvent, event_id)
        if event is not None:
            event.processed_on = utcnow()
            uow.commit()
    summary.events += 1


def prune_events(factory: sessionmaker[Session], keep: timedelta = timedelta(days=7)) -> int:
    """Processed rule events older than `keep` (the runs they caused stay in the history)."""
    with UnitOfWork(factory) as uow:
        cutoff = utcnow() - keep
        removed = uow.session.execute(delete(RuleEvent).where(RuleEvent.processed_on < cutoff)).rowcount
        uow.commit()
    return int(removed or 0)


def _already_run(session: Session, rule_id: uuid.UUID, key: str) -> bool:
    return (
        session.scalar(
            select(BusinessRuleRun.id).where(BusinessRuleRun.rule_id == rule_id, BusinessRuleRun.event_key == key)
        )
        is not None
    )


def run_rule(
    factory: sessionmaker[Session],
    services: RecordServices,
    max_depth: int,
    rule_id: uuid.UUID,
    occ: Occurrence,
    now: datetime | None = None,
) -> str | None:
    """Runs the rule for the occurrence unless it ran for it already or its conditions do not hold; returns
    the run's outcome (None: no run)."""
    with UnitOfWork(factory) as uow:
        rule = uow.session.get(BusinessRule, rule_id)
        if rule is None or not rule.is_active or _already_run(uow.session, rule_id, occ.key):
            return None
        owner = rule.owning_user_id
    done: list[dict[str, Any]] = []
    acting = False  # the failure, if any, is an action's
    started = utcnow()
    run_id = uuid.uuid4()
    with UnitOfWork(factory, actor_id=owner) as uow:
        rule = uow.session.get(BusinessRule, rule_id)
        assert rule is not None
        version, actions = rule.version, list(rule.actions)
        try:
            if owner is None:
                raise CrmError("the rule has no owner to run as (a team owns it)")
            principal = load_principal(uow.session, owner)
            spec = entity(rule.entity)
            service = services.get(rule.entity)
            if service is None:
                raise CrmError(f"{rule.entity} records cannot be read by a rule")
            record = service(SharedWork(uow), principal).get(occ.record_id)
            if not cond.evaluate(rule.conditions, cond.columns(spec.model), record):
                return None
            run = _run_row(rule_id, version, occ, run_id, started)
            if (str(rule_id), str(occ.record_id)) in occ.chain.links:
                run.outcome = "loop_stopped"
                run.error = (
                    "stopped: this rule changed this record earlier in the same chain of rule runs "
                    f"(depth {occ.chain.depth}, started by run {occ.chain.origin_run_id})"
                )
            elif occ.chain.depth >= max_depth:
                run.outcome = "loop_stopped"
                run.error = f"stopped: {occ.chain.depth} rule runs in a row, the limit is {max_depth}"
            uow.session.add(run)
            try:
                uow.session.flush()  # the (rule, event) key: a run already made elsewhere stops this one here
            except IntegrityError:
                return None  # another worker ran it (or is running it) for this event
            if run.outcome == "succeeded":
                stamp(uow.session, occ.chain.then(rule_id, occ.record_id, run_id))
                ctx = Context(uow, principal, services, rule, run_id, now or utcnow())
                target = Target(spec, record)
                acting = True
                for action in actions:
                    # The trail names a rule's change as such (a verb's own name, "assign", wins for its flush).
                    uow.set_action("rule")
                    done.append(perform(ctx, target, action))
                run.actions = done
            run.finished_on = utcnow()
            uow.commit()
            return run.outcome
        except Exception as exc:  # a rule's failure is recorded, and must not stop the other rules
            if not isinstance(exc, CrmError):
                log.exception("rule %s failed on %s %s", rule_id, occ.entity, occ.record_id)
            error = _describe(exc)
            failed_action = actions[len(done)] if acting and len(done) < len(actions) else None
    return _record_failure(factory, rule_id, version, occ, run_id, started, done, failed_action, error)


def _run_row(
    rule_id: uuid.UUID, version: int, occ: Occurrence, run_id: uuid.UUID, started: datetime
) -> BusinessRuleRun:
    return BusinessRuleRun(
        id=run_id,
        rule_id=rule_id,
        rule_version=version,
        event_key=occ.key,
        event_type=occ.event_type,
        event_id=occ.event_id,
        entity=occ.entity,
        record_id=occ.record_id,
        outcome="succeeded",
        actions=[],
        depth=occ.chain.depth,
        origin_run_id=occ.chain.origin_run_id,
        started_on=started,
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, CrmError):
        errors = exc.extra.get("errors") or []
        fields = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return f"{type(exc).__name__}: {exc.detail}" + (f" ({fields})" if fields and fields not in exc.detail else "")
    return f"{type(exc).__name__}: {exc}"[:2000]


def _record_failure(
    factory: sessionmaker[Session],
    rule_id: uuid.UUID,
    version: int,
    occ: Occurrence,
    run_id: uuid.UUID,
    started: datetime,
    done: list[dict[str, Any]],
    failed_action: Mapping[str, Any] | None,
    error: str,
) -> str | None:
    """The failed run, in a transaction of its own: the actions it had done (rolled back with it) and the one
    that failed."""
    actions = [{**a, "rolled_back": True} for a in done]
    if failed_action is not None:
        actions.append({"type": failed_action["type"], "error": error})
    with UnitOfWork(factory) as uow:
        run = _run_row(rule_id, version, occ, run_id, started)
        run.outcome, run.actions, run.error, run.finished_on = "failed", actions, error, utcnow()
        uow.session.add(run)
        try:
            uow.commit()
        except IntegrityError:
            return None
    return "failed"
