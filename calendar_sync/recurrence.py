"""Occurrences of a calendar series: the one place they are computed.

A `Series` is plain typed data (no database, no icalendar): the first start (an aware datetime, a naive one
for a floating time, or a date for an all-day event), a duration, the RRULE text, RDATEs, EXDATEs and the
overridden instances keyed by their original start. `expand` lists the occurrences overlapping a window.

The rule itself is dateutil's (rrulestr), never ours. It runs on the series' wall clock: dtstart is the
first start without its zone, so "every Monday 09:00 Europe/Berlin" stays 09:00 local across DST, and each
result gets the zone back afterwards (zoneinfo then gives the right UTC offset for that day). Working on
naive wall-clock values is also what keeps this fast: dateutil never touches a tzinfo.

What RFC 5545 asks and dateutil does not do by itself, done here:
- UNTIL is UTC when DTSTART has a zone; dateutil wants it in dtstart's terms, so it is converted to the
  series' wall clock (a date UNTIL means midnight of that day, a UTC one on a floating series drops the Z).
- DTSTART is the first occurrence even when the rule does not produce it (dateutil would skip it), unless
  UNTIL lies before it; a negative COUNT (seen in the wild) is ignored.
- An EXDATE given as a date removes that day's occurrence whatever its time.

Windows: aware bounds are instants; naive bounds or dates are read on each series' own wall clock ("2025 as
it happens wherever the meeting is"), which is what recurring-ical-events does too."""

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import cached_property
from typing import TYPE_CHECKING, Any

from dateutil.rrule import MINUTELY, SECONDLY, rrule, rrulestr

from calendar_sync.errors import ItemBroken

if TYPE_CHECKING:
    import icalendar

Moment = datetime | date  # aware datetime, naive (floating) datetime, or a date (all-day)
RDate = Moment | tuple[Moment, Moment | timedelta]  # a start, or a PERIOD (start, end or duration)

_UNTIL = re.compile(r"UNTIL=(\d{8})(?:T(\d{6})(Z?))?", re.IGNORECASE)
_NEGATIVE_COUNT = re.compile(r";?COUNT=-\d+", re.IGNORECASE)


@dataclass(frozen=True)
class Override:
    """One overridden instance: where it moved to, whether it was cancelled, and what the caller wants to
    keep with it (the VEVENT, a database row). `this_and_future`: RECURRENCE-ID;RANGE=THISANDFUTURE, the
    move applies to every later occurrence too."""

    start: Moment
    end: Moment
    cancelled: bool = False
    payload: Any = None
    this_and_future: bool = False


@dataclass(frozen=True)
class Occurrence:
    recurrence_id: Moment  # the original start (what RECURRENCE-ID names)
    start: Moment
    end: Moment
    is_exception: bool = False
    cancelled: bool = False
    payload: Any = None  # the Override's payload for an exception


