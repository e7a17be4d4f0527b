"""A resource's working time over a window: its weekly hours in its own time zone, the business closures,
then its exceptions (extra working time, then time off). Pure: no database.

The weekly hours are wall-clock ("08:00 to 17:00" stays that when the clocks change), so a day's interval is
turned into instants day by day through zoneinfo: on the spring-forward night an interval over 02:00-03:00
loses that hour, on the fall-back night 00:00-24:00 holds 25. A closure is a whole local day of the resource.
An explicit working exception beats a closure (someone asked to work on the holiday); time off beats both."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from calendar_sync.scheduling.intervals import Minute, Span, intersect, minute_floor, normalise, subtract

DAY_MINUTES = 24 * 60
# Dynamics' default for a new resource's calendar: Monday to Friday, 08:00 to 17:00.
DEFAULT_WEEK: tuple[tuple[Span, ...], ...] = tuple(((8 * 60, 17 * 60),) if d < 5 else () for d in range(7))


@dataclass(frozen=True)
class ResourceTime:
    """What decides when a resource works: week[weekday] -> (start, end) local minutes; exceptions as spans."""

    zone: ZoneInfo
    week: tuple[tuple[Span, ...], ...] = DEFAULT_WEEK
    working: tuple[Span, ...] = ()  # extra working time
    time_off: tuple[Span, ...] = ()
    closures: tuple[tuple[date, date], ...] = ()  # local dates, both ends included

    @staticmethod
    def week_of(hours: Iterable[tuple[int, int, int]]) -> tuple[tuple[Span, ...], ...]:
        """(weekday, start, end) rows as a week; no rows: the default week."""
        days: list[list[Span]] = [[] for _ in range(7)]
        found = False
        for weekday, start, end in hours:
            days[weekday].append((start, end))
            found = True
        return tuple(tuple(normalise(d)) for d in days) if found else DEFAULT_WEEK


@lru_cache(maxsize=1 << 16)
def local_minute(zone: ZoneInfo, day: date, minute: int) -> Minute:
    """The instant of local `minute` (0..1440) on `day`; a wall time the clocks skip means the jump's moment.
    Cached: the resources of a search mostly share a zone and the same few interval ends."""
    wall = datetime.combine(day, time(), zone) + timedelta(minutes=minute) if minute < DAY_MINUTES else \
        datetime.combine(day + timedelta(days=1), time(), zone)
    if minute < DAY_MINUTES:
        # datetime + timedelta is wall-clock arithmetic: 02:30 on the spring-forward day does not exist and
        # resolves (fold 0) to the offset before the jump, one hour late in UTC; clamp it to the jump itself.
        back = wall.astimezone(UTC).astimezone(zone)
        if back.replace(tzinfo=None) != wall.replace(tzinfo=None):
            wall = back.replace(minute=0, second=0)  # the first valid wall time after the gap
    return minute_floor(wall.astimezone(UTC))


def local_days(zone: ZoneInfo, window: Span) -> list[date]:
    """Every local date that touches the window (one extra on each side for zones far from UTC)."""
    from calendar_sync.scheduling.intervals import instant

    first = instant(window[0]).astimezone(zone).date() - timedelta(days=1)
    last = instant(window[1]).astimezone(zone).date() + timedelta(days=1)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def working_spans(rt: ResourceTime, window: Span, days: Sequence[date] | None = None) -> list[Span]:
    """The resource's working time inside `window`, normalised."""
    days = days if days is not None else local_days(rt.zone, window)
    pattern: list[Span] = []
    for day in days:
        for start, end in rt.week[day.weekday()]:
            pattern.append((local_minute(rt.zone, day, start), local_minute(rt.zone, day, end)))
    spans = normalise(pattern)
    if rt.closures:
        closed = [(local_minute(rt.zone, d, 0), local_minute(rt.zone, d, DAY_MINUTES))
                  for d in days for first, last in rt.closures if first <= d <= last]
        spans = subtract(spans, normalise(closed))
    if rt.working:
        spans = normalise([*spans, *rt.working])
    if rt.time_off:
        spans = subtract(spans, normalise(rt.time_off))
    return intersect(spans, [window])
