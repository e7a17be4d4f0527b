"""Syncing one calendar: the domain service the CLI, the API and the workers call with a calendar id.

It opens the server's store (stores.registry) and the CRM's (stores.crm), runs the engine with the status
book and journal in the database, commits each action with its status row (CRM-only actions in batches), and
records the outcome on the calendar: the new cursor and the time after a complete pass; the error (and the
server's wait hint) otherwise. A pass killed at any instant leaves a state the next pass resumes from."""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from calendar_sync.errors import AuthenticationFailed, CalendarError, TemporaryFailure
from calendar_sync.stores.crm import CrmCalendarStore
from calendar_sync.stores.registry import StoreOptions, open_store
from calendar_sync.sync import cursors
from calendar_sync.sync.engine import Hooks, Report, synchronise
from calendar_sync.sync.plan import Options
from calendar_sync.sync.records import DbJournal, DbStatusBook
from crm_core.db.types import utcnow
from crm_core.errors import NotFound
from crm_core.models.calendars import Calendar, CalendarConflict, CalendarQuarantine

log = logging.getLogger(__name__)

# CRM-only actions sharing one transaction (the engine commits a batch within a second too): a commit, the
# hooks' per-transaction reads and, on SQLite, a write lock taken per batch rather than per action.
BATCH_ACTIONS = 100


@dataclass
class CalendarSyncSummary:
    calendar: str
    report: Report = field(default_factory=Report)
    conflicts: int = 0
    quarantined: int = 0
    error: str | None = None

    @property
    def to_crm(self) -> int:
        return sum(n for key, n in self.report.done.items() if key.endswith(" crm"))

    @property
    def to_server(self) -> int:
        return sum(n for key, n in self.report.done.items() if key.endswith(" remote"))


def sync_calendar(factory: sessionmaker[Session], calendar_id: uuid.UUID, *,
                  options: StoreOptions | None = None,
                  progress: Callable[[int, int], None] | None = None) -> CalendarSyncSummary:
    """One pass over one calendar. Raises TemporaryFailure (with retry_after) and AuthenticationFailed after
    recording them on the calendar, so that a worker can back off or an admin can see why it stopped."""
    with factory() as session:
        calendar = session.get(Calendar, calendar_id)
        if calendar is None:
            raise NotFound(f"no calendar with id {calendar_id}")
        summary = CalendarSyncSummary(calendar.name)
        conflicts_before, quarantined_before = _counts(session, calendar_id)
        try:
            remote = open_store(session, calendar, options)
            session.commit()  # a discovered collection is kept even if the pass fails
            try:
                crm = CrmCalendarStore(session, calendar)
                engine_options = Options(policy=calendar.conflict_policy, remote_read_only=remote.read_only,
                                         concerns=crm.concerns)
                server_cursor, crm_cursor = cursors.split(calendar.sync_cursor)
                summary.report = synchronise(
                    crm, remote, DbStatusBook(session, calendar_id), DbJournal(session, calendar_id),
                    engine_options, cursor=server_cursor, crm_cursor=crm_cursor,
                    hooks=Hooks(session.commit, session.rollback, progress or (lambda done, total: None),
                                batch_actions=BATCH_ACTIONS))
            finally:
                remote.close()
        except (TemporaryFailure, AuthenticationFailed, CalendarError) as exc:
            session.rollback()
            _record_failure(session, calendar_id, exc)
            raise
        calendar = session.get_one(Calendar, calendar_id)
        calendar.sync_cursor = cursors.joined(summary.report.cursor, summary.report.crm_cursor)
        if summary.report.complete:
            calendar.last_synced_on = utcnow()
            calendar.last_error_reason = calendar.last_error_message = None
            calendar.retry_after = None
        session.commit()
        conflicts_after, quarantined_after = _counts(session, calendar_id)
        summary.conflicts = conflicts_after - conflicts_before
        summary.quarantined = quarantined_after - quarantined_before
        return summary


def _record_failure(session: Session, calendar_id: uuid.UUID, exc: CalendarError | TemporaryFailure) -> None:
    calendar = session.get(Calendar, calendar_id)
    if calendar is None:
        return
    calendar.last_error_reason = str(getattr(exc, "reason", "unknown"))[:32]
    calendar.last_error_message = str(getattr(exc, "detail", exc))[:2000]
    retry_after = getattr(exc, "retry_after", None)
    calendar.retry_after = utcnow() + timedelta(seconds=retry_after) if retry_after else None
    session.commit()
    log.warning("calendar %s: %s (%s)", calendar.name, calendar.last_error_message, calendar.last_error_reason)


def _counts(session: Session, calendar_id: uuid.UUID) -> tuple[int, int]:
    conflicts = session.scalar(select(func.count()).select_from(CalendarConflict).where(
        CalendarConflict.calendar_id == calendar_id)) or 0
    quarantined = session.scalar(select(func.count()).select_from(CalendarQuarantine).where(
        CalendarQuarantine.calendar_id == calendar_id)) or 0
    return conflicts, quarantined
