"""Business rules (Dynamics' workflows, Salesforce's record-triggered flows): what an administrator defines
without code, stored as data. A rule names an entity, a trigger, conditions and an ordered list of actions;
crm_core.automation checks the definition at save, writes the events rules wait for in the transaction of
the change (the outbox), and the workers run them, once per (rule, event), recording every run.

Each change of a definition makes a new version: the rule keeps its number, and the versions table keeps every
definition as it was (the audit trail shows who changed what)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.db.base import Base, OwnedMixin, RecordMixin
from crm_core.db.types import JsonDoc, utcnow

RUN_OUTCOMES = ("succeeded", "failed", "loop_stopped")


class BusinessRule(RecordMixin, OwnedMixin, Base):
    """A rule, run as its owner (a user): his privileges decide what its actions may do."""

    __tablename__ = "business_rules"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    entity: Mapped[str] = mapped_column(String(64), index=True)  # the records it watches: lead, case...
    trigger: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # {"type": "updated", "fields": [...]}...
    conditions: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)  # {"all": [{field, op, value}...]}
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)  # [{"type": "set_fields"...}]
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)  # a new rule is a draft
    activated_on: Mapped[datetime | None]  # time-driven triggers count from here
    version: Mapped[int] = mapped_column(Integer, default=1)


class BusinessRuleVersion(Base):
    """A definition as it was saved: version 1 at creation, one more at each change of it."""

    __tablename__ = "business_rule_versions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    rule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("business_rules.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    definition: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # name, entity, trigger, conditions, actions
    saved_on: Mapped[datetime] = mapped_column(default=utcnow)
    saved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    __table_args__ = (UniqueConstraint("rule_id", "version", name="uq_business_rule_versions_rule_version"),)


class RuleEvent(Base):
    """The outbox of rule events: one change of one record that some active rule waits for, written in the
    change's transaction, with the chain of rule runs that caused it (empty for a user's change)."""

    __tablename__ = "rule_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_type: Mapped[str] = mapped_column(String(64))  # record.created, record.updated, email.tracked
    entity: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[uuid.UUID]
    changes: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)  # {field: [old, new]}, the trail's
    user_id: Mapped[uuid.UUID | None]
    occurred_on: Mapped[datetime] = mapped_column(default=utcnow)
    depth: Mapped[int] = mapped_column(Integer, default=0)  # rule runs between a user's change and this one
    chain: Mapped[list[list[str]]] = mapped_column(JsonDoc, default=list)  # [[rule_id, record_id]...] so far
    origin_run_id: Mapped[uuid.UUID | None]  # the run whose action made this change
    processed_on: Mapped[datetime | None]

    __table_args__ = (Index("ix_rule_events_pending", "processed_on", "occurred_on"),)


class BusinessRuleRun(Base):
    """One run of a rule for one event (a change, a date reached, an SLA warning): at most one per
    (rule, event_key), which is what makes a run happen once however often the workers look."""

    __tablename__ = "business_rule_runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    rule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("business_rules.id", ondelete="CASCADE"), index=True)
    rule_version: Mapped[int] = mapped_column(Integer)
    event_key: Mapped[str] = mapped_column(String(200))  # the event id, or relative_time:record:date, sla:kpi
    event_type: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[uuid.UUID | None]  # the rule event, for change-driven runs
    entity: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[uuid.UUID | None]
    outcome: Mapped[str] = mapped_column(String(16))
    actions: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)  # what each action did
    error: Mapped[str | None] = mapped_column(Text)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    origin_run_id: Mapped[uuid.UUID | None]
    started_on: Mapped[datetime] = mapped_column(default=utcnow)
    finished_on: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("rule_id", "event_key", name="uq_business_rule_runs_rule_event"),
        CheckConstraint("outcome IN ('succeeded', 'failed', 'loop_stopped')", name="outcome"),
        Index("ix_business_rule_runs_history", "rule_id", "started_on"),
    )


class RuleScan(Base):
    """How far the periodic scan of a time-driven rule (relative_time, sla_warning) has looked."""

    __tablename__ = "business_rule_scans"

    rule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("business_rules.id", ondelete="CASCADE"), primary_key=True)
    scanned_until: Mapped[datetime]
