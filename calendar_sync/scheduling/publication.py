"""Bookings published to calendars (issue 7): which service activities a calendar shows, their versions, and
each one as the VEVENT the calendar gets.

A calendar publishes the bookings of the resources that name it (`resources.calendar_id`). A calendar no resource
names is a user's own: it publishes the bookings of that user's user resource when the resource names no
calendar of its own. (So a room's calendar, connected under an administrator's name, never receives the
administrator's own bookings.) A booking is published while it holds time, i.e. while it has resource_bookings
rows: canceling one (Canceled, No Show) frees them, so it leaves the listing and the sync deletes the event.

The event is built only from the columns `rows` reads, and the version (the CRM side's ETag) is a digest of
those same columns, so a listing costs one query and its ETag moves exactly when the event would change:

- UID `{activity id}@mailcrm`, the convention of appointments born in the CRM (to_ical.ensure_uid), so that
  one id means one object everywhere; X-MAILCRM-ACTIVITY carries the id, X-MAILCRM-BOOKING the service, and
  CATEGORIES "CRM booking" lets a user see and filter them in his calendar program;
- SUMMARY the subject; DTSTART/DTEND the booked time, in UTC; LOCATION the activity's location, else its site's
  name; DESCRIPTION the activity's description; TRANSP OPAQUE (the time is taken);
- STATUS TENTATIVE while Requested, Tentative or Pending; CONFIRMED when Reserved, In Progress, Arrived or
  Completed (CANCELLED is never published: a canceled booking is deleted from the calendar instead, as a
  canceled appointment is)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from datetime import UTC, datetime

import icalendar
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from calendar_sync.appointments.events import ACTIVITY_PROPERTY, REGARDING_PROPERTY
from calendar_sync.appointments.to_ical import PRODID, UID_DOMAIN
from calendar_sync.items import CalendarItem
from crm_core.activity_catalogue import CANCELED
from crm_core.models import Activity, Resource, ResourceBooking, ServiceActivity, Site
from crm_core.models.calendars import Calendar

BOOKING_PROPERTY = "X-MAILCRM-BOOKING"
BOOKING_CATEGORY = "CRM booking"
# Requested 1, Tentative 2 (Open) and Pending 3 are not sure yet; the rest of what is published is.
TENTATIVE_STATUSES = frozenset({1, 2, 3})
CANCELED_STATUSES = frozenset({9, 10})


def booking_uid(activity_id: uuid.UUID) -> str:
    return f"{activity_id}@{UID_DOMAIN}"


def activity_of_uid(uid: str) -> uuid.UUID | None:
    """The activity id a UID of ours names (`{id}@mailcrm`), if it is one."""
    head, _, domain = uid.partition("@")
    if domain != UID_DOMAIN:
        return None
    try:
        return uuid.UUID(head)
    except ValueError:
        return None


def publishing_resources(session: Session, calendar: Calendar) -> list[uuid.UUID]:
    """The resources whose bookings go to `calendar` (see the module's docstring)."""
    if calendar.read_only:
        return []  # a feed cannot be written: nothing to publish
    named = list(session.scalars(select(Resource.id).where(Resource.calendar_id == calendar.id)))
    if named:
        return named
    return list(session.scalars(select(Resource.id).where(
        Resource.kind == "user", Resource.user_id == calendar.user_id, Resource.calendar_id.is_(None))))


def published(session: Session, calendar: Calendar) -> Select[tuple[uuid.UUID]]:
    """A SELECT of the ids of the service activities `calendar` publishes."""
    resources = publishing_resources(session, calendar)
    return (select(ResourceBooking.activity_id)
            .join(Activity, Activity.id == ResourceBooking.activity_id)
            .where(ResourceBooking.resource_id.in_(resources), Activity.statecode != CANCELED)
            .distinct())


@dataclass(frozen=True)
class BookingRow:
    """Everything the event is made of (and so everything its version is a digest of)."""

    id: uuid.UUID
    subject: str | None
    description: str | None
    location: str | None
    site_name: str | None
    start: datetime | None
    end: datetime | None
    statecode: int
    statuscode: int
    service_id: uuid.UUID | None
    regarding_type: str | None
    regarding_id: uuid.UUID | None
    modified_on: datetime | None

    @property
    def version(self) -> str:
        text = "\n".join("" if v is None else v.isoformat() if isinstance(v, datetime) else str(v)
                         for v in astuple(self))
        return '"' + hashlib.sha256(text.encode()).hexdigest()[:32] + '"'


def rows(session: Session, ids: Select[tuple[uuid.UUID]] | Iterable[uuid.UUID]) -> dict[uuid.UUID, BookingRow]:
    """The rows of the service activities whose id `ids` gives (a SELECT of ids, or ids), in one query."""
    sa = ServiceActivity
    query = (select(sa.id, sa.subject, sa.description, sa.location, Site.name, sa.scheduled_start,
                    sa.scheduled_end, sa.statecode, sa.statuscode, sa.service_id, sa.regarding_type,
                    sa.regarding_id, sa.modified_on)
             .outerjoin(Site, Site.id == sa.site_id)
             .where(sa.id.in_(ids if isinstance(ids, Select) else list(ids))))
    return {row[0]: BookingRow(*row) for row in session.execute(query)}


def status_of(row: BookingRow) -> str:
    if row.statecode == CANCELED or row.statuscode in CANCELED_STATUSES:
        return "CANCELLED"
    return "TENTATIVE" if row.statuscode in TENTATIVE_STATUSES else "CONFIRMED"


def render(row: BookingRow) -> CalendarItem:
    """The booking as one calendar object; the same row renders the same bytes."""
    cal = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    event = icalendar.Event()
    stamp = _utc(row.modified_on) or datetime(1970, 1, 1, tzinfo=UTC)
    start = _utc(row.start) or stamp
    end = max(_utc(row.end) or start, start)
    event.add("UID", booking_uid(row.id))
    event.add("DTSTAMP", stamp)
    event.add("LAST-MODIFIED", stamp)  # what newest_wins compares when both sides changed
    event.add("SUMMARY", row.subject or "")
    event.add("DTSTART", start)
    event.add("DTEND", end)
    location = row.location or row.site_name
    if location:
        event.add("LOCATION", location)
    if row.description:
        event.add("DESCRIPTION", row.description)
    event.add("STATUS", status_of(row))
    event.add("TRANSP", "OPAQUE")
    event.add("CATEGORIES", [BOOKING_CATEGORY])
    event.add(ACTIVITY_PROPERTY, str(row.id))
    event.add(BOOKING_PROPERTY, str(row.service_id) if row.service_id else "service_activity")
    if row.regarding_type and row.regarding_id:
        event.add(REGARDING_PROPERTY, f"{row.regarding_type}:{row.regarding_id}")
    cal.add_component(event)
    return CalendarItem.from_calendar(cal)


def names_a_booking(session: Session, item: CalendarItem) -> uuid.UUID | None:
    """The service activity a server object is the published copy of, by its UID (`{id}@mailcrm`). A copy a
    user made in his program has a UID of its own: it is his event, not the booking."""
    activity_id = activity_of_uid(item.uid)
    if activity_id is None:
        return None
    return session.scalar(select(ServiceActivity.id).where(ServiceActivity.id == activity_id))


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
