"""The service calendar view: its API (GET /api/v1/service-calendar) and its web page (GET /service-calendar).

The page is a static file with its script and style beside it (crm_core.api.static_pages: no data, no
authentication, a self-only Content-Security-Policy); the script asks the API with the token the user gives it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from pydantic import AwareDatetime, BaseModel, Field

from calendar_sync.scheduling.view import MAX_WINDOW_DAYS, Scope, View, calendar, window_of
from crm_core.api.deps import CallerDep
from crm_core.api.schemas.common import PROBLEM_RESPONSES
from crm_core.api.static_pages import CSS, JS, StaticPage
from crm_core.errors import ValidationFailed
from crm_core.services.scheduling_records import check_time_zone

WEB = StaticPage(Path(__file__).parent / "web", "service_calendar.html",
                 {"service_calendar.js": JS, "service_calendar.css": CSS})


class SpanOut(BaseModel):
    start: datetime
    end: datetime


class BookingOut(BaseModel):
    kind: Literal["booking"]
    id: uuid.UUID
    subject: str
    status: str
    service_id: uuid.UUID | None
    start: datetime
    end: datetime


class BusyOut(BaseModel):
    """Another unit's booking: the time is taken; by what is not the caller's to read."""

    kind: Literal["busy"]
    start: datetime
    end: datetime


class ResourceRowOut(BaseModel):
    id: uuid.UUID
    name: str
    kind: str
    site_id: uuid.UUID | None
    capacity: int
    time_zone: str
    working: list[SpanOut] = Field(description="When it works: weekly hours, closures and exceptions applied")
    bookings: list[Annotated[BookingOut | BusyOut, Field(discriminator="kind")]]
    appointments: list[SpanOut] = Field(description="A user resource's meetings, as free/busy")


class CalendarOut(BaseModel):
    view: str | None
    time_zone: str
    start: datetime
    end: datetime
    resources: list[ResourceRowOut]


api = APIRouter(tags=["service calendar"], responses=PROBLEM_RESPONSES)
page = APIRouter(include_in_schema=False)


@api.get("/service-calendar", response_model=CalendarOut,
         summary="Resources over a window: working time, bookings and meetings, for the calendar view")
def service_calendar(
    caller: CallerDep,
    start: Annotated[AwareDatetime | None, Query(description="The window's start (with end)")] = None,
    end: Annotated[AwareDatetime | None, Query(description=f"The window's end, at most {MAX_WINDOW_DAYS} days "
                                                "after start")] = None,
    resource_id: Annotated[list[uuid.UUID] | None, Query(description="These resources (repeatable)")] = None,
    group_id: Annotated[uuid.UUID | None, Query(description="A group's resources, nested groups too")] = None,
    site_id: Annotated[uuid.UUID | None, Query(description="Only the resources of this site")] = None,
    view: Annotated[View | None, Query(description="Without start and end: the day, week (Monday to "
                                       "Sunday) or month holding `date`")] = None,
    day: Annotated[date | None, Query(alias="date", description="Default: today in time_zone")] = None,
    time_zone: Annotated[str, Query(max_length=64, description="The IANA zone the day, week or month "
                                    "is laid out in")] = "UTC",
) -> Any:
    check_time_zone(time_zone, "time_zone")
    zone = ZoneInfo(time_zone)
    if (start is None) != (end is None):
        raise ValidationFailed.field("end" if end is None else "start", "give start and end together, or date "
                                     "and view")
    if start is None or end is None:
        start, end = window_of(view or "week", day or datetime.now(zone).date(), zone)
    scope = Scope(tuple(resource_id or ()), group_id, site_id)
    rows = calendar(caller.uow.session, caller.principal, scope, start, end)
    return {"view": view, "time_zone": time_zone, "start": start, "end": end, "resources": rows}


@page.get("/service-calendar")
def service_calendar_page() -> FileResponse:
    return WEB.page_response()


@page.get("/service-calendar/{name}")
def service_calendar_asset(name: str) -> FileResponse:
    return WEB.asset_response(name)


router = APIRouter()
router.include_router(api, prefix="/api/v1")
router.include_router(page)
