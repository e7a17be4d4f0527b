"""Step: is this mail tracked already? One mail is one email activity however many mailboxes and folders
see it, so before anything is written the pipeline looks for it:

1. by Message-ID among tracked mail, accepted only when the content fingerprint (date, sender, body hash)
   agrees: a sender who reuses a Message-ID for another mail gets a second activity, not a lost mail;
2. by Message-ID among emails the CRM sent itself (no tracked row yet): our own Message-IDs are unique;
3. by fingerprint alone: a relay that rewrote the Message-ID does not double the mail."""

import uuid
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from crm_core.models import Email, TrackedMessage
from mailbridge.message import NormalisedMessage
from mailbridge.tracking.lookups import BatchLookups, TrackedLike

KnownBy = Literal["message_id", "sent_by_crm", "fingerprint"]


@dataclass(frozen=True)
class Known:
    email_id: uuid.UUID | None  # None: a tombstone (the mail was untracked)
    tracked: TrackedLike | None  # None: an email the CRM sent, not yet seen by a sync
    by: KnownBy


def find_known(session: Session, message: NormalisedMessage, lookups: BatchLookups | None = None) -> Known | None:
    if lookups is not None:
        return _find_known_in(lookups, message)
    if message.message_id:
        same_id = session.scalars(select(TrackedMessage).where(TrackedMessage.message_id == message.message_id))
        for tracked in same_id:
            if tracked.fingerprint == message.fingerprint:
                return Known(tracked.email_id, tracked, "message_id")
        sent = session.scalar(
            select(Email.id).where(Email.message_id == message.message_id,
                                   ~exists().where(TrackedMessage.email_id == Email.id)).limit(1))
        if sent is not None:
            return Known(sent, None, "sent_by_crm")
    tracked = session.scalar(
        select(TrackedMessage).where(TrackedMessage.fingerprint == message.fingerprint)
        .order_by(TrackedMessage.created_on).limit(1))
    if tracked is not None:
        return Known(tracked.email_id, tracked, "fingerprint")
    return None


def _find_known_in(lookups: BatchLookups, message: NormalisedMessage) -> Known | None:
    """find_known's three steps, answered by the batch's lookups."""
    if message.message_id:
        for tracked in lookups.tracked_with_message_id(message.message_id):
            if tracked.fingerprint == message.fingerprint:
                return Known(tracked.email_id, tracked, "message_id")
        sent = lookups.sent_without_tracking(message.message_id)
        if sent is not None:
            return Known(sent, None, "sent_by_crm")
    tracked = lookups.tracked_with_fingerprint(message.fingerprint)
    return Known(tracked.email_id, tracked, "fingerprint") if tracked is not None else None
