"""The service dashboard's figures: open cases by queue, by priority, and by the state of their SLA clocks.

A case's SLA state is that of its latest clock of each KPI (first response, resolve) under the SLA it follows
now, read as of now in SQL as SlaKpiInstance.status_at does (a running clock past its warning time is Nearing
Noncompliance, past its failure time Noncompliant, even before the timer job has written it). Every figure is
a GROUP BY over the open cases the caller may read."""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from crm_core.case_states import ACTIVE, KPI_IN_PROGRESS, KPI_NEARING, KPI_NONCOMPLIANT, KPI_STATUS
from crm_core.entities import entity
from crm_core.models import Case, Queue, QueueItem, SlaKpiInstance
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege

PRIORITIES = {1: "High", 2: "Normal", 3: "Low"}
KPIS = {"first_response": "First response", "resolve": "Resolve"}
NO_QUEUE = "(in no queue)"


@dataclass(frozen=True)
class CountRow:
    label: str
    count: int


@dataclass(frozen=True)
class SlaRow:
    kpi: str  # first_response or resolve
    status: str  # In Progress, Nearing Noncompliance, Noncompliant, Paused, Succeeded, Canceled
    count: int


@dataclass(frozen=True)
class ServiceDashboard:
    open_cases: int = 0
    by_queue: list[CountRow] = field(default_factory=list)
    by_priority: list[CountRow] = field(default_factory=list)
    by_sla: list[SlaRow] = field(default_factory=list)


def service_dashboard(session: Session, principal: Principal, now: datetime) -> ServiceDashboard:
    is_open = (Case.statecode == ACTIVE) & access.scope(principal, entity("case"), Privilege.READ)
    total = session.scalar(select(func.count(Case.id)).where(is_open)) or 0

    queue_rows = session.execute(
        select(Queue.name, func.count(Case.id))
        .select_from(Case)
        .outerjoin(QueueItem, QueueItem.case_id == Case.id)
        .outerjoin(Queue, Queue.id == QueueItem.queue_id)
        .where(is_open)
        .group_by(Queue.name)
        .order_by(func.count(Case.id).desc(), Queue.name)
    ).all()
    by_queue = [CountRow(name or NO_QUEUE, n) for name, n in queue_rows]

    priority_rows = session.execute(
        select(Case.priority_code, func.count(Case.id))
        .where(is_open)
        .group_by(Case.priority_code)
        .order_by(Case.priority_code)
    ).all()
    by_priority = [CountRow(PRIORITIES.get(code, str(code)), n) for code, n in priority_rows]

    newer = aliased(SlaKpiInstance)
    running = SlaKpiInstance.status.in_((KPI_IN_PROGRESS, KPI_NEARING))
    status_now = case(
        (running & (SlaKpiInstance.failure_time < now), KPI_NONCOMPLIANT),
        (running & (SlaKpiInstance.warning_time <= now), KPI_NEARING),
        else_=SlaKpiInstance.status,
    )
    latest = (
        ~select(newer.id)
        .where(
            newer.case_id == SlaKpiInstance.case_id,
            newer.kpi == SlaKpiInstance.kpi,
            newer.sla_id == SlaKpiInstance.sla_id,
            newer.created_on > SlaKpiInstance.created_on,
        )
        .exists()
    )
    sla_rows = session.execute(
        select(SlaKpiInstance.kpi, status_now, func.count(SlaKpiInstance.id))
        .join(Case, and_(Case.id == SlaKpiInstance.case_id, Case.sla_id == SlaKpiInstance.sla_id))
        .where(is_open, latest)
        .group_by(SlaKpiInstance.kpi, status_now)
        .order_by(SlaKpiInstance.kpi, status_now)
    ).all()
    by_sla = [SlaRow(kpi, KPI_STATUS.get(status, str(status)), n) for kpi, status, n in sla_rows]
    return ServiceDashboard(total, by_queue, by_priority, by_sla)
