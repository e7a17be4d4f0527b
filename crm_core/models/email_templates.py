"""Email templates (Dynamics' template): a named subject and body with placeholders such as
`{{contact.first_name|there}}`, for one entity (its records fill them) or global (target_entity None).
The text is stored as written; crm_core.services.template_rendering parses, checks and renders it."""

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.db.base import Base, OwnedMixin, RecordMixin


class EmailTemplate(RecordMixin, OwnedMixin, Base):
    __tablename__ = "email_templates"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # The entity whose records fill it (contact, case...); None: a global template (the sender's fields only).
    target_entity: Mapped[str | None] = mapped_column(String(64), index=True)
    language_code: Mapped[str] = mapped_column(String(35), default="en")  # BCP 47, as knowledge articles
    subject: Mapped[str] = mapped_column(String(1000))
    body_text: Mapped[str | None] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
