"""The scheduling benchmark's data: a migrated database with a service calendar as a busy clinic or workshop
would have it, loaded in bulk with SQLAlchemy Core (the rows the booking service and the calendar sync would
write, without their audit rows: a bulk load is not what is measured, and the search reads no audit).

- 200 users: the first 100 are resources (50 advisers in group A; 50 technicians and 50 pieces of equipment in
  group B), the others only take part in meetings. One site in Europe/Berlin; ten devices keep London time.
- Weekly hours by pattern: the default week (no rows), a lunch break, a longer break, part time (Monday to
  Thursday mornings), an early shift with Saturday mornings. Time off (vacations, half days) and a few extra
  working Saturdays; the organisation's business closures (German public holidays).
- N service activities over 52 weeks, each booking one or two resources of B and often one of A
  (resource_bookings rows, with their resource parties), at 15-minute marks of the working day.
- M recurring series owned by and attended by users (weekly, every other week, Monday-Wednesday-Friday
  stand-ups, monthly, ended ones with COUNT or UNTIL), some with EXDATEs and moved occurrences.
- The service: 60 minutes on a 15-minute grid, needing one of A and two of B."""

import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Table, text

from crm_core.db import migrate
from crm_core.db.engine import make_engine, make_session_factory
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import (
    Activity,
    ActivityParty,
    Appointment,
    BusinessCalendar,
    CalendarClosure,
    RecurringAppointment,
    Resource,
    ResourceBooking,
    ResourceCalendarException,
    ResourceGroup,
    ResourceWorkHours,
    Service,
    ServiceActivity,
    Site,
    User,
)
from crm_core.models.scheduling import resource_group_resources
from crm_core.services.organisation import ensure_organisation

BERLIN = ZoneInfo("Europe/Berlin")
LONDON = ZoneInfo("Europe/London")
FIRST_DAY = date(2025, 12, 1)  # a Monday: bookings and series run from here for SPAN_WEEKS
SPAN_WEEKS = 52
NOW = datetime(2025, 11, 20, tzinfo=UTC)  # created_on of every row: fixed, so one seed loads identical rows
BATCH = 5000
USERS, GROUP_A, GROUP_B_USERS, GROUP_B_EQUIPMENT = 200, 50, 50, 50
DURATION, GRANULARITY = 60, 15
RESOURCE, ORGANIZER, REQUIRED, OPTIONAL = 10, 7, 5, 6  # activity party participation codes
SCHEDULED, RESERVED, BUSY = 3, 4, 5  # statecode Scheduled; service activity Reserved; appointment Busy
HOLIDAYS = (("New Year", date(2026, 1, 1)), ("Good Friday", date(2026, 4, 3)), ("Easter Monday", date(2026, 4, 6)),
            ("Labour Day", date(2026, 5, 1)), ("Ascension", date(2026, 5, 14)), ("Whit Monday", date(2026, 5, 25)),
            ("German Unity", date(2026, 10, 3)), ("Christmas", date(2026, 12, 24)), ("Boxing Day", date(2026, 12, 26)))
# Weekly hours by pattern, as (weekday, start, end) local minutes; () is the default week (no rows).
WEEKS: tuple[tuple[tuple[int, int, int], ...], ...] = (
    (),
    tuple((d, s, e) for d in range(5) for s, e in ((480, 720), (750, 1020))),  # 08-12, 12:30-17
    tuple((d, s, e) for d in range(5) for s, e in ((540, 780), (840, 1080))),  # 09-13, 14-18
    tuple((d, 480, 840) for d in range(4)),  # part time, Monday to Thursday 08-14
    (*((d, 420, 930) for d in range(5)), (5, 540, 720)),  # early shift 07-15:30, Saturday 09-12
)


@dataclass
class SchedulingData:
    url: str
    service_id: uuid.UUID
    group_a: list[uuid.UUID]
    group_b: list[uuid.UUID]
    bookings: int  # service activities
    booking_rows: int  # resource_bookings rows (one per resource booked)
    series: int
    moved: int  # exception rows of the series
    load_seconds: float


def build(url: str, bookings: int, series: int, seed: int = 11) -> SchedulingData:
    """Migrates the database at `url` and loads the calendar into it."""
    started = time.perf_counter()
    rng = random.Random(seed)
    migrate.upgrade(url)
    engine = make_engine(url)
    try:
        with UnitOfWork(make_session_factory(engine)) as uow:
            unit_id = ensure_organisation(uow.session, "Bench Clinic").id
            uow.commit()
        loader = _Loader(engine, rng, unit_id)
        with engine.begin() as conn:
            loader.conn = conn
            loader.people_and_resources()
            service_id = loader.service()
            rows = loader.bookings(bookings, service_id)
            moved = loader.series(series)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))  # as autovacuum would have done on a live database
    finally:
        engine.dispose()
    return SchedulingData(url, service_id, loader.group_a, loader.group_b, bookings, rows, series, moved,
                          time.perf_counter() - started)


