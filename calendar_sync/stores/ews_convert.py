"""Exchange calendar items <-> one iCalendar object, for the EWS store.

Reading: a single item, or a recurring master with its exceptions (fetched by the ids its ModifiedOccurrences
list) and its DeletedOccurrences, becomes one VCALENDAR: the master with RRULE and EXDATEs, an overriding VEVENT
per exception (RECURRENCE-ID = its OriginalStart). Times are written in the item's StartTimeZone, a Windows name
that calendar_sync.timezones turns into its IANA zone. Attendees keep their role (Required/Optional) and their
response as PARTSTAT.

Writing: the master's properties for CreateItem/UpdateItem, the RRULE as an EWS pattern and range, and each
override and EXDATE as the 1-based instance index EWS's OccurrenceItemId names (the position of its
RECURRENCE-ID among the series' starts, expanded by dateutil in the series' zone). What EWS cannot express (an
RDATE, BYHOUR, several BYSETPOS...) is ItemBroken, so the sync quarantines that one item."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from dateutil import rrule
from exchangelib import Attendee, Body, EWSDate, EWSDateTime, EWSTimeZone, Mailbox
from exchangelib import CalendarItem as EwsItem
from exchangelib.fields import FieldPath
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    EndDatePattern,
    NoEndPattern,
    NumberedPattern,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)

from calendar_sync.errors import ItemBroken
from calendar_sync.items import CalendarItem
from calendar_sync.timezones import UnknownTimeZone, zone

READ = ("subject", "body", "uid", "start", "end", "original_start", "is_all_day", "location", "type", "organizer",
        "required_attendees", "optional_attendees", "recurrence", "modified_occurrences", "deleted_occurrences",
        "_start_timezone", "_end_timezone")
# What an update writes (the zones follow start and end: exchangelib adds them).
MASTER_WRITES = ("subject", "body", "location", "start", "end", "is_all_day", "required_attendees",
                 "optional_attendees", "recurrence")
OVERRIDE_WRITES = ("subject", "body", "location", "start", "end", "required_attendees", "optional_attendees")
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # exchangelib's weekday 1..7
PARTSTAT = {"Accept": "ACCEPTED", "Tentative": "TENTATIVE", "Decline": "DECLINED"}
RESPONSE = {v: k for k, v in PARTSTAT.items()}
MAX_INSTANCES = 1000  # how far an unbounded series is expanded to find an instance's index


def read_paths() -> list[FieldPath]:
    return [FieldPath(field=EwsItem.get_field_by_fieldname(name)) for name in READ]


# -- Exchange -> iCalendar -----------------------------------------------------------------------------------------
def _zone_of(item: EwsItem) -> ZoneInfo:
    tz = item._start_timezone
    name = getattr(tz, "ms_id", None) or getattr(tz, "key", None) or "UTC"
    try:
        return zone(name)
    except UnknownTimeZone:
        return zone(getattr(tz, "key", "UTC") or "UTC")


def _when(value: Any, tz: ZoneInfo, all_day: bool) -> dt.date | dt.datetime:
    if isinstance(value, dt.datetime):
        local = value.astimezone(tz)
        return local.date() if all_day else dt.datetime.fromtimestamp(local.timestamp(), tz)
    return dt.date(value.year, value.month, value.day)


def _event(item: EwsItem, tz: ZoneInfo, uid: str, recurrence_id: Any = None) -> icalendar.Event:
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", dt.datetime.now(dt.UTC).replace(microsecond=0))
    all_day = bool(item.is_all_day)
    event.add("DTSTART", _when(item.start, tz, all_day))
    event.add("DTEND", _when(item.end, tz, all_day))
    if recurrence_id is not None:
        event.add("RECURRENCE-ID", _when(recurrence_id, tz, all_day))
    event.add("SUMMARY", item.subject or "")
    if item.location:
        event.add("LOCATION", item.location)
    if item.body:
        event.add("DESCRIPTION", str(item.body))
    if item.organizer is not None and item.organizer.email_address:
        event.add("ORGANIZER", f"mailto:{item.organizer.email_address}", parameters=_cn(item.organizer))
    for role, attendees in (("REQ-PARTICIPANT", item.required_attendees), ("OPT-PARTICIPANT", item.optional_attendees)):
        for attendee in attendees or ():
            params = {"ROLE": role, "PARTSTAT": PARTSTAT.get(attendee.response_type or "", "NEEDS-ACTION"),
                      **_cn(attendee.mailbox)}
            event.add("ATTENDEE", f"mailto:{attendee.mailbox.email_address}", parameters=params)
    return event


def _cn(mailbox: Mailbox) -> dict[str, str]:
    name = mailbox.name or ""
    return {"CN": name} if name and name.lower() != (mailbox.email_address or "").lower() else {}


def _rrule(recurrence: Recurrence, start: dt.date | dt.datetime) -> icalendar.vRecur:
    """The RRULE of an EWS pattern, leaving out what DTSTART implies (a weekly series on its start's weekday
    has no BYDAY), as calendar programs write it."""
    pattern, boundary = recurrence.pattern, recurrence.boundary
    first = start if not isinstance(start, dt.datetime) else start.date()
    rule: dict[str, Any] = {}
    if isinstance(pattern, DailyPattern):
        rule["FREQ"] = "DAILY"
    elif isinstance(pattern, WeeklyPattern):
        rule["FREQ"] = "WEEKLY"
        days = [DAYS[_number(d) - 1] for d in pattern.weekdays]
        if days != [DAYS[first.weekday()]]:
            rule["BYDAY"] = days
        if _number(pattern.first_day_of_week) != 1:
            rule["WKST"] = DAYS[_number(pattern.first_day_of_week) - 1]
    elif isinstance(pattern, (AbsoluteMonthlyPattern, AbsoluteYearlyPattern)):
        rule["FREQ"] = "MONTHLY" if isinstance(pattern, AbsoluteMonthlyPattern) else "YEARLY"
        if pattern.day_of_month != first.day:
            rule["BYMONTHDAY"] = pattern.day_of_month
        if isinstance(pattern, AbsoluteYearlyPattern) and _number(pattern.month) != first.month:
            rule["BYMONTH"] = _number(pattern.month)
    elif isinstance(pattern, (RelativeMonthlyPattern, RelativeYearlyPattern)):
        rule["FREQ"] = "MONTHLY" if isinstance(pattern, RelativeMonthlyPattern) else "YEARLY"
        week = _number(pattern.week_number)
        rule["BYDAY"] = f"{-1 if week == 5 else week}{DAYS[_number(pattern.weekday) - 1]}"
        if isinstance(pattern, RelativeYearlyPattern):
            rule["BYMONTH"] = _number(pattern.month)
    else:
        raise ItemBroken(f"an Exchange recurrence this store cannot read: {type(pattern).__name__}")
    interval = getattr(pattern, "interval", 1) or 1
    if interval != 1:
        rule["INTERVAL"] = interval
    if isinstance(boundary, NumberedPattern):
        rule["COUNT"] = boundary.number
    elif isinstance(boundary, EndDatePattern):
        rule["UNTIL"] = boundary.end if not isinstance(start, dt.datetime) else dt.datetime.combine(
            boundary.end, dt.time(23, 59, 59), tzinfo=start.tzinfo).astimezone(dt.UTC)
    # As icalendar parses an RRULE: every part a list.
    return icalendar.vRecur({k: v if isinstance(v, list) else [v] for k, v in rule.items()})


def _number(value: Any) -> int:
    return int(value) if isinstance(value, int) else int(str(value))


def to_icalendar(master: EwsItem, exceptions: Sequence[EwsItem]) -> CalendarItem:
    """One iCalendar object of a single item, or of a master and its exceptions."""
    if not master.uid:
        raise ItemBroken("the Exchange item has no UID")
    tz = _zone_of(master)
    cal = icalendar.Calendar()
    cal.add("PRODID", "-//mailcrm//calendar_sync EWS//EN")
    cal.add("VERSION", "2.0")
    event = _event(master, tz, master.uid)
    if master.recurrence is not None:
        event.add("RRULE", _rrule(master.recurrence, event["DTSTART"].dt))
        for deleted in master.deleted_occurrences or ():
            event.add("EXDATE", _when(deleted.start, tz, bool(master.is_all_day)))
    cal.add_component(event)
    for exception in exceptions:
        cal.add_component(_event(exception, tz, master.uid, exception.original_start))
    if hasattr(cal, "add_missing_timezones"):
        cal.add_missing_timezones()  # VTIMEZONEs for the TZIDs used, for readers that need them
    return CalendarItem.from_calendar(cal)


# -- iCalendar -> Exchange -----------------------------------------------------------------------------------------
@dataclass
class Plan:
    """What to write: the master's properties, the overrides by instance index, the deleted instances."""

    master: EwsItem
    overrides: dict[int, EwsItem] = field(default_factory=dict)
    deleted: list[int] = field(default_factory=list)


