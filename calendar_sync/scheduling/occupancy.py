"""What occupies resources in a window, read from the database: their service-activity bookings, and for user
resources the appointments in their calendar (single ones, and recurring series expanded, the ones synced from
Exchange and CalDAV included: they are appointments like any other once synced).

An appointment occupies a user who organises it, attends it (required or optional) or owns it, unless it is
canceled or shown as Free (Dynamics' appointment status 1). A series is expanded from its columns (RRULE,
RDATE, EXDATE, its exception rows) by calendar_sync.recurrence, without rendering it to iCalendar: the search
reads thousands of series per request."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, lazyload

from calendar_sync.appointments.events import Timing, from_column, instant_value
from calendar_sync.recurrence import Override, Series, expand
from calendar_sync.scheduling.intervals import Span, instant, minute_ceil, minute_floor
from crm_core.models import ActivityParty, Appointment, RecurringAppointment, ResourceBooking

CANCELED_STATE = 2
FREE_STATUS = 1  # appointment "Free": does not block the attendee's time
ATTENDING = (5, 6, 7)  # required, optional, organizer
INSTANCE_SINGLE, INSTANCE_EXCEPTION = 0, 3


@dataclass(frozen=True)
class BookingRow:
    """One resource's share of a service activity, as the view shows it (exact times, which activity)."""

    activity_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime

    @property
    def span(self) -> Span:
        return (minute_floor(self.starts_at), minute_ceil(self.ends_at))


def bookings(session: Session, resource_ids: Collection[uuid.UUID], window: Span,
             exclude_activity: uuid.UUID | None = None) -> dict[uuid.UUID, list[BookingRow]]:
    """Each resource's bookings overlapping the window (overlapping one another for a facility), by start."""
    start, end = instant(window[0]), instant(window[1])
    query = select(ResourceBooking.resource_id, ResourceBooking.activity_id, ResourceBooking.starts_at,
                   ResourceBooking.ends_at).order_by(ResourceBooking.starts_at, ResourceBooking.activity_id).where(
        ResourceBooking.resource_id.in_(resource_ids), ResourceBooking.starts_at < end,
        ResourceBooking.ends_at > start)
    if exclude_activity is not None:
        query = query.where(ResourceBooking.activity_id != exclude_activity)
    out: dict[uuid.UUID, list[BookingRow]] = defaultdict(list)
    for resource_id, activity_id, starts_at, ends_at in session.execute(query):
        out[resource_id].append(BookingRow(activity_id, starts_at, ends_at))
    return out


def appointments(session: Session, user_ids: Collection[uuid.UUID], window: Span) -> dict[uuid.UUID, list[Span]]:
    """Each user's busy spans from appointments overlapping the window."""
    if not user_ids:
        return {}
    start, end = instant(window[0]), instant(window[1])
    out: dict[uuid.UUID, list[Span]] = defaultdict(list)
    singles = select(Appointment.id, Appointment.owning_user_id, Appointment.scheduled_start,
                     Appointment.scheduled_end).where(
        Appointment.instance_type_code == INSTANCE_SINGLE, Appointment.statecode != CANCELED_STATE,
        Appointment.statuscode != FREE_STATUS, Appointment.scheduled_start < end, Appointment.scheduled_end > start)
    rows = list(session.execute(_involving(singles, Appointment, user_ids)))
    attendees = _attendees(session, [r.id for r in rows], user_ids)
    for row in rows:
        span = (minute_floor(row.scheduled_start), minute_ceil(row.scheduled_end))
        for user_id in _people(row.owning_user_id, attendees.get(row.id, ()), user_ids):
            out[user_id].append(span)
    masters = _series(session, user_ids, start, end)
    exceptions = _exceptions(session, [m.id for m, _ in masters])
    for master, people in masters:
        for span in _occurrences(master, exceptions.get(master.id, ()), start, end):
            for user_id in people:
                out[user_id].append(span)
    return out


def _involving(query, model, user_ids: Collection[uuid.UUID]):  # type: ignore[no-untyped-def]
    """Only activities a user owns or takes part in."""
    party = select(ActivityParty.activity_id).where(
        ActivityParty.party_type == "user", ActivityParty.party_id.in_(user_ids),
        ActivityParty.participation.in_(ATTENDING))
    return query.where(or_(model.owning_user_id.in_(user_ids), model.id.in_(party)))


