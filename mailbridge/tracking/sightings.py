"""Sightings: where each mailbox saw a tracked mail. The place (mailbox, folder, UIDVALIDITY, UID) is unique,
which is what makes a rerun idempotent: what a committed batch saw is not looked at again. Vanished
(expunged) messages only get a date on their sighting; the activity stays."""

import uuid
from collections.abc import Iterable

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from crm_core.db.types import utcnow
from crm_core.models import MailQuarantine, MailSighting, TrackedMessage
from mailbridge.tracking.results import SourceItem


def seen_places(session: Session, mailbox_id: uuid.UUID, folder: str, uidvalidity: int,
                uids: Iterable[int]) -> set[int]:
    """The UIDs of this folder (at this UIDVALIDITY) already tracked or quarantined by the mailbox."""
    wanted = list(uids)
    if not wanted:
        return set()
    seen = set(session.scalars(select(MailSighting.uid).where(
        MailSighting.mailbox_id == mailbox_id, MailSighting.folder == folder,
        MailSighting.uidvalidity == uidvalidity, MailSighting.uid.in_(wanted))))
    seen.update(uid for uid in session.scalars(select(MailQuarantine.uid).where(
        MailQuarantine.mailbox_id == mailbox_id, MailQuarantine.folder == folder,
        MailQuarantine.uidvalidity == uidvalidity, MailQuarantine.uid.in_(wanted))) if uid is not None)
    return seen


def seen_keys(session: Session, mailbox_id: uuid.UUID, keys: list[str]) -> set[str]:
    """The local-import keys (stored as the folder, UIDVALIDITY and UID 0) already tracked or quarantined."""
    if not keys:
        return set()
    places = [(k, 0, 0) for k in keys]
    found = set(session.scalars(select(MailSighting.folder).where(
        MailSighting.mailbox_id == mailbox_id,
        tuple_(MailSighting.folder, MailSighting.uidvalidity, MailSighting.uid).in_(places))))
    found.update(session.scalars(select(MailQuarantine.folder).where(
        MailQuarantine.mailbox_id == mailbox_id, MailQuarantine.folder.in_(keys), MailQuarantine.uid == 0)))
    return found


def add_sighting(session: Session, mailbox_id: uuid.UUID, item: SourceItem, tracked: TrackedMessage) -> bool:
    """Records that the mailbox saw `tracked` at the item's place; False if that was known already."""
    exists = session.scalar(select(MailSighting.id).where(
        MailSighting.mailbox_id == mailbox_id, MailSighting.folder == item.folder,
        MailSighting.uidvalidity == item.uidvalidity, MailSighting.uid == item.uid))
    if exists is not None:
        return False
    session.add(MailSighting(id=uuid.uuid4(), tracked=tracked, tracked_message_id=tracked.id, mailbox_id=mailbox_id,
                             folder=item.folder, uidvalidity=item.uidvalidity, uid=item.uid))
    return True


def mark_vanished(session: Session, mailbox_id: uuid.UUID, folder: str, uidvalidity: int,
                  uids: Iterable[int], *, other_uidvalidity: bool = False) -> int:
    """Dates the sightings of expunged UIDs (or, after a UIDVALIDITY change, every sighting of the folder's
    former UIDVALIDITY); returns how many. Activities are never deleted for this."""
    query = select(MailSighting).where(
        MailSighting.mailbox_id == mailbox_id, MailSighting.folder == folder, MailSighting.vanished_on.is_(None))
    if other_uidvalidity:
        query = query.where(MailSighting.uidvalidity != uidvalidity)
    else:
        wanted = list(uids)
        if not wanted:
            return 0
        query = query.where(MailSighting.uidvalidity == uidvalidity, MailSighting.uid.in_(wanted))
    now = utcnow()
    count = 0
    for sighting in session.scalars(query):
        sighting.vanished_on = now
        count += 1
    return count
