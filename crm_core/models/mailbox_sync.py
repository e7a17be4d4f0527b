"""The sync of a mailbox as the workers run it (issue 8): its state machine, its history, its alerts, and the
leases that keep one worker per job.

- `MailboxSyncState`: one row per mailbox, apart from the audited mailbox row (it changes with every batch):
  the stage (an explicit machine, changed only by crm_core.services.mailbox_sync), when it entered it, the next
  run, the failure count, the server's wait hint and the last error, and the live progress of a running pass.
- `MailboxSyncRun`: one row per pass, with what it did per folder and how it ended; kept 90 days (Dynamics
  keeps 3), so an admin sees a mailbox's history of runs and failures.
- `MailboxAlert`: what Dynamics shows as a mailbox's alerts: an error, a warning or information, with a code;
  a repeated one counts up instead of piling rows.
- `Lease`: a named lease with an expiry ("mailbox:<id>", "calendar:<id>"): at most one worker holds it, and a
  worker that dies without releasing it blocks nobody past the expiry."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.db.base import Base
from crm_core.db.types import JsonDoc, utcnow

# idle: nothing to do until the next run; queued: a task is on its way to a worker; running: a worker holds the
# mailbox's lease; backing_off: the last pass failed for a while (or the server throttled), retried at next_run_on;
# parked: too many failures in a row, waiting for an admin; stopped: the server refused the credentials for good.
SYNC_STAGES = ("idle", "queued", "running", "backing_off", "parked", "stopped")
RUN_OUTCOMES = ("running", "succeeded", "partial", "throttled", "failed", "stopped", "refused", "abandoned")
# schedule: its interval came; requested: a Graph notification or an admin's "sync now" by the workers; retry: the
# end of a back-off; manual: the API's synchronous sync; cli: `crm mailbox sync`.
RUN_TRIGGERS = ("schedule", "requested", "retry", "manual", "cli")
ALERT_LEVELS = ("error", "warning", "information")


def _among(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class MailboxSyncState(Base):
    __tablename__ = "mailbox_sync_states"

    mailbox_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True)
    stage: Mapped[str] = mapped_column(String(12), default="idle")
    stage_on: Mapped[datetime] = mapped_column(default=utcnow)
    next_run_on: Mapped[datetime | None] = mapped_column(index=True)  # None: due now
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    throttled_until: Mapped[datetime | None]  # the server's own wait hint (Retry-After, EWS BackOffMilliseconds)
    last_success_on: Mapped[datetime | None]
    last_attempt_on: Mapped[datetime | None]
    last_error_reason: Mapped[str | None] = mapped_column(String(32))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    current_run_id: Mapped[uuid.UUID | None]
    # The running pass as the admin page shows it: {"folder", "done", "tracked", "updated_on"}.
    progress: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)

    __table_args__ = (CheckConstraint(_among("stage", SYNC_STAGES), name="stage"),)


class MailboxSyncRun(Base):
    __tablename__ = "mailbox_sync_runs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    mailbox_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(12), default="schedule")
    worker: Mapped[str] = mapped_column(String(200))  # host:pid:thread of the worker that ran it
    connector: Mapped[str] = mapped_column(String(10))  # imap, ews, graph: the metrics' label
    started_on: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    finished_on: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(10), default="running")
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    tracked: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    # Per folder: {"folder", "fetched", "tracked", "error", "retry_after"}.
    folders: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    error_reason: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
    retry_after: Mapped[float | None]

    __table_args__ = (
        CheckConstraint(_among("outcome", RUN_OUTCOMES), name="outcome"),
        CheckConstraint(_among("trigger", RUN_TRIGGERS), name="trigger"),
        Index("ix_mailbox_sync_runs_mailbox_started", "mailbox_id", "started_on"),
    )

    @property
    def seconds(self) -> float | None:
        return None if self.finished_on is None else (self.finished_on - self.started_on).total_seconds()


class MailboxAlert(Base):
    __tablename__ = "mailbox_alerts"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    mailbox_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("mailboxes.id", ondelete="CASCADE"), index=True)
    level: Mapped[str] = mapped_column(String(12))
    code: Mapped[str] = mapped_column(String(40))  # e.g. authentication, parked, throttled, folder_missing
    message: Mapped[str] = mapped_column(Text)
    first_on: Mapped[datetime] = mapped_column(default=utcnow)
    last_on: Mapped[datetime] = mapped_column(default=utcnow)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    dismissed_on: Mapped[datetime | None]

    __table_args__ = (CheckConstraint(_among("level", ALERT_LEVELS), name="level"),)


class Lease(Base):
    __tablename__ = "leases"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    expires_on: Mapped[datetime]
    taken_on: Mapped[datetime] = mapped_column(default=utcnow)
