"""GET /api/v1/dashboards/mail: mail tracked per mailbox and day, and each mailbox's sync health in brief, for
the dashboards page (/dashboards/). Here rather than in crm_core: sync health is mailbridge's read model
(mailbridge.runs.health), and crm_core imports nothing of mailbridge.

Tracked mail is counted as the health counts it (a mail seen in a mailbox's folder, MailSighting), by day in
UTC, with a GROUP BY; only the mailboxes the caller may read are shown."""

import uuid
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from crm_core.analytics.periods import day_of
from crm_core.api.deps import CallerDep
from crm_core.db.types import utcnow
from crm_core.models import Mailbox, MailSighting
from crm_core.security import access
from crm_core.security.privileges import Privilege
from crm_core.services.mailboxes import MailboxService
from mailbridge.runs.health import mailbox_health

router = APIRouter(tags=["dashboards"])


class TrackedDayOut(BaseModel):
    mailbox_id: uuid.UUID
    mailbox: str
    day: str = Field(description="YYYY-MM-DD, UTC.")
    tracked: int


class SyncHealthOut(BaseModel):
    mailbox_id: uuid.UUID
    mailbox: str
    stage: str
    may_sync: bool
    lag_seconds: float | None
    failure_count: int
    last_success_on: datetime | None
    last_error_reason: str | None
    tracked_today: int
    backlog: int
    quarantined: int
    open_alerts: int


class MailDashboardOut(BaseModel):
    days: int
    computed_on: datetime
    tracked: list[TrackedDayOut]
    mailboxes: list[SyncHealthOut]


@router.get(
    "/dashboards/mail",
    response_model=MailDashboardOut,
    summary="Mail tracked per mailbox and day, and every readable mailbox's sync health",
)
def mail_dashboard(caller: CallerDep, days: int = Query(14, ge=1, le=366)) -> Any:
    session, now = caller.uow.session, utcnow()
    readable = access.scope(caller.principal, MailboxService(caller.uow, caller.principal).spec, Privilege.READ)
    mailboxes = list(session.scalars(select(Mailbox).where(readable).order_by(Mailbox.name)))
    since = datetime.combine((now - timedelta(days=days - 1)).date(), datetime.min.time(), now.tzinfo)
    day = day_of(session, MailSighting.seen_on)
    rows = session.execute(
        select(MailSighting.mailbox_id, Mailbox.name, day, func.count(MailSighting.id))
        .join(Mailbox, Mailbox.id == MailSighting.mailbox_id)
        .where(readable, MailSighting.seen_on >= since)
        .group_by(MailSighting.mailbox_id, Mailbox.name, day)
        .order_by(Mailbox.name, day)
    ).all()
    health = [mailbox_health(session, m, now) for m in mailboxes]
    return MailDashboardOut(
        days=days,
        computed_on=now,
        tracked=[TrackedDayOut(mailbox_id=i, mailbox=name, day=d, tracked=n) for i, name, d, n in rows],
        mailboxes=[
            SyncHealthOut(
                mailbox_id=h.mailbox_id,
                mailbox=h.name,
                stage=h.stage,
                may_sync=h.may_sync,
                lag_seconds=h.lag_seconds,
                failure_count=h.failure_count,
                last_success_on=h.last_success_on,
                last_error_reason=h.last_error_reason,
                tracked_today=h.tracked_today,
                backlog=h.backlog,
                quarantined=h.quarantined,
                open_alerts=len(h.alerts),
            )
            for h in health
        ],
    )
