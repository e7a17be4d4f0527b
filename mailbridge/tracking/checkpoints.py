"""Folder checkpoints: the cursor of a mailbox folder's source, read before a pass and written with every
batch (in the batch's transaction, beside the activities it produced). The cursor is the source's JSON-able
dict, stored as it is: only the source reads it, and one it cannot read (`CursorInvalid`) means a resync of
the folder, which sightings and dedupe keep from doubling anything. A batch whose cursor is the stored one (a
folder with no change) writes nothing: `synced_on` says when the cursor last moved, and a pass with nothing to
store costs no write transaction."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.db.types import utcnow
from crm_core.models import FolderCheckpoint
from mailbridge.sources.base import Cursor


def _row(session: Session, mailbox_id: uuid.UUID, folder: str) -> FolderCheckpoint | None:
    return session.scalar(select(FolderCheckpoint).where(FolderCheckpoint.mailbox_id == mailbox_id,
                                                         FolderCheckpoint.folder == folder))


def load_cursor(session: Session, mailbox_id: uuid.UUID, folder: str) -> Cursor | None:
    """The folder's stored cursor, None when it never synced."""
    row = _row(session, mailbox_id, folder)
    return None if row is None else row.state


def save_cursor(session: Session, mailbox_id: uuid.UUID, folder: str, cursor: Cursor) -> None:
    row = _row(session, mailbox_id, folder)
    if row is None:
        row = FolderCheckpoint(id=uuid.uuid4(), mailbox_id=mailbox_id, folder=folder)
        session.add(row)
    elif row.state == cursor:
        return  # nothing moved
    row.state = cursor
    row.synced_on = utcnow()