class _Loader:
    def __init__(self, engine: Engine, rng: random.Random, unit_id: uuid.UUID) -> None:
        self.engine, self.rng, self.unit_id = engine, rng, unit_id
        self.conn: Any = None
        self.users: list[uuid.UUID] = []
        self.group_a: list[uuid.UUID] = []
        self.group_b: list[uuid.UUID] = []
        self.groups: list[uuid.UUID] = []
        self.site_id = uuid.uuid4()

    def insert(self, table: Table | Any, rows: list[dict[str, Any]]) -> None:
        table = table if isinstance(table, Table) else table.__table__
        for start in range(0, len(rows), BATCH):
            self.conn.execute(table.insert(), rows[start:start + BATCH])

    def record(self, **values: Any) -> dict[str, Any]:
        return {"id": uuid.uuid4(), "created_on": NOW, "modified_on": NOW, "created_by_id": None,
                "modified_by_id": None, **values}

    # --- people, resources, hours, closures ----------------------------------------------------------------
    def people_and_resources(self) -> None:
        users = [self.record(email=f"person{n}@bench-clinic.example", full_name=f"Person {n:03d}",
                             business_unit_id=self.unit_id, is_disabled=False) for n in range(USERS)]
        self.insert(User, users)
        self.users = [u["id"] for u in users]
        self.insert(Site, [self.record(id=self.site_id, name="Berlin", time_zone="Europe/Berlin")])
        resources = []
        for n in range(GROUP_A + GROUP_B_USERS + GROUP_B_EQUIPMENT):
            is_user = n < GROUP_A + GROUP_B_USERS
            label = "Adviser" if n < GROUP_A else "Technician" if is_user else "Device"
            london = not is_user and n >= GROUP_A + GROUP_B_USERS + GROUP_B_EQUIPMENT - 10
            resources.append(self.record(
                kind="user" if is_user else "equipment", name=f"{label} {n:03d}",
                user_id=self.users[n] if is_user else None, site_id=self.site_id, business_unit_id=self.unit_id,
                capacity=None, time_zone="Europe/London" if london else None, description=None, calendar_id=None))
        self.insert(Resource, resources)
        ids = [r["id"] for r in resources]
        self.group_a, self.group_b = ids[:GROUP_A], ids[GROUP_A:]
        groups = [self.record(name=name, description=None, business_unit_id=self.unit_id)
                  for name in ("Advisers", "Technicians and devices")]
        self.insert(ResourceGroup, groups)
        self.insert(resource_group_resources,
                    [{"group_id": groups[0]["id"], "resource_id": r} for r in self.group_a]
                    + [{"group_id": groups[1]["id"], "resource_id": r} for r in self.group_b])
        self.groups = [g["id"] for g in groups]
        self.hours_and_exceptions(ids)
        calendar = self.record(name="Public holidays", description=None, kind="holiday_schedule",
                               time_zone="Europe/Berlin", holiday_calendar_id=None, is_business_closures=True)
        self.insert(BusinessCalendar, [calendar])
        self.insert(CalendarClosure, [{"id": uuid.uuid4(), "calendar_id": calendar["id"], "name": name,
                                       "starts_on": day, "ends_on": day} for name, day in HOLIDAYS])

    def hours_and_exceptions(self, ids: list[uuid.UUID]) -> None:
        rng, hours, exceptions = self.rng, [], []
        for n, resource_id in enumerate(ids):
            week = WEEKS[0] if n % 10 < 4 else WEEKS[1] if n % 10 < 7 else WEEKS[2 + n % 10 - 7]
            hours += [{"id": uuid.uuid4(), "resource_id": resource_id, "weekday": d, "start_minute": s,
                       "end_minute": e} for d, s, e in week]
            roll = rng.random()
            day = FIRST_DAY + timedelta(days=rng.randrange(SPAN_WEEKS * 7))
            if roll < 0.2:  # a vacation of one or two weeks
                start = _at(day - timedelta(days=day.weekday()), 0)
                exceptions.append(_exception(resource_id, "time_off", "Vacation", start,
                                             start + timedelta(weeks=rng.choice((1, 2)))))
            elif roll < 0.3:  # an afternoon off
                exceptions.append(_exception(resource_id, "time_off", "Doctor", _at(day, 780), _at(day, 1080)))
            elif roll < 0.35:  # a working Saturday morning
                saturday = day + timedelta(days=5 - day.weekday())
                exceptions.append(_exception(resource_id, "working", "Open Saturday", _at(saturday, 540),
                                             _at(saturday, 780)))
        self.insert(ResourceWorkHours, hours)
        self.insert(ResourceCalendarException, exceptions)

    def service(self) -> uuid.UUID:
        rule = {"rules": [{"group": str(self.groups[0]), "count": 1, "same_site": False},
                          {"group": str(self.groups[1]), "count": 2, "same_site": False}],
                "count": -1, "same_site": False}
        row = self.record(name="Installation visit", description=None, duration_minutes=DURATION,
                          granularity_minutes=GRANULARITY, start_window_from=None, start_window_to=None,
                          initial_status_code=RESERVED, selection_rule=rule, is_schedulable=True)
        self.insert(Service, [row])
        return row["id"]  # type: ignore[no-any-return]

    # --- service activities ----------------------------------------------------------------------------------
    def bookings(self, count: int, service_id: uuid.UUID) -> int:
        """`count` service activities, each booking one or two of B and, one time in two, one of A."""
        rng, written = self.rng, 0
        for first in range(0, count, BATCH):
            activities, subtypes, bookings, parties = [], [], [], []
            for n in range(first, min(count, first + BATCH)):
                day = FIRST_DAY + timedelta(days=rng.randrange(SPAN_WEEKS * 7))
                if day.weekday() >= 5:
                    day -= timedelta(days=day.weekday() - 4)  # the Friday before: bookings are on working days
                start = _at(day, rng.randrange(32, 65) * 15)  # 08:00 to 16:00
                end = start + timedelta(minutes=rng.choice((30, 45, 60, 60, 90)))
                activity = self.activity("service_activity", f"Installation {n}", start, end, RESERVED)
                activities.append(activity)
                subtypes.append({"id": activity["id"], "location": None, "service_id": service_id,
                                 "site_id": self.site_id})
                chosen = rng.sample(self.group_b, rng.choice((1, 2)))
                if rng.random() < 0.5:
                    chosen.append(rng.choice(self.group_a))
                for resource_id in chosen:
                    bookings.append({"id": uuid.uuid4(), "activity_id": activity["id"], "resource_id": resource_id,
                                     "starts_at": start, "ends_at": end})
                    parties.append(_party(activity["id"], RESOURCE, "resource", resource_id))
            self.insert(Activity, activities)
            self.insert(ServiceActivity, subtypes)
            self.insert(ResourceBooking, bookings)
            self.insert(ActivityParty, parties)
            written += len(bookings)
        return written

    def activity(self, kind: str, subject: str, start: datetime, end: datetime, status: int,
                 owner: uuid.UUID | None = None, **extra: Any) -> dict[str, Any]:
        return self.record(
            activity_type=kind, subject=subject, description=None, regarding_type=None, regarding_id=None,
            scheduled_start=start, scheduled_end=end, actual_start=None, actual_end=None,
            actual_duration_minutes=None, priority_code=1, direction_outgoing=None, instance_type_code=0,
            series_id=None, occurred_on=start, custom_fields={}, owning_user_id=owner or self.rng.choice(self.users),
            owning_team_id=None, owning_business_unit_id=self.unit_id, statecode=SCHEDULED, statuscode=status,
            **extra)

    # --- recurring series ------------------------------------------------------------------------------------
    def series(self, count: int) -> int:
        """`count` series of users' meetings; returns how many moved occurrences (exception rows) they have."""
        rng = self.rng
        masters, subtypes, parties, moved, moved_subtypes = [], [], [], [], []
        for n in range(count):
            owner = rng.choice(self.users)
            first_day = FIRST_DAY + timedelta(days=rng.randrange(-26 * 7, 40 * 7))
            kind = rng.choices(("weekly", "fortnightly", "standup", "monthly", "count", "until"),
                               (45, 15, 10, 10, 10, 10))[0]
            weekday = first_day.weekday()
            if kind == "standup":  # back to a Monday, Wednesday or Friday
                first_day -= timedelta(days=weekday % 2 if weekday < 5 else weekday - 4)
            elif kind == "until" and weekday >= 5:
                first_day -= timedelta(days=weekday - 4)
            if kind == "monthly" and first_day.day > 28:
                first_day -= timedelta(days=3)
            minutes = 15 if kind in ("standup", "until") else rng.choice((30, 45, 60, 60, 90))
            start = _at(first_day, rng.randrange(16, 34) * 30)  # 08:00 to 16:30
            day_code = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")[first_day.weekday()]
            pattern_end: date | None = None
            if kind == "weekly":
                rule = f"FREQ=WEEKLY;BYDAY={day_code}"
            elif kind == "fortnightly":
                rule = f"FREQ=WEEKLY;INTERVAL=2;BYDAY={day_code}"
            elif kind == "standup":
                rule = "FREQ=WEEKLY;BYDAY=MO,WE,FR"
            elif kind == "monthly":
                rule = f"FREQ=MONTHLY;BYDAY={(first_day.day - 1) // 7 + 1}{day_code}"
            elif kind == "count":
                rule, pattern_end = f"FREQ=WEEKLY;COUNT=10;BYDAY={day_code}", first_day + timedelta(weeks=9)
            else:
                pattern_end = first_day + timedelta(weeks=rng.randrange(2, 21))
                rule = f"FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;UNTIL={pattern_end:%Y%m%d}T235959Z"
            end = start + timedelta(minutes=minutes)
            exdates = [_local_weeks(start, rng.randrange(1, 30)).isoformat()
                       for _ in range(rng.choice((0, 0, 0, 1, 2)))] if kind == "weekly" else []
            master = self.activity("recurring_appointment", f"Meeting {n}", start, end, BUSY, owner)
            master["instance_type_code"] = 1
            masters.append(master)
            subtypes.append({"id": master["id"], "location": None, "is_all_day": False,
                             "global_object_id": f"bench-series-{n}@bench-clinic.example", "rrule": rule,
                             "time_zone": "Europe/Berlin", "pattern_start": first_day, "pattern_end": pattern_end,
                             "rdates": [], "exdates": exdates, "is_floating": False, "ical_sequence": 0,
                             "ical_dtstamp": NOW, "ical_source": None})
            parties.append(_party(master["id"], ORGANIZER, "user", owner))
            for attendee in rng.sample([u for u in self.users if u != owner], rng.choice((0, 1, 1, 2))):
                parties.append(_party(master["id"], rng.choice((REQUIRED, REQUIRED, OPTIONAL)), "user", attendee))
            if kind == "weekly" and rng.random() < 0.1:  # one occurrence moved by one to three hours
                original = _local_weeks(start, rng.randrange(1, 30))
                shift = timedelta(hours=rng.choice((1, 2, 3)))
                row = self.activity("appointment", f"Meeting {n} (moved)", original + shift,
                                    original + shift + (end - start), BUSY, owner)
                row.update(instance_type_code=3, series_id=master["id"])
                moved.append(row)
                moved_subtypes.append({"id": row["id"], "location": None, "is_all_day": False,
                                       "global_object_id": f"bench-series-{n}@bench-clinic.example",
                                       "recurrence_id": original, "time_zone": "Europe/Berlin",
                                       "is_floating": False, "ical_sequence": 1, "ical_dtstamp": NOW,
                                       "ical_source": None})
        self.insert(Activity, masters)
        self.insert(RecurringAppointment, subtypes)
        self.insert(Activity, moved)  # after their masters: series_id points at them
        self.insert(Appointment, moved_subtypes)
        self.insert(ActivityParty, parties)
        return len(moved)


def _at(day: date, minute: int, zone: ZoneInfo = BERLIN) -> datetime:
    """Local `minute` of `day` in `zone`, as UTC."""
    return (datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(minutes=minute)).astimezone(UTC)


def _local_weeks(start: datetime, weeks: int) -> datetime:
    """The same wall-clock time `weeks` later in Berlin (across a DST change), as UTC."""
    local = start.astimezone(BERLIN).replace(tzinfo=None) + timedelta(weeks=weeks)
    return local.replace(tzinfo=BERLIN).astimezone(UTC)


def _exception(resource_id: uuid.UUID, kind: str, name: str, start: datetime, end: datetime) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "resource_id": resource_id, "kind": kind, "name": name, "starts_at": start,
            "ends_at": end}


def _party(activity_id: uuid.UUID, participation: int, party_type: str, party_id: uuid.UUID) -> dict[str, Any]:
    return {"id": uuid.uuid4(), "activity_id": activity_id, "participation": participation,
            "party_type": party_type, "party_id": party_id, "address_used": None, "is_party_deleted": False}
