"""Knowledge articles (Dynamics' knowledgearticle) and their links to cases (knowledgearticleincident).

Versions: every version is a row. The first one is the root article; later ones name it in root_article_id
and the version they were made from in parent_article_content_id, share its public number (KA-01001-A2B3C4)
and carry the next major or minor number; is_latest_version marks the newest of the family.

Content is plain text or Markdown, stored as given and never rendered here; HTML content, stored sanitised,
comes with a later issue.

Full text: `search_vector` is a PostgreSQL tsvector of title (weight A), keywords (B) and content (C) with a
GIN index. It is deliberately not mapped: the ORM never loads it (nor audits it), and the knowledge service
sets it with one UPDATE after each write (crm_core.services.knowledge_search). SQLite has no tsvector; the
column exists there as an always-empty TEXT so that one migration serves both, and search falls back to
LIKE (see knowledge_search)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, Unmapped, mapped_column, relationship, unmapped_column

from crm_core.db.base import Base, OwnedMixin, RecordMixin, StateMixin, owner_check


@compiles(TSVECTOR, "sqlite")
def _tsvector_on_sqlite(_type: TSVECTOR, _compiler: Any, **_kw: Any) -> str:
    # The migration declares postgresql.TSVECTOR; SQLite gets a plain column it never fills.
    return "TEXT"


knowledge_article_cases = Table(
    "knowledge_article_cases", Base.metadata,
    Column("article_id", Uuid, ForeignKey("knowledge_articles.id", ondelete="CASCADE"), primary_key=True),
    Column("case_id", Uuid, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class KnowledgeArticle(RecordMixin, OwnedMixin, StateMixin, Base):
    __tablename__ = "knowledge_articles"
    __audited__ = True

    title: Mapped[str] = mapped_column(String(500))
    content: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[str | None] = mapped_column(Text)  # "loan, mortgage, rate", as Dynamics keeps them
    subject_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("subjects.id"), index=True)
    language_code: Mapped[str] = mapped_column(String(35), default="en")  # BCP 47: en, en-GB, de-CH
    article_public_number: Mapped[str] = mapped_column(String(100), index=True)
    major_version_number: Mapped[int] = mapped_column(Integer, default=1)
    minor_version_number: Mapped[int] = mapped_column(Integer, default=0)
    root_article_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("knowledge_articles.id"), index=True)
    parent_article_content_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("knowledge_articles.id", ondelete="SET NULL")
    )
    is_latest_version: Mapped[bool] = mapped_column(Boolean, default=True)
    publish_on: Mapped[datetime | None] = mapped_column()
    expiration_date: Mapped[datetime | None] = mapped_column()
    search_vector: Unmapped[str | None] = unmapped_column(TSVECTOR)

    # Links are audited on the article (the audit hook records secondary collections).
    cases: Mapped[list[Any]] = relationship("Case", secondary=knowledge_article_cases, lazy="select")

    __table_args__ = (
        owner_check(),
        # Two versions made at once from the same one would take the same number: the second one fails.
        UniqueConstraint("article_public_number", "language_code", "major_version_number", "minor_version_number",
                         name="version"),
        Index("ix_knowledge_articles_search_vector", "search_vector", postgresql_using="gin"),
    )

    @property
    def version(self) -> str:
        return f"{self.major_version_number}.{self.minor_version_number}"