def _ews_zone(value: dt.datetime | dt.date) -> EWSTimeZone:
    tzinfo = getattr(value, "tzinfo", None)
    key = getattr(tzinfo, "key", None)
    if key is None and isinstance(value, dt.datetime) and tzinfo is not None:
        key = "UTC" if value.utcoffset() == dt.timedelta(0) else None
    if key is None:
        key = "UTC"  # a floating time or an unnamed zone: Exchange has no floating time
    return EWSTimeZone(zone(key).key)


def _ews_time(value: dt.datetime | dt.date, tz: EWSTimeZone) -> EWSDateTime | EWSDate:
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return EWSDateTime.from_datetime(aware).astimezone(tz)
    return EWSDate(value.year, value.month, value.day)


def _fields(event: icalendar.Event, tz: EWSTimeZone) -> dict[str, Any]:
    start = event["DTSTART"].dt
    if "DTEND" in event:
        end = event["DTEND"].dt
    else:
        end = start + (event["DURATION"].dt if "DURATION" in event else
                       dt.timedelta(days=1) if not isinstance(start, dt.datetime) else dt.timedelta(0))
    required, optional = [], []
    for value in _as_list(event.get("ATTENDEE")):
        address = str(value).removeprefix("mailto:").removeprefix("MAILTO:")
        params = getattr(value, "params", {})
        attendee = Attendee(mailbox=Mailbox(email_address=address, name=params.get("CN")),
                            response_type=RESPONSE.get(params.get("PARTSTAT", ""), "Unknown"))
        (optional if params.get("ROLE") == "OPT-PARTICIPANT" else required).append(attendee)
    description = event.get("DESCRIPTION")
    return {"subject": str(event.get("SUMMARY", "")), "location": str(event.get("LOCATION", "")) or None,
            "body": Body(str(description)) if description else None, "start": _ews_time(start, tz),
            "end": _ews_time(end, tz), "is_all_day": not isinstance(start, dt.datetime),
            "required_attendees": required or None, "optional_attendees": optional or None}


