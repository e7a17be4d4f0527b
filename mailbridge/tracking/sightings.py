"""Sightings: where each mailbox saw a tracked mail. The place (mailbox, folder, UIDVALIDITY, UID; a local
import's stable key as the folder, with UIDVALIDITY and UID 0) is unique, which is what makes a rerun
idempotent: what a committed batch saw is not looked at again. Vanished (expunged) messages only get a date
on their sighting; the activity stays."""

import uuid
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from crm_core.db.row_ids import new_id
from crm_core.db.types import utcnow
from crm_core.models import MailQuarantine, MailSighting, TrackedMessage
from mailbridge.sources.base import Place
from mailbridge.tracking.results import SourceItem


def _by_folder(places: Iterable[Place]) -> tuple[list[str], dict[tuple[str, int], list[int]]]:
    """Keyed places (UID 0: a local key is the folder) apart from numbered ones grouped by folder and
    UIDVALIDITY, so that each kind is asked in as few queries as it allows."""
    keys: list[str] = []
    numbered: dict[tuple[str, int], list[int]] = defaultdict(list)
    for place in places:
        if place.uid == 0 and place.uidvalidity == 0:
            keys.append(place.folder)
        else:
            numbered[place.folder, place.uidvalidity].append(place.uid)
    return keys, numbered


def _seen_uids(session: Session, mailbox_id: uuid.UUID, folder: str, uidvalidity: int, uids: list[int]) -> set[int]:
    seen = set(session.scalars(select(MailSighting.uid).where(
        MailSighting.mailbox_id == mailbox_id, MailSighting.folder == folder,
        MailSighting.uidvalidity == uidvalidity, MailSighting.uid.in_(uids))))
    seen.update(uid for uid in session.scalars(select(MailQuarantine.uid).where(
        MailQuarantine.mailbox_id == mailbox_id, MailQuarantine.folder == folder,
        MailQuarantine.uidvalidity == uidvalidity, MailQuarantine.uid.in_(uids))) if uid is not None)
    return seen


def _seen_keys(session: Session, mailbox_id: uuid.UUID, keys: list[str]) -> set[str]:
    # Plain IN on the folder (not a tuple IN), which PostgreSQL answers from the place index.
    found = set(session.scalars(select(MailSighting.folder).where(
        MailSighting.mailbox_id == mailbox_id, MailSighting.folder.in_(keys), MailSighting.uidvalidity == 0,
        MailSighting.uid == 0)))
    found.update(session.scalars(select(MailQuarantine.folder).where(
        MailQuarantine.mailbox_id == mailbox_id, MailQuarantine.folder.in_(keys), MailQuarantine.uid == 0)))
    return found


def seen_places(session: Session, mailbox_id: uuid.UUID, places: Iterable[Place]) -> set[Place]:
    """The places among `places` whose message the mailbox already tracked or quarantined."""
    keys, numbered = _by_folder(places)
    seen = {Place(key) for key in _seen_keys(session, mailbox_id, keys)} if keys else set()
    for (folder, uidvalidity), uids in numbered.items():
        found = _seen_uids(session, mailbox_id, folder, uidvalidity, uids)
        seen.update(Place(folder, uidvalidity, uid) for uid in found)
    return seen


def add_sighting(session: Session, mailbox_id: uuid.UUID, item: SourceItem, tracked: TrackedMessage) -> bool:
    """Records that the mailbox saw `tracked` at the item's place; False if that was known already."""
    exists = session.scalar(select(MailSighting.id).where(
        MailSighting.mailbox_id == mailbox_id, MailSighting.folder == item.folder,
        MailSighting.uidvalidity == item.uidvalidity, MailSighting.uid == item.uid))
    if exists is not None:
        return False
    session.add(MailSighting(id=new_id(), tracked=tracked, tracked_message_id=tracked.id, mailbox_id=mailbox_id,
                             folder=item.folder, uidvalidity=item.uidvalidity, uid=item.uid))
    return True


def _date(session: Session, query: Select[tuple[MailSighting]]) -> int:
    now = utcnow()
    count = 0
    for sighting in session.scalars(query):
        sighting.vanished_on = now
        count += 1
    return count


def mark_vanished(session: Session, mailbox_id: uuid.UUID, places: Iterable[Place]) -> int:
    """Dates the sightings of expunged places; returns how many. Activities are never deleted for this."""
    keys, numbered = _by_folder(places)
    current = select(MailSighting).where(MailSighting.mailbox_id == mailbox_id, MailSighting.vanished_on.is_(None))
    count = 0
    if keys:
        count += _date(session, current.where(MailSighting.folder.in_(keys), MailSighting.uidvalidity == 0,
                                              MailSighting.uid == 0))
    for (folder, uidvalidity), uids in numbered.items():
        count += _date(session, current.where(MailSighting.folder == folder, MailSighting.uidvalidity == uidvalidity,
                                              MailSighting.uid.in_(uids)))
    return count


def mark_superseded(session: Session, mailbox_id: uuid.UUID, folder: str, uidvalidity: int) -> int:
    """After a UIDVALIDITY change: dates every sighting of the folder under a former UIDVALIDITY (those UIDs
    mean nothing any more); returns how many."""
    return _date(session, select(MailSighting).where(
        MailSighting.mailbox_id == mailbox_id, MailSighting.folder == folder, MailSighting.vanished_on.is_(None),
        MailSighting.uidvalidity != uidvalidity))
