"""A `recurrence.Series` from the VEVENTs of one UID (the master and its overridden instances).

icalendar has already resolved what it can when it parsed the calendar: IANA and Windows TZIDs, and made-up
TZIDs defined by a VTIMEZONE in the same file. A TZID it could not resolve (a Windows name it does not
know, a VTIMEZONE that was not sent along) leaves a naive value with the TZID parameter: we try
calendar_sync.timezones.zone on it, and otherwise keep the time floating, as recurring-ical-events does."""

from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import icalendar

from calendar_sync.errors import ItemBroken
from calendar_sync.timezones import UnknownTimeZone, zone

if TYPE_CHECKING:
    from calendar_sync.recurrence import Moment, RDate, Series

# A parse error on one of these makes the series unknowable; on anything else (a bad X- line) it does not.
_TIMING = frozenset({"DTSTART", "DTEND", "DURATION", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"})
_SINGLE = ("DTSTART", "DTEND", "DURATION", "RECURRENCE-ID")


def series_from_events(cls: "type[Series]", master: icalendar.Event | None,
                       overrides: list[icalendar.Event]) -> "Series":
    from calendar_sync.recurrence import Override

    for event in ([master] if master is not None else []) + overrides:
        _check(event)
    by_rid: dict[Any, tuple[int, Moment, Override]] = {}
    for event in overrides:
        rid_property = event["RECURRENCE-ID"]
        rid = _resolve(rid_property.dt, rid_property)
        start, end = _span(event)
        override = Override(start, end, _cancelled(event), event,
                            str(rid_property.params.get("RANGE", "")).upper() == "THISANDFUTURE")
        sequence = _sequence(event)
        key = _key(rid)
        if key not in by_rid or by_rid[key][0] <= sequence:  # a later SEQUENCE wins, as in RFC 5546
            by_rid[key] = (sequence, rid, override)
    overridden = {rid: override for _, rid, override in by_rid.values()}

    if master is None:
        if not overridden:
            raise ItemBroken("no event to make a series of")
        # Only overridden instances were shared with us: each stands alone; the first one's original start
        # plays the master's, and its override replaces that occurrence.
        first = min(overridden, key=_key)
        return cls(start=first, overrides=overridden)
    start, end = _span(master)
    series = cls(start=start, duration=_difference(start, end), rrule=_rrule(master), rdates=_rdates(master),
                 exdates=_exdates(master), overrides=overridden, cancelled=_cancelled(master))
    stale = [rid for sequence, rid, override in by_rid.values()
             if sequence < _sequence(master) and "RRULE" in override.payload]
    if stale:
        series.overrides = {rid: o for rid, o in overridden.items() if rid not in stale or _generates(series, rid)}
    return series


def _generates(series: "Series", rid: Any) -> bool:
    """Whether the master's rule still has an occurrence at `rid`. A modification that repeats the RRULE,
    with a lower SEQUENCE than a master that no longer produces its instant, is left over from an older
    version of the series (the organiser shortened it), as recurring-ical-events judges it too."""
    from calendar_sync.recurrence import Series, expand

    bare = Series(series.start, series.duration, series.rrule, series.rdates, series.exdates)
    day = rid if not isinstance(rid, datetime) else rid.replace(hour=0, minute=0, second=0, microsecond=0)
    wanted = series.wall(rid)
    return any(series.wall(o.recurrence_id) == wanted for o in expand(bare, day, day + timedelta(days=1)))


def _check(event: icalendar.Event) -> None:
    problems = [f"{name or 'a line'}: {message}" for name, message in getattr(event, "errors", [])
                if name in _TIMING]
    uid = event.get("UID", "(no UID)")
    if problems:
        raise ItemBroken(f"event {uid}: " + "; ".join(problems))
    if "DTSTART" not in event:
        raise ItemBroken(f"event {uid} has no DTSTART", reason="no_start")
    for name in _SINGLE:
        if isinstance(event.get(name), list):
            raise ItemBroken(f"event {uid} has {len(event[name])} {name}s, which one holds is anyone's guess")


def _resolve(value: Any, prop: Any) -> Any:
    """A naive datetime whose TZID icalendar could not resolve gets the zone calendar_sync knows for it."""
    if isinstance(value, datetime) and value.tzinfo is None:
        tzid = getattr(prop, "params", {}).get("TZID")
        if tzid:
            try:
                return value.replace(tzinfo=zone(str(tzid)))
            except UnknownTimeZone:
                return value  # floating, for want of anything better
    return value


def _span(event: icalendar.Event) -> "tuple[Moment, Moment]":
    """(start, end) of one VEVENT: DTEND, else DTSTART + DURATION, else a day for a date and nothing for a
    time (RFC 5545 3.6.1). A start after its end is taken as swapped."""
    start = _resolve(event["DTSTART"].dt, event["DTSTART"])
    if not isinstance(start, date):
        raise ItemBroken(f"event {event.get('UID')}: DTSTART is not a date or time")
    if "DTEND" in event:
        end = _resolve(event["DTEND"].dt, event["DTEND"])
    elif "DURATION" in event and isinstance(event["DURATION"].dt, timedelta):
        duration = event["DURATION"].dt
        if not isinstance(start, datetime) and duration % timedelta(days=1):
            start = datetime.combine(start, time())
        end = start + duration
    else:
        end = start if isinstance(start, datetime) else start + timedelta(days=1)
    start, end = _alike(start, end)
    return (end, start) if end < start else (start, end)


def _alike(start: Any, end: Any) -> tuple[Any, Any]:
    """Make a mixed pair (a date and a time, floating and zoned) comparable the way RFC readers do."""
    if isinstance(start, datetime) != isinstance(end, datetime):
        zone_of = (start if isinstance(start, datetime) else end).tzinfo
        if not isinstance(start, datetime):
            start = datetime.combine(start, time(), zone_of)
        else:
            end = datetime.combine(end, time(), zone_of)
    if isinstance(start, datetime) and (start.tzinfo is None) != (end.tzinfo is None):
        if start.tzinfo is None:
            start = start.replace(tzinfo=end.tzinfo)
        else:
            end = end.replace(tzinfo=start.tzinfo)
    return start, end


def _difference(start: "Moment", end: "Moment") -> timedelta:
    return end - start  # type: ignore[operator]  # _alike made them the same kind


def _key(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value if isinstance(value, datetime) else datetime.combine(value, time())


def _values(event: icalendar.Event, name: str) -> list[Any]:
    found = event.get(name)
    if found is None:
        return []
    out = []
    for group in found if isinstance(found, list) else [found]:
        for value in getattr(group, "dts", []):
            moment = value.dt
            if not isinstance(moment, (date, tuple)):
                continue  # VALUE=TIME and the like: not a moment RFC 5545 allows here
            if isinstance(moment, tuple):
                moment = (_resolve(moment[0], group), _resolve(moment[1], group))
            else:
                moment = _resolve(moment, group)
            out.append(moment)
    return out


def _rdates(event: icalendar.Event) -> "tuple[RDate, ...]":
    return tuple(_values(event, "RDATE"))


def _exdates(event: icalendar.Event) -> "tuple[Moment, ...]":
    return tuple(v for v in _values(event, "EXDATE") if not isinstance(v, tuple))


def _rrule(event: icalendar.Event) -> str | None:
    found = event.get("RRULE")
    if not found:
        return None
    rules = found if isinstance(found, list) else [found]
    return "\n".join(dict.fromkeys(rule.to_ical().decode() for rule in rules)) or None


def _cancelled(event: icalendar.Event) -> bool:
    return str(event.get("STATUS", "")).upper() == "CANCELLED"


def _sequence(event: icalendar.Event) -> int:
    try:
        return int(event.get("SEQUENCE", -1))
    except (TypeError, ValueError):
        return -1


def series_of(events: list[icalendar.Event]) -> "Series":
    """The series of one calendar object's VEVENTs: the master (the one without RECURRENCE-ID; the highest
    SEQUENCE when a feed repeats it) and its overrides."""
    from calendar_sync.recurrence import Series

    masters = [e for e in events if "RECURRENCE-ID" not in e]
    overrides = [e for e in events if "RECURRENCE-ID" in e]
    master = max(masters, key=_sequence) if masters else None
    return Series.from_events(master, overrides)
