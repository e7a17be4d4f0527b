"""The baseline of the scheduling benchmark: find available times by a straightforward minute-grid scan.

It reads the same data as the engine (`resource_time.load`, and the same calendar rules through
`working_spans`: weekly hours, closures, exceptions, DST), so that only the search differs. Then, minute by
minute through the window, at every minute on the service's grid (every `granularity` minutes of the local day
from the anchor), it counts for each requirement the resources free at every minute of [start, start +
duration): a minute is free when some working interval holds it, fewer bookings than the resource's capacity
cover it, and no meeting covers it, each checked by walking the plain lists (no merging, no bisect, no
bitsets). A start time is proposed when every requirement has enough distinct free resources; the scan stops
at `limit` proposals, as the engine does.

What it understands: a rule of one leaf, or of leaves that must all be met (count -1), without `same_site`;
a service without a start window (its grid anchored at midnight); a request without site, case or principal.
That is the benchmark's service and requests; it raises on anything else rather than answer wrongly."""

import time
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from calendar_sync.scheduling.availability import Request, need_of
from calendar_sync.scheduling.intervals import Span, instant, minute_ceil, minute_floor
from calendar_sync.scheduling.resource_time import Loaded, load
from calendar_sync.scheduling.search import ALL, Need
from calendar_sync.scheduling.working_time import working_spans
from crm_core.models import Service


@dataclass(frozen=True)
class Timeline:
    """What the scan checks a resource's minutes against, as they came."""

    working: list[Span]
    booked: list[Span]
    meetings: list[Span]
    capacity: int

    def free(self, minute: int) -> bool:
        if not any(start <= minute < end for start, end in self.working):
            return False
        if sum(1 for start, end in self.booked if start <= minute < end) >= self.capacity:
            return False
        return not any(start <= minute < end for start, end in self.meetings)


def find(session: Session, service: Service, request: Request,
         on_load: list[float] | None = None) -> list[int]:
    """The proposed start minutes. `on_load`: the seconds spent in `load` are appended to it."""
    if service.start_window_from or service.start_window_to or request.site_id or request.case_id:
        raise NotImplementedError("the baseline scans services without a start window, requests without a site")
    window = (minute_ceil(request.start), minute_floor(request.end))
    assert service.selection_rule is not None
    need = need_of(session, service.selection_rule, None)
    started = time.perf_counter()
    loaded = load(session, list(need.resource_ids()), window, request.exclude_activity)
    if on_load is not None:
        on_load.append(time.perf_counter() - started)
    return scan(loaded, _leaves(need), window, service.duration_minutes, service.granularity_minutes,
                ZoneInfo(request.time_zone), request.limit)


def scan(loaded: Loaded, leaves: list[Need], window: Span, duration: int, granularity: int, zone: ZoneInfo,
         limit: int) -> list[int]:
    lines = {r: Timeline(working_spans(loaded.times[r], window), loaded.booked(r),
                         loaded.appointments.get(r, []), loaded.capacity(r)) for r in loaded.resources}
    # The narrowest requirement chooses first (a resource in two groups goes where it is needed most), as the
    # engine's assignment does.
    leaves = sorted(leaves, key=lambda leaf: len(leaf.options))
    found: list[int] = []
    for start in range(window[0], window[1] - duration + 1):
        local = instant(start).astimezone(zone)
        # The grid is laid on the local day; the repeated hour of an autumn night counts once (its first pass).
        if local.fold or (local.hour * 60 + local.minute) % granularity:
            continue
        used: set[uuid.UUID] = set()
        for leaf in leaves:
            free = [r for r in leaf.options if r not in used and r in lines
                    and all(lines[r].free(m) for m in range(start, start + duration))]
            wanted = len(leaf.options) if leaf.count == ALL else leaf.count
            if len(free) < wanted:
                break
            used.update(free[:wanted])
        else:
            found.append(start)
            if len(found) == limit:
                break
    return found


def _leaves(need: Need) -> list[Need]:
    if need.is_leaf:
        return [need]
    if need.count != ALL or need.same_site or any(not c.is_leaf or c.same_site for c in need.children):
        raise NotImplementedError("the baseline scans rules of leaves that must all be met, without same_site")
    return list(need.children)