@dataclass(eq=False)
class Series:
    """`rrule`: the RRULE value (several rules, rare but legal in RFC 2445, one per line)."""

    start: Moment
    duration: timedelta = timedelta(0)
    rrule: str | None = None
    rdates: tuple[RDate, ...] = ()
    exdates: tuple[Moment, ...] = ()
    overrides: Mapping[Moment, Override] = field(default_factory=dict)
    cancelled: bool = False  # the whole series (STATUS:CANCELLED on the master)

    @classmethod
    def from_events(cls, master: "icalendar.Event | None", overrides: Iterable["icalendar.Event"] = ()) -> "Series":
        """The series of one UID from its VEVENTs (master may be None when only overrides were shared with
        us). Raises ItemBroken when the events cannot make a series (no DTSTART, a rule dateutil refuses)."""
        from calendar_sync.series import series_from_events

        try:
            return series_from_events(cls, master, list(overrides))
        except ItemBroken:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:  # icalendar's BrokenCalendarProperty too
            raise ItemBroken(f"the events cannot make a series: {type(exc).__name__}: {exc}"[:300]) from exc

    def check(self) -> None:
        """Raises ItemBroken now if dateutil cannot read the rule, rather than at the first expansion."""
        _ = self._rules

    # -- the series in its own wall clock, computed once -----------------------------------------------------
    @cached_property
    def zone(self) -> tzinfo | None:
        return self.start.tzinfo if isinstance(self.start, datetime) else None

    @cached_property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)

    def wall(self, value: Moment) -> datetime:
        """`value` as a naive datetime on this series' wall clock."""
        if not isinstance(value, datetime):
            return datetime.combine(value, time())
        if value.tzinfo is None:
            return value
        if self.zone is None:
            return value.replace(tzinfo=None)  # a floating series matches the value's own wall clock
        return value.astimezone(self.zone).replace(tzinfo=None)

    def moment(self, wall: datetime) -> Moment:
        """A wall-clock value back in this series' kind: a date, a floating or an aware datetime."""
        if self.all_day:
            return wall.date()
        return wall if self.zone is None else wall.replace(tzinfo=self.zone)

    @cached_property
    def _rules(self) -> list[tuple[rrule, datetime | None]]:
        """dateutil's rules on the wall clock, each with its UNTIL (on the wall clock too) if it has one."""
        if not self.rrule:
            return []
        first = self.wall(self.start)
        rules = []
        for line in self.rrule.splitlines():
            text = _NEGATIVE_COUNT.sub("", line.strip().removeprefix("RRULE:"))
            if not text:
                continue
            text, until = self._normalise_until(text)
            try:
                rule = rrulestr(text, dtstart=first)
            except (ValueError, TypeError, KeyError) as exc:
                raise ItemBroken(f"unreadable RRULE {line!r}: {exc}", reason="bad_rrule") from exc
            if not isinstance(rule, rrule):
                raise ItemBroken(f"unreadable RRULE {line!r}", reason="bad_rrule")
            _check_bounded(rule, line)
            rules.append((rule, until))
        return rules

    def _normalise_until(self, text: str) -> tuple[str, datetime | None]:
        match = _UNTIL.search(text)
        if match is None:
            return text, None
        day, clock, utc = match.groups()
        if self.all_day or clock is None:
            until = datetime.strptime(day, "%Y%m%d")
        else:
            until = datetime.strptime(day + clock, "%Y%m%d%H%M%S")
            if utc and self.zone is not None:
                until = until.replace(tzinfo=UTC).astimezone(self.zone).replace(tzinfo=None)
        return f"{text[:match.start(1)]}{until:%Y%m%dT%H%M%S}{text[match.end():]}", until

    @cached_property
    def _starts_before_its_end(self) -> bool:
        untils = [until for _, until in self._rules if until is not None]
        # Every rule ends somewhere: DTSTART only counts when it is not past the last UNTIL.
        return len(untils) < len(self._rules) or not untils or self.wall(self.start) <= max(untils)

    @cached_property
    def _extra(self) -> dict[datetime, timedelta | None]:
        """RDATEs (and DTSTART) on the wall clock, each with its own duration when it was a PERIOD."""
        extra: dict[datetime, timedelta | None] = {}
        for rdate in self.rdates:
            if isinstance(rdate, tuple):
                begin, until = rdate
                length = until if isinstance(until, timedelta) else self.wall(until) - self.wall(begin)
                extra[self.wall(begin)] = length
            else:
                extra[self.wall(rdate)] = None
        if self._starts_before_its_end:
            extra.setdefault(self.wall(self.start), None)
        return extra

    @cached_property
    def _excluded(self) -> tuple[frozenset[datetime], frozenset[date]]:
        instants = frozenset(self.wall(x) for x in self.exdates if isinstance(x, datetime))
        days = frozenset(x for x in self.exdates if not isinstance(x, datetime))
        return instants, days

    @cached_property
    def _overridden(self) -> dict[datetime, Override]:
        return {self._rid_wall(rid): override for rid, override in self.overrides.items()}

    def _rid_wall(self, rid: Moment) -> datetime:
        # A date RECURRENCE-ID on a timed series names that day's occurrence (at the series' time of day).
        if not self.all_day and not isinstance(rid, datetime):
            return datetime.combine(rid, self.wall(self.start).time())
        return self.wall(rid)

    @cached_property
    def _shifts(self) -> list[tuple[datetime, timedelta, timedelta]]:
        """THISANDFUTURE overrides: (original start, move, new duration), in order."""
        return sorted((wall, self.wall(o.start) - wall, self.wall(o.end) - self.wall(o.start))
                      for wall, o in self._overridden.items() if o.this_and_future)


