"""A resource's time (DOMAIN.md §11, Dynamics' calendar rules of a resource's calendar): its weekly working
hours, the exceptions to them (time off, extra working time), and the bookings that occupy it.

Working hours are local wall-clock minutes in the resource's time zone, like the business calendars' (a break
is the gap between two intervals of a day). Exceptions are instants (UTC), since "off from Tuesday 14:00 to
Thursday noon" is a stretch of real time. A booking row is one resource's share of one service activity:
the denormalised occupation the booking engine checks and the availability search reads, indexed by
resource and time; the activity keeps its resource parties as the record of who was booked."""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.db.base import Base

EXCEPTION_KINDS = ("time_off", "working")


class ResourceWorkHours(Base):
    """One working interval of one weekday (0 Monday .. 6 Sunday), minutes after local midnight."""

    __tablename__ = "resource_work_hours"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    resource_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    start_minute: Mapped[int] = mapped_column(SmallInteger)
    end_minute: Mapped[int] = mapped_column(SmallInteger)

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440", name="interval"),
    )

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return ("resource", self.resource_id, f"hours.{self.id}") if self.resource_id else None


class ResourceCalendarException(Base):
    """Time off (a day off, a vacation, a doctor's visit) or extra working time outside the weekly hours."""

    __tablename__ = "resource_calendar_exceptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    resource_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str | None] = mapped_column(String(160))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("kind IN ('time_off', 'working')", name="kind"),
        CheckConstraint("starts_at < ends_at", name="range"),
    )

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return ("resource", self.resource_id, f"exception.{self.id}") if self.resource_id else None


class ResourceBooking(Base):
    """One resource booked by one service activity from starts_at to ends_at (UTC, end excluded). Written
    and removed only by the booking service, under its lock (calendar_sync.scheduling.booking)."""

    __tablename__ = "resource_bookings"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    activity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"), index=True)
    resource_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("resources.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]

    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="range"),
        # "what does this resource do in this window": starts before the window's end, ends after its start.
        Index("ix_resource_bookings_resource_time", "resource_id", "starts_at", "ends_at"),
    )
