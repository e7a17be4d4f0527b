"""One calendar object written into CRM rows for a calendar's user: a single event as an appointment, a series
as a recurring appointment (the master) with an exception appointment per overridden occurrence.

Written as ORM objects, so the audit hook records them (the acting user is the session's, as for mail
tracking). Nothing here commits. Rewriting an existing record keeps its id; its exceptions are matched by
RECURRENCE-ID, so that a changed override updates its row, a new one adds a row and a gone one deletes it."""

import uuid
from datetime import date, datetime, time
from typing import Any

import icalendar
from dateutil.rrule import rrulestr
from sqlalchemy import select
from sqlalchemy.orm import Session

from calendar_sync.appointments.events import (
    BUSY,
    CANCELED,
    EventFields,
    as_list,
    instant_text,
    read_event,
    regarding_of,
    same_status,
    to_column,
    utc_stamp,
)
from calendar_sync.appointments.parties import Records, item_addresses, party_keys, resolve
from calendar_sync.errors import ItemBroken
from calendar_sync.items import CalendarItem
from crm_core.activity_catalogue import BUILTIN
from crm_core.db.types import utcnow
from crm_core.entities import entity
from crm_core.errors import ValidationFailed
from crm_core.models import Appointment, RecurringAppointment
from crm_core.models.calendars import Calendar
from crm_core.services.activities import occurred_on
from crm_core.services.activity_parties import replace_parties

Record = Appointment | RecurringAppointment
MAX_UID = 300  # global_object_id's length


class KindChanged(ItemBroken):
    """A single event became a series or a series a single event: the CRM keeps them as different types and an
    activity cannot change its type, so the object is set aside (quarantined) like an unreadable one."""

    reason = "kind_changed"


def split(events: list[icalendar.Event]) -> tuple[icalendar.Event, list[icalendar.Event]]:
    """The master (or single) event and the overridden occurrences of an item's events."""
    if not events:
        raise ItemBroken("the calendar object holds no VEVENT")
    masters = [e for e in events if "RECURRENCE-ID" not in e]
    overrides = [e for e in events if "RECURRENCE-ID" in e]
    if not masters:  # an invitation to one occurrence only: the CRM keeps it as a single appointment
        return overrides[0], []
    return masters[0], overrides


def is_series(event: icalendar.Event) -> bool:
    return "RRULE" in event or "RDATE" in event


def write_item(session: Session, calendar: Calendar, item: CalendarItem, record: Record | None = None,
               found: Records | None = None) -> Record:
    """Creates (record None) or rewrites the record for `item`; returns it, flushed. `found`: the item's
    addresses already resolved (parties.resolve of item_addresses), to spare the lookup."""
    uid = item.uid
    if len(uid) > MAX_UID:
        raise ItemBroken(f"a UID of {len(uid)} characters (the CRM keeps {MAX_UID})")
    master, overrides = split(item.events)
    model: type[Record] = RecurringAppointment if is_series(master) else Appointment
    if record is not None and (not isinstance(record, model)
                               or (model is Appointment and record.instance_type_code != 0)):
        raise KindChanged(f"{uid}: a single event and a series cannot replace one another")
    if found is None:
        found = resolve(session, item_addresses(item))
    # No autoflush: the rows are written whole, in one flush, once every field is set.
    with session.no_autoflush:
        if record is None:
            record = _new(session, model, calendar)
        record.global_object_id = uid
        record.ical_source = item.raw
        _write_event(session, record, master, read_event(master), found)
        regarding = _regarding(session, master)
        if regarding is not None:
            record.regarding_type, record.regarding_id = regarding
        if isinstance(record, RecurringAppointment):
            cancelled = [e for e in overrides if read_event(e).status == CANCELED]
            _write_pattern(record, master, cancelled)
            _write_exceptions(session, record, [e for e in overrides if e not in cancelled], found)
    session.flush()
    return record


def _new(session: Session, model: type[Record], calendar: Calendar, **values: Any) -> Record:
    record = model(id=uuid.uuid4(), activity_type=model.__mapper__.polymorphic_identity, custom_fields={},
                   created_on=utcnow(), owning_user_id=calendar.user_id,
                   owning_business_unit_id=calendar.user.business_unit_id, priority_code=1,
                   instance_type_code=1 if model is RecurringAppointment else 0, **values)
    record.statecode, record.statuscode = BUSY
    session.add(record)
    return record