_SUB_HOURLY = (SECONDLY, MINUTELY)
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _check_bounded(rule: rrule, line: str) -> None:
    """Refuse the rules dateutil would expand for minutes (found by tests/fuzz): an event every second or
    minute (dateutil walks every one from DTSTART to the window; no calendar client writes such events),
    INTERVAL=0 (it never advances), and a day that never comes (BYMONTH=2;BYMONTHDAY=31), for which
    dateutil searches up to the year 9999."""
    if rule._interval < 1:  # dateutil keeps the parsed rule only in private fields
        raise ItemBroken(f"RRULE {line!r}: INTERVAL must be a positive integer (0 never advances)",
                         reason="bad_rrule")
    if rule._freq in _SUB_HOURLY:
        raise ItemBroken(f"RRULE {line!r} repeats more often than hourly", reason="bad_rrule")
    months = rule._bymonth or range(1, 13)
    days = rule._bymonthday  # positive days; negative ones (from the end) always exist
    if days and not rule._bynmonthday and not any(d <= _MONTH_DAYS[m - 1] for m in months for d in days):
        raise ItemBroken(f"RRULE {line!r} names a day that does not exist", reason="bad_rrule")


def expand(series: Series, window_start: Moment, window_end: Moment, *,
           include_cancelled: bool = False) -> list[Occurrence]:
    """The occurrences of `series` overlapping [window_start, window_end), sorted by start. An empty
    occurrence counts when it starts inside the window. Cancelled ones only with `include_cancelled`.
    Raises ItemBroken for a series whose dates leave Python's range (year 1 to 9999; found by tests/fuzz)."""
    try:
        return _expand(series, window_start, window_end, include_cancelled)
    except OverflowError as exc:
        raise ItemBroken(f"the series reaches past the year 9999 or before the year 1: {exc}",
                         reason="bad_date") from exc


def _expand(series: Series, window_start: Moment, window_end: Moment, include_cancelled: bool) -> list[Occurrence]:
    if series.cancelled and not include_cancelled:
        return []
    lo, hi = _window(series, window_start), _window(series, window_end)
    length = series.duration if not series.all_day else timedelta(days=series.duration.days)
    shifts = series._shifts
    extra = series._extra
    # How far before the window an occurrence may start and still reach into it (or be moved into it).
    reach = max([length, *(abs(d) + n for _, d, n in shifts), *(d for d in extra.values() if d)])
    excluded, excluded_days = series._excluded
    overridden = series._overridden
    found: dict[datetime, tuple[datetime, datetime, Occurrence | None]] = {}

    candidates: set[datetime] = set()
    for rule, _ in series._rules:
        candidates.update(rule.between(lo - reach, hi + reach, inc=True))
    candidates.update(w for w in extra if lo - reach <= w <= hi + reach)

    for wall in candidates:
        if wall in overridden or wall in excluded or (excluded_days and wall.date() in excluded_days):
            continue
        begin, span = wall, extra.get(wall) or length
        if shifts:
            at = bisect.bisect_left(shifts, (wall,)) - 1
            if at >= 0:
                begin, span = wall + shifts[at][1], shifts[at][2]
        end = begin + span
        if (begin < hi and end > lo) if span else lo <= begin < hi:
            found[wall] = (begin, end, None)

    for wall, override in overridden.items():
        if wall in excluded or (excluded_days and wall.date() in excluded_days) or (
                not include_cancelled and override.cancelled):
            continue
        begin, end = series.wall(override.start), series.wall(override.end)
        if (begin < hi and end > lo) if end != begin else lo <= begin < hi:
            occurrence = Occurrence(series.moment(wall), override.start, override.end, True,
                                    override.cancelled or series.cancelled, override.payload)
            found[wall] = (begin, end, occurrence)

    out = []
    moment = series.moment
    for wall, (begin, end, occurrence) in sorted(found.items(), key=lambda kv: (kv[1][0], kv[0])):
        out.append(occurrence or Occurrence(moment(wall), moment(begin), moment(end), False, series.cancelled))
    return out


def _window(series: Series, bound: Moment) -> datetime:
    if isinstance(bound, datetime) and bound.tzinfo is not None and series.zone is not None:
        return bound.astimezone(series.zone).replace(tzinfo=None)
    if isinstance(bound, datetime):
        return bound.replace(tzinfo=None)
    return datetime.combine(bound, time())
