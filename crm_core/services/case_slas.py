"""The SLA clocks of cases: which SLA a case follows, its KPI instances, and how case events move them.

CaseService calls these hooks inside its unit of work; they act as the organisation (no privilege of the
caller is needed to start or stop a clock). Placeholder until the SLA engine lands: every hook is a no-op."""

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from crm_core.models import Case


def on_created(session: Session, case: Case, now: datetime) -> None:
    """A new case: pick its SLA and start the clocks of the KPIs whose items apply."""


def on_changed(session: Session, case: Case, changed: set[str], now: datetime) -> None:
    """Fields of an active case changed (its SLA, fields the items' conditions read, its status reason,
    first_response_sent)."""


def on_answered(session: Session, case_id: uuid.UUID, now: datetime) -> None:
    """The customer got a first response (an outgoing email sent or call completed regarding the case)."""


def on_resolved(session: Session, case: Case, now: datetime) -> None:
    """The case is resolved: open clocks stop, succeeded or noncompliant."""


def on_canceled(session: Session, case: Case, now: datetime) -> None:
    """The case is canceled or merged: open clocks are canceled."""


def on_reactivated(session: Session, case: Case, now: datetime) -> None:
    """The case is active again: clocks restart for the KPIs it has not met."""
