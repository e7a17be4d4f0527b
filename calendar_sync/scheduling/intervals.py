"""Half-open intervals [start, end) of minutes, kept as sorted lists of disjoint, non-touching pairs."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

Minute = int
Span = tuple[Minute, Minute]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def minute_floor(value: datetime) -> Minute:
    return int((value - _EPOCH).total_seconds() // 60)


def minute_ceil(value: datetime) -> Minute:
    seconds = (value - _EPOCH).total_seconds()
    return int(-(-seconds // 60))


def instant(minute: Minute) -> datetime:
    return _EPOCH + timedelta(minutes=minute)


def normalise(spans: Iterable[Span]) -> list[Span]:
    """Sorted, merged (touching ones too), empty ones dropped."""
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[0] < s[1]):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def subtract(base: list[Span], cut: list[Span]) -> list[Span]:
    """`base` minus `cut`; both normalised."""
    out: list[Span] = []
    j = 0
    for start, end in base:
        while j < len(cut) and cut[j][1] <= start:
            j += 1
        k, cursor = j, start
        while k < len(cut) and cut[k][0] < end:
            if cut[k][0] > cursor:
                out.append((cursor, cut[k][0]))
            cursor = max(cursor, cut[k][1])
            k += 1
        if cursor < end:
            out.append((cursor, end))
    return out


def intersect(a: list[Span], b: list[Span]) -> list[Span]:
    out: list[Span] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def saturated(busy: Iterable[Span], capacity: int) -> list[Span]:
    """Where at least `capacity` of the (possibly overlapping) busy spans overlap: the time a resource that
    holds `capacity` bookings at once is full."""
    if capacity <= 1:
        return normalise(busy)
    events: list[tuple[Minute, int]] = []
    for start, end in busy:
        if start < end:
            events.append((start, 1))
            events.append((end, -1))
    events.sort()  # at one minute, ends (-1) before starts (+1): back-to-back bookings do not overlap
    out: list[Span] = []
    depth, since = 0, 0
    for at, step in events:
        before = depth
        depth += step
        if before < capacity <= depth:
            since = at
        elif depth < capacity <= before and at > since:
            out.append((since, at))
    return normalise(out)


def merge_sorted(lists: Iterable[list[Span]]) -> list[Span]:
    """The union of several normalised lists."""
    return normalise(heapq.merge(*lists))
