"""Graph's patternedRecurrence (pattern + range) <-> an iCalendar RRULE, for the Graph store.

Graph's patterns: daily, weekly (daysOfWeek, firstDayOfWeek), absoluteMonthly (dayOfMonth), relativeMonthly
(daysOfWeek + index first..fourth|last), absoluteYearly (month + dayOfMonth), relativeYearly (month + daysOfWeek +
index); its ranges: endDate (a date in recurrenceTimeZone), numbered (numberOfOccurrences), noEnd. Graph always
spells out what iCalendar leaves to DTSTART (a weekly rule's day, a monthly rule's day of month), so reading
leaves a part out when it only repeats DTSTART: an RRULE read back is the one written. What Graph cannot express
(BYHOUR, several BYSETPOS, SECONDLY...) is ItemBroken, so the sync quarantines that one item."""

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from calendar_sync.errors import ItemBroken

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ICAL_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
INDEX_NAME = {v: k for k, v in INDEX.items()}
_ALLOWED = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS", "WKST"})


def to_rrule(recurrence: dict[str, Any], start: dt.date | dt.datetime, tz: ZoneInfo) -> icalendar.vRecur:
    """The RRULE of a series master whose first occurrence is `start` (local to `tz`, or a date if all-day)."""
    pattern, range_ = recurrence.get("pattern") or {}, recurrence.get("range") or {}
    kind = str(pattern.get("type") or "")
    rule: dict[str, Any] = {}
    days = [ICAL_DAYS[DAYS.index(d)] for d in pattern.get("daysOfWeek") or [] if d in DAYS]
    index = INDEX.get(str(pattern.get("index") or "first"), 1)
    if kind == "daily":
        rule["FREQ"] = "DAILY"
    elif kind == "weekly":
        rule["FREQ"] = "WEEKLY"
        if days != [ICAL_DAYS[start.weekday()]]:
            rule["BYDAY"] = days
        first = str(pattern.get("firstDayOfWeek") or "sunday")
        if first != "monday" and (len(days) > 1 or int(pattern.get("interval") or 1) > 1):
            rule["WKST"] = ICAL_DAYS[DAYS.index(first)]  # it changes which weeks count only then
    elif kind in ("absoluteMonthly", "absoluteYearly"):
        rule["FREQ"] = "MONTHLY" if kind == "absoluteMonthly" else "YEARLY"
        day, month = int(pattern.get("dayOfMonth") or start.day), int(pattern.get("month") or start.month)
        if kind == "absoluteYearly" and month != start.month:
            rule["BYMONTH"] = [month]
        if day != start.day or "BYMONTH" in rule:
            rule["BYMONTHDAY"] = [day]
    elif kind in ("relativeMonthly", "relativeYearly"):
        rule["FREQ"] = "MONTHLY" if kind == "relativeMonthly" else "YEARLY"
        if kind == "relativeYearly":
            rule["BYMONTH"] = [int(pattern.get("month") or start.month)]
        if len(days) == 1:
            rule["BYDAY"] = [f"{index}{days[0]}"]
        else:  # "the last weekday of the month": several days with one position
            rule["BYDAY"], rule["BYSETPOS"] = days, [index]
    else:
        raise ItemBroken(f"Graph recurrence pattern {kind!r} is not understood")
    interval = int(pattern.get("interval") or 1)
    if interval != 1:
        rule["INTERVAL"] = interval
    end_kind = str(range_.get("type") or "noEnd")
    if end_kind == "numbered":
        rule["COUNT"] = int(range_.get("numberOfOccurrences") or 1)
    elif end_kind == "endDate":
        rule["UNTIL"] = _until(dt.date.fromisoformat(str(range_["endDate"])), start, tz)
    # Lists throughout, as icalendar itself parses an RRULE.
    return icalendar.vRecur({k: v if isinstance(v, list) else [v] for k, v in rule.items()})


def _until(last: dt.date, start: dt.date | dt.datetime, tz: ZoneInfo) -> dt.date | dt.datetime:
    # RFC 5545: UNTIL is a date for a date DTSTART, else a UTC time; the last day's occurrence itself.
    if not isinstance(start, dt.datetime):
        return last
    return dt.datetime.combine(last, start.timetz().replace(tzinfo=None), tz).astimezone(dt.UTC)