def _write_event(session: Session, row: Record, event: icalendar.Event, fields: EventFields,
                 found: dict[str, list[tuple[str, uuid.UUID]]]) -> None:
    row.subject = fields.subject.strip()[:400]
    row.description = fields.description
    row.location = fields.location[:200] if fields.location else None
    timing = fields.timing
    row.scheduled_start, row.scheduled_end = timing.start, timing.end
    row.is_all_day, row.is_floating, row.time_zone = timing.all_day, timing.floating, timing.time_zone
    if not same_status(fields.status, (row.statecode, row.statuscode)):
        row.statecode, row.statuscode = fields.status
    try:
        row.ical_sequence = int(str(event.get("SEQUENCE", 0)))
    except ValueError:
        row.ical_sequence = 0
    row.ical_dtstamp = utc_stamp(event.get("DTSTAMP"))
    replace_parties(session, row, party_keys(fields.organizer, fields.attendees, found))
    row.occurred_on = occurred_on(row, BUILTIN[row.activity_type])


def _regarding(session: Session, event: icalendar.Event) -> tuple[str, uuid.UUID] | None:
    """The regarding record the event names, if it is one an activity can be regarding and it exists."""
    named = regarding_of(event)
    if named is None:
        return None
    try:
        spec = entity(named[0])
    except ValidationFailed:
        return None
    if not spec.activity_enabled or session.get(spec.model, named[1]) is None:
        return None
    return spec.name, named[1]


# --- series ---------------------------------------------------------------------------------------------------
def _dates(event: icalendar.Event, name: str) -> list[date | datetime]:
    out: list[date | datetime] = []
    for prop in as_list(event.get(name)):
        for value in getattr(prop, "dts", []):
            dt = value.dt
            out.append(dt[0] if isinstance(dt, tuple) else dt)  # a PERIOD: its start
    return out


def _write_pattern(record: RecurringAppointment, event: icalendar.Event, cancelled: list[icalendar.Event]) -> None:
    rules = as_list(event.get("RRULE"))
    record.rrule = rules[0].to_ical().decode() if rules else None
    start = event["DTSTART"].dt
    rdates = _dates(event, "RDATE")
    record.rdates = [instant_text(v) for v in rdates]
    exdates = [instant_text(v) for v in _dates(event, "EXDATE")]
    exdates += [instant_text(e["RECURRENCE-ID"].dt) for e in cancelled]
    record.exdates = list(dict.fromkeys(exdates))
    record.pattern_start = _day(start, start)
    record.pattern_end = _pattern_end(rules[0] if rules else None, start, rdates)


def _day(value: date | datetime, start: date | datetime) -> date:
    """The calendar day of `value` in the series' own zone."""
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is not None and isinstance(start, datetime) and start.tzinfo is not None:
        return value.astimezone(start.tzinfo).date()
    return value.date()


def _pattern_end(rule: icalendar.vRecur | None, start: date | datetime, rdates: list[date | datetime]) -> date | None:
    """The day of the last occurrence; None for a series without end."""
    ends = [_day(v, start) for v in rdates] + [_day(start, start)]
    if rule is not None:
        if "UNTIL" in rule:
            ends.append(_day(rule["UNTIL"][0], start))
        elif "COUNT" in rule:
            first = start if isinstance(start, datetime) else datetime.combine(start, time())
            try:
                last = list(rrulestr(rule.to_ical().decode(), dtstart=first))[-1]
            except (ValueError, TypeError, IndexError):
                return None
            ends.append(_day(last, start))
        else:
            return None
    return max(ends)


def _write_exceptions(session: Session, master: RecurringAppointment, overrides: list[icalendar.Event],
                      found: dict[str, list[tuple[str, uuid.UUID]]]) -> None:
    existing = {row.recurrence_id: row for row in session.scalars(
        select(Appointment).where(Appointment.series_id == master.id, Appointment.instance_type_code == 3))}
    for event in overrides:
        recurrence_id = to_column(event["RECURRENCE-ID"].dt)
        row = existing.pop(recurrence_id, None)
        if row is None:
            row = Appointment(
                id=uuid.uuid4(), activity_type="appointment", custom_fields={}, created_on=utcnow(),
                owning_user_id=master.owning_user_id, owning_team_id=master.owning_team_id,
                owning_business_unit_id=master.owning_business_unit_id, priority_code=1,
                instance_type_code=3, series_id=master.id, recurrence_id=recurrence_id,
            )
            row.statecode, row.statuscode = master.statecode, master.statuscode
            session.add(row)
        row.global_object_id = master.global_object_id
        row.regarding_type, row.regarding_id = master.regarding_type, master.regarding_id
        _write_event(session, row, event, read_event(event), found)
    for row in existing.values():  # the override is gone: the occurrence follows the series again
        session.delete(row)
