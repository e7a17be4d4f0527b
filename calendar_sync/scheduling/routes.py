"""The service calendar's API: find available times for a service, and book, reschedule, cancel and move
through the statuses of service activities (/api/v1/service-activities). Every call is authenticated; the
caller needs read on the service, create (book) or write (the rest) on activities, and read on each resource."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select

from calendar_sync.scheduling.availability import MAX_RESULTS, Request, find
from calendar_sync.scheduling.booking import BookingService, Slot
from calendar_sync.scheduling.intervals import instant
from crm_core.activity_catalogue import BUILTIN, CANCELED, COMPLETED, SCHEDULED
from crm_core.api.deps import CallerDep
from crm_core.api.schemas.activities import ActivityOut, activity_out
from crm_core.entities import entity
from crm_core.errors import NotFound
from crm_core.models import ResourceBooking, Service, ServiceActivity
from crm_core.security import access
from crm_core.security.privileges import Privilege
from crm_core.services.activities import ActivityService
from crm_core.services.activity_display import describe
from crm_core.services.scheduling_records import check_time_zone

router = APIRouter(tags=["service calendar"])
_Id = Annotated[uuid.UUID, Path()]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AvailableTimesIn(_Strict):
    start: AwareDatetime = Field(description="The search window's start; a booking starts at or after it")
    end: AwareDatetime = Field(description="The window's end; a booking ends by it (at most 92 days after start)")
    preferred_resource_ids: list[uuid.UUID] = Field(default_factory=list, max_length=200,
                                                    description="Chosen first when they are free")
    site_id: uuid.UUID | None = Field(default=None, description="Only resources of this site")
    case_id: uuid.UUID | None = Field(default=None, description="The case the booking is for (needed by a "
                                      "rule asking for the case's owner)")
    time_zone: str = Field(default="UTC", max_length=64, description="The scheduler's IANA zone: start times "
                           "fall on the service's grid on this clock")
    max_results: int = Field(default=20, ge=1, le=MAX_RESULTS)


class ProposalResource(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    site_id: uuid.UUID | None


class ProposalOut(BaseModel):
    start: datetime
    end: datetime
    site_id: uuid.UUID | None
    resources: list[ProposalResource]


class AvailableTimesOut(BaseModel):
    service_id: uuid.UUID
    duration_minutes: int
    proposals: list[ProposalOut]


class PartyIn(_Strict):
    party_type: str
    party_id: uuid.UUID


class BookingIn(_Strict):
    service_id: uuid.UUID
    start: AwareDatetime
    end: AwareDatetime | None = Field(default=None, description="Default: start plus the service's duration")
    resource_ids: list[uuid.UUID] = Field(min_length=1, max_length=50)
    customers: list[PartyIn] = Field(default_factory=list, max_length=20,
                                     description="Accounts or contacts served (the customer parties)")
    case_id: uuid.UUID | None = Field(default=None, description="The case it is for (its regarding record)")
    subject: str | None = Field(default=None, max_length=200, description="Default: the service's name")
    description: str | None = None
    location: str | None = Field(default=None, max_length=200)
    statuscode: int | None = Field(default=None, description="Requested 1, Tentative 2, Pending 3 or Reserved "
                                   "4; default: the service's initial status")
    override: bool = Field(default=False, description="Book even outside working hours or over another "
                           "appointment (never over another booking beyond a resource's capacity)")


class RescheduleIn(_Strict):
    start: AwareDatetime
    end: AwareDatetime | None = None
    resource_ids: list[uuid.UUID] | None = Field(default=None, max_length=50, description="Default: the same")
    override: bool = False


class StatusIn(_Strict):
    statuscode: int = Field(description="Pending 3, Reserved 4, In Progress 6, Arrived 7, Completed 8, "
                            "Canceled 9 or No Show 10")


@router.post("/services/{service_id}/available-times", response_model=AvailableTimesOut,
             summary="The earliest times at which every resource the service needs is free, with the resources")
def available_times(caller: CallerDep, service_id: _Id, body: AvailableTimesIn) -> Any:
    caller.principal.require("service", Privilege.READ)
    caller.principal.require("activity", Privilege.CREATE)
    check_time_zone(body.time_zone, "time_zone")
    session = caller.uow.session
    service = session.get(Service, service_id)
    if service is None:
        raise NotFound(f"no service with id {service_id}")
    found = find(session, service, Request(body.start, body.end, frozenset(body.preferred_resource_ids),
                                           body.site_id, body.case_id, body.time_zone, body.max_results),
                 principal=caller.principal)
    resources = found.loaded.resources
    return {"service_id": service.id, "duration_minutes": service.duration_minutes, "proposals": [
        {"start": instant(p.start), "end": instant(p.end), "site_id": p.site_id,
         "resources": [{"id": r, "name": resources[r].name, "kind": resources[r].kind,
                        "site_id": resources[r].site_id} for r in p.resource_ids]}
        for p in found.proposals]}


@router.post("/service-activities", response_model=ActivityOut, status_code=status.HTTP_201_CREATED,
             summary="Book a service activity: the resources at that time, or 409 naming who is not free")
def book(caller: CallerDep, body: BookingIn) -> Any:
    values: dict[str, Any] = {"subject": body.subject, "description": body.description, "location": body.location,
                              "statuscode": body.statuscode,
                              "parties": [{"role": "customer", "party_type": p.party_type, "party_id": p.party_id}
                                          for p in body.customers]}
    if body.case_id is not None:
        values.update(regarding_type="case", regarding_id=body.case_id)
    values = {k: v for k, v in values.items() if v is not None}
    slot = Slot(body.start, body.end or body.start, tuple(body.resource_ids))
    record = BookingService(caller.uow, caller.principal).book(body.service_id, slot, values, body.override,
                                                                body.case_id)
    return service_activity_out(record)


@router.get("/service-activities/{activity_id}", response_model=ActivityOut)
def get_one(caller: CallerDep, activity_id: _Id) -> Any:
    return service_activity_out(_service_activity(caller, activity_id, Privilege.READ))


@router.post("/service-activities/{activity_id}/reschedule", response_model=ActivityOut,
             summary="Move a booking to another time or other resources (a canceled one is booked again)")
def reschedule(caller: CallerDep, activity_id: _Id, body: RescheduleIn) -> Any:
    ids = tuple(body.resource_ids) if body.resource_ids is not None else None
    record = BookingService(caller.uow, caller.principal).reschedule(activity_id, body.start, body.end, ids,
                                                                     body.override)
    return service_activity_out(record)


@router.post("/service-activities/{activity_id}/status", response_model=ActivityOut,
             summary="Move a booking through its statuses; canceling or a no-show frees its resources")
def set_status(caller: CallerDep, activity_id: _Id, body: StatusIn) -> Any:
    _service_activity(caller, activity_id, Privilege.WRITE)
    # Not back to Open: a canceled booking is booked again by reschedule, which checks its resources.
    state = BUILTIN["service_activity"].states.state_of(body.statuscode, (SCHEDULED, COMPLETED, CANCELED))
    svc = ActivityService(caller.uow, caller.principal)
    return service_activity_out(svc.set_state(activity_id, state, body.statuscode,
                                              action="cancel" if state == CANCELED else "set_state"))


@router.get("/service-activities", response_model=list[ActivityOut],
            summary="The service activities booked on resources between start and end, by start")
def in_window(caller: CallerDep, start: Annotated[AwareDatetime, Query()], end: Annotated[AwareDatetime, Query()],
              resource_id: Annotated[list[uuid.UUID] | None, Query()] = None) -> Any:
    booked = select(ResourceBooking.activity_id).where(ResourceBooking.starts_at < end,
                                                         ResourceBooking.ends_at > start)
    if resource_id:
        booked = booked.where(ResourceBooking.resource_id.in_(resource_id))
    # Another unit's booking is left out: the caller sees the resource busy (the view), not what for.
    reach = access.scope(caller.principal, entity("activity"), Privilege.READ)
    session = caller.uow.session
    found = list(session.scalars(select(ServiceActivity).where(ServiceActivity.id.in_(booked), reach)
                                 .order_by(ServiceActivity.scheduled_start, ServiceActivity.id).limit(2000)))
    describe(session, caller.principal, found)
    return [service_activity_out(r) for r in found]


def _service_activity(caller: Any, activity_id: uuid.UUID, privilege: Privilege) -> ServiceActivity:
    record = ActivityService(caller.uow, caller.principal).get(activity_id, privilege)
    if not isinstance(record, ServiceActivity):
        raise NotFound(f"no service activity with id {activity_id}")
    return record


def service_activity_out(record: ServiceActivity) -> dict[str, Any]:
    return activity_out(record)
