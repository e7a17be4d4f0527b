"""Business time: counting minutes over a weekly pattern of working hours, in a time zone, minus closed days.

Pure arithmetic (no database), so that the SLA clocks, the API's "when is this due" and the tests share one
definition. Working intervals are local wall-clock times ("9:00 to 17:00" stays 9 to 5 when the clocks change),
and a business minute is a real minute that falls inside one of them: on the night the clocks go forward an
interval 00:00-24:00 holds 23 hours, on the night they go back 25. A wall-clock time that does not exist (inside
the hour skipped in spring) stands for the moment the clocks jumped; one that exists twice, for the first.

Only the weekly pattern bounds the work: whole weeks without a closure or a change of UTC offset are skipped in
one step (the time zone database has no zone changing its offset twice within a week), so that months of
minutes cost a few hundred steps, never one per minute."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAY_MINUTES = 24 * 60
_MINUTE = timedelta(minutes=1)
_DAY = timedelta(days=1)
_WEEK = timedelta(days=7)


class BusinessTimeError(ValueError):
    """A question the calendar cannot answer: no working time in its week, or none before year 9999."""


@dataclass(frozen=True)
class BusinessClock:
    """A weekly pattern (weekday 0 Monday .. 6 Sunday -> sorted, merged (start, end) minutes after local
    midnight) in a zone, and the closed days as sorted, merged inclusive date ranges. Build it with `build`."""

    zone: ZoneInfo
    week: tuple[tuple[tuple[int, int], ...], ...]
    closures: tuple[tuple[date, date], ...] = ()

    @classmethod
    def build(cls, time_zone: str, hours: Iterable[tuple[int, int, int]],
              closures: Iterable[tuple[date, date]] = ()) -> BusinessClock:
        """hours: (weekday, start_minute, end_minute) in any order, overlaps merged. A week without working
        time is refused here, so that no later question can loop looking for it."""
        days: list[list[tuple[int, int]]] = [[] for _ in range(7)]
        for weekday, start, end in hours:
            if not (0 <= weekday <= 6 and 0 <= start < end <= DAY_MINUTES):
                raise BusinessTimeError(f"not a working interval: weekday {weekday}, minutes {start}-{end}")
            days[weekday].append((start, end))
        clock = cls(ZoneInfo(time_zone), tuple(_merge(d) for d in days), tuple(_merge_dates(closures)))
        if clock.week_minutes == 0:
            raise BusinessTimeError("the calendar has no working time in its week")
        return clock

    @property
    def week_minutes(self) -> int:
        return sum(end - start for day in self.week for start, end in day)

    # --- local days ------------------------------------------------------------------------------------
    def closed_until(self, day: date) -> date | None:
        """The last day of the closure `day` falls in, or None when the business is not closed that day."""
        i = bisect.bisect_right(self.closures, (day, date.max))
        if i and self.closures[i - 1][1] >= day:
            return self.closures[i - 1][1]
        return None

    def _closure_within(self, first: date, last: date) -> bool:
        i = bisect.bisect_left(self.closures, (first, date.min))
        if i and self.closures[i - 1][1] >= first:
            return True
        return i < len(self.closures) and self.closures[i][0] <= last

    def instant(self, day: date, minute: int) -> datetime:
        """The UTC moment of a local wall-clock time (minute 1440: the next midnight)."""
        if minute == DAY_MINUTES:
            day, minute = day + _DAY, 0
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.zone)
        utc = local.astimezone(UTC)
        if utc.astimezone(self.zone).replace(tzinfo=None) == local.replace(tzinfo=None):
            return utc
        return self._jump(local)

    def _jump(self, local: datetime) -> datetime:
        """A wall-clock time skipped when the clocks went forward: the moment they jumped."""
        earlier = local.replace(fold=1).astimezone(UTC)  # read with the offset after the change
        later = local.replace(fold=0).astimezone(UTC)  # read with the offset before it
        after = later.astimezone(self.zone).utcoffset()
        lo, hi = 0, int((later - earlier) / _MINUTE)
        while lo < hi:  # the first minute that already has the new offset
            mid = (lo + hi) // 2
            if (earlier + mid * _MINUTE).astimezone(self.zone).utcoffset() == after:
                hi = mid
            else:
                lo = mid + 1
        return earlier + lo * _MINUTE

    def intervals(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The working intervals of a local day as UTC moments (none on a closed day)."""
        if self.closed_until(day) is not None:
            return
        for start, end in self.week[day.weekday()]:
            a, b = self.instant(day, start), self.instant(day, end)
            if b > a:
                yield a, b

    def plain_week(self, day: date) -> bool:
        """Seven days from `day` without a closed day or a change of UTC offset: worth week_minutes exactly."""
        if self._closure_within(day, day + timedelta(days=6)):
            return False
        return self.instant(day, 0).astimezone(self.zone).utcoffset() == \
            self.instant(day + _WEEK, 0).astimezone(self.zone).utcoffset()


