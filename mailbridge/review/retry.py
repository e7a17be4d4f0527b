"""Trying a quarantined message again, after a fix or a limit raised: its raw bytes go through the whole
pipeline (mailbridge.tracking.track_item) as if its mailbox had just fetched them from the same place.

Tracked, recognised as a duplicate or skipped (a filter, the block list, a tombstone): the quarantine row is
discarded (audited as "retry") with its bytes unless the tracked mail keeps them. Unreadable again: the row
stays, with the new reason and message. Needs Write on mail_quarantine (administrators)."""

import uuid
from dataclasses import dataclass

from crm_core.db.savepoints import ensure_transaction
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services.mail_privacy import free_blobs
from crm_core.services.quarantine import QuarantineService
from mailbridge.tracking.context import load_mailbox, mailbox_context
from mailbridge.tracking.options import TrackingOptions
from mailbridge.tracking.pipeline import track_item
from mailbridge.tracking.results import Outcome, SourceItem


@dataclass(frozen=True)
class RetryResult:
    outcome: str  # tracked, duplicate, skipped, quarantined
    reason: str | None
    detail: str | None
    email_id: uuid.UUID | None
    still_quarantined: bool


def retry_quarantined(uow: UnitOfWork, principal: Principal, record_id: uuid.UUID,
                      options: TrackingOptions) -> RetryResult:
    session = uow.session
    row = QuarantineService(uow, principal).get(record_id, Privilege.WRITE)
    ensure_transaction(session)
    item = SourceItem(row.folder, row.uidvalidity or 0, row.uid or 0, bytes(row.raw.content))
    ctx = mailbox_context(load_mailbox(session, row.mailbox_id))
    uow.set_action("retry")
    outcome: Outcome = track_item(uow, ctx, item, options)
    still = outcome.kind == "quarantined"
    if not still:
        digest = row.raw_sha256
        session.delete(row)
        session.flush()
        free_blobs(session, {digest})
    uow.commit()
    return RetryResult(outcome.kind, outcome.reason, outcome.detail, outcome.email_id, still)
