"""The engine's status book and journal kept in the database (calendar_sync_items, calendar_conflicts,
calendar_quarantine), in the runner's session: each action's status row is committed with the action's own
writes, so the CRM side and the status can never disagree after a crash."""

import uuid

from sqlalchemy import String, delete, select, type_coerce
from sqlalchemy.orm import Session

from calendar_sync.appointments.versions import spelled as _spelled
from calendar_sync.items import CalendarItem
from calendar_sync.sync.status import Side, Status
from crm_core.models.calendars import CalendarConflict, CalendarQuarantine, CalendarSyncItem


class DbStatusBook:
    def __init__(self, session: Session, calendar_id: uuid.UUID) -> None:
        self.session = session
        self.calendar_id = calendar_id

    def load(self) -> dict[str, Status]:
        # Plain columns, not ORM objects: a pass reads every row of the calendar, and the actions that later
        # save a few of them load those on their own.
        t = CalendarSyncItem
        rows = self.session.execute(select(
            t.uid, type_coerce(t.activity_id, String), t.crm_etag, t.crm_hash, t.remote_href, t.remote_etag,
            t.remote_hash, t.ignored).where(t.calendar_id == self.calendar_id))
        out = {}
        for uid, activity_id, crm_etag, crm_hash, remote_href, remote_etag, remote_hash, ignored in rows:
            crm = Side(_spelled(activity_id), crm_etag or "", crm_hash) if activity_id is not None else None
            remote = Side(remote_href, remote_etag or "", remote_hash) if remote_href is not None else None
            out[uid] = Status(uid, crm, remote, bool(ignored))
        return out

    def save(self, status: Status) -> None:
        # An UPDATE by (calendar, UID), and an INSERT only when it found no row: one statement for the usual case
        # instead of reading the row first. No ORM object of these rows is held during a pass (load() reads
        # columns), so none goes stale.
        crm, remote = status.crm, status.remote
        values = {
            "activity_id": uuid.UUID(crm.href) if crm is not None else None,
            "crm_etag": crm.etag if crm is not None else None,
            "crm_hash": crm.hash if crm is not None else None,
            "remote_href": remote.href if remote is not None else None,
            "remote_etag": remote.etag if remote is not None else None,
            "remote_hash": remote.hash if remote is not None else None,
            "ignored": status.ignored,
        }
        t = CalendarSyncItem.__table__
        self.session.flush()  # the action's own rows first: the status row refers to its appointment
        done = self.session.execute(
            t.update().where(t.c.calendar_id == self.calendar_id, t.c.uid == status.uid).values(**values))
        if not done.rowcount:  # type: ignore[attr-defined]
            self.session.execute(t.insert().values(calendar_id=self.calendar_id, uid=status.uid, **values))

    def forget(self, uid: str) -> None:
        self.session.execute(delete(CalendarSyncItem).where(
            CalendarSyncItem.calendar_id == self.calendar_id, CalendarSyncItem.uid == uid))


class DbJournal:
    def __init__(self, session: Session, calendar_id: uuid.UUID) -> None:
        self.session = session
        self.calendar_id = calendar_id

    def conflict(self, uid: str, policy: str, winner: str, crm: CalendarItem, remote: CalendarItem) -> None:
        activity_id = self.session.scalar(select(CalendarSyncItem.activity_id).where(
            CalendarSyncItem.calendar_id == self.calendar_id, CalendarSyncItem.uid == uid))
        self.session.add(CalendarConflict(
            calendar_id=self.calendar_id, uid=uid, activity_id=activity_id, policy=policy,
            winner="crm" if winner == "crm" else "server", crm_version=crm.raw, server_version=remote.raw))

    def quarantine(self, side: str, href: str, etag: str, raw: str, reason: str, message: str) -> None:
        self.session.add(CalendarQuarantine(
            calendar_id=self.calendar_id, source=href if side == "remote" else f"crm:{href}", etag=etag,
            raw=raw.encode("utf-8", "surrogateescape"), reason=reason, message=message))
