"""Find available times for a service (POST /services/{id}/available-times): the rule made concrete (groups
expanded, the case owner found), each resource's free time turned into the start times a booking could take,
and the search over the service's grid."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from calendar_sync.scheduling.intervals import (
    Span,
    intersect,
    minute_ceil,
    minute_floor,
    normalise,
    saturated,
    subtract,
)
from calendar_sync.scheduling.resource_time import Loaded, load
from calendar_sync.scheduling.search import Candidate, Need, Proposal, find_slots
from calendar_sync.scheduling.working_time import DAY_MINUTES, local_days, local_minute, working_spans
from crm_core.entities import EntitySpec, entity
from crm_core.errors import Forbidden, ValidationFailed
from crm_core.models import Case, Resource, ResourceGroup, Service
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services.weekly_hours import minute_of

MAX_WINDOW_DAYS = 92
MAX_RESULTS = 200


@dataclass(frozen=True)
class Request:
    start: datetime
    end: datetime
    preferred: frozenset[uuid.UUID] = frozenset()
    site_id: uuid.UUID | None = None
    case_id: uuid.UUID | None = None
    time_zone: str = "UTC"  # the scheduler's: the grid of start times is laid out on its clock
    limit: int = 20
    exclude_activity: uuid.UUID | None = None  # a booking being rescheduled does not block itself


@dataclass(frozen=True)
class Found:
    proposals: list[Proposal]
    loaded: Loaded


def readable(session: Session, principal: Principal, spec: EntitySpec, record: Any) -> bool:
    try:
        return access.reaches(session, principal, spec, Privilege.READ, record)
    except Forbidden:
        return False


def find(session: Session, service: Service, request: Request, principal: Principal | None = None) -> Found:
    """`principal`: only the resources they can read are proposed (another unit's are not theirs to book)."""
    window = (minute_ceil(request.start), minute_floor(request.end))
    if window[0] >= window[1]:
        raise ValidationFailed.field("end", "must be later than start")
    if window[1] - window[0] > MAX_WINDOW_DAYS * DAY_MINUTES:
        raise ValidationFailed.field("end", f"a search covers at most {MAX_WINDOW_DAYS} days")
    if not service.selection_rule:
        raise ValidationFailed.field("selection_rule", f"the service {service.name!r} has no selection rule: "
                                     "say which resources it needs first")
    need = need_of(session, service.selection_rule, request.case_id)
    # Only the resources that may be proposed have their time loaded (another site's, another unit's do not).
    spec = entity("resource")
    ids = [r.id for r in session.scalars(select(Resource).where(Resource.id.in_(need.resource_ids())))
           if (request.site_id is None or r.site_id == request.site_id)
           and (principal is None or readable(session, principal, spec, r))]
    loaded = load(session, ids, window, request.exclude_activity)
    duration = service.duration_minutes
    starts_window = _start_window(service)
    candidates = {resource_id: candidate(loaded, resource, window, duration, starts_window)
                  for resource_id, resource in loaded.resources.items()}
    grid = start_grid(ZoneInfo(request.time_zone), window, duration, service.granularity_minutes,
                      _minutes(service.start_window_from) or 0)  # the grid's anchor
    proposals = find_slots(need, candidates, grid, duration, request.preferred, min(request.limit, MAX_RESULTS))
    return Found(proposals, loaded)


def candidate(loaded: Loaded, resource: Resource, window: Span, duration: int,
              start_window: tuple[int, int] | None) -> Candidate:
    rt = loaded.times[resource.id]
    working = working_spans(rt, window)
    # A meeting fills a user whatever the capacity; bookings fill a facility up to its capacity.
    busy = loaded.busy(resource.id)
    full = normalise([*saturated(loaded.booked(resource.id), loaded.capacity(resource.id)),
                      *loaded.appointments.get(resource.id, [])])
    free = subtract(working, full)
    starts = normalise((a, b - duration + 1) for a, b in free if b - a >= duration)
    if start_window is not None:
        allowed = normalise((local_minute(rt.zone, d, start_window[0]), local_minute(rt.zone, d, start_window[1]))
                            for d in local_days(rt.zone, window))
        starts = intersect(starts, allowed)
    load_minutes = sum(e - s for s, e in intersect(normalise(busy), [window]))
    return Candidate(resource.id, resource.site_id, starts, load_minutes, resource.name)


def start_grid(zone: ZoneInfo, window: Span, duration: int, granularity: int, anchor: int) -> list[int]:
    """The start times on the service's grid (every `granularity` minutes of the local day, counted from
    `anchor`) at which a booking fits in the window."""
    first = anchor % granularity
    minutes = range(first, DAY_MINUTES, granularity)
    points = {local_minute(zone, d, m) for d in local_days(zone, window) for m in minutes}
    return sorted(p for p in points if window[0] <= p <= window[1] - duration)


def need_of(session: Session, rule: dict[str, Any], case_id: uuid.UUID | None) -> Need:
    """The stored rule (crm_core.services.selection_rules) with its groups expanded to their resources."""
    if "rules" in rule:
        children = tuple(need_of(session, child, case_id) for child in rule["rules"])
        return Need(children=children, count=rule["count"], same_site=rule["same_site"])
    if "case_owner" in rule:
        options: tuple[uuid.UUID, ...] = (case_owner_resource(session, case_id),)
    elif "group" in rule:
        options = tuple(sorted(members(session, uuid.UUID(rule["group"]))))
    else:
        options = tuple(uuid.UUID(r) for r in rule["resources"])
    return Need(options=options, count=rule["count"], same_site=rule["same_site"])


def members(session: Session, group_id: uuid.UUID, seen: set[uuid.UUID] | None = None) -> set[uuid.UUID]:
    """Every resource of a group and of the groups it holds (a group never holds itself; `seen` guards anyway)."""
    seen = seen if seen is not None else set()
    if group_id in seen:
        return set()
    seen.add(group_id)
    group = session.get(ResourceGroup, group_id)
    if group is None:
        return set()
    found = {r.id for r in group.resources}
    for child in group.groups:
        found |= members(session, child.id, seen)
    return found


def case_owner_resource(session: Session, case_id: uuid.UUID | None) -> uuid.UUID:
    if case_id is None:
        raise ValidationFailed.field("case_id", "this service needs the user who handles the case: give the case")
    case = session.get(Case, case_id)
    if case is None:
        raise ValidationFailed.field("case_id", f"no case with id {case_id}")
    resource_id = session.scalar(select(Resource.id).where(Resource.user_id == case.owning_user_id))
    if resource_id is None:
        raise ValidationFailed.field("case_id", "the user who owns this case is not a resource; make them one")
    return resource_id


def _start_window(service: Service) -> tuple[int, int] | None:
    low, high = _minutes(service.start_window_from), _minutes(service.start_window_to)
    if low is None and high is None:
        return None
    return (low or 0, high + 1 if high is not None else DAY_MINUTES)  # the window's last minute may start one


def _minutes(text: str | None) -> int | None:
    return None if text is None else minute_of(text, "start_window", allow_midnight=False)


