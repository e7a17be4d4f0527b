"""What changed on the CRM side of a calendar since a cursor, so that a pass reads only those appointments'
versions instead of every one's (the counterpart of the server's sync-collection).

The cursor is a time: the appointments and series (in the calendar's scope, or linked by its status) whose
modified_on, or one of whose exceptions' modified_on, is at or after it. A change of an appointment's parties
counts too: the audit hook stamps a record whose child rows changed (crm_core.audit).

Two margins keep a change from being missed:
- the next cursor is the time the pass started reading, less LATE_COMMIT: a transaction that stamped a row
  before that read but committed after it is still found next time (and a writer's clock a little behind);
- every FULL_LISTING_EVERY the CRM side is listed whole, as before the cursor existed, for what no stamp shows:
  a party row edited in place, a bulk UPDATE, a transaction that took longer than LATE_COMMIT to commit."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select

from crm_core.models import Activity

APPOINTMENT_TYPES = ("appointment", "recurring_appointment")
LATE_COMMIT = timedelta(seconds=60)
FULL_LISTING_EVERY = timedelta(hours=1)


@dataclass(frozen=True)
class CrmCursor:
    since: datetime  # appointments stamped from then on are read
    listed: datetime  # when the CRM side was last listed whole

    @classmethod
    def parse(cls, text: str | None) -> "CrmCursor | None":
        """The cursor a pass stored, or None (none stored, or not one of ours: list everything)."""
        if not text:
            return None
        since, _, listed = text.partition(" ")
        try:
            cursor = cls(datetime.fromisoformat(since), datetime.fromisoformat(listed))
        except ValueError:
            return None
        return cursor if cursor.since.tzinfo is not None and cursor.listed.tzinfo is not None else None

    @property
    def text(self) -> str:
        return f"{self.since.isoformat()} {self.listed.isoformat()}"

    def due(self, now: datetime) -> bool:
        """Whether this pass lists the CRM side whole (FULL_LISTING_EVERY has passed, or the clock went back)."""
        return not self.listed <= now < self.listed + FULL_LISTING_EVERY

    def after_changes(self, started: datetime) -> "CrmCursor":
        return CrmCursor(started - LATE_COMMIT, self.listed)


def first_cursor(started: datetime) -> CrmCursor:
    return CrmCursor(started - LATE_COMMIT, started)


def touched_since(scope: Select[tuple[object]], since: datetime) -> Select[tuple[object]]:
    """The ids of `scope` (a SELECT of appointment and series ids from the activities table) stamped at or after
    `since`, themselves or through one of their exceptions."""
    activities = Activity.__table__
    exception = activities.alias("exception")
    exceptions = select(exception.c.series_id).where(
        exception.c.activity_type.in_(APPOINTMENT_TYPES),
        exception.c.instance_type_code == 3,
        exception.c.modified_on >= since,
    )
    return scope.where((activities.c.modified_on >= since) | activities.c.id.in_(exceptions))
