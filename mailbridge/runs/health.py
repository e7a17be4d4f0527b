"""Sync health as a first-class read model: per mailbox and per folder, what the admin console and the API show.

For a mailbox: its stage and since when, the next run, the failure count, the server's throttle, the last
success and the lag since it, the last error, the live progress of a running pass, mail tracked today, the
backlog (mail waiting to be sent through it, and what a running pass still has to read when its source knows),
its open alerts and quarantined messages. Per folder: the cursor's age and its last pass. Plain queries, no
writes: anyone may ask as often as a page polls."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_core.db.types import utcnow
from crm_core.models import (
    Email,
    FolderCheckpoint,
    Mailbox,
    MailboxAlert,
    MailboxSyncRun,
    MailboxSyncState,
    MailQuarantine,
    MailSighting,
)
from crm_core.services import leases
from crm_core.services.email_sending import PENDING_SEND
from mailbridge.runs.runner import lease_key


@dataclass(frozen=True)
class FolderHealth:
    folder: str
    synced_on: datetime | None
    cursor_age_seconds: float | None
    last_fetched: int | None = None
    last_tracked: int | None = None
    last_error: str | None = None
    retry_after: float | None = None


@dataclass(frozen=True)
class AlertView:
    id: uuid.UUID
    level: str
    code: str
    message: str
    first_on: datetime
    last_on: datetime
    occurrences: int


@dataclass
class MailboxHealth:
    mailbox_id: uuid.UUID
    name: str
    email_address: str
    protocol: str
    approval_status: str
    incoming_enabled: bool
    may_sync: bool
    blocked_reason: str | None
    sync_interval_seconds: int
    stage: str
    stage_on: datetime | None
    next_run_on: datetime | None
    failure_count: int
    throttled_until: datetime | None
    last_success_on: datetime | None
    last_attempt_on: datetime | None
    lag_seconds: float | None
    last_error_reason: str | None
    last_error_message: str | None
    worker: str | None
    progress: dict[str, Any] | None
    tracked_today: int
    pending_send: int
    quarantined: int
    folders: list[FolderHealth] = field(default_factory=list)
    alerts: list[AlertView] = field(default_factory=list)

    @property
    def backlog(self) -> int:
        remaining = 0
        if self.progress and self.progress.get("total") is not None:
            remaining = max(0, int(self.progress["total"]) - int(self.progress.get("folder_done") or 0))
        return self.pending_send + remaining


def mailbox_health(session: Session, mailbox: Mailbox, now: datetime | None = None) -> MailboxHealth:
    now = now or utcnow()
    state = session.get(MailboxSyncState, mailbox.id)
    permission = mailbox.may_sync("incoming")
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    tracked_today = session.scalar(select(func.count()).select_from(MailSighting).where(
        MailSighting.mailbox_id == mailbox.id, MailSighting.seen_on >= midnight)) or 0
    pending = session.scalar(select(func.count()).select_from(Email).where(
        Email.sending_mailbox_id == mailbox.id, Email.statuscode == PENDING_SEND)) or 0
    quarantined = session.scalar(select(func.count()).select_from(MailQuarantine).where(
        MailQuarantine.mailbox_id == mailbox.id)) or 0
    holder = leases.holder(session, lease_key(mailbox.id))
    last_success = state.last_success_on if state else None
    # Lag: how old the newest complete picture of the mailbox is; never synced: since it was approved.
    since = last_success or (mailbox.approved_on if permission else None)
    health = MailboxHealth(
        mailbox_id=mailbox.id, name=mailbox.name, email_address=mailbox.email_address,
        protocol=mailbox.server_profile.incoming_protocol, approval_status=mailbox.approval_status,
        incoming_enabled=mailbox.incoming_enabled, may_sync=permission.allowed, blocked_reason=permission.reason,
        sync_interval_seconds=mailbox.sync_interval_seconds,
        stage=state.stage if state else "idle", stage_on=state.stage_on if state else None,
        next_run_on=state.next_run_on if state else None, failure_count=state.failure_count if state else 0,
        throttled_until=state.throttled_until if state and state.throttled_until and state.throttled_until > now
        else None,
        last_success_on=last_success, last_attempt_on=state.last_attempt_on if state else None,
        lag_seconds=(now - since).total_seconds() if since else None,
        last_error_reason=state.last_error_reason if state else None,
        last_error_message=state.last_error_message if state else None,
        worker=holder.owner if holder else None, progress=state.progress if state else None,
        tracked_today=tracked_today, pending_send=pending, quarantined=quarantined)
    health.folders = _folders(session, mailbox, now)
    health.alerts = [AlertView(a.id, a.level, a.code, a.message, a.first_on, a.last_on, a.occurrences)
                     for a in session.scalars(select(MailboxAlert).where(
                         MailboxAlert.mailbox_id == mailbox.id, MailboxAlert.dismissed_on.is_(None))
                         .order_by(MailboxAlert.last_on.desc()))]
    return health


def _folders(session: Session, mailbox: Mailbox, now: datetime) -> list[FolderHealth]:
    checkpoints = {c.folder: c for c in session.scalars(
        select(FolderCheckpoint).where(FolderCheckpoint.mailbox_id == mailbox.id))}
    last_run = session.scalar(select(MailboxSyncRun).where(
        MailboxSyncRun.mailbox_id == mailbox.id, MailboxSyncRun.finished_on.is_not(None),
        MailboxSyncRun.outcome.not_in(("refused", "abandoned")))
        .order_by(MailboxSyncRun.started_on.desc()).limit(1))
    last = {f["folder"]: f for f in (last_run.folders if last_run else [])}
    names = list(dict.fromkeys([*checkpoints, *last]))
    out = []
    for name in names:
        checkpoint, run = checkpoints.get(name), last.get(name, {})
        synced = checkpoint.synced_on if checkpoint else None
        out.append(FolderHealth(name, synced, (now - synced).total_seconds() if synced else None,
                                run.get("fetched"), run.get("tracked"), run.get("error"), run.get("retry_after")))
    return out


def runs_of(session: Session, mailbox_id: uuid.UUID, limit: int = 50,
            days: int = 90) -> list[MailboxSyncRun]:
    since = utcnow() - timedelta(days=days)
    return list(session.scalars(select(MailboxSyncRun).where(
        MailboxSyncRun.mailbox_id == mailbox_id, MailboxSyncRun.started_on >= since)
        .order_by(MailboxSyncRun.started_on.desc()).limit(limit)))
