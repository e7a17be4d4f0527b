"""A resource's time loaded from the database: its zone, weekly hours, exceptions and the organisation's business
closures (as `ResourceTime`), and what occupies it (bookings, a user's appointments), for many resources in a
few queries."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from calendar_sync.scheduling import occupancy
from calendar_sync.scheduling.intervals import Span, instant, minute_ceil, minute_floor, normalise
from calendar_sync.scheduling.working_time import ResourceTime
from crm_core.models import (
    BusinessCalendar,
    Resource,
    ResourceCalendarException,
    ResourceWorkHours,
    Site,
)


@dataclass(frozen=True)
class Loaded:
    """Resources with what decides their availability over one window."""

    resources: dict[uuid.UUID, Resource]
    times: dict[uuid.UUID, ResourceTime]
    bookings: dict[uuid.UUID, list[occupancy.BookingRow]]  # service activities, overlapping as they come
    appointments: dict[uuid.UUID, list[Span]]  # a user resource's meetings

    def booked(self, resource_id: uuid.UUID) -> list[Span]:
        return [b.span for b in self.bookings.get(resource_id, ())]

    def busy(self, resource_id: uuid.UUID) -> list[Span]:
        return [*self.booked(resource_id), *self.appointments.get(resource_id, ())]

    def capacity(self, resource_id: uuid.UUID) -> int:
        r = self.resources[resource_id]
        return r.capacity or 1 if r.kind == "facility" else 1


def zone_of(resource: Resource, sites: dict[uuid.UUID, Site]) -> ZoneInfo:
    """The resource's own zone, else its site's, else UTC."""
    site = sites.get(resource.site_id) if resource.site_id is not None else None
    return ZoneInfo(resource.time_zone or (site.time_zone if site is not None else None) or "UTC")


def load(session: Session, resource_ids: Sequence[uuid.UUID], window: Span,
         exclude_activity: uuid.UUID | None = None) -> Loaded:
    ids = list(dict.fromkeys(resource_ids))
    resources = {r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(ids)))} if ids else {}
    site_ids = {r.site_id for r in resources.values() if r.site_id is not None}
    sites = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_(site_ids)))} if site_ids else {}
    hours: dict[uuid.UUID, list[tuple[int, int, int]]] = defaultdict(list)
    working: dict[uuid.UUID, list[Span]] = defaultdict(list)
    time_off: dict[uuid.UUID, list[Span]] = defaultdict(list)
    if resources:
        for row in session.scalars(select(ResourceWorkHours).where(ResourceWorkHours.resource_id.in_(resources))):
            hours[row.resource_id].append((row.weekday, row.start_minute, row.end_minute))
        start, end = instant(window[0]), instant(window[1])
        for exc in session.scalars(select(ResourceCalendarException).where(
                ResourceCalendarException.resource_id.in_(resources), ResourceCalendarException.starts_at < end,
                ResourceCalendarException.ends_at > start)):
            span = (minute_floor(exc.starts_at), minute_ceil(exc.ends_at))
            (working if exc.kind == "working" else time_off)[exc.resource_id].append(span)
    closures = business_closures(session)
    times = {
        r.id: ResourceTime(zone_of(r, sites), ResourceTime.week_of(hours.get(r.id, ())),
                           tuple(normalise(working.get(r.id, ()))), tuple(normalise(time_off.get(r.id, ()))),
                           closures)
        for r in resources.values()
    }
    booked = occupancy.bookings(session, list(resources), window, exclude_activity)
    by_user = {r.user_id: r.id for r in resources.values() if r.user_id is not None}
    meetings = {by_user[user_id]: spans for user_id, spans in occupancy.appointments(session, list(by_user),
                                                                                      window).items()}
    return Loaded(resources, times, dict(booked), meetings)


def business_closures(session: Session) -> tuple[tuple[date, date], ...]:
    calendar = session.scalar(select(BusinessCalendar).where(BusinessCalendar.is_business_closures.is_(True)))
    if calendar is None:
        return ()
    return tuple((c.starts_on, c.ends_on) for c in calendar.closures)
