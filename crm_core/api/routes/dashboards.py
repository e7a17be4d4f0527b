"""/api/v1/dashboards/{sales,service,marketing}: the figures the dashboards page (/dashboards/) draws. The mail
dashboard is mailbridge's (mailbridge/admin/dashboard_route.py): sync health is its read model."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from crm_core.analytics.dashboards_marketing import marketing_dashboard
from crm_core.analytics.dashboards_sales import sales_dashboard
from crm_core.analytics.dashboards_service import service_dashboard
from crm_core.analytics.periods import period
from crm_core.api.deps import CallerDep
from crm_core.db.types import utcnow

router = APIRouter(prefix="/dashboards", tags=["dashboards"])


class PipelineOut(BaseModel):
    label: str
    count: int
    value: Decimal
    weighted: Decimal


class ForecastOut(BaseModel):
    month: str
    count: int
    value: Decimal
    weighted: Decimal


class WinRateOut(BaseModel):
    start: date
    end: date
    won: int
    lost: int
    won_value: Decimal
    rate: float | None


class SalesOut(BaseModel):
    by_stage: list[PipelineOut]
    by_owner: list[PipelineOut]
    win_rate: WinRateOut
    forecast: list[ForecastOut]


class CountOut(BaseModel):
    label: str
    count: int


class SlaOut(BaseModel):
    kpi: str
    status: str
    count: int


class ServiceOut(BaseModel):
    computed_on: datetime
    open_cases: int
    by_queue: list[CountOut]
    by_priority: list[CountOut]
    by_sla: list[SlaOut]


class CampaignOut(BaseModel):
    campaign_id: uuid.UUID
    name: str
    cost: Decimal
    responses: int
    won_deals: int
    won_value: Decimal
    cost_per_response: Decimal | None
    cost_per_won_deal: Decimal | None


class MarketingOut(BaseModel):
    campaigns: list[CampaignOut]


@router.get(
    "/sales",
    response_model=SalesOut,
    summary="Open pipeline by stage and owner, win rate over a period, forecast by month",
)
def sales(
    caller: CallerDep, start: date | None = Query(None, alias="from"), end: date | None = Query(None, alias="to")
) -> Any:
    board = sales_dashboard(caller.uow.session, caller.principal, period(start, end, utcnow().date()))
    return SalesOut(
        by_stage=[PipelineOut(**vars(r)) for r in board.by_stage],
        by_owner=[PipelineOut(**vars(r)) for r in board.by_owner],
        win_rate=WinRateOut(**vars(board.win_rate)),
        forecast=[ForecastOut(**vars(r)) for r in board.forecast],
    )


@router.get("/service", response_model=ServiceOut, summary="Open cases by queue, priority and SLA state")
def service(caller: CallerDep) -> Any:
    now = utcnow()
    board = service_dashboard(caller.uow.session, caller.principal, now)
    return ServiceOut(
        computed_on=now,
        open_cases=board.open_cases,
        by_queue=[CountOut(**vars(r)) for r in board.by_queue],
        by_priority=[CountOut(**vars(r)) for r in board.by_priority],
        by_sla=[SlaOut(**vars(r)) for r in board.by_sla],
    )


@router.get(
    "/marketing",
    response_model=MarketingOut,
    summary="Per campaign: cost, responses, won deals, cost per response and per won deal",
)
def marketing(caller: CallerDep) -> Any:
    return MarketingOut(
        campaigns=[CampaignOut(**vars(r)) for r in marketing_dashboard(caller.uow.session, caller.principal)]
    )
