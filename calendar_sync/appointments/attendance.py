"""A calendar user's own answer to a meeting someone else organizes. Only the organizer's copy of a meeting
rewrites it; an attendee's copy (their calendar's version of the same UID) brings only that attendee's
ATTENDEE line (PARTSTAT, CN...), which is kept in the appointment's ical_source, and makes them an attendee
party if they were not one."""

import icalendar
from sqlalchemy.orm import Session

from calendar_sync.appointments.events import address_of, as_list, participation_of, to_column
from calendar_sync.appointments.from_ical import Record
from calendar_sync.appointments.to_ical import render
from calendar_sync.items import CalendarItem
from crm_core.models.calendars import Calendar
from crm_core.services.activity_parties import PartyKey, replace_parties


def is_organizer_copy(calendar: Calendar, item: CalendarItem) -> bool:
    """Whether the calendar's user organizes the meeting (or nobody does: a plain event of theirs)."""
    organizers = {address_of(e["ORGANIZER"]) for e in item.events if "ORGANIZER" in e}
    return not organizers or calendar.user.email.lower() in organizers


def _key(event: icalendar.Event) -> object:
    return to_column(event["RECURRENCE-ID"].dt) if "RECURRENCE-ID" in event else None


def _own_line(event: icalendar.Event, address: str) -> object | None:
    return next((a for a in as_list(event.get("ATTENDEE")) if address_of(a) == address), None)


def refresh_attendance(session: Session, calendar: Calendar, record: Record, item: CalendarItem) -> None:
    address = calendar.user.email.lower()
    answers = {_key(e): line for e in item.events if (line := _own_line(e, address)) is not None}
    if not answers:
        return
    cal = render(session, record).calendar
    for event in cal.walk("VEVENT"):
        line = answers.get(_key(event), answers.get(None))
        if line is None:
            continue
        others = [a for a in as_list(event.get("ATTENDEE")) if address_of(a) != address]
        event.pop("ATTENDEE", None)
        for attendee in [*others, line]:
            event.add("ATTENDEE", attendee)
    record.ical_source = cal.to_ical().decode()
    master_line = answers.get(None) or next(iter(answers.values()))
    keys = [PartyKey(p.participation, p.party_type, p.party_id, p.address_used) for p in record.parties]
    mine = {k for k in keys if k.participation in (5, 6) and (k.address == address or k.party_id == calendar.user_id)}
    if not mine:
        keys.append(PartyKey(participation_of(master_line), "user", calendar.user_id, address))
        replace_parties(session, record, keys)
    session.flush()
