"""The CRM's side of a calendar's sync: the calendar user's appointments and recurring appointments (and those
this calendar's status links to) as a CalendarStore, so the engine syncs the CRM with a server exactly as it
syncs two servers.

An href is the id of the appointment or the series' master. Deleting cancels (the appointment and its history
stay; a canceled one is gone from the listing). A meeting already in the CRM under the same UID (another
user's calendar brought it) is linked rather than copied, and only the organizer's copy rewrites a meeting:
an attendee's copy brings only that attendee's answer. Nothing here commits: the engine's runner commits each
action with its status row.

The bookings (service activities) published to this calendar are listed too, and their hrefs and UIDs are
handed to calendar_sync.scheduling.publication_store, which decides what a change made to one in the calendar
may do (the CRM is the master of bookings)."""

import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from calendar_sync.appointments.attendance import is_organizer_copy, refresh_attendance
from calendar_sync.appointments.events import CANCELED
from calendar_sync.appointments.from_ical import Record, write_item
from calendar_sync.appointments.lookup import find_meeting
from calendar_sync.appointments.parties import Records, item_addresses, resolve
from calendar_sync.appointments.relevance import concerns_crm, is_tracked
from calendar_sync.appointments.to_ical import render
from calendar_sync.appointments.versions import ACTIVITIES, version_of, versions
from calendar_sync.errors import ItemBroken, NotFound, PreconditionFailed
from calendar_sync.items import CalendarItem
from calendar_sync.scheduling.publication_store import PublishedBookings
from calendar_sync.stores.base import Changes, ListingChanges
from calendar_sync.stores.crm_changes import APPOINTMENT_TYPES as _TYPES
from calendar_sync.stores.crm_changes import CrmCursor, first_cursor, touched_since
from crm_core.db.types import utcnow
from crm_core.models import Activity, Appointment, RecurringAppointment
from crm_core.models.calendars import Calendar, CalendarSyncItem

# Addresses per lookup in prepare(): each is a bound parameter once per email column of a kind (three for
# contacts), and SQLite allows 32,766 parameters to a statement.
_LOOKUP_CHUNK = 1000


