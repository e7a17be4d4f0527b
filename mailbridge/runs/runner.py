"""`run_mailbox_sync`: one pass of a mailbox as a job. It takes the mailbox's lease (or finds another worker on it
and leaves), records a run, moves the state machine (crm_core.services.mailbox_sync), runs the tracking driver
with a heartbeat, and applies the policy's decision: next run, back-off, parking or stop, with an alert.

Nothing here can lose or double mail: the tracking driver commits each batch with its checkpoint, so a pass
killed anywhere resumes from its last batch; the lease only keeps two workers from doing the same work at once."""

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import Conflict, CrmError
from crm_core.models import MailboxSyncRun, MailboxSyncState
from crm_core.services import leases, mailbox_sync
from mailbridge.notifications.store import sync_request_served
from mailbridge.runs.heartbeat import Heartbeat, LeaseLost
from mailbridge.runs.policy import Decision, RunPolicy, after_error, after_summary
from mailbridge.tracking.context import load_mailbox
from mailbridge.tracking.imap_sync import sync_mailbox
from mailbridge.tracking.options import TrackingOptions
from mailbridge.tracking.results import Progress, ProgressEvent, SyncSummary

log = logging.getLogger(__name__)


def worker_name() -> str:
    """host:pid:thread. The thread matters: a worker runs several tasks at once in threads, and a lease taken
    under the process's name alone would let two of its threads sync one mailbox together (leases.acquire
    gives a lease back to the owner that holds it)."""
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_native_id()}"


def lease_key(mailbox_id: uuid.UUID) -> str:
    return f"mailbox:{mailbox_id}"


@dataclass(frozen=True)
class RunResult:
    """How the job ended: "busy" (another worker holds the mailbox), or the run's outcome."""

    outcome: str
    run_id: uuid.UUID | None = None
    summary: SyncSummary | None = None
    next_run_on: datetime | None = None
    reason: str | None = None
    message: str | None = None


def run_mailbox_sync(factory: sessionmaker[Session], mailbox_id: uuid.UUID, *, trigger: str = "schedule",
                     options: TrackingOptions | None = None, policy: RunPolicy | None = None,
                     worker: str | None = None, progress: Progress | None = None,
                     raise_errors: bool = False) -> RunResult:
    """One pass as a job; every outcome recorded and returned. `raise_errors` (a person waiting: the API's and
    the CLI's "sync now") raises instead, after recording: Conflict when another worker holds the mailbox or
    it may not sync, the connector's error when the pass failed."""
    policy = policy or RunPolicy()
    worker = worker or worker_name()
    key = lease_key(mailbox_id)
    if not leases.acquire(factory, key, worker, policy.lease_seconds):
        log.info("mailbox %s: another worker is syncing it", mailbox_id)
        if raise_errors:
            raise Conflict("a worker is syncing this mailbox right now; its progress shows in its sync health")
        return RunResult("busy")
    try:
        run_id, started_on, refusal = _start(factory, mailbox_id, trigger, worker)
        if refusal is not None:
            if raise_errors:
                raise Conflict(f"the mailbox may not sync: {refusal}")
            return RunResult("refused", run_id, reason="may_not_sync", message=refusal)
        summary: SyncSummary | None = None
        error: BaseException | None = None
        with Heartbeat(factory, mailbox_id, key, worker, policy.lease_seconds) as heartbeat:
            try:
                summary = sync_mailbox(factory, mailbox_id, options, progress=_both(heartbeat.progress, progress))
            except LeaseLost:
                _abandon(factory, run_id)
                return RunResult("abandoned", run_id, reason="lease_lost")
            except Exception as exc:  # every failure is decided by the policy and recorded; none escapes
                error = exc
                if not _expected(exc):
                    log.exception("mailbox %s: sync failed", mailbox_id)
        result = _finish(factory, mailbox_id, run_id, summary, error, policy)
        if error is not None and raise_errors:
            raise error
        if summary is not None and result.outcome in ("succeeded", "partial"):
            sync_request_served(factory, mailbox_id, started_on)
        return result
    finally:
        leases.release(factory, key, worker)


def _both(first: Progress, second: Progress | None) -> Progress:
    if second is None:
        return first

    def both(event: ProgressEvent) -> None:
        first(event)
        second(event)
    return both


def _expected(exc: BaseException) -> bool:
    return isinstance(exc, CrmError)


