"""Calendar routes that need the connectors (crm_core does not import them), wired by workers.app:

POST /api/v1/calendars/{id}/sync  one two-way pass now, answering with its summary (Write on the calendar);
GET  /api/v1/calendars/{id}/conflicts  the conflict log, both versions of each;
GET  /api/v1/calendars/{id}/quarantine  objects that could not be read, with the reason.

A server that cannot be reached, refuses the login or asks us to wait answers 502 with the reason (the wait is
kept on the calendar's retry_after)."""

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from calendar_sync.runner import sync_calendar
from crm_core.api.deps import CallerDep
from crm_core.models.calendars import CalendarConflict, CalendarQuarantine
from crm_core.security.privileges import Privilege
from crm_core.services.calendars import CalendarService

router = APIRouter(tags=["calendars"])
LIMIT = 200


class CalendarSyncOut(BaseModel):
    calendar_id: uuid.UUID
    to_crm: int
    to_server: int
    conflicts: int
    quarantined: int
    actions: dict[str, int]
    resynced: bool
    complete: bool
    deferred: list[dict[str, str]]


class ConflictOut(BaseModel):
    id: uuid.UUID
    uid: str
    activity_id: uuid.UUID | None
    policy: str
    winner: str
    crm_version: str | None
    server_version: str | None
    detected_on: datetime


class QuarantineOut(BaseModel):
    id: uuid.UUID
    source: str
    etag: str | None
    reason: str
    message: str
    raw: str
    quarantined_on: datetime


@router.post("/calendars/{record_id}/sync", response_model=CalendarSyncOut,
             summary="Sync the calendar now: one two-way pass; what went where")
def calendar_sync_now(caller: CallerDep, record_id: uuid.UUID) -> Any:
    CalendarService(caller.uow, caller.principal).get(record_id, Privilege.WRITE)
    caller.uow.rollback()  # the sync runs its own transactions, one per action
    summary = sync_calendar(caller.context.session_factory, record_id)
    report = summary.report
    return CalendarSyncOut(calendar_id=record_id, to_crm=summary.to_crm, to_server=summary.to_server,
                           conflicts=summary.conflicts, quarantined=summary.quarantined, actions=dict(report.done),
                           resynced=report.resynced, complete=report.complete,
                           deferred=[{"uid": uid, "reason": reason} for uid, reason in report.deferred])


@router.get("/calendars/{record_id}/conflicts", response_model=list[ConflictOut],
            summary="The calendar's conflict log, newest first, with both versions")
def calendar_conflicts(caller: CallerDep, record_id: uuid.UUID) -> Any:
    CalendarService(caller.uow, caller.principal).get(record_id)
    return caller.uow.session.scalars(select(CalendarConflict).where(CalendarConflict.calendar_id == record_id)
                                      .order_by(CalendarConflict.detected_on.desc()).limit(LIMIT)).all()


@router.get("/calendars/{record_id}/quarantine", response_model=list[QuarantineOut],
            summary="Calendar objects that could not be read, with the reason and the raw text")
def calendar_quarantine(caller: CallerDep, record_id: uuid.UUID) -> Any:
    CalendarService(caller.uow, caller.principal).get(record_id)
    rows = caller.uow.session.scalars(select(CalendarQuarantine).where(CalendarQuarantine.calendar_id == record_id)
                                      .order_by(CalendarQuarantine.quarantined_on.desc()).limit(LIMIT))
    return [QuarantineOut(id=r.id, source=r.source, etag=r.etag, reason=r.reason, message=r.message,
                          raw=r.raw.decode("utf-8", "replace"), quarantined_on=r.quarantined_on) for r in rows]
