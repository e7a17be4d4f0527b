"""The audit log: who changed what, when, with the old and new values."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.db.base import Base
from crm_core.db.types import JsonDoc, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[uuid.UUID | None]  # no FK: the trail outlives the user
    entity: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[uuid.UUID]
    operation: Mapped[str] = mapped_column(String(8))  # create, update, delete
    action: Mapped[str] = mapped_column(String(32))  # create, update, delete, or a verb: assign, qualify...
    changes: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # {field: [old, new]}

    __table_args__ = (Index("ix_audit_log_record", "entity", "record_id", "at"),)
