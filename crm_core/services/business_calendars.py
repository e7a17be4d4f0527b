"""Business calendars (DOMAIN.md §11, Dynamics' calendar of type Customer Service or Holiday Schedule): the
working hours of a week in a time zone, and closed days. SLAs count their minutes in one.

Hours and closures are replaced whole when given, and checked before anything is written: an interval is
"HH:MM" to "HH:MM" (24:00 for midnight), intervals of one day may touch but not overlap. A holiday schedule
has closures only, and is observed by the customer-service calendars that name it. A calendar that an SLA
counts in keeps working hours (the clocks of that SLA's cases could no longer move otherwise) and is not
deleted; neither is a holiday schedule that another calendar names.

One holiday schedule may be the organisation's business closures (Dynamics' businessclosurecalendarid), the
days every resource of the service calendar is off: setting is_business_closures on one takes it from the other
in the same transaction (a partial unique index backs this against two admins at once)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from crm_core import case_states as cs
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import BusinessCalendar, BusinessHours, CalendarClosure, Sla, SlaKpiInstance
from crm_core.services.business_hours import BusinessClock, BusinessTimeError, add_minutes, minutes_between
from crm_core.services.records import RecordService
from crm_core.services.scheduling_records import check_time_zone
from crm_core.services.weekly_hours import check_hours

CUSTOMER_SERVICE, HOLIDAY_SCHEDULE = "customer_service", "holiday_schedule"


def clock(session: Session, calendar_id: uuid.UUID | None) -> BusinessClock | None:
    """The clock of a calendar with the closures of its holiday schedule (none: around the clock). Raises
    BusinessTimeError for a calendar without working time."""
    if calendar_id is None:
        return None
    calendar = session.get(BusinessCalendar, calendar_id)
    if calendar is None:
        return None
    closures = [(c.starts_on, c.ends_on) for c in calendar.closures]
    if calendar.holiday_calendar_id is not None:
        holidays = session.get(BusinessCalendar, calendar.holiday_calendar_id)
        if holidays is not None:
            closures += [(c.starts_on, c.ends_on) for c in holidays.closures]
    hours = [(h.weekday, h.start_minute, h.end_minute) for h in calendar.hours]
    return BusinessClock.build(calendar.time_zone, hours, closures)


def week_minutes(calendar: BusinessCalendar) -> int:
    return sum(h.end_minute - h.start_minute for h in calendar.hours)


class BusinessCalendarService(RecordService[BusinessCalendar]):
    """Organisation-wide calendars that everyone reads and the roles with the business_calendar privileges
    (admins) change."""

    entity_name = "business_calendar"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def apply(self, record: BusinessCalendar, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        hours, closures = values.pop("hours", None), values.pop("closures", None)
        closures_flag = values.pop("is_business_closures", None)
        if creating:
            hours, closures = hours or [], closures or []
        with self.session.no_autoflush:
            super().apply(record, values, creating)
            checked_hours = check_hours(hours, "hours") if hours is not None else None
            checked_closures = [self._check_closure(i, c) for i, c in enumerate(closures or [])]
            remaining = checked_hours if checked_hours is not None else record.hours
            if remaining and record.kind == HOLIDAY_SCHEDULE:
                raise ValidationFailed.field("hours", "a holiday schedule has closures only, no working hours")
            if not remaining and not creating and record.kind == CUSTOMER_SERVICE:
                self._refuse_if_counted_in(record)
            self._check_closures_flag(record, closures_flag, creating)
        if checked_hours is not None:
            # Deleted by name rather than left to the orphan cascade, which runs after the audit hook has looked:
            # the trail shows the rows that went as well as those that came.
            for old in [*record.hours]:
                self.session.delete(old)
            record.hours.clear()
            for weekday, start, end in checked_hours:
                record.hours.append(BusinessHours(id=uuid.uuid4(), calendar_id=record.id, weekday=weekday,
                                                  start_minute=start, end_minute=end))
        if closures is not None:
            for old in [*record.closures]:
                self.session.delete(old)
            record.closures.clear()
            for name, first, last in checked_closures:
                record.closures.append(CalendarClosure(id=uuid.uuid4(), calendar_id=record.id, name=name,
                                                       starts_on=first, ends_on=last))
        if closures_flag and not record.is_business_closures:
            # The old one first, so that the one-calendar index never sees two.
            for other in self.session.scalars(select(BusinessCalendar).where(
                    BusinessCalendar.is_business_closures.is_(True), BusinessCalendar.id != record.id)):
                other.is_business_closures = False
            self.session.flush()
        if closures_flag is not None:
            record.is_business_closures = closures_flag
        elif creating:
            record.is_business_closures = False

    def validate(self, record: BusinessCalendar, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a calendar needs a name")
        if record.kind is None:
            record.kind = CUSTOMER_SERVICE
        if record.kind not in (CUSTOMER_SERVICE, HOLIDAY_SCHEDULE):
            raise ValidationFailed.field("kind", "customer_service or holiday_schedule")
        if creating or "time_zone" in values:
            if not record.time_zone:
                raise ValidationFailed.field("time_zone", "an IANA time zone name such as Europe/Paris")
            check_time_zone(record.time_zone, "time_zone")
        if not creating and "kind" in values:
            self._check_kind_change(record)
        if record.holiday_calendar_id is not None:
            if record.kind == HOLIDAY_SCHEDULE:
                raise ValidationFailed.field("holiday_calendar_id", "a holiday schedule names no holiday schedule")
            holidays = self.session.get(BusinessCalendar, record.holiday_calendar_id)
            if holidays is None or holidays.id == record.id:
                raise ValidationFailed.field("holiday_calendar_id",
                                             f"no other calendar with id {record.holiday_calendar_id}")
            if holidays.kind != HOLIDAY_SCHEDULE:
                raise ValidationFailed.field("holiday_calendar_id", f"{holidays.name!r} is not a holiday schedule")

    def before_delete(self, record: BusinessCalendar) -> None:
        slas = self.session.scalars(select(Sla.name).where(Sla.business_calendar_id == record.id)).all()
        calendars = self.session.scalars(
            select(BusinessCalendar.name).where(BusinessCalendar.holiday_calendar_id == record.id)).all()
        users = [f"SLAs {', '.join(sorted(slas))}" if slas else "",
                 f"calendars {', '.join(sorted(calendars))} (as their holiday schedule)" if calendars else ""]
        if slas or calendars:
            raise Conflict(f"this calendar is used by {' and '.join(u for u in users if u)}; "
                           "change them first", slas=sorted(slas), calendars=sorted(calendars))

    # --- business time for a user ------------------------------------------------------------------
    def due(self, record_id: uuid.UUID, start: datetime, minutes: int) -> datetime:
        """When `minutes` business minutes after `start` are over, in this calendar."""
        return add_minutes(self._clock(record_id), start, minutes)

    def between(self, record_id: uuid.UUID, start: datetime, end: datetime) -> int:
        return minutes_between(self._clock(record_id), start, end)

    def _clock(self, record_id: uuid.UUID) -> BusinessClock | None:
        record = self.get(record_id)
        if record.kind != CUSTOMER_SERVICE:
            raise Conflict("a holiday schedule has no working hours; ask a customer-service calendar")
        try:
            return clock(self.session, record.id)
        except BusinessTimeError as exc:
            raise Conflict(f"this calendar has no working hours: {exc}") from None

    # --- internals ---------------------------------------------------------------------------------
    def _check_closure(self, i: int, closure: dict[str, Any]) -> tuple[str, date, date]:
        name = (closure.get("name") or "").strip()
        if not name:
            raise ValidationFailed.field(f"closures[{i}].name", "a closure needs a name")
        first, last = closure["starts_on"], closure.get("ends_on") or closure["starts_on"]
        if last < first:
            raise ValidationFailed.field(f"closures[{i}].ends_on", "not before starts_on")
        return name, first, last

    def _check_closures_flag(self, record: BusinessCalendar, flag: bool | None, creating: bool) -> None:
        """Only a holiday schedule is the business closures; one that is stays a holiday schedule."""
        if record.kind == HOLIDAY_SCHEDULE:
            return
        if flag:
            raise ValidationFailed.field("is_business_closures", "only a holiday_schedule calendar holds the "
                                         "organisation's business closures")
        if flag is None and not creating and record.is_business_closures:
            raise ValidationFailed.field("kind", "this calendar is the organisation's business closures; it stays "
                                         "a holiday schedule (set is_business_closures false to change that)")

    def _check_kind_change(self, record: BusinessCalendar) -> None:
        if record.kind == HOLIDAY_SCHEDULE:
            if self.session.scalar(select(exists().where(Sla.business_calendar_id == record.id))):
                raise ValidationFailed.field("kind", "SLAs count their time in this calendar; it stays a "
                                             "customer-service calendar")
        elif self.session.scalar(select(exists().where(BusinessCalendar.holiday_calendar_id == record.id))):
            raise ValidationFailed.field("kind", "other calendars observe this holiday schedule; it stays one")

    def _refuse_if_counted_in(self, record: BusinessCalendar) -> None:
        """A calendar that an active SLA, or a running clock, counts in keeps some working time."""
        active = select(Sla.name).where(Sla.business_calendar_id == record.id, Sla.statecode == cs.RULE_ACTIVE)
        running = select(exists().where(SlaKpiInstance.sla_id == Sla.id, Sla.business_calendar_id == record.id,
                                        SlaKpiInstance.status.in_(cs.KPI_OPEN)))
        names = self.session.scalars(active).all()
        if names or self.session.scalar(running):
            used_by = f"the active SLAs {', '.join(sorted(names))}" if names else "running SLA clocks of cases"
            raise ValidationFailed.field("hours", f"{used_by} count their time in this calendar: it needs "
                                         "working hours")

