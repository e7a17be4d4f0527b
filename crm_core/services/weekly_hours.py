"""Weekly working hours as people write them: intervals "HH:MM" to "HH:MM" of a weekday (0 Monday .. 6 Sunday),
local wall-clock time, 24:00 for midnight as an end. Business calendars and resources both keep theirs so.

Checked whole before anything is written: each interval ends after it starts, and intervals of one day may touch
(09:00-12:00 and 12:00-17:00) but not overlap. A gap between two intervals of a day is a break."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

from crm_core.errors import ValidationFailed
from crm_core.services.business_hours import DAY_MINUTES


def clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def minute_of(value: str, field: str, allow_midnight: bool) -> int:
    """Minutes after local midnight of "HH:MM"; 24:00 only as an end (allow_midnight)."""
    hour, sep, minute = value.partition(":")
    if not (sep and len(hour) == 2 and len(minute) == 2 and hour.isdigit() and minute.isdigit()):
        raise ValidationFailed.field(field, "a local time HH:MM such as 09:00")
    total = int(hour) * 60 + int(minute)
    if int(minute) > 59 or total > DAY_MINUTES or (total == DAY_MINUTES and not allow_midnight):
        raise ValidationFailed.field(field, "a time from 00:00 to 23:59 (24:00 as an end: midnight)")
    return total


def check_hours(hours: list[dict[str, Any]], field: str) -> list[tuple[int, int, int]]:
    """(weekday, start minute, end minute) sorted by day and start; errors name `field`[i] as given."""
    out: list[tuple[int, int, int, int]] = []
    for i, h in enumerate(hours):
        weekday = h.get("weekday")
        if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
            raise ValidationFailed.field(f"{field}[{i}].weekday", "0 Monday .. 6 Sunday")
        start = minute_of(h["start"], f"{field}[{i}].start", allow_midnight=False)
        end = minute_of(h["end"], f"{field}[{i}].end", allow_midnight=True)
        if end <= start:
            raise ValidationFailed.field(f"{field}[{i}].end", "after the start")
        out.append((weekday, start, end, i))
    out.sort()
    for (day_a, _, end_a, i), (day_b, start_b, _, j) in pairwise(out):
        if day_a == day_b and start_b < end_a:
            raise ValidationFailed.field(f"{field}[{max(i, j)}]", f"overlaps {field}[{min(i, j)}] on the same weekday")
    return [(day, start, end) for day, start, end, _ in out]
