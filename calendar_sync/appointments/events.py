"""What the CRM models of one VEVENT, read the same way from an iCalendar event and from an appointment row,
so that writing back compares the two and touches only what differs (the rest of the event stays as the
calendar program wrote it).

Times: the CRM's columns are UTC. A floating event (naive times) keeps its wall time in them as if it were UTC
(is_floating says so); an all-day event (DATE values) keeps midnight of its days the same way (is_all_day)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import icalendar

from calendar_sync.errors import ItemBroken
from calendar_sync.timezones import UnknownTimeZone, iana_name, zone

REGARDING_PROPERTY = "X-MAILCRM-REGARDING"
ACTIVITY_PROPERTY = "X-MAILCRM-ACTIVITY"

# (statecode, statuscode) of an appointment (crm_core.activity_catalogue's appointment states).
CANCELED = (2, 4)
TENTATIVE = (0, 2)
FREE = (0, 1)
BUSY = (3, 5)
# CRM states iCalendar cannot say (Completed, Out of Office): an event that says only "busy" keeps them.
BUSY_LIKE = frozenset({BUSY, (1, 3), (3, 6)})

REQUIRED, OPTIONAL, ORGANIZER = 5, 6, 7


@dataclass(frozen=True)
class Timing:
    start: datetime  # UTC, or the wall time / midnight as UTC (floating, all-day)
    end: datetime
    all_day: bool
    floating: bool
    time_zone: str | None  # IANA; None: UTC (or floating/all-day)


@dataclass(frozen=True)
class EventFields:
    subject: str
    description: str | None
    location: str | None
    timing: Timing
    status: tuple[int, int]
    organizer: str | None
    attendees: frozenset[tuple[int, str]]  # (participation, address)


def address_of(value: Any) -> str:
    """The address of an ORGANIZER or ATTENDEE value, as the CRM stores addresses (lower case, no mailto:)."""
    text = str(value).strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    return text.strip().lower()


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def participation_of(attendee: Any) -> int:
    role = str(getattr(attendee, "params", {}).get("ROLE", "REQ-PARTICIPANT")).upper()
    return OPTIONAL if role == "OPT-PARTICIPANT" else REQUIRED


def read_people(event: icalendar.Event) -> tuple[str | None, frozenset[tuple[int, str]]]:
    organizer = address_of(event["ORGANIZER"]) if "ORGANIZER" in event else None
    attendees = frozenset((participation_of(a), address_of(a)) for a in as_list(event.get("ATTENDEE"))
                          if address_of(a))
    return organizer or None, attendees


def status_of(event: icalendar.Event) -> tuple[int, int]:
    status = str(event.get("STATUS", "")).upper()
    if status == "CANCELLED":
        return CANCELED
    if status == "TENTATIVE":
        return TENTATIVE
    if str(event.get("TRANSP", "")).upper() == "TRANSPARENT":
        return FREE
    return BUSY


def same_status(from_event: tuple[int, int], crm: tuple[int, int]) -> bool:
    return from_event == crm or (from_event == BUSY and crm in BUSY_LIKE)


def zone_name(value: datetime, tzid: str | None) -> str | None:
    """The IANA name of an aware time's zone (None for UTC), from its tzinfo or its TZID parameter."""
    key = getattr(value.tzinfo, "key", None)
    for name in (key, tzid):
        if name:
            try:
                found = iana_name(name)
            except UnknownTimeZone:
                continue
            return None if found == "UTC" else found
    return None


def to_column(value: date | datetime) -> datetime:
    """A DTSTART-like value as the CRM's UTC column holds it."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def from_column(value: datetime, timing: Timing) -> date | datetime:
    """A UTC column value as the event writes it: a DATE, a wall time, a time in its zone, or UTC."""
    if timing.all_day:
        return value.astimezone(UTC).date()
    if timing.floating:
        return value.astimezone(UTC).replace(tzinfo=None)
    if timing.time_zone:
        return value.astimezone(zone(timing.time_zone))
    return value.astimezone(UTC)


def instant_text(value: date | datetime) -> str:
    """An RDATE/EXDATE/RECURRENCE-ID as the ISO text a series keeps: a date, a wall time, or UTC."""
    if not isinstance(value, datetime):
        return value.isoformat()
    if value.tzinfo is None:
        return value.isoformat()
    return value.astimezone(UTC).isoformat()


def instant_value(text: str, time_zone: str | None) -> date | datetime:
    if len(text) == 10:
        return date.fromisoformat(text)
    value = datetime.fromisoformat(text)
    if value.tzinfo is not None and time_zone:
        return value.astimezone(zone(time_zone))
    return value


def read_timing(event: icalendar.Event) -> Timing:
    if "DTSTART" not in event:
        raise ItemBroken("an event without DTSTART")
    prop = event["DTSTART"]
    start = prop.dt
    if isinstance(start, datetime):
        end: date | datetime = start
        if "DTEND" in event:
            end = event["DTEND"].dt
        elif "DURATION" in event:
            end = start + event["DURATION"].dt
        floating = start.tzinfo is None
        name = None if floating else zone_name(start, prop.params.get("TZID"))
        return Timing(to_column(start), max(to_column(end), to_column(start)), False, floating, name)
    end = event["DTEND"].dt if "DTEND" in event else start + (
        event["DURATION"].dt if "DURATION" in event else timedelta(days=1))
    return Timing(to_column(start), max(to_column(end), to_column(start)), True, False, None)


def read_event(event: icalendar.Event) -> EventFields:
    organizer, attendees = read_people(event)
    description = str(event["DESCRIPTION"]) if "DESCRIPTION" in event else None
    location = str(event["LOCATION"]) if "LOCATION" in event else None
    return EventFields(
        subject=str(event.get("SUMMARY", "")), description=description or None, location=location or None,
        timing=read_timing(event), status=status_of(event), organizer=organizer, attendees=attendees,
    )


def regarding_of(event: icalendar.Event) -> tuple[str, uuid.UUID] | None:
    """The "type:uuid" of X-MAILCRM-REGARDING, if well formed (whether the record exists is checked later)."""
    value = event.get(REGARDING_PROPERTY)
    if value is None:
        return None
    kind, _, ident = str(value).strip().partition(":")
    try:
        return kind, uuid.UUID(ident)
    except ValueError:
        return None


def utc_stamp(value: Any) -> datetime | None:
    dt = getattr(value, "dt", None)
    if isinstance(dt, datetime):
        return to_column(dt)
    return None
