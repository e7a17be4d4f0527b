"""Webhooks: an administrator's subscription of a URL to CRM events, and its outbox.

A delivery row is written in the same transaction as the event it reports (crm_core.webhook_events), so a
committed change always has its delivery and a rolled-back one never does; the workers deliver them
(crm_core.services.webhook_delivery) and log every attempt."""

import uuid
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.db.base import Base, RecordMixin
from crm_core.db.types import JsonDoc, utcnow

DELIVERY_STATUSES = ("pending", "delivered", "failed")


class Webhook(RecordMixin, Base):
    __tablename__ = "webhooks"
    __audited__ = True
    # The signing secret, sealed (crm_core.security.secrets): the trail says it changed, never its value.
    __audit_redacted__: ClassVar[frozenset[str]] = frozenset({"secret_secret"})

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JsonDoc, default=list)  # record.created, case.resolved...
    entities: Mapped[list[str]] = mapped_column(JsonDoc, default=list)  # empty: every entity
    secret_secret: Mapped[str] = mapped_column(Text)
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True, index=True)


class WebhookDelivery(Base):
    """One event for one webhook (the outbox row), with where its delivery stands."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[uuid.UUID]  # the same for every webhook the event goes to: receivers dedupe by it
    event_type: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str | None] = mapped_column(String(64))
    record_id: Mapped[uuid.UUID | None]
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # the JSON body, as sent
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    completed_on: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    attempts: Mapped[list["WebhookAttempt"]] = relationship(
        order_by="WebhookAttempt.number", lazy="selectin", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )


class WebhookAttempt(Base):
    """One POST of a delivery: what came back, how long it took, and when the next one is due."""

    __tablename__ = "webhook_attempts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    attempted_on: Mapped[datetime] = mapped_column(default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)  # None: no answer (refused, timeout, DNS)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    response_excerpt: Mapped[str | None] = mapped_column(Text)  # the first bytes of the answer, as text
    next_attempt_at: Mapped[datetime | None]  # None: no retry (delivered, or given up)
