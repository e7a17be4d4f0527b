"""The organisation's time-driven chores: what must happen because a date or a deadline has come.

Knowledge articles are published and expired at their dates, SLA clocks reach their warning and failure
times, contracts start and expire. `crm tick` runs them once; the workers run them every minute. Each chore
runs in a transaction of its own, so that one that fails (and is reported) does not hold back the others,
and each is idempotent: running it twice for the same instant changes nothing the second time."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.services import case_slas, contracts, knowledge

log = logging.getLogger(__name__)


def _knowledge(uow: UnitOfWork, now: datetime) -> int:
    published, expired = knowledge.apply_schedule(uow, now)
    return published + expired


def _sla_timers(uow: UnitOfWork, now: datetime) -> int:
    changed = case_slas.refresh_timers(uow.session, now)
    uow.commit()
    return changed


def _contracts(uow: UnitOfWork, now: datetime) -> int:
    changed = contracts.refresh_contract_states(uow.session, now.date())
    uow.commit()
    return changed


@dataclass(frozen=True)
class Chore:
    name: str
    description: str
    run: Callable[[UnitOfWork, datetime], int]


CHORES = (
    Chore("knowledge", "knowledge articles published or expired at their dates", _knowledge),
    Chore("sla_timers", "SLA KPIs that reached their warning or failure time", _sla_timers),
    Chore("contracts", "contracts and contract lines that became active or expired", _contracts),
)


@dataclass(frozen=True)
class ChoreResult:
    chore: Chore
    changed: int
    error: str | None = None


def run_due(factory: sessionmaker[Session], now: datetime | None = None) -> list[ChoreResult]:
    """Runs every chore for `now` (default: this instant), each in its own unit of work."""
    now = now or utcnow()
    results = []
    for chore in CHORES:
        try:
            with UnitOfWork(factory) as uow:
                results.append(ChoreResult(chore, chore.run(uow, now)))
        except Exception as exc:  # one chore's failure must not stop the others; it is reported
            log.exception("chore %s failed", chore.name)
            results.append(ChoreResult(chore, 0, f"{type(exc).__name__}: {exc}"))
    return results
