"""Find available times (Dynamics' Search request): the start times on the service's grid at which every
requirement of the selection rule is met by distinct free resources. Pure: the availability module loads the
resources' free time and hands it here.

The rule is a tree of `Need`s. A leaf chooses `count` of its options (-1: all of them); an inner node chooses
`count` of its children (-1: all). `same_site` makes every resource chosen under a node share one site. A
resource fills one requirement at a time, so a doctor who is also in the "staff" group is not counted twice.

Speed: each resource's possible start times become a bitset over the grid (one bit per start time), and a
start time is only tried when every leaf has at least one free option there, an OR of bitsets. The exact
assignment then runs on the few start times that pass, in order, until enough proposals are found."""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from calendar_sync.scheduling.intervals import Minute, Span

ALL = -1


@dataclass(frozen=True)
class Need:
    """A leaf (`options`: resource ids) or an inner node (`children`)."""

    options: tuple[uuid.UUID, ...] = ()
    children: tuple[Need, ...] = ()
    count: int = 1
    same_site: bool = False

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def leaves(self) -> list[Need]:
        return [self] if self.is_leaf else [leaf for c in self.children for leaf in c.leaves()]

    def resource_ids(self) -> set[uuid.UUID]:
        return {r for leaf in self.leaves() for r in leaf.options}


@dataclass(frozen=True)
class Candidate:
    """A resource as the search sees it: where a booking of the service may start (its free time at least the
    service's duration long, inside the service's start window), its site, and how busy it is in the window."""

    id: uuid.UUID
    site_id: uuid.UUID | None
    starts: list[Span]  # normalised spans of allowed start minutes
    busy_minutes: int = 0
    name: str = ""


@dataclass(frozen=True)
class Proposal:
    start: Minute
    end: Minute
    resource_ids: tuple[uuid.UUID, ...]
    site_id: uuid.UUID | None


@dataclass
class SearchContext:
    grid: Sequence[Minute]
    candidates: Mapping[uuid.UUID, Candidate]
    preferred: frozenset[uuid.UUID]
    bits: dict[uuid.UUID, int] = field(default_factory=dict)

    def bitset(self, resource_id: uuid.UUID) -> int:
        found = self.bits.get(resource_id)
        if found is None:
            found = 0
            candidate = self.candidates.get(resource_id)
            for start, end in candidate.starts if candidate is not None else ():
                lo, hi = bisect.bisect_left(self.grid, start), bisect.bisect_left(self.grid, end)
                if lo < hi:
                    found |= (1 << hi) - (1 << lo)
            self.bits[resource_id] = found
        return found

    def free(self, resource_id: uuid.UUID, index: int) -> bool:
        return bool(self.bitset(resource_id) >> index & 1)

    def rank(self, resource_id: uuid.UUID) -> tuple[bool, int, str]:
        c = self.candidates[resource_id]
        return (resource_id not in self.preferred, c.busy_minutes, c.name)


def find_slots(need: Need, candidates: Mapping[uuid.UUID, Candidate], grid: Sequence[Minute], duration: Minute,
               preferred: frozenset[uuid.UUID] = frozenset(), limit: int = 20) -> list[Proposal]:
    """Up to `limit` proposals, earliest first, one per start time. `grid`: the allowed start minutes, sorted."""
    ctx = SearchContext(grid, candidates, preferred)
    possible = _possible(ctx, need) & ((1 << len(grid)) - 1)
    out: list[Proposal] = []
    index = 0
    while possible and len(out) < limit:
        low = possible & -possible
        index = low.bit_length() - 1
        possible ^= low
        chosen = assign(ctx, need, index, set(), None)
        if chosen is not None:
            sites = {candidates[r].site_id for r in chosen}
            site = sites.pop() if len(sites) == 1 else None
            out.append(Proposal(grid[index], grid[index] + duration, tuple(chosen), site))
    return out


def _possible(ctx: SearchContext, need: Need) -> int:
    """The start times at which `need` might be met (a necessary condition, cheap to compute): a leaf needs one
    free option (all of them for -1); a node needs all its children (-1) or at least one of them."""
    found = 0
    if need.is_leaf:
        if need.count == ALL:
            found = -1
            for r in need.options:
                found &= ctx.bitset(r)
            return found
        for r in need.options:
            found |= ctx.bitset(r)
        return found
    if need.count == ALL:
        found = -1
        for child in need.children:
            found &= _possible(ctx, child)
        return found
    for child in need.children:
        found |= _possible(ctx, child)
    return found


def assign(ctx: SearchContext, need: Need, index: int, used: set[uuid.UUID],
           site: uuid.UUID | None) -> list[uuid.UUID] | None:
    """Distinct free resources meeting `need` at grid position `index` (none of `used`), or None. Adds the
    chosen ones to `used` only on success."""
    if need.same_site and site is None:
        for candidate_site in _sites(ctx, need, index, used):
            found = assign(ctx, need, index, used, candidate_site)
            if found is not None:
                return found
        return None
    if need.is_leaf:
        return _leaf(ctx, need, index, used, site)
    wanted = len(need.children) if need.count == ALL else need.count
    # Most constrained first, so that a child with one possible resource gets it before a wider one takes it.
    order = sorted(need.children, key=lambda c: len(c.resource_ids()))
    taken: list[uuid.UUID] = []
    met = 0
    for child in order:
        found = assign(ctx, child, index, used, site)
        if found is not None:
            taken.extend(found)
            met += 1
            if met == wanted:
                return taken
        elif need.count == ALL:
            break
    used.difference_update(taken)
    return None


def _leaf(ctx: SearchContext, need: Need, index: int, used: set[uuid.UUID],
          site: uuid.UUID | None) -> list[uuid.UUID] | None:
    free = [r for r in need.options if r not in used and ctx.free(r, index)
            and (site is None or ctx.candidates[r].site_id == site)]
    wanted = len(need.options) if need.count == ALL else need.count
    if len(free) < wanted:
        return None
    chosen = sorted(free, key=ctx.rank)[:wanted]
    used.update(chosen)
    return chosen


def _sites(ctx: SearchContext, need: Need, index: int, used: set[uuid.UUID]) -> list[uuid.UUID]:
    """The sites with a free resource under `need`: those of preferred resources first, then by how many."""
    counts: dict[uuid.UUID, int] = {}
    favoured: set[uuid.UUID] = set()
    for r in need.resource_ids():
        c = ctx.candidates.get(r)
        if c is None or c.site_id is None or r in used or not ctx.free(r, index):
            continue
        counts[c.site_id] = counts.get(c.site_id, 0) + 1
        if r in ctx.preferred:
            favoured.add(c.site_id)
    return sorted(counts, key=lambda s: (s not in favoured, -counts[s], str(s)))
