"""Subjects: the organisation's tree of topics that cases, knowledge articles and products are filed under."""

import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.db.base import Base, RecordMixin


class Subject(RecordMixin, Base):
    __tablename__ = "subjects"
    __audited__ = True

    title: Mapped[str] = mapped_column(String(500))
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
