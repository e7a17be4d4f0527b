"""The time-driven triggers, found by a periodic scan rather than by a change: a record's date plus an offset
reached (relative_time: "a day before the estimated close date"), a case's SLA clock reaching its warning time
(sla_warning, on the SLA KPI instances crm_core.services.case_slas keeps).

Each scan of a rule looks at the window since its last scan (from its activation, the first time), so that
activating a rule does not fire it for every past date. Each occurrence has a key (the record and the date
value; the KPI), so the run happens once even when a window is looked at again, and happens again when the
date moves to a new value."""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from crm_core import case_states as cs
from crm_core.automation.actions import RecordServices
from crm_core.automation.definitions import TIME_TRIGGERS
from crm_core.automation.durations import parse_duration
from crm_core.automation.runner import Occurrence, Summary, run_rule
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.entities import entity
from crm_core.models import BusinessRule, RuleScan, SlaKpiInstance

SCAN_LIMIT = 1000
_WARNED = (cs.KPI_IN_PROGRESS, cs.KPI_NEARING, cs.KPI_NONCOMPLIANT)


def scan_due(
    factory: sessionmaker[Session],
    services: RecordServices,
    max_depth: int,
    now: datetime | None = None,
    summary: Summary | None = None,
) -> Summary:
    """Every active time-driven rule's occurrences since its last scan, each run once."""
    now = now or utcnow()
    summary = summary or Summary()
    with UnitOfWork(factory) as uow:
        rules = [
            (r.id, r.entity, dict(r.trigger), r.activated_on)
            for r in uow.session.scalars(select(BusinessRule).where(BusinessRule.is_active.is_(True)))
            if r.trigger.get("type") in TIME_TRIGGERS
        ]
    for rule_id, name, trigger, activated_on in rules:
        with UnitOfWork(factory) as uow:
            mark = uow.session.get(RuleScan, rule_id)
            start = max(mark.scanned_until, activated_on or now) if mark else activated_on or now
            if trigger["type"] == "relative_time":
                found, until = _dates_reached(uow.session, name, trigger, start, now)
            else:
                found, until = _sla_warnings(uow.session, start, now)
        for occurrence in found:
            summary.count(run_rule(factory, services, max_depth, rule_id, occurrence, now))
        with UnitOfWork(factory) as uow:
            mark = uow.session.get(RuleScan, rule_id)
            if mark is None:
                uow.session.add(RuleScan(rule_id=rule_id, scanned_until=until))
            else:
                mark.scanned_until = max(mark.scanned_until, until)
            uow.commit()
    return summary


def _as_instant(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.combine(value, time(), UTC)  # a date counts from its midnight, UTC


def _dates_reached(
    session: Session, name: str, trigger: dict[str, Any], start: datetime, now: datetime
) -> tuple[list[Occurrence], datetime]:
    """Records whose date + offset falls in (start, now], and how far that scan reached."""
    spec = entity(name)
    offset: timedelta = parse_duration(trigger["offset"])
    column = getattr(spec.model, trigger["date_field"])
    low, high = start - offset, now - offset
    is_date = column.type.python_type is date
    bounds = (column >= low.date(), column <= high.date()) if is_date else (column > low, column <= high)
    rows = session.execute(
        select(spec.model.id, column).where(*bounds).order_by(column, spec.model.id).limit(SCAN_LIMIT)
    ).all()
    found = []
    for record_id, value in rows:
        due = _as_instant(value) + offset
        if start < due <= now:
            key = f"relative_time:{record_id}:{value.isoformat()}"
            found.append(Occurrence(key, "relative_time", name, record_id))
    if len(rows) == SCAN_LIMIT:  # more to come: the next scan starts at the last date seen (its runs are keyed)
        return found, _as_instant(rows[-1][1]) + offset - timedelta(microseconds=1)
    return found, now


def _sla_warnings(session: Session, start: datetime, now: datetime) -> tuple[list[Occurrence], datetime]:
    """Case SLA clocks whose warning time came in (start, now] and that were not paused or canceled before
    it (a paused clock's warning time moves out when it resumes, into a later scan)."""
    rows = session.execute(
        select(SlaKpiInstance.id, SlaKpiInstance.case_id, SlaKpiInstance.warning_time)
        .where(
            SlaKpiInstance.warning_time > start,
            SlaKpiInstance.warning_time <= now,
            or_(SlaKpiInstance.status.in_(_WARNED), SlaKpiInstance.warning_reached_on.is_not(None)),
        )
        .order_by(SlaKpiInstance.warning_time, SlaKpiInstance.id)
        .limit(SCAN_LIMIT)
    ).all()
    found = [Occurrence(f"sla_warning:{kpi_id}", "sla_warning", "case", case_id) for kpi_id, case_id, _ in rows]
    if len(rows) == SCAN_LIMIT:
        return found, rows[-1][2] - timedelta(microseconds=1)
    return found, now
