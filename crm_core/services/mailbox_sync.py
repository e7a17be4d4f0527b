"""The sync state machine of a mailbox: the one service that changes `MailboxSyncState.stage`, through the table
of allowed transitions below, and that raises and clears the mailbox's alerts.

    idle ──> queued ──> running ──> idle            a pass that completed
      │                   │  ├────> backing_off     failed for a while or throttled: retried at next_run_on
      └──────> running    │  ├────> parked          too many failures in a row: an admin must look
                          │  └────> stopped         the server refused the credentials for good
    backing_off ──> queued | running                its time came
    parked | stopped ──> queued | running | idle    an admin resumed it; new credentials or a passing test

`running -> running` is a worker taking over the mailbox of one that died (its lease expired); `queued ->
queued` a task that never reached a worker, sent again. Any other move is a bug and raises."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm_core.db.types import utcnow
from crm_core.models import MailboxAlert, MailboxSyncRun, MailboxSyncState

TRANSITIONS: dict[str, frozenset[str]] = {
    "idle": frozenset({"queued", "running"}),
    "queued": frozenset({"queued", "running", "idle"}),
    "running": frozenset({"running", "queued", "idle", "backing_off", "parked", "stopped"}),
    "backing_off": frozenset({"queued", "running", "idle"}),
    "parked": frozenset({"queued", "running", "idle"}),
    "stopped": frozenset({"queued", "running", "idle"}),
}
HISTORY_DAYS = 90


class IllegalTransition(RuntimeError):
    """A move the table does not allow: a bug in the caller, never a user error."""


def state_of(session: Session, mailbox_id: uuid.UUID) -> MailboxSyncState:
    """The mailbox's sync state, created idle (due now) on first use."""
    state = session.get(MailboxSyncState, mailbox_id)
    if state is None:
        state = MailboxSyncState(mailbox_id=mailbox_id, stage="idle", stage_on=utcnow(), failure_count=0)
        session.add(state)
        session.flush()
    return state


def move(state: MailboxSyncState, stage: str, now: datetime | None = None) -> None:
    if stage not in TRANSITIONS.get(state.stage, frozenset()):
        raise IllegalTransition(f"mailbox {state.mailbox_id}: {state.stage} -> {stage} is not a sync transition")
    state.stage, state.stage_on = stage, now or utcnow()


def queue(state: MailboxSyncState, now: datetime | None = None) -> None:
    move(state, "queued", now)


def start(state: MailboxSyncState, run_id: uuid.UUID, now: datetime | None = None) -> None:
    now = now or utcnow()
    move(state, "running", now)
    state.current_run_id, state.last_attempt_on, state.progress = run_id, now, {"done": 0, "tracked": 0}


def succeed(session: Session, state: MailboxSyncState, interval_seconds: int, now: datetime | None = None) -> None:
    """A complete pass: next run one interval later, failures forgotten, error alerts of the sync cleared."""
    now = now or utcnow()
    recovered = state.failure_count > 0
    move(state, "idle", now)
    state.next_run_on = now + timedelta(seconds=interval_seconds)
    state.failure_count, state.throttled_until = 0, None
    state.last_success_on, state.last_error_reason, state.last_error_message = now, None, None
    state.current_run_id, state.progress = None, None
    if recovered:
        dismiss(session, state.mailbox_id, ("sync_failing", "throttled"), now)


def back_off(state: MailboxSyncState, delay_seconds: float, reason: str, message: str, *, counts: bool,
             throttled_until: datetime | None = None, now: datetime | None = None) -> None:
    """A pass that failed (or that the server throttled): retried after `delay_seconds`. A throttled folder
    (`counts` False) is the server's pace, not our failure, and does not bring the mailbox nearer parking."""
    now = now or utcnow()
    move(state, "backing_off", now)
    state.next_run_on = now + timedelta(seconds=delay_seconds)
    state.failure_count += 1 if counts else 0
    state.throttled_until = throttled_until
    state.last_error_reason, state.last_error_message = reason[:32], message
    state.current_run_id, state.progress = None, None


def park(state: MailboxSyncState, reason: str, message: str, now: datetime | None = None) -> None:
    now = now or utcnow()
    move(state, "parked", now)
    state.next_run_on, state.failure_count = None, state.failure_count + 1
    state.last_error_reason, state.last_error_message = reason[:32], message
    state.current_run_id, state.progress = None, None


def stop(state: MailboxSyncState, reason: str, message: str, now: datetime | None = None) -> None:
    move(state, "stopped", now)
    state.next_run_on = None
    state.last_error_reason, state.last_error_message = reason[:32], message
    state.current_run_id, state.progress = None, None


def settle(state: MailboxSyncState, now: datetime | None = None) -> None:
    """Back to idle without a pass (the mailbox may not sync now: pending approval, switched off)."""
    move(state, "idle", now)
    state.current_run_id, state.progress = None, None


def resume(session: Session, state: MailboxSyncState, now: datetime | None = None) -> None:
    """An admin's "sync now" on a parked or stopped mailbox: due at once, failures forgotten."""
    now = now or utcnow()
    if state.stage in ("parked", "stopped", "backing_off"):
        move(state, "idle", now)
    state.next_run_on, state.failure_count, state.throttled_until = None, 0, None
    dismiss(session, state.mailbox_id, ("parked", "sync_failing"), now)


# --- alerts ----------------------------------------------------------------------------------------------
def alert(session: Session, mailbox_id: uuid.UUID, level: str, code: str, message: str,
          now: datetime | None = None) -> MailboxAlert:
    """Raises an alert, or counts up the same open one (same code) with the latest message."""
    now = now or utcnow()
    open_one = session.scalar(select(MailboxAlert).where(
        MailboxAlert.mailbox_id == mailbox_id, MailboxAlert.code == code, MailboxAlert.dismissed_on.is_(None)))
    if open_one is not None:
        open_one.last_on, open_one.message, open_one.level = now, message, level
        open_one.occurrences += 1
        return open_one
    row = MailboxAlert(id=uuid.uuid4(), mailbox_id=mailbox_id, level=level, code=code, message=message,
                       first_on=now, last_on=now, occurrences=1)
    session.add(row)
    return row


def dismiss(session: Session, mailbox_id: uuid.UUID, codes: tuple[str, ...], now: datetime | None = None) -> int:
    rows = session.scalars(select(MailboxAlert).where(
        MailboxAlert.mailbox_id == mailbox_id, MailboxAlert.code.in_(codes), MailboxAlert.dismissed_on.is_(None)))
    count = 0
    for row in rows:
        row.dismissed_on = now or utcnow()
        count += 1
    return count


def prune_history(session: Session, now: datetime | None = None, days: int = HISTORY_DAYS) -> int:
    """Runs and dismissed alerts older than `days` are deleted; the current state stays."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    runs = session.execute(delete(MailboxSyncRun).where(MailboxSyncRun.started_on < cutoff)).rowcount
    alerts = session.execute(delete(MailboxAlert).where(MailboxAlert.dismissed_on < cutoff)).rowcount
    return int(runs or 0) + int(alerts or 0)
