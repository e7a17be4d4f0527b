"""The published bookings as part of the CRM's calendar store (calendar_sync.stores.crm hands them over by
href or UID), and what a change made to one in the calendar does.

The CRM is the master of bookings: a change on the server is never written into the CRM as it comes, since a
booking moved in a calendar program onto a busy time would double-book its resources.

- **Moved** (DTSTART/DTEND): the booking is rescheduled through the booking service, acting as the calendar's
  user, with the same resources and the same checks as a scheduler's reschedule (capacity, working hours,
  appointments; no override). If that succeeds the booking and its resource_bookings move. If not, a conflict
  is logged (policy `booking_busy`: the time is not free; `booking_deny`: the move is not allowed: the user
  may not change the booking, the time cannot be booked, or it is not a plain timed event any more) and the
  CRM's version goes back to the server.
- **Edited otherwise** (summary, description, location, status, transparency, made recurring): the CRM's
  version goes back and a conflict is logged (`booking_kept`). What the CRM does not model (alarms, colours or
  categories, X- properties) is left as the user made it.
- **Deleted**: a conflict is logged (`booking_kept`, no server version) and the booking is published again.

Every conflict names the CRM as winner and keeps both versions (GET /api/v1/calendars/{id}/conflicts).

"Goes back" works through the engine's own bookkeeping: the ETag this side reports after taking the change is
one its listing never gives (RESTORE), so the next pass sees the CRM's side changed since and writes the
CRM's version to the server (a deleted one is forgotten by the engine and uploaded as new). Nothing here
commits: the runner commits each action with its status row."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from calendar_sync.appointments.events import read_timing
from calendar_sync.errors import ItemBroken, NotFound, PreconditionFailed
from calendar_sync.items import CalendarItem
from calendar_sync.scheduling.booking import BookingConflict, BookingService
from calendar_sync.scheduling.publication import BookingRow, names_a_booking, published, render, rows
from crm_core.activity_catalogue import CANCELED
from crm_core.db.savepoints import savepoint
from crm_core.db.unit_of_work import SharedWork
from crm_core.errors import CrmError
from crm_core.models import Activity, ServiceActivity
from crm_core.models.calendars import Calendar, CalendarConflict
from crm_core.security.principal import load_principal

log = logging.getLogger(__name__)

BUSY, DENIED, KEPT = "booking_busy", "booking_deny", "booking_kept"
UNPUBLISHED = '"not-published-here"'


def restore_etag(etag: str) -> str:
    """An ETag the listing never gives, so that the next pass writes the CRM's version back."""
    return etag[:-1] + ':restore"' if etag.endswith('"') else etag + ":restore"


@dataclass(frozen=True)
class _Shape:
    """What a change to a booking's event is judged on. `fields`: what the CRM models besides the time."""

    start: datetime
    end: datetime
    timed: bool  # a plain timed event (not all-day, not floating), whose time can be booked
    fields: tuple[object, ...]


def _shape(item: CalendarItem) -> _Shape:
    events = item.events
    master = events[0]
    recurring = len(events) > 1 or any(name in master for name in ("RRULE", "RDATE", "RECURRENCE-ID"))
    timing = read_timing(master)
    fields = (str(master.get("SUMMARY", "")), str(master.get("DESCRIPTION", "")) or None,
              str(master.get("LOCATION", "")) or None, str(master.get("STATUS", "CONFIRMED")).upper(),
              str(master.get("TRANSP", "OPAQUE")).upper(), recurring)
    return _Shape(timing.start, timing.end, not (timing.all_day or timing.floating), fields)


class _SyncWork(SharedWork):
    """The runner's session lent to the booking service: its commit only flushes (the runner commits the
    action with its status row), its business action is named on the session as a unit of work names it."""

    def __init__(self, session: Session, actor_id: uuid.UUID) -> None:  # no outer unit: the runner's session
        self._session = session
        self.actor_id = actor_id

    @property
    def session(self) -> Session:
        return self._session

    def set_action(self, action: str) -> None:
        self._session.info["audit_action"] = action


