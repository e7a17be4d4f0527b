"""/api/v1/analytics: RFM segments of customers (and a segment made into a static marketing list), and
profitability per customer. The figures and their rules: crm_core.analytics.rfm and .profitability."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from crm_core.analytics.periods import period
from crm_core.analytics.profitability import profitability
from crm_core.analytics.rfm import MAX_WINDOW_DAYS, SEGMENT_LABELS, SEGMENTS, rfm
from crm_core.analytics.rfm_lists import segment_to_list
from crm_core.api.deps import CallerDep
from crm_core.api.schemas.common import Strict
from crm_core.db.types import utcnow

router = APIRouter(prefix="/analytics", tags=["analytics"])

WindowDays = Query(365, ge=1, le=MAX_WINDOW_DAYS, description="Purchases of the last so many days count.")


class RfmCustomerOut(BaseModel):
    customer_type: Literal["account", "contact"]
    customer_id: uuid.UUID
    customer_name: str
    last_purchase_on: datetime
    recency_days: int
    frequency: int
    monetary: Decimal
    r: int = Field(ge=1, le=5)
    f: int = Field(ge=1, le=5)
    m: int = Field(ge=1, le=5)
    segment: str


class SegmentOut(BaseModel):
    name: str
    label: str
    customers: int


class RfmOut(BaseModel):
    window_days: int
    computed_on: datetime
    segments: list[SegmentOut] = Field(description="Every segment, in the order of its rule, with its size.")
    customers: list[RfmCustomerOut]


class SegmentListIn(Strict):
    member_type: Literal["account", "contact"] = "account"
    name: str | None = Field(default=None, min_length=1, max_length=128)


class SegmentListOut(BaseModel):
    list_id: uuid.UUID
    name: str
    member_type: str
    members: int


class ProfitOut(BaseModel):
    customer_type: Literal["account", "contact"]
    customer_id: uuid.UUID
    customer_name: str
    revenue: Decimal
    service_cost: Decimal
    campaign_cost: Decimal
    margin: Decimal


class ProfitabilityOut(BaseModel):
    start: date
    end: date
    customers: list[ProfitOut]


@router.get("/rfm", response_model=RfmOut, summary="Recency, frequency and monetary scores and segments of customers")
def rfm_segments(caller: CallerDep, window_days: int = WindowDays) -> Any:
    now = utcnow()
    rows = rfm(caller.uow.session, caller.principal, window_days, now)
    sizes = {name: 0 for name in SEGMENTS}
    for row in rows:
        sizes[row.segment] += 1
    return RfmOut(
        window_days=window_days,
        computed_on=now,
        segments=[SegmentOut(name=n, label=SEGMENT_LABELS[n], customers=sizes[n]) for n in SEGMENTS],
        customers=[RfmCustomerOut(**vars(r)) for r in rows],
    )


@router.post(
    "/rfm/segments/{name}/marketing-list",
    response_model=SegmentListOut,
    status_code=status.HTTP_201_CREATED,
    summary="Make an RFM segment's customers of one type into a new static marketing list",
)
def rfm_segment_list(
    caller: CallerDep, name: str, body: SegmentListIn | None = None, window_days: int = WindowDays
) -> Any:
    body = body or SegmentListIn()
    created, members = segment_to_list(
        caller.uow, caller.principal, name, body.member_type, window_days, utcnow(), body.name
    )
    return SegmentListOut(list_id=created.id, name=created.name, member_type=created.member_type, members=members)


@router.get(
    "/profitability",
    response_model=ProfitabilityOut,
    summary="Revenue, cost of service, campaign cost and margin per customer over a period",
)
def customer_profitability(
    caller: CallerDep, start: date | None = Query(None, alias="from"), end: date | None = Query(None, alias="to")
) -> Any:
    span = period(start, end, utcnow().date())
    rows = profitability(caller.uow.session, caller.principal, span)
    return ProfitabilityOut(start=span.start, end=span.end, customers=[ProfitOut(**vars(r)) for r in rows])
