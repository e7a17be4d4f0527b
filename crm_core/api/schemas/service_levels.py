"""Bodies of service levels: business calendars (working hours, closures), SLAs with their items, and the KPI
clocks of a case."""

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_core.api.schemas.common import RecordOut, Strict
from crm_core.services.slas import MAX_MINUTES

# --- business calendars --------------------------------------------------------------------------------
Kind = Literal["customer_service", "holiday_schedule"]


class HoursIn(Strict):
    weekday: int = Field(ge=0, le=6, description="0 Monday .. 6 Sunday")
    start: str = Field(max_length=5, examples=["09:00"], description="Local time HH:MM")
    end: str = Field(max_length=5, examples=["17:00"], description="Local time HH:MM, after start; 24:00 for midnight")


class ClosureIn(Strict):
    name: str = Field(min_length=1, max_length=160)
    starts_on: date
    ends_on: date | None = Field(default=None, description="The last closed day (included); defaults to starts_on.")


_HOURS = ("Working intervals (several a day leave breaks between them); replaces the list. A holiday schedule "
          "has none.")
_CLOSURES = "Closed days (holidays); replaces the list."
_BUSINESS_CLOSURES = ("This holiday schedule is the organisation's business closures: days every resource of the "
                      "service calendar is off. Only one calendar is; setting it here takes it from the other.")


class BusinessCalendarCreate(Strict):
    name: str = Field(min_length=1, max_length=160)
    description: str | None = None
    kind: Kind = "customer_service"
    time_zone: str = Field(max_length=64, description="IANA time zone the hours are local to, e.g. Europe/Paris")
    holiday_calendar_id: uuid.UUID | None = Field(default=None, description="A holiday_schedule calendar whose "
                                                  "closures this calendar observes too.")
    is_business_closures: bool = Field(default=False, description=_BUSINESS_CLOSURES)
    hours: list[HoursIn] = Field(default_factory=list, max_length=7 * 48, description=_HOURS,
                                 examples=[[{"weekday": 0, "start": "09:00", "end": "12:30"},
                                            {"weekday": 0, "start": "13:30", "end": "17:00"}]])
    closures: list[ClosureIn] = Field(default_factory=list, max_length=1000, description=_CLOSURES)


class BusinessCalendarUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=160)
    description: str | None = None
    kind: Kind | None = None
    time_zone: str | None = Field(default=None, max_length=64)
    holiday_calendar_id: uuid.UUID | None = None
    is_business_closures: bool | None = Field(default=None, description=_BUSINESS_CLOSURES)
    hours: list[HoursIn] | None = Field(default=None, max_length=7 * 48, description=_HOURS)
    closures: list[ClosureIn] | None = Field(default=None, max_length=1000, description=_CLOSURES)


class HoursOut(BaseModel):
    weekday: int
    start: str
    end: str


class ClosureOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    starts_on: date
    ends_on: date


class BusinessCalendarOut(RecordOut):
    name: str
    description: str | None
    kind: Kind
    time_zone: str
    holiday_calendar_id: uuid.UUID | None
    is_business_closures: bool
    hours: list[HoursOut]
    closures: list[ClosureOut]
    week_minutes: int = Field(description="Working minutes in a week without closures.")


class BusinessTimeOut(BaseModel):
    start: datetime
    minutes: int = Field(description="Business minutes from start (to `due`, or to `end`).")
    due: datetime | None = Field(description="start + minutes in business time (when minutes were given).")
    end: datetime | None = Field(description="As given (when end was given instead of minutes).")


# --- SLAs ----------------------------------------------------------------------------------------------
Kpi = Literal["first_response", "resolve"]


class SlaItemIn(Strict):
    name: str = Field(min_length=1, max_length=160)
    kpi: Kpi
    conditions: dict[str, Any] | None = Field(
        default=None, description="When the item applies: routing's condition language on case fields "
        "(docs/service.md); none applies to every case.",
        examples=[{"field": "priority_code", "op": "eq", "value": 1}])
    warn_after_minutes: int = Field(ge=0, le=MAX_MINUTES, description="Business minutes from the start.")
    failure_after_minutes: int = Field(ge=1, le=MAX_MINUTES, description="Business minutes from the start; "
                                       "not before the warning.")


_ITEMS = "Tried in this order: for each KPI the first item whose conditions match the case applies."
_PAUSE = "Case status reasons that pause the clocks: 2 On Hold, 3 Waiting for Details, 4 Researching."


class SlaCreate(Strict):
    name: str = Field(min_length=1, max_length=160)
    description: str | None = None
    business_calendar_id: uuid.UUID | None = Field(default=None, description="A customer_service calendar with "
                                                   "working hours; none: around the clock.")
    is_default: bool = Field(default=False, description="The SLA of cases that get none from their contract; "
                             "setting it takes it from the SLA that had it.")
    allow_pause: bool = True
    pause_statuscodes: list[int] = Field(default_factory=lambda: [2, 3], max_length=3, description=_PAUSE)
    items: list[SlaItemIn] = Field(default_factory=list, max_length=100, description=_ITEMS)


class SlaUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=160)
    description: str | None = None
    business_calendar_id: uuid.UUID | None = None
    is_default: bool | None = None
    allow_pause: bool | None = None
    pause_statuscodes: list[int] | None = Field(default=None, max_length=3, description=_PAUSE)
    items: list[SlaItemIn] | None = Field(default=None, max_length=100, description=f"Replaces the items. {_ITEMS}")


class SlaItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sequence_number: int
    name: str
    kpi: Kpi
    conditions: dict[str, Any]
    warn_after_minutes: int
    failure_after_minutes: int


class SlaOut(RecordOut):
    name: str
    description: str | None
    business_calendar_id: uuid.UUID | None
    is_default: bool
    allow_pause: bool
    pause_statuscodes: list[int]
    statecode: int
    statuscode: int
    state: str = ""
    status: str = ""
    items: list[SlaItemOut]


# --- a case's clocks -----------------------------------------------------------------------------------
class SlaKpiOut(BaseModel):
    id: uuid.UUID
    sla_id: uuid.UUID
    sla_item_id: uuid.UUID | None
    kpi: Kpi
    name: str
    status_code: int = Field(description="0 In Progress, 1 Noncompliant, 2 Nearing Noncompliance, 3 Paused, "
                             "4 Succeeded, 5 Canceled (as of now)")
    status: str
    started_on: datetime
    warning_time: datetime
    failure_time: datetime
    warning_reached_on: datetime | None
    succeeded_on: datetime | None
    failed_on: datetime | None
    canceled_on: datetime | None
    paused_on: datetime | None
    paused_minutes: int
