"""Folder-level tracking rules (Dynamics' mailboxtrackingfolder, "Mailbox Auto Tracking Folder"): a folder of a
mailbox whose mail is tracked whatever the mailbox's incoming filter says, optionally linked to a regarding
record that every mail moved there is set regarding. The folder is named as the mailbox's source knows it ("CRM",
"CRM/Contoso" on Exchange, the server's own name on IMAP); the sync reads it beside the mailbox's own folders.

crm_core only stores the rules (mailbridge.tracking.folder_tracking applies them), and checks the regarding
record when a rule is made: it must exist, be readable and take an Append To from whoever makes the rule."""

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.db.base import Base, RecordMixin

MAX_TRACKING_FOLDERS = 25  # per mailbox, as Dynamics allows
MAX_TRACKING_FOLDER_LENGTH = 200  # a mailbox folder's own limit (crm_core.services.mailboxes.MAX_FOLDER_LENGTH)


class MailboxTrackingFolder(RecordMixin, Base):
    __tablename__ = "mailbox_tracking_folders"

    mailbox_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"), index=True)
    folder: Mapped[str] = mapped_column(String(MAX_TRACKING_FOLDER_LENGTH))
    # None (both): mail moved there is tracked, linked wherever correlation links it.
    regarding_type: Mapped[str | None] = mapped_column(String(64))
    regarding_id: Mapped[uuid.UUID | None]

    __table_args__ = (
        UniqueConstraint("mailbox_id", "folder", name="uq_mailbox_tracking_folders_folder"),
        CheckConstraint("(regarding_type IS NULL) = (regarding_id IS NULL)", name="regarding_pair"),
    )

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        """On the mailbox's trail, as its other options are: who added or removed which rule."""
        return "mailbox", self.mailbox_id, f"tracking_folder.{self.id}"