def _attendees(session: Session, activity_ids: list[uuid.UUID],
               user_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, set[uuid.UUID]]:
    out: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for chunk in _chunks(activity_ids, 2000):
        for activity_id, party_id in session.execute(select(ActivityParty.activity_id, ActivityParty.party_id).where(
                ActivityParty.activity_id.in_(chunk), ActivityParty.party_type == "user",
                ActivityParty.party_id.in_(user_ids), ActivityParty.participation.in_(ATTENDING))):
            out[activity_id].add(party_id)
    return out


def _people(owner: uuid.UUID | None, attendees: Iterable[uuid.UUID], user_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
    people = set(attendees)
    if owner is not None and owner in user_ids:
        people.add(owner)
    return people


def _series(session: Session, user_ids: Collection[uuid.UUID], start: datetime,
            end: datetime) -> list[tuple[RecurringAppointment, set[uuid.UUID]]]:
    query = select(RecurringAppointment).where(
        RecurringAppointment.statecode != CANCELED_STATE, RecurringAppointment.statuscode != FREE_STATUS,
        RecurringAppointment.scheduled_start < end,
        or_(RecurringAppointment.pattern_end.is_(None), RecurringAppointment.pattern_end >= start.date()))
    # Not their parties (selectin by default): _attendees reads the few rows it needs, without ORM objects.
    query = query.options(lazyload(RecurringAppointment.parties))
    masters = list(session.scalars(_involving(query, RecurringAppointment, user_ids)))
    attendees = _attendees(session, [m.id for m in masters], user_ids)
    return [(m, _people(m.owning_user_id, attendees.get(m.id, ()), user_ids)) for m in masters]


def _exceptions(session: Session, master_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Appointment]]:
    out: dict[uuid.UUID, list[Appointment]] = defaultdict(list)
    for chunk in _chunks(master_ids, 2000):
        for row in session.scalars(select(Appointment).options(lazyload(Appointment.parties)).where(
                Appointment.series_id.in_(chunk), Appointment.instance_type_code == INSTANCE_EXCEPTION)):
            assert row.series_id is not None
            out[row.series_id].append(row)
    return out


def _occurrences(master: RecurringAppointment, exceptions: Iterable[Appointment], start: datetime,
                 end: datetime) -> list[Span]:
    if master.scheduled_start is None:
        return []
    timing = Timing(master.scheduled_start, master.scheduled_end or master.scheduled_start, master.is_all_day,
                    master.is_floating, master.time_zone)
    zone = None if master.is_floating else master.time_zone
    first, last = from_column(timing.start, timing), from_column(timing.end, timing)
    overrides: dict[date | datetime, Override] = {}
    for row in exceptions:
        if row.recurrence_id is None or row.scheduled_start is None:
            continue
        gone = row.statecode == CANCELED_STATE or row.statuscode == FREE_STATUS
        overrides[from_column(row.recurrence_id, timing)] = Override(
            from_column(row.scheduled_start, timing), from_column(row.scheduled_end or row.scheduled_start, timing),
            cancelled=gone)
    series = Series(first, last - first, master.rrule, tuple(instant_value(t, zone) for t in master.rdates),
                    tuple(instant_value(t, zone) for t in master.exdates), overrides)
    # A floating or all-day series is read on UTC's wall clock, as the CRM stores its times.
    lo, hi = (start, end) if series.zone is not None else (start.replace(tzinfo=None), end.replace(tzinfo=None))
    return [(_minute(o.start, floor=True), _minute(o.end, floor=False)) for o in expand(series, lo, hi)]


def _minute(value: date | datetime, *, floor: bool) -> int:
    if not isinstance(value, datetime):
        value = datetime.combine(value, datetime.min.time())
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return minute_floor(value) if floor else minute_ceil(value)


def _chunks(values: list[uuid.UUID], size: int) -> Iterable[list[uuid.UUID]]:
    for i in range(0, len(values), size):
        yield values[i:i + size]


