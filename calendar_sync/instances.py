"""The instances of a recurring appointment within a window, expanded on demand (Dynamics keeps instance rows
a window ahead; we keep the master and its exceptions and compute the rest, so that an endless series costs
nothing until someone looks at it).

The master is rendered as the calendar servers see it (appointments.to_ical) and expanded by recurrence.py, so
the CRM's occurrences are, by construction, the ones every synced calendar shows."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from calendar_sync.appointments.to_ical import render
from calendar_sync.recurrence import Series, expand
from crm_core.models import Appointment, RecurringAppointment

MAX_INSTANCES = 1000


@dataclass(frozen=True)
class Instance:
    recurrence_id: date | datetime
    start: date | datetime
    end: date | datetime
    is_exception: bool
    cancelled: bool
    subject: str
    activity_id: uuid.UUID | None  # the exception's own row, for a moved or changed occurrence


def instances(session: Session, master: RecurringAppointment, start: datetime, end: datetime,
              include_cancelled: bool = False) -> list[Instance]:
    item = render(session, master)
    events = item.events
    main = next(e for e in events if "RECURRENCE-ID" not in e)
    overrides = [e for e in events if "RECURRENCE-ID" in e]
    series = Series.from_events(main, overrides)
    rows = {_key(e.recurrence_id): e for e in _exception_rows(session, master)}
    out = []
    for occurrence in expand(series, start, end, include_cancelled=include_cancelled)[:MAX_INSTANCES]:
        row = rows.get(_key(occurrence.recurrence_id))
        subject = str(occurrence.payload.get("SUMMARY", master.subject)) if occurrence.is_exception and \
            occurrence.payload is not None else master.subject
        out.append(Instance(occurrence.recurrence_id, occurrence.start, occurrence.end, occurrence.is_exception,
                            occurrence.cancelled, subject, row.id if row is not None else None))
    return out


def _exception_rows(session: Session, master: RecurringAppointment) -> list[Appointment]:
    return list(session.scalars(select(Appointment).where(Appointment.series_id == master.id)))


def _key(value: date | datetime | None) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.timestamp()
    return value
