"""Mail tracking (issue 4): what the pipeline (mailbridge.tracking) remembers about the mail it tracked.

- `TrackedMessage`: one row per distinct mail, beside the email activity it became: its normalised
  Message-ID and content fingerprint (dedupe), the signal that linked it, a confidence and the other
  candidates (every link is explainable), and whether a person should review the link.
- `MailSighting`: where a mailbox saw it (folder, UIDVALIDITY, UID, or a local import's stable key). Unique
  per place, so a rerun finds what it already did; one mail seen by several mailboxes has several sightings.
- `FolderCheckpoint`: a mailbox folder's IMAP sync state, committed with the activities of each batch.
- `MailQuarantine`: a message that could not be read, with its raw bytes and the reason; admins read it.
- A tombstone is a `TrackedMessage` without an email (`untracked_on` set): a user untracked the mail, or an
  admin purged an address; its Message-ID and fingerprint (no content) keep the next sync from tracking it
  again.
- `MailBlob` and `EmailAttachment`: content-addressed storage (sha256 -> bytes) for raw messages and
  attachments, and the attachment rows of an email.

crm_core imports nothing from mailbridge, so the signal and reason vocabularies are spelled out here."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.db.base import Base, RecordMixin
from crm_core.db.types import JsonDoc, utcnow

# What linked a tracked mail to the CRM, strongest first. "conversation" is for connectors that report a
# conversation id (Exchange); "manual" is a person's re-link; "none": nothing did.
SIGNALS = ("token", "in_reply_to", "references", "conversation", "address", "smart_match", "manual", "none")
# linked: a signal decided; unlinked: nothing to link to; needs_review: ambiguous, candidates kept, no
# guess made; reviewed: a person decided.
LINK_STATUSES = ("linked", "unlinked", "needs_review", "reviewed")


def _among(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class MailBlob(Base):
    """Bytes stored once by their sha256: raw messages kept for audit, attachments, quarantined mail."""

    __tablename__ = "mail_blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_on: Mapped[datetime] = mapped_column(default=utcnow)


class TrackedMessage(Base):
    __tablename__ = "tracked_messages"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    # None: a tombstone (untracked_on says when); dedupe still finds it, so the mail is not tracked again.
    email_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    # sha256 of the normalised thread subject, for smart matching; None for an empty subject.
    thread_key: Mapped[str | None] = mapped_column(String(64), index=True)
    signal: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    link_status: Mapped[str] = mapped_column(String(16))
    # The other records or threads it could have been linked to: [{"type", "id", "signal", "why"}].
    candidates: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    # The tracked email of the same thread that correlation found (token, In-Reply-To, References, match).
    correlated_email_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("activities.id", ondelete="SET NULL"),
                                                                 index=True)
    raw_sha256: Mapped[str | None] = mapped_column(ForeignKey("mail_blobs.sha256"))  # None: not kept
    raw_size: Mapped[int] = mapped_column(BigInteger, default=0)
    defects: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    is_auto_reply: Mapped[bool] = mapped_column(Boolean, default=False)
    is_bulk: Mapped[bool] = mapped_column(Boolean, default=False)
    created_on: Mapped[datetime] = mapped_column(default=utcnow)
    # A person's decision on the link (relink or confirm): when and who (no FK: the trail outlives users).
    reviewed_on: Mapped[datetime | None]
    reviewed_by_id: Mapped[uuid.UUID | None]
    redacted_on: Mapped[datetime | None]  # bodies, attachments and raw bytes removed; the activity stays
    untracked_on: Mapped[datetime | None]  # a tombstone since then

    __table_args__ = (
        CheckConstraint(_among("signal", SIGNALS), name="signal"),
        CheckConstraint(_among("link_status", LINK_STATUSES), name="link_status"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
    )

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return ("activity", self.email_id, "tracking") if self.email_id else None


class MailSighting(Base):
    """One place a mailbox saw a tracked mail. IMAP: folder, UIDVALIDITY and UID; a local import: the item's
    stable key as the folder, UIDVALIDITY and UID 0."""

    __tablename__ = "mail_sightings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tracked_message_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tracked_messages.id", ondelete="CASCADE"), index=True)
    mailbox_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    seen_on: Mapped[datetime] = mapped_column(default=utcnow)
    vanished_on: Mapped[datetime | None]  # expunged from the folder since; the activity stays

    tracked: Mapped[TrackedMessage] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (UniqueConstraint("mailbox_id", "folder", "uidvalidity", "uid", name="uq_mail_sightings_place"),)

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        tracked = self.tracked  # a tombstone's sightings belong to no activity any more
        if tracked is None or tracked.email_id is None:
            return None
        return ("activity", tracked.email_id, f"sighting.{self.id}")


class FolderCheckpoint(Base):
    """The sync cursor of one mailbox folder: what its mail source returned with the last committed batch (an
    IMAP folder's is its FolderState), stored as JSON and handed back to the source on the next pass."""

    __tablename__ = "mail_folder_checkpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    mailbox_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    folder: Mapped[str] = mapped_column(String(500))
    state: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    synced_on: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("mailbox_id", "folder", name="uq_mail_folder_checkpoints_place"),)


class MailQuarantine(RecordMixin, Base):
    """A message the pipeline could not read: its raw bytes, where it was, the reason code (mailbridge's
    quarantine reasons) and a message in words. One row per mailbox and content: seen again, it is not doubled."""

    __tablename__ = "mail_quarantine"
    __audited__ = True  # when it came, and who discarded or retried it

    mailbox_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"), index=True)
    folder: Mapped[str] = mapped_column(String(500))
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    raw_sha256: Mapped[str] = mapped_column(ForeignKey("mail_blobs.sha256"))
    raw_size: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(32), index=True)
    message: Mapped[str] = mapped_column(Text)
    quarantined_on: Mapped[datetime] = mapped_column(default=utcnow)

    raw: Mapped[MailBlob] = relationship(lazy="select")

    __table_args__ = (UniqueConstraint("mailbox_id", "raw_sha256", name="uq_mail_quarantine_content"),)


class EmailAttachment(Base):
    """An attachment (or inline part) of a tracked email; its bytes are the blob of the same sha256, except
    when `too_large` (metadata and hash only)."""

    __tablename__ = "email_attachments"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str | None] = mapped_column(String(400))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    content_id: Mapped[str | None] = mapped_column(String(400))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    too_large: Mapped[bool] = mapped_column(Boolean, default=False)
    inline: Mapped[bool] = mapped_column(Boolean, default=False)
    is_tnef: Mapped[bool] = mapped_column(Boolean, default=False)

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return ("activity", self.email_id, f"attachment.{self.id}") if self.email_id else None
