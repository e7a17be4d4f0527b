"""Email-to-case (DOMAIN.md §9, Dynamics' convertrule and convertruleitem): automatic record creation rules on
the mailbox of a queue, and what they decided about each mail.

- `CaseCreationRule`: one per source queue may be Active (the database keeps it true); its options say who may
  open a case by mail (unknown senders, customers with an active contract), what a reply to a resolved case
  does, and the acknowledgement sent back.
- `CaseCreationRuleItem`: in order, conditions on the mail and what the case it creates gets.
- `CaseRuleDecision`: one per tracked incoming mail a rule looked at: the rule and item, what happened (or why
  nothing did), the case and the acknowledgement. Recorded in the email's audit trail too; it is also what
  limits acknowledgements per sender and day.

crm_core imports nothing from mailbridge: the vocabularies the rules engine writes are spelled out here."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.db.base import Base, RecordMixin, StateMixin
from crm_core.db.types import JsonDoc, utcnow

REPLY_TO_RESOLVED = ("reopen", "new_case")
# created: a new case; added: the mail joined the active case of its thread; reopened: a resolved case came
# back; skipped: nothing was created (the reason says why); failed: the case could not be made (detail).
OUTCOMES = ("created", "added", "reopened", "skipped", "failed")
# queued: an acknowledgement waits in Pending Send; the others say why none was made.
ACKNOWLEDGEMENTS = ("queued", "off", "no_case", "machine_mail", "own_address", "limit_reached", "no_address")
DEFAULT_ACK_SUBJECT = "We received your request: {title} ({case_number})"
DEFAULT_ACK_BODY = ("Dear {customer_name},\n\nthank you for your message. We opened case {case_number} "
                    "about \"{title}\" and will get back to you soon. Please keep the case number in the subject "
                    "when you write to us about it.\n")


def _among(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class CaseCreationRule(RecordMixin, StateMixin, Base):
    """Dynamics' convertrule for email: Draft(0) or Active(1); an active rule is read-only."""

    __tablename__ = "case_creation_rules"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str | None] = mapped_column(Text)
    queue_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("queues.id"), index=True)
    allow_unknown_sender: Mapped[bool] = mapped_column(Boolean, default=False)
    check_active_contract: Mapped[bool] = mapped_column(Boolean, default=False)
    send_acknowledgement: Mapped[bool] = mapped_column(Boolean, default=False)
    acknowledgement_subject: Mapped[str] = mapped_column(String(400), default=DEFAULT_ACK_SUBJECT)
    acknowledgement_body: Mapped[str] = mapped_column(Text, default=DEFAULT_ACK_BODY)
    acknowledgement_limit: Mapped[int] = mapped_column(SmallInteger, default=3)  # per sender and day
    reply_to_resolved: Mapped[str] = mapped_column(String(10), default="reopen")
    resolved_since_days: Mapped[int] = mapped_column(SmallInteger, default=7)

    items: Mapped[list["CaseCreationRuleItem"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CaseCreationRuleItem.sequence_number",
    )

    __table_args__ = (
        # One active rule per source queue, even when two admins activate at the same moment.
        Index("uq_case_creation_rules_one_active", "queue_id", unique=True,
              sqlite_where=text("statecode = 1"), postgresql_where=text("statecode = 1")),
        CheckConstraint(_among("reply_to_resolved", REPLY_TO_RESOLVED), name="reply_to_resolved"),
        CheckConstraint("acknowledgement_limit BETWEEN 0 AND 100", name="acknowledgement_limit"),
        CheckConstraint("resolved_since_days BETWEEN 0 AND 3650", name="resolved_since_days"),
    )


class CaseCreationRuleItem(Base):
    """One step of a rule: conditions on the mail, and the priority, type, subject and owner of the case."""

    __tablename__ = "case_creation_rule_items"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    rule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("case_creation_rules.id", ondelete="CASCADE"), index=True)
    sequence_number: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(160))
    conditions: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    priority_code: Mapped[int | None] = mapped_column(SmallInteger)
    case_type_code: Mapped[int | None] = mapped_column(SmallInteger)
    subject_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id"))
    # The case's owner; neither: the owner of the rule's queue.
    assign_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    assign_team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id"))

    __table_args__ = (
        CheckConstraint("assign_user_id IS NULL OR assign_team_id IS NULL", name="one_owner"),
    )

    @property
    def assign_to_type(self) -> str | None:
        return "user" if self.assign_user_id else "team" if self.assign_team_id else None

    @property
    def assign_to_id(self) -> uuid.UUID | None:
        return self.assign_user_id or self.assign_team_id

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return ("case_creation_rule", self.rule_id, f"item.{self.id}") if self.rule_id else None


class CaseRuleDecision(Base):
    """What the active rule of a queue decided about one tracked incoming mail (one row per mail)."""

    __tablename__ = "case_rule_decisions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), unique=True)
    rule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_creation_rules.id", ondelete="SET NULL"), index=True)
    item_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("case_creation_rule_items.id", ondelete="SET NULL"))
    sender_address: Mapped[str | None] = mapped_column(String(320), index=True)
    outcome: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(32))  # a code: auto_reply, unknown_sender, no_item_matched...
    detail: Mapped[str] = mapped_column(Text, default="")  # the decision in words
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    acknowledgement: Mapped[str] = mapped_column(String(16))
    acknowledgement_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("activities.id", ondelete="SET NULL"),
                                                                index=True)
    decided_on: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (
        CheckConstraint(_among("outcome", OUTCOMES), name="outcome"),
        CheckConstraint(_among("acknowledgement", ACKNOWLEDGEMENTS), name="acknowledgement"),
    )

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return ("activity", self.email_id, "case_rule") if self.email_id else None
