"""/business-calendars and /slas (list, create, read, update, delete, activate and deactivate an SLA, audit),
a calendar's business time (when is something due), and /cases/{id}/sla-kpis: the clocks of a case."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from crm_core.api.deps import CallerDep
from crm_core.api.resource import FilterField, Resource, Verb
from crm_core.api.schemas.service_levels import (
    BusinessCalendarCreate,
    BusinessCalendarOut,
    BusinessCalendarUpdate,
    BusinessTimeOut,
    ClosureOut,
    HoursOut,
    SlaCreate,
    SlaKpiOut,
    SlaOut,
    SlaUpdate,
)
from crm_core.case_states import KPI_STATUS
from crm_core.db.types import utcnow
from crm_core.errors import ValidationFailed
from crm_core.models import BusinessCalendar, SlaKpiInstance
from crm_core.services.business_calendars import BusinessCalendarService, week_minutes
from crm_core.services.cases import CaseService
from crm_core.services.listing import Op
from crm_core.services.slas import MAX_MINUTES, SlaService
from crm_core.services.weekly_hours import clock_text


def calendar_out(record: BusinessCalendar) -> BusinessCalendarOut:
    hours = [HoursOut(weekday=h.weekday, start=clock_text(h.start_minute), end=clock_text(h.end_minute))
             for h in record.hours]
    return BusinessCalendarOut(
        id=record.id, created_on=record.created_on, modified_on=record.modified_on,
        created_by_id=record.created_by_id, modified_by_id=record.modified_by_id, name=record.name,
        description=record.description, kind=record.kind, time_zone=record.time_zone,  # type: ignore[arg-type]
        holiday_calendar_id=record.holiday_calendar_id, is_business_closures=record.is_business_closures,
        hours=hours,
        closures=[ClosureOut.model_validate(c) for c in record.closures], week_minutes=week_minutes(record),
    )


def kpi_out(kpi: SlaKpiInstance, now: datetime) -> SlaKpiOut:
    status = kpi.status_at(now)
    return SlaKpiOut(
        id=kpi.id, sla_id=kpi.sla_id, sla_item_id=kpi.sla_item_id, kpi=kpi.kpi,  # type: ignore[arg-type]
        name=kpi.name, status_code=status, status=KPI_STATUS[status], started_on=kpi.started_on,
        warning_time=kpi.warning_time, failure_time=kpi.failure_time, warning_reached_on=kpi.warning_reached_on,
        succeeded_on=kpi.succeeded_on, failed_on=kpi.failed_on, canceled_on=kpi.canceled_on,
        paused_on=kpi.paused_on, paused_minutes=kpi.paused_minutes,
    )


RESOURCES = [
    Resource(
        "business_calendar", BusinessCalendarService, BusinessCalendarCreate, BusinessCalendarUpdate,
        BusinessCalendarOut, tag="business-calendars", to_out=calendar_out,
        filters=[FilterField("name", str, (Op.EQ, Op.CONTAINS)), FilterField("kind", str),
                 FilterField("is_business_closures", bool)],
    ),
    Resource(
        "sla", SlaService, SlaCreate, SlaUpdate, SlaOut, tag="slas",
        verbs=[Verb("activate", 1, "Activate an SLA (it needs an item; it becomes read-only)"),
               Verb("deactivate", 0, "Back to Draft, to change it (clocks already running go on)")],
        filters=[FilterField("statecode", int), FilterField("name", str, (Op.EQ, Op.CONTAINS)),
                 FilterField("is_default", bool), FilterField("business_calendar_id", uuid.UUID)],
    ),
]

router = APIRouter()


@router.get("/business-calendars/{record_id}/business-time", response_model=BusinessTimeOut,
            tags=["business-calendars"],
            summary="When `minutes` business minutes after `start` are over, or the business minutes from "
                    "`start` to `end`")
def business_time(
    caller: CallerDep,
    record_id: uuid.UUID,
    start: Annotated[datetime, Query(description="With its offset, e.g. 2025-03-28T16:00:00+01:00")],
    minutes: Annotated[int | None, Query(ge=0, le=MAX_MINUTES)] = None,
    end: Annotated[datetime | None, Query(description="Instead of minutes: the business minutes up to it.")]
    = None,
) -> Any:
    for name, value in (("start", start), ("end", end)):
        if value is not None and value.utcoffset() is None:
            raise ValidationFailed.field(name, "give the time with its offset (Z or +01:00)")
    if (minutes is None) == (end is None):
        raise ValidationFailed.field("minutes", "give minutes, or an end, but not both")
    svc = BusinessCalendarService(caller.uow, caller.principal)
    if minutes is not None:
        return BusinessTimeOut(start=start, minutes=minutes, due=svc.due(record_id, start, minutes), end=None)
    assert end is not None
    return BusinessTimeOut(start=start, minutes=svc.between(record_id, start, end), due=None, end=end)


@router.get("/cases/{record_id}/sla-kpis", response_model=list[SlaKpiOut], tags=["cases"],
            summary="The SLA clocks (KPI instances) of a case, newest first, with their status as of now")
def case_sla_kpis(caller: CallerDep, record_id: uuid.UUID) -> Any:
    case = CaseService(caller.uow, caller.principal).get(record_id)
    now = utcnow()
    return [kpi_out(k, now) for k in case.sla_kpis]
