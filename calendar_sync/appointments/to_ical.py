"""An appointment, or a recurring appointment with its exceptions, rendered as one calendar object.

It starts from the iCalendar the CRM last saw of it (ical_source), so what the CRM does not model (alarms,
X- properties, conference links, attendees' answers) survives, and overwrites only what the CRM models and
holds differently: an event read back unchanged renders byte for byte as it came. An appointment born in the
CRM is built fresh, with our PRODID and a UID made from its id (and kept on it).

Render is a function of the rows and their source: rendering twice gives the same object."""

from datetime import timedelta
from typing import Any

import icalendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from calendar_sync.appointments.events import (
    ACTIVITY_PROPERTY,
    CANCELED,
    FREE,
    OPTIONAL,
    REGARDING_PROPERTY,
    TENTATIVE,
    EventFields,
    Timing,
    address_of,
    as_list,
    from_column,
    instant_text,
    instant_value,
    read_event,
    same_status,
    to_column,
)
from calendar_sync.appointments.from_ical import Record, _dates, split
from calendar_sync.appointments.parties import people_of
from calendar_sync.items import CalendarItem
from calendar_sync.timezones import UnknownTimeZone, iana_name
from crm_core.models import Appointment, RecurringAppointment

PRODID = "-//mailcrm//calendar sync//EN"
UID_DOMAIN = "mailcrm"


def ensure_uid(session: Session, record: Record) -> str:
    """The record's iCalendar UID; one made from its id (and stored) when it has none yet."""
    if not record.global_object_id:
        record.global_object_id = f"{record.id}@{UID_DOMAIN}"
        session.flush()
    return record.global_object_id


def render(session: Session, record: Record) -> CalendarItem:
    uid = ensure_uid(session, record)
    cal = _source(record)
    if cal is None:
        cal = icalendar.Calendar()
        cal.add("PRODID", PRODID)
        cal.add("VERSION", "2.0")
    events = [c for c in cal.subcomponents if c.name == "VEVENT"]
    master = split(events)[0] if events else None
    if master is None:
        master = _new_event(uid, record)
        master.add(ACTIVITY_PROPERTY, str(record.id))
        cal.add_component(master)
    master_timing = write_event(session, master, record)
    _write_regarding(master, record)
    overrides = {to_column(e["RECURRENCE-ID"].dt): e for e in events if "RECURRENCE-ID" in e and e is not master}
    keep: set[int] = {id(master)}
    if isinstance(record, RecurringAppointment):
        cancelled = {instant_text(e["RECURRENCE-ID"].dt) for e in overrides.values()
                     if read_event(e).status == CANCELED and instant_text(e["RECURRENCE-ID"].dt) in record.exdates}
        _write_pattern(master, record, cancelled)
        keep |= {id(e) for e in overrides.values() if instant_text(e["RECURRENCE-ID"].dt) in cancelled}
        for row in _exceptions(session, record):
            event = overrides.get(row.recurrence_id) if row.recurrence_id else None
            if event is None:
                event = _new_event(uid, row)
                event.add("RECURRENCE-ID", from_column(row.recurrence_id or row.scheduled_start, master_timing))
                cal.add_component(event)
            write_event(session, event, row)
            _write_regarding(event, row)
            keep.add(id(event))
    cal.subcomponents = [c for c in cal.subcomponents if c.name != "VEVENT" or id(c) in keep]
    cal.add_missing_timezones()
    return CalendarItem.from_calendar(cal)


def _source(record: Record) -> icalendar.Calendar | None:
    if not record.ical_source:
        return None
    try:
        cal = icalendar.Calendar.from_ical(record.ical_source)
    except (ValueError, KeyError, IndexError, TypeError):
        return None  # a source we cannot read any more: the CRM's own fields are enough
    return cal if isinstance(cal, icalendar.Calendar) and any(c.name == "VEVENT" for c in cal.subcomponents) \
        else None


def _new_event(uid: str, row: Record) -> icalendar.Event:
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", row.ical_dtstamp or row.modified_on or row.created_on)
    return event


def _exceptions(session: Session, master: RecurringAppointment) -> list[Appointment]:
    return list(session.scalars(select(Appointment).where(
        Appointment.series_id == master.id, Appointment.instance_type_code == 3).order_by(Appointment.recurrence_id)))


def fields_of(session: Session, row: Record) -> EventFields:
    start = row.scheduled_start or row.created_on
    end = row.scheduled_end or start
    organizer, attendees = people_of(session, row.parties)
    return EventFields(
        subject=row.subject or "", description=row.description or None, location=row.location or None,
        timing=Timing(start, max(start, end), row.is_all_day, row.is_floating, row.time_zone),
        status=(row.statecode, row.statuscode), organizer=organizer, attendees=attendees,
    )


