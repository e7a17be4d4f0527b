"""Queues, the items waiting in them, and the routing rules that send new cases to a queue or an owner.

A queue item points at its record through one real foreign key per kind (a case or an activity) rather than
a polymorphic pair: the database then enforces "one queue per record" (a unique key) and drops the item
when its record is deleted, whichever service deletes it."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, SmallInteger, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.db.base import Base, OwnedMixin, RecordMixin, StateMixin
from crm_core.db.types import JsonDoc, utcnow
from crm_core.models.security import User

# Dynamics' queuemembership: who works a private queue (and alone sees its items).
queue_members = Table(
    "queue_members", Base.metadata,
    Column("queue_id", ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Queue(RecordMixin, OwnedMixin, StateMixin, Base):
    __tablename__ = "queues"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(160), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    email_address: Mapped[str | None] = mapped_column(String(320), index=True)
    queue_view_type: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 Public, 1 Private

    members: Mapped[list[User]] = relationship(secondary=queue_members, lazy="selectin", order_by=User.email)

    @property
    def member_ids(self) -> list[uuid.UUID]:
        return [m.id for m in self.members]


class QueueItem(RecordMixin, Base):
    """A record waiting in a queue (Dynamics' queueitem): who works it, and since when it is there."""

    __tablename__ = "queue_items"

    queue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("queues.id"), index=True)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    activity_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("activities.id", ondelete="CASCADE"), unique=True
    )
    title: Mapped[str] = mapped_column(String(400))
    entered_on: Mapped[datetime] = mapped_column(default=utcnow)
    worker_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    worked_on: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("(case_id IS NULL) <> (activity_id IS NULL)", name="one_object"),
        Index("ix_queue_items_queue_entered", "queue_id", "entered_on", "id"),
    )

    @property
    def object_type(self) -> str:
        return "case" if self.case_id is not None else "activity"

    @property
    def object_id(self) -> uuid.UUID:
        object_id = self.case_id or self.activity_id
        assert object_id is not None
        return object_id

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        # Recorded in the trail of the record it carries: "which queue, who worked it" is that record's history.
        if self.case_id is None and self.activity_id is None:
            return None
        return self.object_type, self.object_id, "queue_item"


class RoutingRule(RecordMixin, StateMixin, Base):
    """Dynamics' routingrule: an ordered list of items; Draft(0) or Active(1), one active at a time."""

    __tablename__ = "routing_rules"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str | None] = mapped_column(Text)

    items: Mapped[list["RoutingRuleItem"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="RoutingRuleItem.sequence_number",
    )

    __table_args__ = (
        # The database keeps "one active rule set" true even when two admins activate at the same moment.
        Index("uq_routing_rules_one_active", "statecode", unique=True,
              sqlite_where=text("statecode = 1"), postgresql_where=text("statecode = 1")),
    )


class RoutingRuleItem(Base):
    """One step of a rule: conditions on the case, and the queue or the user/team it goes to."""

    __tablename__ = "routing_rule_items"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    rule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("routing_rules.id", ondelete="CASCADE"), index=True)
    sequence_number: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(160))
    conditions: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    queue_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("queues.id"), index=True)
    assign_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    assign_team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id"))

    __table_args__ = (
        CheckConstraint(
            "(CASE WHEN queue_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN assign_user_id IS NULL THEN 0 ELSE 1 END)"
            " + (CASE WHEN assign_team_id IS NULL THEN 0 ELSE 1 END) = 1", name="one_target",
        ),
    )

    @property
    def assign_to_type(self) -> str | None:
        return "user" if self.assign_user_id else "team" if self.assign_team_id else None

    @property
    def assign_to_id(self) -> uuid.UUID | None:
        return self.assign_user_id or self.assign_team_id

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return ("routing_rule", self.rule_id, f"item.{self.id}") if self.rule_id else None
