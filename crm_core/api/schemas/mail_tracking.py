"""Bodies of the quarantine, the link review of tracked mail and its privacy requests."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_core.api.schemas.common import RecordOut, Strict
from crm_core.services.quarantine import reason_meaning

LinkStatus = Literal["linked", "unlinked", "needs_review", "reviewed"]
Signal = Literal["token", "in_reply_to", "references", "conversation", "address", "smart_match", "manual", "none"]


# --- quarantine --------------------------------------------------------------------------------------
class QuarantineOut(RecordOut):
    mailbox_id: uuid.UUID
    folder: str = Field(description="The IMAP folder, or a local import's stable key (maildir:..., mbox:...)")
    uidvalidity: int | None
    uid: int | None
    reason: str = Field(description="empty, too_large, headers_too_large, no_headers, parse_failed, "
                                    "tracking_failed")
    reason_meaning: str = Field(default="", description="The reason in words")
    message: str = Field(description="What went wrong, in words")
    raw_size: int = Field(description="Bytes; GET .../raw returns them")
    raw_sha256: str
    quarantined_on: datetime


def quarantine_out(row: Any) -> QuarantineOut:
    out = QuarantineOut.model_validate(row, from_attributes=True)
    out.reason_meaning = reason_meaning(row.reason)
    return out


# --- link review -------------------------------------------------------------------------------------
class CandidateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    type: str = Field(description="The entity of the record it could be linked to (contact, case, activity...)")
    id: str
    name: str | None = Field(description="null where you may not read the record")
    signal: str | None
    why: str | None
    previous: bool = Field(description="true: the link a person replaced by a re-link")
    email_id: str | None = Field(description="Smart matching: the email of the thread it matched")


class AttachmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    filename: str | None
    content_type: str
    size: int
    stored: bool = Field(description="false: over the size limit, only its name, type, size and hash were kept")


class EmailLinkOut(BaseModel):
    """Why an email is linked where it is."""

    model_config = ConfigDict(from_attributes=True)

    email_id: uuid.UUID
    tracked_id: uuid.UUID | None = Field(description="null: written in the CRM, never met in a mailbox")
    subject: str
    sender_address: str | None
    sender_type: str | None
    sender_id: uuid.UUID | None
    sender_name: str | None
    sent_on: datetime | None
    regarding_type: str | None
    regarding_id: uuid.UUID | None
    regarding_name: str | None
    signal: Signal = Field(description="What linked it: token, in_reply_to, references, conversation, address, "
                                       "smart_match, manual (a person) or none")
    confidence: float
    link_status: LinkStatus
    candidates: list[CandidateOut]
    reviewed_on: datetime | None
    reviewed_by_id: uuid.UUID | None
    redacted_on: datetime | None
    raw_kept: bool = Field(description="The raw message is kept for audit")
    attachments: list[AttachmentOut]


class RelinkIn(Strict):
    regarding_type: str | None = Field(description="The entity of the new regarding record; null (with "
                                                   "regarding_id null) unlinks", examples=["case"])
    regarding_id: uuid.UUID | None


# --- privacy -----------------------------------------------------------------------------------------
class PurgeIn(Strict):
    address: str = Field(min_length=3, max_length=320, examples=["jane@customer.example"])


class PurgeOut(BaseModel):
    untracked: int = Field(description="Tracked mails from or to the address, removed (tombstones stay)")
    parties_anonymised: int = Field(description="Parties of other activities that showed the address")
    quarantined_discarded: int = Field(description="Quarantined messages that contained the address")
