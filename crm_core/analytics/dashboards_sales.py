"""The sales dashboard's figures: the open pipeline by stage and by owner, the win rate over a period, and the
forecast by month of estimated close (estimated value x close probability).

Amounts are summed as stored, whatever their currency (the organisation is assumed to sell in one); every
figure is a GROUP BY over the opportunities the caller may read."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from crm_core.analytics.periods import Period, month_of_date
from crm_core.entities import entity
from crm_core.models import Opportunity, SalesProcess, SalesProcessStage, Team, User
from crm_core.sales_states import LOST, OPEN, WON
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege

CENTS = Decimal("0.01")
NO_STAGE = "(no stage)"


@dataclass(frozen=True)
class PipelineRow:
    label: str  # the stage ("process: stage") or the owner
    count: int
    value: Decimal  # the sum of estimated values
    weighted: Decimal  # the sum of estimated value x close probability


@dataclass(frozen=True)
class ForecastRow:
    month: str  # YYYY-MM of the estimated close date
    count: int
    value: Decimal
    weighted: Decimal


@dataclass(frozen=True)
class WinRate:
    start: date
    end: date
    won: int
    lost: int
    won_value: Decimal
    rate: float | None  # won / (won + lost); None when nothing closed


@dataclass(frozen=True)
class SalesDashboard:
    by_stage: list[PipelineRow]
    by_owner: list[PipelineRow]
    win_rate: WinRate
    forecast: list[ForecastRow]


def money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENTS)


def _sums() -> tuple[Any, Any, Any]:
    value = func.coalesce(Opportunity.estimated_value, 0)
    # 100.0 as SQL text: a numeric on PostgreSQL (a bound float would make it double precision), a real on SQLite
    weighted = value * func.coalesce(Opportunity.close_probability, 0) / literal_column("100.0")
    return func.count(Opportunity.id), func.sum(value), func.sum(weighted)


def sales_dashboard(session: Session, principal: Principal, period: Period) -> SalesDashboard:
    readable = access.scope(principal, entity("opportunity"), Privilege.READ)
    is_open = (Opportunity.statecode == OPEN) & readable
    count, value, weighted = _sums()

    stage_rows = session.execute(
        select(SalesProcess.name, SalesProcessStage.name, count, value, weighted)
        .select_from(Opportunity)
        .outerjoin(SalesProcessStage, SalesProcessStage.id == Opportunity.stage_id)
        .outerjoin(SalesProcess, SalesProcess.id == SalesProcessStage.sales_process_id)
        .where(is_open)
        .group_by(SalesProcess.name, SalesProcessStage.position, SalesProcessStage.name)
        .order_by(SalesProcess.name, SalesProcessStage.position)
    ).all()
    by_stage = [
        PipelineRow(f"{process}: {stage}" if stage else NO_STAGE, n, money(v), money(w))
        for process, stage, n, v, w in stage_rows
    ]

    owner = func.coalesce(User.full_name, Team.name)
    owner_rows = session.execute(
        select(owner, count, value, weighted)
        .select_from(Opportunity)
        .outerjoin(User, User.id == Opportunity.owning_user_id)
        .outerjoin(Team, Team.id == Opportunity.owning_team_id)
        .where(is_open)
        .group_by(Opportunity.owning_user_id, Opportunity.owning_team_id, owner)  # two Sams stay two
        .order_by(func.sum(func.coalesce(Opportunity.estimated_value, 0)).desc(), owner)
    ).all()
    by_owner = [PipelineRow(name, n, money(v), money(w)) for name, n, v, w in owner_rows]

    closed = session.execute(
        select(Opportunity.statecode, func.count(Opportunity.id), func.sum(func.coalesce(Opportunity.actual_value, 0)))
        .where(
            readable,
            Opportunity.statecode.in_((WON, LOST)),
            Opportunity.actual_close_date >= period.start,
            Opportunity.actual_close_date <= period.end,
        )
        .group_by(Opportunity.statecode)
    ).all()
    totals = {state: (n, v) for state, n, v in closed}
    won, won_value = totals.get(WON, (0, 0))
    lost = totals.get(LOST, (0, 0))[0]
    rate = won / (won + lost) if won + lost else None
    win_rate = WinRate(period.start, period.end, won, lost, money(won_value), rate)

    month = month_of_date(session, Opportunity.estimated_close_date)
    forecast_rows = session.execute(
        select(month, count, value, weighted)
        .where(is_open, Opportunity.estimated_close_date.isnot(None))
        .group_by(month)
        .order_by(month)
    ).all()
    forecast = [ForecastRow(m, n, money(v), money(w)) for m, n, v, w in forecast_rows]
    return SalesDashboard(by_stage, by_owner, win_rate, forecast)