class PublishedBookings:
    """The bookings `calendar` publishes, with the store verbs the CRM store forwards to it."""

    def __init__(self, session: Session, calendar: Calendar) -> None:
        self.session = session
        self.calendar = calendar

    # --- which objects are ours ----------------------------------------------------------------------
    def owns(self, href: str) -> bool:
        """Whether a CRM href (an activity id) is a service activity's."""
        try:
            record = self.session.get(Activity, uuid.UUID(href))
        except ValueError:
            return False
        return isinstance(record, ServiceActivity)

    def claims(self, item: CalendarItem) -> bool:
        """Whether a server object is a booking's published copy (by its UID)."""
        try:
            return names_a_booking(self.session, item) is not None
        except ItemBroken:
            return False

    # --- the store verbs -----------------------------------------------------------------------------
    def list(self) -> dict[str, str]:
        return {str(i): row.version for i, row in rows(self.session, published(self.session, self.calendar)).items()}

    def get(self, href: str) -> tuple[CalendarItem, str]:
        row = self._row(href)
        return render(row), row.version

    def upload(self, item: CalendarItem) -> tuple[str, str]:
        """A booking's copy the status does not know (the status was lost, or the booking is not published here
        any more). Nothing is taken from it: the next pass writes the CRM's version over it, or deletes it."""
        activity_id = names_a_booking(self.session, item)
        assert activity_id is not None  # the store forwards only what claims() accepted
        href = str(activity_id)
        if href not in self.list():
            return href, UNPUBLISHED
        return href, restore_etag(self._row(href).version)

    def update(self, href: str, item: CalendarItem, etag: str) -> str:
        row = self._row(href)
        self._check(row, etag)
        theirs, ours = _shape(item), _shape(render(row))
        verdict: str | None = None
        if (theirs.start, theirs.end) != (ours.start, ours.end):
            verdict = self._move(row, theirs)
            if verdict is None:
                row = self._row(href)
                ours = _shape(render(row))
        if verdict is None and theirs.fields != ours.fields:
            verdict = KEPT
        if verdict is None:
            return row.version
        self._conflict(verdict, row, item)
        return restore_etag(row.version)

    def delete(self, href: str, etag: str) -> None:
        """Deleted in the calendar: logged, and the engine, forgetting it, publishes it again next pass."""
        row = self._row(href)
        self._check(row, etag)
        self._conflict(KEPT, row, None)

    # --- internals -----------------------------------------------------------------------------------
    def _move(self, row: BookingRow, theirs: _Shape) -> str | None:
        """Reschedules the booking to the server's time as the calendar's user; None when done, else why not."""
        if not theirs.timed:
            return DENIED
        previous = {key: self.session.info.get(key) for key in ("actor_id", "audit_action")}
        self.session.info["actor_id"] = self.calendar.user_id
        try:
            principal = load_principal(self.session, self.calendar.user_id)
            with savepoint(self.session):  # a refused move leaves nothing behind
                BookingService(_SyncWork(self.session, self.calendar.user_id), principal).reschedule(
                    row.id, theirs.start, theirs.end, None)
        except BookingConflict as exc:
            log.info("calendar %s: booking %s moved to %s, which is not free (%s)", self.calendar.name, row.id,
                     theirs.start.isoformat(), exc)
            return BUSY
        except CrmError as exc:  # not allowed (rights, a service no longer schedulable, a time too long...)
            log.info("calendar %s: booking %s cannot move to %s: %s", self.calendar.name, row.id,
                     theirs.start.isoformat(), exc)
            return DENIED
        finally:
            self.session.info.update(previous)
        log.info("calendar %s: booking %s moved to %s from the calendar", self.calendar.name, row.id,
                 theirs.start.isoformat())
        return None

    def _conflict(self, policy: str, row: BookingRow, server: CalendarItem | None) -> None:
        crm = render(row)
        self.session.add(CalendarConflict(
            calendar_id=self.calendar.id, uid=crm.uid, activity_id=row.id, policy=policy, winner="crm",
            crm_version=crm.raw, server_version=server.raw if server is not None else None))
        self.session.flush()

    def _row(self, href: str) -> BookingRow:
        try:
            activity_id = uuid.UUID(href)
        except ValueError:
            raise NotFound(f"{href} is not an activity of the CRM") from None
        self.session.flush()
        row = rows(self.session, [activity_id]).get(activity_id)
        if row is None:
            raise NotFound(f"no service activity {href}")
        if row.statecode == CANCELED:
            raise NotFound(f"service activity {href} is canceled")
        return row

    def _check(self, row: BookingRow, etag: str) -> None:
        if row.version != etag:
            raise PreconditionFailed(f"service activity {row.id} changed since it was read")
