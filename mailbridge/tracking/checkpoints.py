"""Folder checkpoints: a mailbox folder's IMAP sync state, read before a pass and written with every batch
(in the batch's transaction, beside the activities it produced). An unreadable state means a resync of the
folder, which dedupe keeps from doubling anything."""

import logging
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.db.types import utcnow
from crm_core.models import FolderCheckpoint
from mailbridge.errors import CursorInvalid
from mailbridge.sources.imap import FolderState

log = logging.getLogger(__name__)


def _row(session: Session, mailbox_id: uuid.UUID, folder: str) -> FolderCheckpoint | None:
    return session.scalar(select(FolderCheckpoint).where(FolderCheckpoint.mailbox_id == mailbox_id,
                                                         FolderCheckpoint.folder == folder))


def load_state(session: Session, mailbox_id: uuid.UUID, folder: str) -> FolderState | None:
    row = _row(session, mailbox_id, folder)
    if row is None:
        return None
    try:
        state = FolderState.from_dict(row.state)
    except CursorInvalid as exc:
        log.warning("mailbox %s folder %s: %s; resyncing the folder", mailbox_id, folder, exc.detail)
        return None
    return state if state.folder == folder else None


def save_state(session: Session, mailbox_id: uuid.UUID, folder: str, state: FolderState) -> None:
    row = _row(session, mailbox_id, folder)
    if row is None:
        row = FolderCheckpoint(id=uuid.uuid4(), mailbox_id=mailbox_id, folder=folder)
        session.add(row)
    row.state = state.to_dict()
    row.synced_on = utcnow()