def write_event(session: Session, event: icalendar.Event, row: Record) -> Timing:
    """Writes into `event` what the row holds and the event says differently; returns the row's timing."""
    want = fields_of(session, row)
    have = read_event(event) if "DTSTART" in event else None
    for name, attr in (("SUMMARY", "subject"), ("DESCRIPTION", "description"), ("LOCATION", "location")):
        if have is None or getattr(have, attr) != getattr(want, attr):
            _set(event, name, getattr(want, attr) or None)
    if have is None or have.timing != want.timing:
        _write_timing(event, want.timing)
    if have is None or not same_status(have.status, want.status):
        _write_status(event, want.status)
    if have is None or have.organizer != want.organizer:
        _set(event, "ORGANIZER", icalendar.vCalAddress(f"mailto:{want.organizer}") if want.organizer else None)
    if have is None or have.attendees != want.attendees:
        _write_attendees(event, want.attendees)
    sequence = max(_int(event.get("SEQUENCE")), row.ical_sequence or 0)
    if have is not None and have.timing != want.timing:
        sequence += 1  # iTIP: a new time is a significant change the attendees' copies must take
    if sequence != _int(event.get("SEQUENCE")) or (sequence and "SEQUENCE" not in event):
        _set(event, "SEQUENCE", sequence)
    return want.timing


def _set(event: icalendar.Event, name: str, value: Any, params: dict[str, str] | None = None) -> None:
    event.pop(name, None)
    if value is not None:
        event.add(name, value, parameters=params)


def _int(value: Any) -> int:
    try:
        return int(str(value)) if value is not None else 0
    except ValueError:
        return 0


def _write_timing(event: icalendar.Event, timing: Timing) -> None:
    tzid = event["DTSTART"].params.get("TZID") if "DTSTART" in event else None
    start, end = from_column(timing.start, timing), from_column(timing.end, timing)
    if timing.all_day and end <= start:
        end = from_column(timing.start + timedelta(days=1), timing)
    for name, value in (("DTSTART", start), ("DTEND", end)):
        _set(event, name, value)
        if tzid and timing.time_zone and _same_zone(tzid, timing.time_zone):
            event[name].params["TZID"] = tzid  # keep the program's own name for the zone (a Windows one)
    event.pop("DURATION", None)


def _same_zone(tzid: str, iana: str) -> bool:
    try:
        return iana_name(tzid) == iana
    except UnknownTimeZone:
        return False


def _write_status(event: icalendar.Event, status: tuple[int, int]) -> None:
    if status == CANCELED:
        _set(event, "STATUS", "CANCELLED")
    elif status == TENTATIVE:
        _set(event, "STATUS", "TENTATIVE")
        event.pop("TRANSP", None)
    elif status == FREE:
        _set(event, "TRANSP", "TRANSPARENT")
        if str(event.get("STATUS", "")).upper() in ("CANCELLED", "TENTATIVE"):
            event.pop("STATUS")
    else:
        _set(event, "STATUS", "CONFIRMED")
        event.pop("TRANSP", None)


def _write_attendees(event: icalendar.Event, attendees: frozenset[tuple[int, str]]) -> None:
    lines = {address_of(a): a for a in as_list(event.get("ATTENDEE"))}
    event.pop("ATTENDEE", None)
    for participation, address in sorted(attendees, key=lambda a: (a[1], a[0])):
        line = lines.get(address)
        if line is None:  # someone the CRM invited: no answer yet
            line = icalendar.vCalAddress(f"mailto:{address}")
            line.params["PARTSTAT"] = "NEEDS-ACTION"
        role = str(line.params.get("ROLE", "")).upper()
        if participation == OPTIONAL:
            line.params["ROLE"] = "OPT-PARTICIPANT"
        elif role in ("", "OPT-PARTICIPANT"):
            line.params["ROLE"] = "REQ-PARTICIPANT"
        event.add("ATTENDEE", line)


def _write_regarding(event: icalendar.Event, row: Record) -> None:
    want = f"{row.regarding_type}:{row.regarding_id}" if row.regarding_type and row.regarding_id else None
    have = str(event[REGARDING_PROPERTY]) if REGARDING_PROPERTY in event else None
    if want != have:
        _set(event, REGARDING_PROPERTY, want)


def _write_pattern(event: icalendar.Event, record: RecurringAppointment, cancelled: set[str]) -> None:
    rules = as_list(event.get("RRULE"))
    have_rule = rules[0].to_ical().decode() if rules else None
    if _rule(have_rule) != _rule(record.rrule) or len(rules) > 1:
        _set(event, "RRULE", icalendar.vRecur.from_ical(record.rrule) if record.rrule else None)
    for name, want, also in (("RDATE", set(record.rdates), set()), ("EXDATE", set(record.exdates), cancelled)):
        have = {instant_text(v) for v in _dates(event, name)} | also
        if have == want:
            continue
        event.pop(name, None)
        for text in sorted(want - also):
            event.add(name, instant_value(text, None if record.is_floating else record.time_zone))


def _rule(text: str | None) -> Any:
    return dict(icalendar.vRecur.from_ical(text)) if text else None
