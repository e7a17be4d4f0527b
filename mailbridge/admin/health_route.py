"""Sync health, run history, alerts and "sync now" by the workers, for the admin console and any monitoring:

- GET /sync-health: every mailbox the caller may read, with its health (mailbridge.runs.health);
- GET /mailboxes/{id}/sync-health, GET /mailboxes/{id}/sync-runs (90 days);
- POST /mailboxes/{id}/sync-requests: ask the workers for a pass now (202); a parked or stopped mailbox is
  resumed, its failures forgotten. The dispatcher sends it within a few seconds (CRM_DISPATCH_SECONDS).
- POST /mailboxes/{id}/alerts/{alert_id}/dismiss.
Reading needs Read on the mailbox; acting needs Write (its user, or an administrator)."""

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import select

from crm_core.api.deps import CallerDep
from crm_core.db.types import utcnow
from crm_core.errors import NotFound
from crm_core.models import Mailbox, MailboxAlert
from crm_core.security import access
from crm_core.security.privileges import Privilege
from crm_core.services import mailbox_sync
from crm_core.services.mailboxes import MailboxService
from mailbridge.notifications.store import request_sync
from mailbridge.runs.health import MailboxHealth, mailbox_health, runs_of

router = APIRouter(tags=["sync health"])


class FolderHealthOut(BaseModel):
    folder: str
    synced_on: datetime | None = Field(description="When its cursor last moved (a batch was committed).")
    cursor_age_seconds: float | None
    last_fetched: int | None
    last_tracked: int | None
    last_error: str | None
    retry_after: float | None = Field(description="The server's wait hint when it throttled the folder.")


class AlertOut(BaseModel):
    id: uuid.UUID
    level: Literal["error", "warning", "information"]
    code: str
    message: str
    first_on: datetime
    last_on: datetime
    occurrences: int


class MailboxHealthOut(BaseModel):
    mailbox_id: uuid.UUID
    name: str
    email_address: str
    protocol: str
    approval_status: str
    incoming_enabled: bool
    may_sync: bool
    blocked_reason: str | None
    sync_interval_seconds: int
    stage: Literal["idle", "queued", "running", "backing_off", "parked", "stopped"]
    stage_on: datetime | None
    next_run_on: datetime | None = Field(description="null: due now.")
    failure_count: int
    throttled_until: datetime | None
    last_success_on: datetime | None
    last_attempt_on: datetime | None
    lag_seconds: float | None = Field(description="Since the last complete pass (or since approval, never synced).")
    last_error_reason: str | None
    last_error_message: str | None
    worker: str | None = Field(description="host:pid:thread of the worker syncing it now.")
    progress: dict[str, Any] | None = Field(description="A running pass: folder, done, tracked, total if known.")
    tracked_today: int
    pending_send: int
    backlog: int = Field(description="Mail waiting to be sent through it, plus what a running pass still has to "
                         "read when its source says.")
    quarantined: int
    folders: list[FolderHealthOut]
    alerts: list[AlertOut]

    @classmethod
    def of(cls, health: MailboxHealth) -> "MailboxHealthOut":
        data = {k: getattr(health, k) for k in cls.model_fields if k not in ("folders", "alerts")}
        return cls(**data, folders=[FolderHealthOut(**vars(f)) for f in health.folders],
                   alerts=[AlertOut(**vars(a)) for a in health.alerts])


class SyncRunOut(BaseModel):
    id: uuid.UUID
    trigger: str
    worker: str
    connector: str
    started_on: datetime
    finished_on: datetime | None
    seconds: float | None
    outcome: str
    fetched: int
    tracked: int
    duplicates: int
    skipped: int
    quarantined: int
    folders: list[dict[str, Any]]
    error_reason: str | None
    error_message: str | None
    retry_after: float | None


class SyncRequestOut(BaseModel):
    mailbox_id: uuid.UUID
    requested_on: datetime
    stage: str
    may_sync: bool
    blocked_reason: str | None


@router.get("/sync-health", response_model=list[MailboxHealthOut],
            summary="Every mailbox you may read, with its sync health")
def all_sync_health(caller: CallerDep) -> Any:
    service = MailboxService(caller.uow, caller.principal)
    mailboxes = caller.uow.session.scalars(select(Mailbox).where(
        access.scope(caller.principal, service.spec, Privilege.READ)).order_by(Mailbox.name))
    now = utcnow()
    return [MailboxHealthOut.of(mailbox_health(caller.uow.session, m, now)) for m in mailboxes]


@router.get("/mailboxes/{record_id}/sync-health", response_model=MailboxHealthOut,
            summary="A mailbox's sync health: stage, next run, lag, throttle, errors, progress, folders, alerts")
def one_sync_health(caller: CallerDep, record_id: uuid.UUID) -> Any:
    mailbox = MailboxService(caller.uow, caller.principal).get(record_id)
    return MailboxHealthOut.of(mailbox_health(caller.uow.session, mailbox))


@router.get("/mailboxes/{record_id}/sync-runs", response_model=list[SyncRunOut],
            summary="A mailbox's sync runs of the last 90 days, newest first")
def sync_runs(caller: CallerDep, record_id: uuid.UUID, limit: int = Query(50, ge=1, le=500)) -> Any:
    MailboxService(caller.uow, caller.principal).get(record_id)
    return [SyncRunOut.model_validate(r, from_attributes=True) for r in runs_of(caller.uow.session, record_id, limit)]


@router.post("/mailboxes/{record_id}/sync-requests", response_model=SyncRequestOut,
             status_code=status.HTTP_202_ACCEPTED,
             summary="Ask the workers to sync the mailbox now (a parked or stopped one is resumed)")
def request_mailbox_sync(caller: CallerDep, record_id: uuid.UUID) -> Any:
    mailbox = MailboxService(caller.uow, caller.principal).get(record_id, Privilege.WRITE)
    now = utcnow()
    state = mailbox_sync.state_of(caller.uow.session, record_id)
    mailbox_sync.resume(caller.uow.session, state, now)
    request_sync(caller.uow.session, [record_id], now)
    caller.uow.commit()
    permission = mailbox.may_sync("incoming")
    return SyncRequestOut(mailbox_id=record_id, requested_on=now, stage=state.stage, may_sync=permission.allowed,
                          blocked_reason=permission.reason)


@router.post("/mailboxes/{record_id}/alerts/{alert_id}/dismiss", status_code=status.HTTP_204_NO_CONTENT,
             response_class=Response, summary="Dismiss one of a mailbox's alerts")
def dismiss_alert(caller: CallerDep, record_id: uuid.UUID, alert_id: uuid.UUID) -> Response:
    MailboxService(caller.uow, caller.principal).get(record_id, Privilege.WRITE)
    row = caller.uow.session.get(MailboxAlert, alert_id)
    if row is None or row.mailbox_id != record_id:
        raise NotFound(f"no alert {alert_id} on this mailbox")
    row.dismissed_on = row.dismissed_on or utcnow()
    caller.uow.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