def from_rrule(rule: icalendar.vRecur, start: dt.date | dt.datetime, zone_name: str) -> dict[str, Any]:
    """Graph's patternedRecurrence for an RRULE and its DTSTART; `zone_name` is the Windows name of the zone."""
    unknown = set(rule) - _ALLOWED
    if unknown:
        raise ItemBroken(f"Graph cannot express the RRULE parts {', '.join(sorted(unknown))}")
    freq = str(_one(rule, "FREQ"))
    interval = int(_one(rule, "INTERVAL", 1))
    days, positions = _by_day(rule)
    setpos = [int(x) for x in rule.get("BYSETPOS", [])]
    months = [int(x) for x in rule.get("BYMONTH", [])]
    month_days = [int(x) for x in rule.get("BYMONTHDAY", [])]
    if len(setpos) > 1 or len(months) > 1 or len(month_days) > 1 or len(set(positions)) > 1:
        raise ItemBroken("Graph cannot express several BYSETPOS, BYMONTH, BYMONTHDAY or positions")
    index = setpos[0] if setpos else (positions[0] if positions and positions[0] is not None else None)
    pattern: dict[str, Any] = {"interval": interval}
    if freq == "DAILY" and not (days or months or month_days):
        pattern["type"] = "daily"
    elif freq == "WEEKLY" and not (months or month_days or index):
        pattern.update(type="weekly", daysOfWeek=days or [DAYS[start.weekday()]],
                       firstDayOfWeek=DAYS[ICAL_DAYS.index(str(_one(rule, "WKST", "MO")))])
    elif freq in ("MONTHLY", "YEARLY") and index is not None and days:
        if index not in INDEX_NAME:
            raise ItemBroken(f"Graph has no position {index} (first to fourth, or last)")
        pattern.update(type="relativeMonthly" if freq == "MONTHLY" else "relativeYearly", daysOfWeek=days,
                       index=INDEX_NAME[index])
        if freq == "YEARLY":
            pattern["month"] = months[0] if months else start.month
    elif freq in ("MONTHLY", "YEARLY") and not days and index is None:
        pattern.update(type="absoluteMonthly" if freq == "MONTHLY" else "absoluteYearly",
                       dayOfMonth=month_days[0] if month_days else start.day)
        if freq == "YEARLY":
            pattern["month"] = months[0] if months else start.month
    else:
        raise ItemBroken(f"Graph cannot express the RRULE {rule.to_ical().decode()}")
    first_day = start if not isinstance(start, dt.datetime) else start.date()
    range_: dict[str, Any] = {"startDate": first_day.isoformat(), "recurrenceTimeZone": zone_name}
    if "COUNT" in rule:
        range_.update(type="numbered", numberOfOccurrences=int(_one(rule, "COUNT")))
    elif "UNTIL" in rule:
        until = _one(rule, "UNTIL")
        if isinstance(until, dt.datetime) and isinstance(start, dt.datetime) and start.tzinfo is not None:
            until = until.astimezone(start.tzinfo) if until.tzinfo else until
        range_.update(type="endDate", endDate=(until.date() if isinstance(until, dt.datetime) else until).isoformat())
    else:
        range_["type"] = "noEnd"
    return {"pattern": pattern, "range": range_}


def _one(rule: icalendar.vRecur, key: str, default: Any = None) -> Any:
    values = rule.get(key)
    if not values:
        return default
    return values[0] if isinstance(values, list) else values


def _by_day(rule: icalendar.vRecur) -> tuple[list[str], list[int | None]]:
    days, positions = [], []
    for value in rule.get("BYDAY", []):
        text = str(value)
        name, number = text[-2:], text[:-2]
        if name not in ICAL_DAYS:
            raise ItemBroken(f"unknown BYDAY {text!r}")
        days.append(DAYS[ICAL_DAYS.index(name)])
        positions.append(int(number) if number not in ("", "+") else None)
    return days, positions