def _merge(intervals: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return tuple(out)


def _merge_dates(ranges: Iterable[tuple[date, date]]) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    for first, last in sorted(r for r in ranges if r[0] <= r[1]):
        if out and first <= out[-1][1] + _DAY:
            out[-1] = (out[-1][0], max(out[-1][1], last))
        else:
            out.append((first, last))
    return out


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: a timezone-aware datetime is needed")
    return value.astimezone(UTC)


# --- the two questions -----------------------------------------------------------------------------------
def add_minutes(clock: BusinessClock | None, start: datetime, minutes: int) -> datetime:
    """The UTC moment `minutes` business minutes after `start` (no clock: around the clock). Zero minutes is
    `start` itself, even outside working hours; otherwise the answer falls inside working time (at the end of
    an interval when the minutes run out exactly there)."""
    start = _utc(start, "start")
    if minutes < 0:
        raise ValueError("minutes cannot be negative")
    left = timedelta(minutes=minutes)
    if clock is None or not minutes:
        return start + left
    week = timedelta(minutes=clock.week_minutes)
    day = start.astimezone(clock.zone).date()
    try:
        for a, b in clock.intervals(day):  # the first day, from `start` on
            if b > start:
                a = max(a, start)
                if b - a >= left:
                    return a + left
                left -= b - a
        day += _DAY
        while True:
            reopen = clock.closed_until(day)
            if reopen is not None:
                day = reopen + _DAY
                continue
            if left > week and clock.plain_week(day):
                left -= week
                day += _WEEK
                continue
            for a, b in clock.intervals(day):
                if b - a >= left:
                    return a + left
                left -= b - a
            day += _DAY
    except OverflowError:
        raise BusinessTimeError("not enough working time before the year 9999") from None


def business_time(clock: BusinessClock | None, start: datetime, end: datetime) -> timedelta:
    """The business time between two moments (zero when `end` is not after `start`)."""
    start, end = _utc(start, "start"), _utc(end, "end")
    if end <= start:
        return timedelta(0)
    if clock is None:
        return end - start
    week = timedelta(minutes=clock.week_minutes)
    total = timedelta(0)
    day = start.astimezone(clock.zone).date()
    last = end.astimezone(clock.zone).date()
    first = True
    while day <= last:
        if not first:
            reopen = clock.closed_until(day)
            if reopen is not None:
                day = reopen + _DAY
                continue
            if day + _WEEK <= last and clock.plain_week(day):
                total += week
                day += _WEEK
                continue
        first = False
        for a, b in clock.intervals(day):
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                total += hi - lo
        day += _DAY
    return total


def minutes_between(clock: BusinessClock | None, start: datetime, end: datetime) -> int:
    """Whole business minutes between two moments (a part minute is not counted)."""
    return business_time(clock, start, end) // _MINUTE
