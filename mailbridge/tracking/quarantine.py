"""Step: a message that cannot be read goes to quarantine with its raw bytes (in the blob store), where it
was, a reason code and a message in words; it never stops the sync. One row per mailbox and content: seen
again (a resync, a rerun of an import) the row only moves to the latest place.

Reasons are mailbridge's QUARANTINE_REASONS (normalisation refused the bytes) and `tracking_failed` (the
bytes were read but writing the mail failed, a bug to report: the message says what)."""

import hashlib
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.models import MailQuarantine
from mailbridge.message import QUARANTINE_REASONS
from mailbridge.tracking.blobs import store_blob
from mailbridge.tracking.results import Outcome, SourceItem

REASONS = {**QUARANTINE_REASONS, "tracking_failed": "the message was read, but tracking it failed"}


def quarantine(session: Session, mailbox_id: uuid.UUID, item: SourceItem, reason: str, message: str) -> Outcome:
    if reason not in REASONS:
        reason = "parse_failed"
    digest = hashlib.sha256(item.raw).hexdigest()
    row = session.scalar(select(MailQuarantine).where(MailQuarantine.mailbox_id == mailbox_id,
                                                      MailQuarantine.raw_sha256 == digest))
    if row is None:
        store_blob(session, item.raw, digest)
        row = MailQuarantine(id=uuid.uuid4(), mailbox_id=mailbox_id, raw_sha256=digest, raw_size=len(item.raw))
        session.add(row)
    row.folder, row.uidvalidity, row.uid = item.folder, item.uidvalidity, item.uid
    row.reason, row.message = reason, message.replace("\x00", "")[:2000]
    return Outcome("quarantined", reason=reason, detail=row.message)
