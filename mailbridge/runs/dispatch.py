"""The dispatcher: which mailboxes are due for a sync now, read from the database at every round (each mailbox's
own interval, a change notification's request, the end of a back-off), so that a new mailbox or a new interval
needs no restart. Beat calls it every few seconds; it marks the due mailboxes queued, commits, and only then
are their tasks sent (ARCHITECTURE.md: enqueued after commit).

A mailbox is due when it may sync (approved, enabled, credentials, not stopped) and:
- it is idle or backing off, and its next run has come (or a notification asked for one, unless the server is
  still throttling it);
- it was queued long ago and no worker started it (the task was lost with a broker or a worker);
- it is "running" but no worker holds its lease any more (the worker died mid-pass).
Parked mailboxes wait for an admin."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Mailbox, MailboxSyncState
from crm_core.services import leases, mailbox_sync
from mailbridge.runs.policy import RunPolicy
from mailbridge.runs.runner import lease_key


def claim_due(factory: sessionmaker[Session], policy: RunPolicy | None = None, now: datetime | None = None,
              limit: int = 500) -> list[uuid.UUID]:
    """Marks the due mailboxes queued and returns them (committed: the caller sends their tasks next)."""
    policy = policy or RunPolicy()
    now = now or utcnow()
    due: list[uuid.UUID] = []
    with UnitOfWork(factory) as uow:
        session = uow.session
        rows = session.execute(
            select(Mailbox, MailboxSyncState).outerjoin(MailboxSyncState, MailboxSyncState.mailbox_id == Mailbox.id)
            .where(Mailbox.approval_status == "approved", Mailbox.incoming_enabled.is_(True),
                   Mailbox.sync_stopped_on.is_(None))
            .order_by(MailboxSyncState.next_run_on.is_not(None), MailboxSyncState.next_run_on, Mailbox.id)).all()
        for mailbox, state in rows:
            if len(due) >= limit:
                break
            if not mailbox.may_sync("incoming"):
                continue
            if state is None:
                state = mailbox_sync.state_of(session, mailbox.id)
            if _is_due(session, mailbox, state, policy, now):
                mailbox_sync.queue(state, now)
                due.append(mailbox.id)
        uow.commit()
    return due


def _is_due(session: Session, mailbox: Mailbox, state: MailboxSyncState, policy: RunPolicy, now: datetime) -> bool:
    if state.stage in ("idle", "backing_off", "stopped"):
        if state.throttled_until is not None and state.throttled_until > now:
            return False
        requested = mailbox.sync_requested_on is not None and state.stage != "backing_off"
        return requested or state.next_run_on is None or state.next_run_on <= now
    if state.stage == "queued":
        return state.stage_on <= now - timedelta(seconds=policy.requeue_after_seconds)
    if state.stage == "running":
        return leases.holder(session, lease_key(mailbox.id)) is None
    return False  # parked
