"""The SLA clocks of cases: which SLA a case follows, its KPI instances, and how case events move them.

CaseService calls these hooks inside its unit of work; they act as the organisation (no privilege of the
caller is needed to start or stop a clock), write through the ORM so that every change of a clock is audited
on its case, and never commit.

- A new case follows the SLA it is given (an active one), else its contract's SLA if active, else the active
  default SLA, else none. For each KPI the first item (in sequence) whose conditions match the case starts a
  clock: warning and failure times are the item's minutes counted in the SLA's calendar.
- Changing the SLA cancels the open clocks and starts the new SLA's from the case's creation; changing a field
  the conditions read picks the item again, and a clock whose item no longer applies gives way to one of the
  item that does, from the same start.
- A status reason in the SLA's pause list (On Hold, say) pauses the clocks; leaving it resumes them, the
  business minutes spent paused pushing the warning and failure times out (the same as counting
  started_on + minutes + paused minutes).
- The first response, a resolution, a cancelation stop the clocks: Succeeded when in time (a paused clock is
  in time), else Noncompliant at its failure time; canceled clocks are Canceled. Reactivating starts a new
  resolve clock (and a first-response clock whose last one was canceled); the old ones stay as history.
- `refresh_timers` (the periodic job) writes Nearing Noncompliance and Noncompliant as times pass; reads show
  them as of now even before it runs (SlaKpiInstance.status_at)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, inspect, or_, select
from sqlalchemy.orm import Session

from crm_core import case_states as cs
from crm_core.db.types import utcnow
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import Case, Contract, Sla, SlaItem, SlaKpiInstance
from crm_core.services import business_calendars, routing
from crm_core.services.business_hours import BusinessClock, BusinessTimeError, add_minutes, minutes_between

KPIS = ("first_response", "resolve")
_COLUMNS = {"customer_type": ("customer_account_id", "customer_contact_id"),
            "customer_id": ("customer_account_id", "customer_contact_id")}


# --- the hooks -------------------------------------------------------------------------------------------
def on_created(session: Session, case: Case, now: datetime) -> None:
    """A new case: pick its SLA and start the clocks of the KPIs whose items apply."""
    sla = _sla_for_new_case(session, case)
    case.sla_id = sla.id if sla is not None else None
    if sla is not None:
        previous = session.info.get("audit_action")
        session.info["audit_action"] = "sla"
        _Clocks(session, case, now).start(sla, KPIS, now)
        session.flush()
        session.info["audit_action"] = previous
    _reload(session, case)


def on_changed(session: Session, case: Case, changed: set[str], now: datetime) -> None:
    """Fields of an active case changed (its SLA, fields the items' conditions read, its status reason,
    first_response_sent)."""
    real = {name for name in changed if _really_changed(case, name)}  # before any query flushes the history
    if "first_response_sent" in real and not case.first_response_sent:
        raise ValidationFailed.field("first_response_sent", "a first response, once sent, cannot be taken back")
    answered = "first_response_sent" in changed and case.first_response_sent
    if answered and case.first_response_on is None:
        case.first_response_on = now
    clocks = _Clocks(session, case, now)
    if "sla_id" in real or ("sla_id" in changed and clocks.follow_other_sla()):
        sla = check_sla(session, case.sla_id) if case.sla_id is not None else None
        for kpi in clocks.open():
            clocks.cancel(kpi)
        if sla is not None:
            clocks.start(sla, KPIS, case.created_on)
    elif real & routing.FIELDS.keys() and case.sla_id is not None:
        clocks.pick_again()
    if "statuscode" in changed:
        clocks.pause_or_resume()
    if answered:
        on_answered(session, case.id, now)
    _reload(session, case)


def on_answered(session: Session, case_id: uuid.UUID, now: datetime) -> None:
    """The customer got a first response (an outgoing email sent or call completed regarding the case)."""
    case = session.get(Case, case_id)
    if case is None:
        return
    if not case.first_response_sent:
        case.first_response_sent = True
    if case.first_response_on is None:
        case.first_response_on = now
    clocks = _Clocks(session, case, now)
    for kpi in clocks.open("first_response"):
        clocks.finish(kpi, now)
    _reload(session, case)


def on_resolved(session: Session, case: Case, now: datetime) -> None:
    """The case is resolved: open clocks stop, succeeded or noncompliant."""
    clocks = _Clocks(session, case, now)
    for kpi in clocks.open():
        clocks.finish(kpi, now)
    _reload(session, case)


def on_canceled(session: Session, case: Case, now: datetime) -> None:
    """The case is canceled or merged: open clocks are canceled."""
    clocks = _Clocks(session, case, now)
    for kpi in clocks.open():
        clocks.cancel(kpi)
    _reload(session, case)


def on_reactivated(session: Session, case: Case, now: datetime) -> None:
    """The case is active again: a new resolve clock from now, and a new first-response clock if the last
    one was canceled. An SLA deactivated in the meantime starts no clock."""
    sla = session.get(Sla, case.sla_id) if case.sla_id is not None else None
    if sla is not None and sla.statecode == cs.RULE_ACTIVE:
        clocks = _Clocks(session, case, now)
        latest = clocks.latest("first_response")
        restart = ["resolve"]
        if latest is not None and latest.status == cs.KPI_CANCELED:
            restart.insert(0, "first_response")
        clocks.start(sla, restart, now)
    _reload(session, case)


def refresh_timers(session: Session, now: datetime | None = None) -> int:
    """For the periodic job: running clocks past their warning time become Nearing Noncompliance, past their
    failure time Noncompliant (failed at the failure time). Returns how many changed; flushes (audited as
    "sla_timer", by no user), the caller commits."""
    now = now or utcnow()
    due = select(SlaKpiInstance).where(or_(
        and_(SlaKpiInstance.status == cs.KPI_IN_PROGRESS, SlaKpiInstance.warning_time <= now),
        and_(SlaKpiInstance.status == cs.KPI_NEARING, SlaKpiInstance.failure_time < now),
    )).order_by(SlaKpiInstance.failure_time)
    previous = session.info.get("audit_action")
    session.info["audit_action"] = "sla_timer"
    changed = sum(_settle(kpi, now) for kpi in session.scalars(due).all())
    session.flush()
    session.info["audit_action"] = previous
    return changed


def check_sla(session: Session, sla_id: uuid.UUID) -> Sla:
    """The SLA a case is given: it must exist and be active (422 on sla_id otherwise)."""
    sla = session.get(Sla, sla_id)
    if sla is None:
        raise ValidationFailed.field("sla_id", f"no SLA with id {sla_id}")
    if sla.statecode != cs.RULE_ACTIVE:
        raise ValidationFailed.field("sla_id", f"the SLA {sla.name!r} is not active; a case follows an active SLA")
    return sla


# --- internals -------------------------------------------------------------------------------------------
def _sla_for_new_case(session: Session, case: Case) -> Sla | None:
    if case.sla_id is not None:
        return check_sla(session, case.sla_id)
    if case.contract_id is not None:
        contract = session.get(Contract, case.contract_id)
        sla = session.get(Sla, contract.sla_id) if contract is not None and contract.sla_id is not None else None
        if sla is not None and sla.statecode == cs.RULE_ACTIVE:
            return sla
    default = select(Sla).where(Sla.is_default.is_(True), Sla.statecode == cs.RULE_ACTIVE)
    return session.scalars(default).first()


def _really_changed(case: Case, name: str) -> bool:
    """Whether a field given to the update changed value ("statuscode" comes after a flush: always)."""
    if name == "statuscode":
        return True
    state = inspect(case)
    columns = _COLUMNS.get(name, (name,))
    return any(c in state.attrs and state.attrs[c].history.has_changes() for c in columns)


def _reload(session: Session, case: Case) -> None:
    """The case's clocks are read again when next asked for (CaseOut's response_by and statuses)."""
    if inspect(case).persistent:
        session.expire(case, ["sla_kpis"])


def _settle(kpi: SlaKpiInstance, now: datetime) -> bool:
    """A running clock catches up with time: Nearing Noncompliance past its warning time, Noncompliant past
    its failure time. Whether it changed."""
    status = kpi.status_at(now)
    if status == kpi.status:
        return False
    if kpi.warning_reached_on is None:
        kpi.warning_reached_on = kpi.warning_time
    if status == cs.KPI_NONCOMPLIANT:
        kpi.failed_on = kpi.failure_time
    kpi.status = status
    return True


class _Clocks:
    """The clocks of one case in one hook: finds them, and starts, pauses, resumes and stops them, with the
    business clock of each SLA loaded once."""

    def __init__(self, session: Session, case: Case, now: datetime) -> None:
        self.session, self.case, self.now = session, case, now
        self._clocks: dict[uuid.UUID, BusinessClock | None] = {}
        self._ctx = routing.MatchContext(session)

    # --- finding ---------------------------------------------------------------------------------------
    def open(self, kpi: str | None = None) -> list[SlaKpiInstance]:
        stmt = select(SlaKpiInstance).where(SlaKpiInstance.case_id == self.case.id,
                                            SlaKpiInstance.status.in_(cs.KPI_OPEN))
        if kpi is not None:
            stmt = stmt.where(SlaKpiInstance.kpi == kpi)
        return list(self.session.scalars(stmt.order_by(SlaKpiInstance.created_on)))

    def latest(self, kpi: str, sla_id: uuid.UUID | None = None) -> SlaKpiInstance | None:
        stmt = select(SlaKpiInstance).where(SlaKpiInstance.case_id == self.case.id, SlaKpiInstance.kpi == kpi)
        if sla_id is not None:
            stmt = stmt.where(SlaKpiInstance.sla_id == sla_id)
        newest = stmt.order_by(SlaKpiInstance.created_on.desc(), SlaKpiInstance.started_on.desc())
        return self.session.scalars(newest.limit(1)).first()

    def follow_other_sla(self) -> bool:
        """Open clocks of another SLA than the case's: its SLA changed (in case the history was flushed)."""
        return any(kpi.sla_id != self.case.sla_id for kpi in self.open())

    def pick(self, sla: Sla, kpi: str) -> SlaItem | None:
        return next((item for item in sla.items
                     if item.kpi == kpi and routing.matches(item.conditions, self.case, self._ctx)), None)

    # --- starting --------------------------------------------------------------------------------------
    def start(self, sla: Sla, kpis: Iterable[str], started_on: datetime) -> None:
        """Starts a clock for each KPI that has an applicable item, caught up with the case: answered
        already, or waiting in a pausing status reason."""
        for kpi in kpis:
            item = self.pick(sla, kpi)
            if item is not None:
                self._begin(sla, item, started_on)

    def _begin(self, sla: Sla, item: SlaItem, started_on: datetime, paused_minutes: int = 0,
               paused_on: datetime | None = None) -> SlaKpiInstance:
        clock = self.clock(sla)
        kpi = SlaKpiInstance(
            id=uuid.uuid4(), case_id=self.case.id, sla_id=sla.id, sla_item_id=item.id, kpi=item.kpi,
            name=item.name, status=cs.KPI_IN_PROGRESS, started_on=started_on, paused_minutes=paused_minutes,
            warning_time=_due(clock, started_on, item.warn_after_minutes + paused_minutes),
            failure_time=_due(clock, started_on, item.failure_after_minutes + paused_minutes),
            created_on=utcnow(),
        )
        self.session.add(kpi)
        if item.kpi == "first_response" and self.case.first_response_sent:
            self.finish(kpi, self.case.first_response_on or self.now)
        elif paused_on is not None:
            kpi.status, kpi.paused_on = cs.KPI_PAUSED, paused_on
        elif self.pausing(sla):
            self.pause(kpi)
        return kpi

    def pick_again(self) -> None:
        """Fields the conditions read changed: each KPI follows the item that applies now."""
        sla = self.session.get(Sla, self.case.sla_id) if self.case.sla_id is not None else None
        if sla is None or sla.statecode != cs.RULE_ACTIVE:
            return  # a deactivated SLA keeps the clocks it started, and starts none
        for kpi_name in KPIS:
            item = self.pick(sla, kpi_name)
            latest = self.latest(kpi_name, sla.id)
            if latest is None:
                if item is not None:
                    self._begin(sla, item, self.case.created_on)
                continue
            if latest.status not in cs.KPI_OPEN or (item is not None and item.id == latest.sla_item_id):
                continue
            self.cancel(latest)
            if item is not None:
                paused_on = latest.paused_on if latest.status == cs.KPI_PAUSED else None
                self._begin(sla, item, latest.started_on, latest.paused_minutes, paused_on)

    # --- pausing ---------------------------------------------------------------------------------------
    def pausing(self, sla: Sla) -> bool:
        return (sla.allow_pause and self.case.statecode == cs.ACTIVE
                and self.case.statuscode in (sla.pause_statuscodes or []))

    def pause_or_resume(self) -> None:
        for kpi in self.open():
            sla = self.session.get(Sla, kpi.sla_id)
            if sla is None:
                continue
            if self.pausing(sla):
                if kpi.status != cs.KPI_PAUSED:
                    self.pause(kpi)
            elif kpi.status == cs.KPI_PAUSED:
                self.resume(kpi, sla)

    def pause(self, kpi: SlaKpiInstance) -> None:
        """Stops a running clock, unless its failure time has passed already (then it is Noncompliant)."""
        _settle(kpi, self.now)
        if kpi.status in (cs.KPI_IN_PROGRESS, cs.KPI_NEARING):
            kpi.status, kpi.paused_on = cs.KPI_PAUSED, self.now

    def resume(self, kpi: SlaKpiInstance, sla: Sla) -> None:
        clock = self.clock(sla)
        paused = minutes_between(clock, kpi.paused_on, self.now) if kpi.paused_on is not None else 0
        kpi.paused_minutes = (kpi.paused_minutes or 0) + paused
        kpi.warning_time = _due(clock, kpi.warning_time, paused)
        kpi.failure_time = _due(clock, kpi.failure_time, paused)
        kpi.status = cs.KPI_IN_PROGRESS
        if self.now >= kpi.warning_time:
            kpi.status = cs.KPI_NEARING
            kpi.warning_reached_on = kpi.warning_reached_on or kpi.warning_time

    # --- stopping --------------------------------------------------------------------------------------
    def finish(self, kpi: SlaKpiInstance, at: datetime) -> None:
        """Met at `at`: Succeeded when in time (a paused clock is), else Noncompliant at its failure time."""
        if kpi.status == cs.KPI_PAUSED:
            sla = self.session.get(Sla, kpi.sla_id)
            if sla is not None and kpi.paused_on is not None:
                kpi.paused_minutes = (kpi.paused_minutes or 0) + minutes_between(self.clock(sla), kpi.paused_on, at)
            kpi.status, kpi.succeeded_on = cs.KPI_SUCCEEDED, at
        elif at <= kpi.failure_time:
            kpi.status, kpi.succeeded_on = cs.KPI_SUCCEEDED, at
        else:
            kpi.warning_reached_on = kpi.warning_reached_on or kpi.warning_time
            kpi.status, kpi.failed_on = cs.KPI_NONCOMPLIANT, kpi.failure_time

    def cancel(self, kpi: SlaKpiInstance) -> None:
        kpi.status, kpi.canceled_on = cs.KPI_CANCELED, self.now

    def clock(self, sla: Sla) -> BusinessClock | None:
        if sla.id not in self._clocks:
            try:
                self._clocks[sla.id] = business_calendars.clock(self.session, sla.business_calendar_id)
            except BusinessTimeError as exc:
                raise Conflict(f"the calendar of the SLA {sla.name!r} cannot run a clock: {exc}") from None
        return self._clocks[sla.id]


def _due(clock: BusinessClock | None, start: datetime, minutes: int) -> datetime:
    try:
        return add_minutes(clock, start, minutes)
    except BusinessTimeError as exc:
        raise Conflict(f"an SLA time cannot be computed: {exc}") from None