def _as_list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def _recurrence(rule: icalendar.vRecur, start: dt.date | dt.datetime) -> Recurrence:
    parts = {k.upper(): v for k, v in rule.items()}
    unknown = set(parts) - {"FREQ", "INTERVAL", "BYDAY", "BYMONTHDAY", "BYMONTH", "COUNT", "UNTIL", "WKST"}
    if unknown:
        raise ItemBroken(f"Exchange cannot hold this recurrence ({', '.join(sorted(unknown))})",
                         reason="unsupported_recurrence")
    freq, interval = parts["FREQ"][0], int(parts.get("INTERVAL", [1])[0])
    first = start.date() if isinstance(start, dt.datetime) else start
    days = [str(d) for d in parts.get("BYDAY", [])]
    month = int(parts.get("BYMONTH", [first.month])[0])
    day = int(parts.get("BYMONTHDAY", [first.day])[0])
    pattern: Any
    if freq == "DAILY" and not days:
        pattern = DailyPattern(interval=interval)
    elif freq == "WEEKLY" and all(d in DAYS for d in days):
        wkst = str(parts.get("WKST", ["MO"])[0])
        weekdays = [DAYS.index(d) + 1 for d in days or [DAYS[first.weekday()]]]
        pattern = WeeklyPattern(interval=interval, weekdays=weekdays, first_day_of_week=DAYS.index(wkst) + 1)
    elif freq in ("MONTHLY", "YEARLY") and not days:
        pattern = AbsoluteMonthlyPattern(interval=interval, day_of_month=day) if freq == "MONTHLY" else \
            AbsoluteYearlyPattern(day_of_month=day, month=month)
    elif freq in ("MONTHLY", "YEARLY") and len(days) == 1 and days[0][:-2] in ("1", "2", "3", "4", "-1", "+1"):
        week, weekday = int(days[0][:-2]), DAYS.index(days[0][-2:]) + 1
        week = 5 if week == -1 else week
        pattern = RelativeMonthlyPattern(interval=interval, weekday=weekday, week_number=week) \
            if freq == "MONTHLY" else RelativeYearlyPattern(weekday=weekday, week_number=week, month=month)
    else:
        raise ItemBroken(f"Exchange cannot hold the recurrence {rule.to_ical().decode()}",
                         reason="unsupported_recurrence")
    if freq == "YEARLY" and interval != 1:
        raise ItemBroken("Exchange has no yearly recurrence with an interval", reason="unsupported_recurrence")
    begin = EWSDate(first.year, first.month, first.day)
    if "COUNT" in parts:
        return Recurrence(pattern=pattern, boundary=NumberedPattern(start=begin, number=int(parts["COUNT"][0])))
    if "UNTIL" in parts:
        until = parts["UNTIL"][0]
        if isinstance(until, dt.datetime) and isinstance(start, dt.datetime) and start.tzinfo is not None:
            until = until.astimezone(start.tzinfo)
        last = until.date() if isinstance(until, dt.datetime) else until
        return Recurrence(pattern=pattern, boundary=EndDatePattern(start=begin, end=EWSDate(last.year, last.month,
                                                                                             last.day)))
    return Recurrence(pattern=pattern, boundary=NoEndPattern(start=begin))