def _start(factory: sessionmaker[Session], mailbox_id: uuid.UUID, trigger: str,
           worker: str) -> tuple[uuid.UUID, datetime, str | None]:
    """Records the run and moves the mailbox to running; a mailbox that may not sync is refused (and settles)."""
    now = utcnow()
    run_id = uuid.uuid4()
    with UnitOfWork(factory) as uow:
        mailbox = load_mailbox(uow.session, mailbox_id)
        state = mailbox_sync.state_of(uow.session, mailbox_id)
        permission = mailbox.may_sync("incoming")
        if trigger == "schedule":  # what made it due, for the history
            trigger = "requested" if mailbox.sync_requested_on else "retry" if state.failure_count else \
                trigger
        run = MailboxSyncRun(id=run_id, mailbox_id=mailbox_id, trigger=trigger, worker=worker,
                             connector=mailbox.server_profile.incoming_protocol, started_on=now, folders=[])
        uow.session.add(run)
        # We hold the lease: a run still "running" is one whose worker died before finishing it.
        for previous in uow.session.scalars(select(MailboxSyncRun).where(
                MailboxSyncRun.mailbox_id == mailbox_id, MailboxSyncRun.outcome == "running",
                MailboxSyncRun.id != run_id)):
            previous.outcome, previous.finished_on = "abandoned", now
            previous.error_reason, previous.error_message = "worker_lost", "the worker stopped during the pass"
        if not permission:
            run.outcome, run.finished_on = "refused", now
            run.error_reason, run.error_message = "may_not_sync", permission.reason
            if state.stage in ("queued", "running", "backing_off"):
                mailbox_sync.settle(state, now)
            uow.commit()
            return run_id, now, permission.reason
        mailbox_sync.start(state, run_id, now)
        uow.commit()
    return run_id, now, None


def _abandon(factory: sessionmaker[Session], run_id: uuid.UUID) -> None:
    with UnitOfWork(factory) as uow:
        run = uow.session.get_one(MailboxSyncRun, run_id)
        run.outcome, run.finished_on, run.error_reason = "abandoned", utcnow(), "lease_lost"
        uow.commit()


def _finish(factory: sessionmaker[Session], mailbox_id: uuid.UUID, run_id: uuid.UUID, summary: SyncSummary | None,
            error: BaseException | None, policy: RunPolicy) -> RunResult:
    now = utcnow()
    with UnitOfWork(factory) as uow:
        session = uow.session
        mailbox = load_mailbox(session, mailbox_id)
        state = mailbox_sync.state_of(session, mailbox_id)
        run = session.get_one(MailboxSyncRun, run_id)
        if summary is not None:
            decision = after_summary(summary)
            _count(run, summary)
        else:
            assert error is not None
            decision = after_error(error, state.failure_count + 1, policy)
        run.outcome, run.finished_on = decision.outcome, now
        run.error_reason, run.error_message = decision.reason, decision.message
        run.retry_after = decision.throttled_for
        if state.current_run_id == run_id:
            _apply(session, state, decision, mailbox.sync_interval_seconds, now)
        else:  # this pass stalled past its lease and another took the mailbox over: the state is the other's
            log.warning("mailbox %s: run %s ended after another pass took the mailbox over", mailbox_id, run_id)
        uow.commit()
        log.info("mailbox %s: run %s %s%s", mailbox_id, run_id, decision.outcome,
                 f" ({decision.reason}: {decision.message})" if decision.reason else "")
        return RunResult(decision.outcome, run_id, summary, state.next_run_on, decision.reason, decision.message)


def _apply(session: Session, state: MailboxSyncState, decision: Decision, interval: int,
           now: datetime) -> None:
    reason, message = decision.reason or "", decision.message or ""
    if decision.verdict == "succeed":
        mailbox_sync.succeed(session, state, interval, now)
    elif decision.verdict == "back_off":
        until = now + timedelta(seconds=decision.throttled_for) if decision.throttled_for else None
        mailbox_sync.back_off(state, decision.delay, reason, message, counts=decision.counts,
                              throttled_until=until, now=now)
    elif decision.verdict == "park":
        mailbox_sync.park(state, reason, message, now)
    elif decision.verdict == "stop":
        mailbox_sync.stop(state, reason, message, now)
    else:
        mailbox_sync.settle(state, now)
    if decision.alert is not None:
        level, code = decision.alert
        mailbox_sync.alert(session, state.mailbox_id, level, code, message, now)


def _count(run: MailboxSyncRun, summary: SyncSummary) -> None:
    run.fetched, run.tracked, run.duplicates = summary.fetched, summary.tracked, summary.duplicates
    run.skipped, run.quarantined = summary.skipped, summary.quarantined
    run.folders = [{"folder": f.folder, "fetched": f.fetched, "tracked": f.tracked, "quarantined": f.quarantined,
                    "error": f.error, "retry_after": f.retry_after} for f in summary.folders.values()]
