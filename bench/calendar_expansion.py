"""Recurrence expansion: our calendar_sync.recurrence against recurring-ical-events on the same calendar.

    .venv/bin/python bench/calendar_expansion.py [--series 300] [--rounds 5] [--quick]

The calendar: N weekly series at 09:00 Europe/Berlin starting in January, each with a few EXDATEs and a few
moved occurrences (RECURRENCE-ID overrides), so that every series crosses both DST changes of the year.
Both start from the parsed icalendar.Calendar and expand the whole year: theirs is
`recurring_ical_events.of(calendar).between(...)`, ours groups the VEVENTs by UID, builds each Series with
`Series.from_events` and calls `expand`. The two must give identical occurrences (start, end), or the run
fails. Prints the median times and the ratio ours/theirs (target: at most 1.0)."""

import argparse
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# The repository on the path instead of bench/ itself, whose calendar.py would shadow the stdlib's calendar.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

import icalendar  # noqa: E402 (after the path set-up above)
import recurring_ical_events  # noqa: E402

from calendar_sync.recurrence import expand  # noqa: E402
from calendar_sync.series import series_of  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")
YEAR = 2026
WINDOW = (datetime(YEAR, 1, 1, tzinfo=BERLIN), datetime(YEAR + 1, 1, 1, tzinfo=BERLIN))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--series", type=int, default=300, help="weekly series in the calendar (default 300)")
    p.add_argument("--rounds", type=int, default=5, help="measure each this many times, keep the median")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="a small smoke run (30 series, 1 round)")
    args = p.parse_args(argv)
    if args.quick:
        args.series, args.rounds = 30, 1
    return args


def feed(series: int, seed: int) -> bytes:
    """The calendar as a feed would serve it."""
    rng = random.Random(seed)
    cal = icalendar.Calendar()
    cal.add("PRODID", "-//mailcrm bench//EN")
    cal.add("VERSION", "2.0")
    stamp = datetime(YEAR - 1, 12, 1, tzinfo=ZoneInfo("UTC"))
    for n in range(series):
        uid = f"bench-{n}@example.com"
        first = datetime(YEAR, 1, 5, 9, 0, tzinfo=BERLIN) + timedelta(days=rng.randrange(5))
        hours = rng.choice((0.5, 1, 1.5))
        master = _event(uid, f"Weekly {n}", first, first + timedelta(hours=hours), stamp)
        master.add("RRULE", {"FREQ": "WEEKLY"} if n % 3 else {"FREQ": "WEEKLY", "COUNT": 60})
        weeks = rng.sample(range(1, 50), 6)
        master.add("EXDATE", [first + timedelta(weeks=w) for w in weeks[:3]])
        cal.add_component(master)
        for w in weeks[3:]:
            original = first + timedelta(weeks=w)
            moved = original + timedelta(hours=rng.choice((-2, 1, 3)))
            override = _event(uid, f"Weekly {n} (moved)", moved, moved + timedelta(hours=hours), stamp)
            override.add("RECURRENCE-ID", original)
            cal.add_component(override)
    return cal.to_ical()


def _event(uid: str, summary: str, start: datetime, end: datetime, stamp: datetime) -> icalendar.Event:
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", stamp)
    event.add("DTSTART", start)
    event.add("DTEND", end)
    event.add("SUMMARY", summary)
    return event


def _instant(value: Any) -> datetime:
    return value.astimezone(ZoneInfo("UTC"))


def theirs(calendar: icalendar.Calendar) -> tuple[list[tuple[datetime, datetime]], float]:
    started = time.perf_counter()
    events = recurring_ical_events.of(calendar).between(*WINDOW)
    elapsed = time.perf_counter() - started
    return sorted((_instant(e["DTSTART"].dt), _instant(e["DTEND"].dt)) for e in events), elapsed


def ours(calendar: icalendar.Calendar) -> tuple[list[tuple[datetime, datetime]], float]:
    started = time.perf_counter()
    by_uid: dict[str, list[icalendar.Event]] = {}
    for event in calendar.walk("VEVENT"):
        by_uid.setdefault(str(event["UID"]), []).append(event)
    occurrences = [o for events in by_uid.values() for o in expand(series_of(events), *WINDOW)]
    elapsed = time.perf_counter() - started
    return sorted((_instant(o.start), _instant(o.end)) for o in occurrences), elapsed


def run(series: int = 300, rounds: int = 5, seed: int = 7) -> dict[str, Any]:
    """The figures: occurrences, median seconds of each, and the ratio ours/theirs."""
    raw = feed(series, seed)
    mine, others, count = [], [], 0
    for _ in range(rounds):  # alternate, so that a slow moment of the machine hits both; parse anew each time
        got, seconds = theirs(icalendar.Calendar.from_ical(raw))
        others.append(seconds)
        expected = got
        got, seconds = ours(icalendar.Calendar.from_ical(raw))
        mine.append(seconds)
        if got != expected:
            raise AssertionError(f"the occurrences differ: {len(got)} ours, {len(expected)} theirs")
        count = len(got)
    o, t = statistics.median(mine), statistics.median(others)
    return {"series": series, "occurrences": count, "ours_seconds": o, "theirs_seconds": t, "ratio": o / t}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    r = run(args.series, args.rounds, args.seed)
    print(f"{r['series']} weekly series, {r['occurrences']} occurrences in {YEAR}, identical in both")
    print(f"ours {r['ours_seconds'] * 1000:.1f} ms, recurring-ical-events {r['theirs_seconds'] * 1000:.1f} ms, "
          f"ratio ours/theirs {r['ratio']:.2f} (target <= 1.0)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