class CrmCalendarStore(ListingChanges):
    read_only = False

    def __init__(self, session: Session, calendar: Calendar) -> None:
        self.session = session
        self.calendar = calendar
        # The addresses of server objects the incoming filter resolved, by content hash, so that writing the
        # same object a moment later does not look them up again (one lookup per object, not two).
        self._resolved: dict[str, Records] = {}
        self.bookings = PublishedBookings(session, calendar)

    def concerns(self, item: CalendarItem) -> bool:
        """Whether a server object the CRM has not seen concerns it, by the calendar's incoming filter."""
        if self.bookings.claims(item):
            return True
        found = None
        if self.calendar.incoming_filter == "known_attendees" and not is_tracked(self.calendar, item):
            found = self._resolved[item.hash] = resolve(self.session, item_addresses(item))
        return concerns_crm(self.session, self.calendar, item, found)

    def prepare(self, items: Iterable[CalendarItem]) -> None:
        """The addresses of every item the pass will write, looked up together (a query per kind of record for
        the pass, not for each item)."""
        wanted: dict[str, set[str]] = {}
        for item in items:
            if item.hash in self._resolved:
                continue
            try:
                wanted[item.hash] = item_addresses(item)
            except ItemBroken:  # the write will say so; no lookup for it
                continue
        if not wanted:
            return
        every = sorted(set().union(*wanted.values()))
        found: Records = {}
        for at in range(0, len(every), _LOOKUP_CHUNK):
            found.update(resolve(self.session, every[at:at + _LOOKUP_CHUNK]))
        for key, addresses in wanted.items():
            self._resolved[key] = {a: found[a] for a in addresses if a in found}

    def _write(self, item: CalendarItem, record: Record | None = None) -> Record:
        return write_item(self.session, self.calendar, item, record, self._resolved.pop(item.hash, None))

    def _in_scope(self) -> Select[Any]:
        """The appointments and series of this calendar, canceled ones included (from the activities table
        alone: no subtype's table is needed)."""
        a = ACTIVITIES
        return select(a.id).where(
            a.activity_type.in_(_TYPES), a.instance_type_code.in_((0, 1)),
            or_(a.owning_user_id == self.calendar.user_id, a.id.in_(self._linked())))

    def _linked(self) -> Select[Any]:
        return select(CalendarSyncItem.activity_id).where(
            CalendarSyncItem.calendar_id == self.calendar.id, CalendarSyncItem.activity_id.is_not(None))

    def _listed(self) -> Select[Any]:
        return self._in_scope().where(ACTIVITIES.statecode != CANCELED[0])

    def list(self) -> Iterator[tuple[str, str]]:
        listing = versions(self.session, self._listed())
        listing.update(self.bookings.list())
        return iter(sorted(listing.items()))

    def changes(self, cursor: str | None) -> Changes:
        """The appointments stamped since the cursor (calendar_sync.stores.crm_changes) with their versions, the
        canceled ones among them as deleted; the published bookings always (a few, and their RESTORE etags
        must be seen). A whole listing when there is no cursor or a full one is due."""
        started = utcnow()
        mark = CrmCursor.parse(cursor)
        if mark is None or mark.due(started):
            return Changes(changed=dict(self.list()), cursor=first_cursor(started).text, complete=True)
        touched = touched_since(self._in_scope(), mark.since)
        open_ = versions(self.session, touched.where(ACTIVITIES.statecode != CANCELED[0]))
        gone = {str(i) for i in self.session.scalars(touched.where(ACTIVITIES.statecode == CANCELED[0]))}
        bookings = self.bookings.list()
        # The activities table alone: the mapped Activity would join every subtype's table for each row.
        linked_bookings = select(CalendarSyncItem.activity_id).join(
            Activity.__table__, ACTIVITIES.id == CalendarSyncItem.activity_id).where(
            CalendarSyncItem.calendar_id == self.calendar.id, ACTIVITIES.activity_type.not_in(_TYPES))
        gone.update(href for href in map(str, self.session.scalars(linked_bookings)) if href not in bookings)
        return Changes(changed={**open_, **bookings}, deleted=frozenset(gone),
                       cursor=mark.after_changes(started).text, complete=False)

    def is_organizer_copy(self, item: CalendarItem) -> bool:
        return is_organizer_copy(self.calendar, item)

    def get(self, href: str) -> tuple[CalendarItem, str]:
        if self.bookings.owns(href):
            return self.bookings.get(href)
        record = self._record(href)
        item = render(self.session, record)  # may give it a UID, which changes its version: read that after
        return item, self._etag(record)

    def upload(self, item: CalendarItem) -> tuple[str, str]:
        if self.bookings.claims(item):
            return self.bookings.upload(item)
        record = find_meeting(self.session, item.uid)
        if record is None:
            record = self._write(item)
        elif self.is_organizer_copy(item):
            self._write(item, record)
        else:
            refresh_attendance(self.session, self.calendar, record, item)
        return str(record.id), self._etag(record)

    def update(self, href: str, item: CalendarItem, etag: str) -> str:
        loaded = self._load(href)  # held, so that owns() finds it in the session rather than reading it again
        if self.bookings.owns(href):
            return self.bookings.update(href, item, etag)
        record = self._record(href, loaded)
        self._check(record, etag)
        if self.is_organizer_copy(item):
            self._write(item, record)
        else:
            refresh_attendance(self.session, self.calendar, record, item)
        return self._etag(record)

    def delete(self, href: str, etag: str) -> None:
        loaded = self._load(href)  # held, as in update()
        if self.bookings.owns(href):
            return self.bookings.delete(href, etag)
        record = self._record(href, loaded)
        self._check(record, etag)
        record.statecode, record.statuscode = CANCELED
        self.session.flush()

    # --- internals -----------------------------------------------------------------------------------------
    def _load(self, href: str) -> Activity | None:
        try:
            return self.session.get(Activity, uuid.UUID(href))
        except ValueError:
            return None

    def _record(self, href: str, loaded: Activity | None = None) -> Record:
        record = loaded if loaded is not None else self._load(href)
        if not isinstance(record, Appointment | RecurringAppointment) or record.instance_type_code not in (0, 1):
            raise NotFound(f"no appointment {href}")
        if record.statecode == CANCELED[0]:
            raise NotFound(f"appointment {href} is canceled")
        return record

    def _etag(self, record: Record) -> str:
        self.session.flush()
        etag = version_of(self.session, record.id)
        assert etag is not None  # the record was just read and flushed
        return etag

    def _check(self, record: Record, etag: str) -> None:
        if self._etag(record) != etag:
            raise PreconditionFailed(f"appointment {record.id} changed since it was read")