def _instance_index(rule: icalendar.vRecur, start: dt.date | dt.datetime, wanted: Any) -> int:
    """The 1-based position of `wanted` (a RECURRENCE-ID or EXDATE) among the series' starts."""
    dtstart = start if isinstance(start, dt.datetime) else dt.datetime.combine(start, dt.time())
    if isinstance(dtstart, dt.datetime) and dtstart.tzinfo is None and isinstance(start, dt.datetime):
        dtstart = dtstart.replace(tzinfo=dt.UTC)
    series = rrule.rrulestr(rule.to_ical().decode(), dtstart=dtstart)
    target = wanted if isinstance(wanted, dt.datetime) else dt.datetime.combine(wanted, dt.time())
    for index, occurrence in enumerate(series, start=1):
        if index > MAX_INSTANCES:
            break
        if isinstance(start, dt.datetime):
            if occurrence == (target if target.tzinfo else target.replace(tzinfo=dt.UTC)):
                return index
        elif occurrence.date() == target.date():
            return index
    raise ItemBroken(f"{wanted} is not an occurrence of the series", reason="bad_recurrence_id")


def plan(item: CalendarItem) -> Plan:
    """The Exchange writes for one iCalendar object."""
    masters = [e for e in item.events if "RECURRENCE-ID" not in e]
    if len(masters) != 1:
        raise ItemBroken("Exchange keeps an event as one series master or single item; this object has "
                         f"{len(masters)}", reason="unsupported_recurrence")
    event = masters[0]
    if "RDATE" in event:
        raise ItemBroken("Exchange cannot hold extra dates (RDATE) in a series", reason="unsupported_recurrence")
    start = event["DTSTART"].dt
    tz = _ews_zone(start)
    master = EwsItem(uid=item.uid, legacy_free_busy_status="Busy", **_fields(event, tz))
    rule = event.get("RRULE")
    found = Plan(master)
    if rule is None:
        return found
    master.recurrence = _recurrence(rule, start)
    for exdate in _as_list(event.get("EXDATE")):
        found.deleted.extend(_instance_index(rule, start, d.dt) for d in exdate.dts)
    for override in item.events:
        if "RECURRENCE-ID" in override:
            index = _instance_index(rule, start, override["RECURRENCE-ID"].dt)
            found.overrides[index] = EwsItem(**_fields(override, tz))
    return found
