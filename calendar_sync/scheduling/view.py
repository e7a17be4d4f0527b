"""The service calendar view: for each resource a scheduler may read, over one window, when it works, what it
is booked for and when its user is in a meeting (GET /service-calendar).

It reads through the same `resource_time.load` and `working_spans` as the search for available times, so a
time the view shows as working and free is a time the search can propose. A booking of an activity the caller
may not read (another unit's) shows as busy: the resource is taken, but by what is not theirs to see. A user
resource's appointments show as free/busy only, never their subjects."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from calendar_sync.scheduling.availability import members, readable
from calendar_sync.scheduling.intervals import Span, instant, minute_ceil, minute_floor, normalise
from calendar_sync.scheduling.occupancy import BookingRow
from calendar_sync.scheduling.resource_time import load
from calendar_sync.scheduling.working_time import local_minute, working_spans
from crm_core.activity_catalogue import kind_of
from crm_core.entities import entity
from crm_core.errors import Forbidden, NotFound, ValidationFailed
from crm_core.models import Activity, Resource, ResourceGroup, ServiceActivity
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege

View = Literal["day", "week", "month"]
MAX_WINDOW_DAYS = 62
MAX_RESOURCES = 500  # rows on one screen; more is a sign the caller wants a site or a group


@dataclass(frozen=True)
class Scope:
    """Which resources: the listed ones, a group's (its nested groups too), a site's; none given: all."""

    resource_ids: tuple[uuid.UUID, ...] = ()
    group_id: uuid.UUID | None = None
    site_id: uuid.UUID | None = None


def window_of(view: View, day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day, Monday-to-Sunday week or month holding `day`, from local midnight to local midnight."""
    if view == "day":
        first, after = day, day + timedelta(days=1)
    elif view == "week":
        first = day - timedelta(days=day.weekday())
        after = first + timedelta(days=7)
    else:
        first = day.replace(day=1)
        after = (first + timedelta(days=32)).replace(day=1)
    return instant(local_minute(zone, first, 0)), instant(local_minute(zone, after, 0))


def check_window(start: datetime, end: datetime) -> Span:
    window = (minute_floor(start), minute_ceil(end))
    if window[0] >= window[1]:
        raise ValidationFailed.field("end", "must be later than start")
    if window[1] - window[0] > MAX_WINDOW_DAYS * 24 * 60:
        raise ValidationFailed.field("end", f"the calendar shows at most {MAX_WINDOW_DAYS} days")
    return window


def calendar(session: Session, principal: Principal, scope: Scope, start: datetime,
             end: datetime) -> list[dict[str, Any]]:
    """One entry per readable resource in scope, by name, with its working time, bookings and meetings."""
    principal.require("resource", Privilege.READ)
    window = check_window(start, end)
    chosen = _resources(session, principal, scope)
    loaded = load(session, [r.id for r in chosen], window)
    bookings = _bookings(session, principal, loaded.bookings)
    out = []
    for r in chosen:
        working = working_spans(loaded.times[r.id], window)
        out.append({
            "id": r.id, "name": r.name, "kind": r.kind, "site_id": r.site_id, "capacity": loaded.capacity(r.id),
            "time_zone": loaded.times[r.id].zone.key,
            "working": [_span(s) for s in working],
            "bookings": bookings.get(r.id, []),
            "appointments": [_span(s) for s in normalise(loaded.appointments.get(r.id, []))],
        })
    return out


def _resources(session: Session, principal: Principal, scope: Scope) -> list[Resource]:
    spec = entity("resource")
    if scope.resource_ids or scope.group_id is not None:
        ids: set[uuid.UUID] = set(scope.resource_ids)
        if scope.group_id is not None:
            group = session.get(ResourceGroup, scope.group_id)
            if group is None or not readable(session, principal, entity("resource_group"), group):
                raise NotFound(f"no resource group with id {scope.group_id}")
            ids |= members(session, scope.group_id)
        found = {r.id: r for r in session.scalars(select(Resource).where(Resource.id.in_(ids)))} if ids else {}
        for asked in scope.resource_ids:
            # Another unit's resource is answered as missing, so that its existence is not told either.
            if asked not in found or not readable(session, principal, spec, found[asked]):
                raise NotFound(f"no resource with id {asked}")
        rows: Sequence[Resource] = list(found.values())
    else:
        query = select(Resource)
        rows = list(session.scalars(query.where(Resource.site_id == scope.site_id) if scope.site_id else query))
    rows = [r for r in rows if (scope.site_id is None or r.site_id == scope.site_id)
            and readable(session, principal, spec, r)]
    if len(rows) > MAX_RESOURCES:
        raise ValidationFailed.field("resource_id", f"more than {MAX_RESOURCES} resources: choose a site, a group "
                                     "or the resources to show")
    return sorted(rows, key=lambda r: (r.name.casefold(), str(r.id)))


def _bookings(session: Session, principal: Principal,
              rows: dict[uuid.UUID, list[BookingRow]]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The bookings `load` read (those of open and scheduled activities: canceling removes them), described
    when the caller may read their activity, else shown as busy."""
    activity_ids = {b.activity_id for bookings in rows.values() for b in bookings}
    activities = {a.id: a for a in session.scalars(
        select(ServiceActivity).where(ServiceActivity.id.in_(activity_ids)))} if activity_ids else {}
    visible = _readable_activities(session, principal, set(activities))
    out: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for resource_id, bookings in rows.items():
        out[resource_id] = []
        for row in bookings:
            activity = activities.get(row.activity_id)
            if activity is not None and activity.id in visible:
                _, status = kind_of(activity).states.label(activity.statecode, activity.statuscode)
                out[resource_id].append({"kind": "booking", "id": activity.id, "subject": activity.subject,
                                         "status": status, "service_id": activity.service_id,
                                         "start": row.starts_at, "end": row.ends_at})
            else:
                out[resource_id].append({"kind": "busy", "start": row.starts_at, "end": row.ends_at})
    return out


def _readable_activities(session: Session, principal: Principal, ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """One query for all (a month of a busy room is hundreds of bookings, each of them checked)."""
    if not ids:
        return set()
    try:
        reach = access.scope(principal, entity("activity"), Privilege.READ)
    except Forbidden:  # no read on activities at all: every booking is busy
        return set()
    return set(session.scalars(select(Activity.id).where(Activity.id.in_(ids), reach)))


def _span(span: Span) -> dict[str, datetime]:
    return {"start": instant(span[0]), "end": instant(span[1])}
