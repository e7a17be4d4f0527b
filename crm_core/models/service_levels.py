"""Business hours and service levels (DOMAIN.md §9, §11): the calendars SLAs count time in, the SLAs with
their KPIs, and the KPI instances each case carries.

A business calendar is Dynamics' calendar of type Customer Service (1) or Holiday Schedule (2), with its
rules flattened into two tables a person can read: weekly working hours (several intervals a day make the
breaks) and closures (whole local days: holidays). A customer-service calendar may name a holiday-schedule
calendar whose closures it observes as well. Times are local to the calendar's IANA time zone, so that
"9:00 to 17:00" stays 9 to 5 across a daylight-saving change.

An SLA (Dynamics' sla, Draft(0)[1] / Active(1)[2]) has items (slaitem): for one KPI, first response or
resolve, the conditions on the case under which the item applies, and the minutes after which the KPI
warns and fails. A case gets one KPI instance (slakpiinstance) per KPI whose item applies; its status
moves from In Progress to Nearing Noncompliance and Noncompliant as time passes, or to Succeeded when the
case is answered or resolved in time, and pauses while the case waits on the customer."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.case_states import KPI_IN_PROGRESS, KPI_NEARING, KPI_NONCOMPLIANT
from crm_core.db.base import Base, RecordMixin, StateMixin
from crm_core.db.types import JsonDoc, utcnow

CALENDAR_KINDS = ("customer_service", "holiday_schedule")
KPIS = ("first_response", "resolve")


class BusinessCalendar(RecordMixin, Base):
    __tablename__ = "business_calendars"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20), default="customer_service")
    time_zone: Mapped[str] = mapped_column(String(64))
    holiday_calendar_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("business_calendars.id"))
    # The organisation's business closures (Dynamics' organization.businessclosurecalendarid): a holiday
    # schedule every resource observes. At most one calendar is it.
    is_business_closures: Mapped[bool] = mapped_column(Boolean, default=False)

    hours: Mapped[list["BusinessHours"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin",
        order_by="(BusinessHours.weekday, BusinessHours.start_minute)",
    )
    closures: Mapped[list["CalendarClosure"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="CalendarClosure.starts_on",
    )

    __table_args__ = (
        CheckConstraint("kind IN ('customer_service', 'holiday_schedule')", name="kind"),
        CheckConstraint("holiday_calendar_id IS NULL OR holiday_calendar_id <> id", name="not_itself"),
        CheckConstraint("NOT is_business_closures OR kind = 'holiday_schedule'", name="closures_kind"),
        Index("ux_business_calendars_business_closures", "is_business_closures", unique=True,
              postgresql_where=text("is_business_closures"), sqlite_where=text("is_business_closures")),
    )


class BusinessHours(Base):
    """One working interval of one weekday (0 Monday .. 6 Sunday), in minutes after local midnight."""

    __tablename__ = "business_hours"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    calendar_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("business_calendars.id", ondelete="CASCADE"),
                                                   index=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    start_minute: Mapped[int] = mapped_column(SmallInteger)
    end_minute: Mapped[int] = mapped_column(SmallInteger)

    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("start_minute >= 0 AND start_minute < end_minute AND end_minute <= 1440", name="interval"),
    )

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return ("business_calendar", self.calendar_id, f"hours.{self.id}") if self.calendar_id else None


class CalendarClosure(Base):
    """Days the business is closed (a holiday, a shutdown): local dates, both ends included."""

    __tablename__ = "calendar_closures"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    calendar_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("business_calendars.id", ondelete="CASCADE"),
                                                   index=True)
    name: Mapped[str] = mapped_column(String(160))
    starts_on: Mapped[date]
    ends_on: Mapped[date]

    __table_args__ = (CheckConstraint("starts_on <= ends_on", name="range"),)

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return ("business_calendar", self.calendar_id, f"closure.{self.id}") if self.calendar_id else None


class Sla(RecordMixin, StateMixin, Base):
    __tablename__ = "slas"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str | None] = mapped_column(Text)
    # None: the clock runs around the clock, every day.
    business_calendar_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("business_calendars.id"),
                                                                    index=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_pause: Mapped[bool] = mapped_column(Boolean, default=True)
    # The case status reasons that pause the clock (Dynamics keeps these in service settings): On Hold and
    # Waiting for Details by default.
    pause_statuscodes: Mapped[list[int]] = mapped_column(JsonDoc, default=lambda: [2, 3])

    items: Mapped[list["SlaItem"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="SlaItem.sequence_number",
    )

    __table_args__ = (
        # One default SLA for the organisation, even when two admins set one at the same moment.
        Index("uq_slas_one_default", "is_default", unique=True,
              sqlite_where=text("is_default"), postgresql_where=text("is_default")),
    )


class SlaItem(Base):
    """One KPI of an SLA under some conditions (routing's condition language): warn and fail after so many
    business minutes from the start (the case's creation or reactivation)."""

    __tablename__ = "sla_items"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    sla_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("slas.id", ondelete="CASCADE"), index=True)
    sequence_number: Mapped[int]
    name: Mapped[str] = mapped_column(String(160))
    kpi: Mapped[str] = mapped_column(String(20))
    conditions: Mapped[dict[str, Any]] = mapped_column(JsonDoc, default=dict)
    warn_after_minutes: Mapped[int]
    failure_after_minutes: Mapped[int]

    __table_args__ = (
        CheckConstraint("kpi IN ('first_response', 'resolve')", name="kpi"),
        CheckConstraint("warn_after_minutes >= 0 AND warn_after_minutes <= failure_after_minutes", name="times"),
    )

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return ("sla", self.sla_id, f"item.{self.id}") if self.sla_id else None


class SlaKpiInstance(Base):
    """A case's clock for one KPI. status: 0 In Progress, 1 Noncompliant, 2 Nearing Noncompliance, 3 Paused,
    4 Succeeded, 5 Canceled (slakpiinstance.status)."""

    __tablename__ = "sla_kpi_instances"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    sla_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("slas.id"), index=True)
    sla_item_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sla_items.id", ondelete="SET NULL"))
    kpi: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(160))  # the item's, kept if the item is changed later
    status: Mapped[int] = mapped_column(SmallInteger, default=0)
    started_on: Mapped[datetime]
    warning_time: Mapped[datetime]
    failure_time: Mapped[datetime]
    warning_reached_on: Mapped[datetime | None]
    succeeded_on: Mapped[datetime | None]
    failed_on: Mapped[datetime | None]
    canceled_on: Mapped[datetime | None]
    paused_on: Mapped[datetime | None]
    paused_minutes: Mapped[int] = mapped_column(default=0)  # business minutes spent paused so far
    created_on: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("kpi IN ('first_response', 'resolve')", name="kpi"),
        CheckConstraint("status BETWEEN 0 AND 5", name="status"),
        # The timer job finds the clocks that are still running.
        Index("ix_sla_kpi_instances_open", "status", "failure_time"),
    )

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return ("case", self.case_id, f"kpi.{self.id}") if self.case_id else None

    def status_at(self, now: datetime) -> int:
        """The status as of `now`: a running clock whose warning or failure time has passed reads Nearing
        Noncompliance or Noncompliant even before the timer job has written it."""
        if self.status in (KPI_IN_PROGRESS, KPI_NEARING):
            if now > self.failure_time:
                return KPI_NONCOMPLIANT
            if now >= self.warning_time:
                return KPI_NEARING
        return self.status
