"""Booking a service activity (Dynamics' Book, Reschedule and the service activity's cancel), safe under
concurrency: two schedulers booking one resource for overlapping times at the same instant get one booking
and one clear conflict.

The rule that keeps it safe: every write that occupies a resource first locks that resource's row (SELECT ...
FOR UPDATE on PostgreSQL, in resource-id order so that two bookings never wait on each other crosswise; on
SQLite every transaction begins IMMEDIATE, so writers run one at a time), then reads what occupies it, and only
then writes its booking rows, all in one transaction. The check runs after the lock, never before it.

What a booking is checked against: the resources' capacity (never exceeded: that is double-booking), and, as
soft conflicts a scheduler may override like Dynamics' "ignore and save", their working hours (hours, time off,
business closures) and their appointments. The resources must also meet the service's selection rule."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from calendar_sync.scheduling.availability import need_of, readable
from calendar_sync.scheduling.intervals import Span, intersect, minute_ceil, minute_floor, normalise, saturated
from calendar_sync.scheduling.intervals import subtract as minus
from calendar_sync.scheduling.resource_time import load
from calendar_sync.scheduling.search import Candidate, SearchContext, assign
from calendar_sync.scheduling.working_time import working_spans
from crm_core.activity_catalogue import BUILTIN, CANCELED, OPEN, PARTY_ROLES, SCHEDULED
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import SharedWork, UnitOfWork
from crm_core.entities import entity
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.models import ActivityParty, Resource, ResourceBooking, Service, ServiceActivity
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services.activities import ActivityService

RESOURCE = PARTY_ROLES["resource"]
_STATES = BUILTIN["service_activity"].states
_BOOKABLE = (OPEN, SCHEDULED)  # a booking starts Requested, Tentative, Pending or Reserved
MAX_BOOKING = timedelta(days=31)
SOFT = ("outside_working_hours", "appointment")


@dataclass(frozen=True)
class Clash:
    resource_id: uuid.UUID
    resource_name: str
    reason: str  # booked (capacity reached), outside_working_hours, appointment
    start: datetime
    end: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"resource_id": str(self.resource_id), "resource_name": self.resource_name, "reason": self.reason,
                "start": self.start.isoformat(), "end": self.end.isoformat()}


class BookingConflict(Conflict):
    """The time is not free for these resources; `clashes` says who and why."""

    def __init__(self, clashes: list[Clash]) -> None:
        hard = [c for c in clashes if c.reason not in SOFT]
        names = ", ".join(sorted({c.resource_name for c in (hard or clashes)}))
        if hard:
            message = f"{names}: already booked at that time"
        else:
            message = f"{names}: outside working hours or in another appointment; book anyway with override"
        super().__init__(message, conflicts=[c.as_dict() for c in clashes])
        self.clashes = clashes


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    resource_ids: tuple[uuid.UUID, ...]


class BookingService:
    def __init__(self, uow: UnitOfWork, principal: Principal) -> None:
        self.uow = uow
        self.principal = principal
        self.activities = ActivityService(SharedWork(uow), principal)

    @property
    def session(self) -> Session:
        return self.uow.session

    def book(self, service_id: uuid.UUID, slot: Slot, values: dict[str, Any], override: bool = False,
             case_id: uuid.UUID | None = None) -> ServiceActivity:
        """A new service activity holding `slot`. `values`: the activity's own fields (subject, parties of
        customers, regarding...)."""
        service = self._service(service_id)
        slot = self._complete(service, slot)
        resources = self._resources(slot.resource_ids)
        self._lock(slot.resource_ids)
        self._check(service, slot, resources, override, case_id, exclude=None)
        status = values.pop("statuscode", None) or service.initial_status_code
        record = self.activities.create({
            **values, "activity_type": "service_activity", "subject": values.get("subject") or service.name,
            "scheduled_start": slot.start, "scheduled_end": slot.end})
        assert isinstance(record, ServiceActivity)
        record.service_id = service.id
        record.site_id = _common_site(resources)
        record.statecode, record.statuscode = _STATES.resolve(_STATES.state_of(status, _BOOKABLE), status)
        self._occupy(record, slot)
        self.session.flush()
        self.uow.commit()
        return self.activities.get(record.id)  # type: ignore[return-value]

    def reschedule(self, activity_id: uuid.UUID, start: datetime, end: datetime | None,
                   resource_ids: tuple[uuid.UUID, ...] | None, override: bool = False) -> ServiceActivity:
        """Moves a booking (other times, other resources, or both); a canceled one is booked again. The audit
        trail keeps what it was."""
        record = self._booked(activity_id)
        if record.service_id is None:
            raise ValidationFailed.field("service_id", "this service activity was not booked for a service")
        service = self._service(record.service_id)
        ids = resource_ids if resource_ids is not None else tuple(
            p.party_id for p in record.parties if p.participation == RESOURCE and p.party_id is not None)
        slot = self._complete(service, Slot(start, end or start, ids))
        resources = self._resources(slot.resource_ids)
        self._lock(slot.resource_ids)
        case_id = record.regarding_id if record.regarding_type == "case" else None
        self._check(service, slot, resources, override, case_id, exclude=record.id)
        self.uow.set_action("reschedule")
        record.scheduled_start, record.scheduled_end = slot.start, slot.end
        record.occurred_on = slot.start
        record.site_id = _common_site(resources)
        if record.statecode == CANCELED:
            status = service.initial_status_code
            record.statecode, record.statuscode = _STATES.resolve(_STATES.state_of(status, _BOOKABLE), status)
        self._occupy(record, slot)
        self.session.flush()
        self.uow.commit()
        return self.activities.get(record.id)  # type: ignore[return-value]

    # -- steps ---------------------------------------------------------------------------------------
    def _service(self, service_id: uuid.UUID) -> Service:
        self.principal.require("service", Privilege.READ)
        service = self.session.get(Service, service_id)
        if service is None:
            raise NotFound(f"no service with id {service_id}")
        if not service.is_schedulable:
            raise ValidationFailed.field("service_id", f"the service {service.name!r} is not schedulable")
        return service

    def _complete(self, service: Service, slot: Slot) -> Slot:
        start, end = slot.start, slot.end
        if start.tzinfo is None:
            raise ValidationFailed.field("start", "a time with its offset, such as 2026-03-02T09:00:00+01:00")
        if end <= start:
            end = start + timedelta(minutes=service.duration_minutes)
        if end - start > MAX_BOOKING:
            raise ValidationFailed.field("end", "a booking lasts at most 31 days")
        if not slot.resource_ids:
            raise ValidationFailed.field("resource_ids", "name the resources to book (find available times first)")
        if len(set(slot.resource_ids)) != len(slot.resource_ids):
            raise ValidationFailed.field("resource_ids", "a resource is listed twice")
        return Slot(start, end, slot.resource_ids)

    def _resources(self, ids: tuple[uuid.UUID, ...]) -> list[Resource]:
        spec = entity("resource")
        found = {r.id: r for r in self.session.scalars(select(Resource).where(Resource.id.in_(ids)))}
        out = []
        for i, resource_id in enumerate(ids):
            resource = found.get(resource_id)
            if resource is None or not readable(self.session, self.principal, spec, resource):
                raise ValidationFailed.field(f"resource_ids[{i}]", f"no resource with id {resource_id}")
            out.append(resource)
        return out

    def _lock(self, ids: tuple[uuid.UUID, ...]) -> None:
        # In id order: two bookings sharing resources lock them in the same order and cannot deadlock.
        self.session.execute(select(Resource.id).where(Resource.id.in_(ids)).order_by(Resource.id).with_for_update())

    def _check(self, service: Service, slot: Slot, resources: list[Resource], override: bool,
               case_id: uuid.UUID | None, exclude: uuid.UUID | None) -> None:
        span = (minute_floor(slot.start), minute_ceil(slot.end))
        _meets_rule(self.session, service, resources, span, case_id)
        loaded = load(self.session, [r.id for r in resources], span, exclude_activity=exclude)
        clashes: list[Clash] = []
        for resource in resources:
            full = intersect(saturated(loaded.booked(resource.id), loaded.capacity(resource.id)), [span])
            if full:
                clashes.append(Clash(resource.id, resource.name, "booked", slot.start, slot.end))
                continue
            if override:
                continue
            outside = minus([span], working_spans(loaded.times[resource.id], span))
            if outside:
                clashes.append(Clash(resource.id, resource.name, "outside_working_hours", slot.start, slot.end))
            if intersect(normalise(loaded.appointments.get(resource.id, [])), [span]):
                clashes.append(Clash(resource.id, resource.name, "appointment", slot.start, slot.end))
        if clashes:
            raise BookingConflict(clashes)

    def _occupy(self, record: ServiceActivity, slot: Slot) -> None:
        self.session.execute(delete(ResourceBooking).where(ResourceBooking.activity_id == record.id))
        for resource_id in slot.resource_ids:
            self.session.add(ResourceBooking(id=uuid.uuid4(), activity_id=record.id, resource_id=resource_id,
                                             starts_at=slot.start, ends_at=slot.end))
        wanted = set(slot.resource_ids)
        for party in list(record.parties):
            if party.participation == RESOURCE and party.party_id not in wanted:
                record.parties.remove(party)
                self.session.delete(party)
        have = {p.party_id for p in record.parties if p.participation == RESOURCE}
        for resource_id in slot.resource_ids:
            if resource_id not in have:
                record.parties.append(ActivityParty(id=uuid.uuid4(), participation=RESOURCE, party_type="resource",
                                                    party_id=resource_id))
        record.modified_on = utcnow()  # a change of resources alone touches only party rows

    def _booked(self, activity_id: uuid.UUID) -> ServiceActivity:
        record = self.activities.get(activity_id, Privilege.WRITE)
        if not isinstance(record, ServiceActivity):
            raise NotFound(f"no service activity with id {activity_id}")
        return record


def _meets_rule(session: Session, service: Service, resources: list[Resource], span: Span,
                case_id: uuid.UUID | None) -> None:
    """The resources given fill the service's rule (each resource one requirement), as Dynamics' Book checks."""
    if not service.selection_rule:
        return
    need = need_of(session, service.selection_rule, case_id)
    candidates = {r.id: Candidate(r.id, r.site_id, [(span[0], span[0] + 1)], 0, r.name) for r in resources}
    ctx = SearchContext([span[0]], candidates, frozenset())
    chosen = assign(ctx, need, 0, set(), None)
    if chosen is None:
        raise ValidationFailed.field("resource_ids", f"these resources do not meet what {service.name!r} needs "
                                     "(its selection rule); find available times to get a set that does")


def _common_site(resources: list[Resource]) -> uuid.UUID | None:
    sites = {r.site_id for r in resources}
    return sites.pop() if len(sites) == 1 else None




