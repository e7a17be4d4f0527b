"""The search itself, on hand-made free time: one resource fills one requirement, the most constrained requirement
is served first, "k of these rules", same site, preferred and least busy first. Pure: no database."""

import uuid

from calendar_sync.scheduling.search import ALL, Candidate, Need, find_slots

GRID = [0, 30, 60, 90, 120]


def _r(name: str, starts: list[tuple[int, int]], site: uuid.UUID | None = None, busy: int = 0) -> Candidate:
    return Candidate(uuid.uuid5(uuid.NAMESPACE_DNS, name), site, starts, busy, name)


def _names(found, pool) -> list[set[str]]:  # type: ignore[no-untyped-def]
    by_id = {c.id: c.name for c in pool}
    return [{by_id[r] for r in p.resource_ids} for p in found]


def test_a_resource_fills_one_requirement_and_the_narrow_one_is_served_first() -> None:
    ann, bob = _r("Ann", [(0, 200)]), _r("Bob", [(0, 200)])
    pool = {c.id: c for c in (ann, bob)}
    # "a nurse (Ann or Bob) and a lab technician (Ann only)": Ann must be the technician, Bob the nurse.
    need = Need(children=(Need(options=(ann.id, bob.id)), Need(options=(ann.id,))), count=ALL)
    [first, *_] = find_slots(need, pool, GRID, 30)
    assert set(first.resource_ids) == {ann.id, bob.id}
    # Two requirements over one person cannot be met at all.
    assert find_slots(Need(children=(Need(options=(ann.id,)), Need(options=(ann.id,))), count=ALL), pool, GRID,
                      30) == []


def test_k_of_the_rules_and_all_of_a_list() -> None:
    room, van, ann = _r("Room", [(60, 200)]), _r("Van", [(0, 40)]), _r("Ann", [(0, 200)])
    pool = {c.id: c for c in (room, van, ann)}
    either_place = Need(children=(Need(options=(room.id,)), Need(options=(van.id,))), count=1)
    found = find_slots(Need(children=(either_place, Need(options=(ann.id,))), count=ALL), pool, GRID, 30)
    assert [(p.start, names) for p, names in zip(found, _names(found, pool.values()), strict=True)] == [
        (0, {"Van", "Ann"}), (30, {"Van", "Ann"}), (60, {"Room", "Ann"}), (90, {"Room", "Ann"}),
        (120, {"Room", "Ann"})]
    both = find_slots(Need(options=(room.id, ann.id), count=ALL), pool, GRID, 30)
    assert [p.start for p in both] == [60, 90, 120]


def test_same_site_and_preferred_and_least_busy() -> None:
    paris, lyon = uuid.uuid4(), uuid.uuid4()
    a = _r("A", [(0, 200)], paris, busy=300)
    b = _r("B", [(0, 200)], lyon, busy=0)
    c = _r("C", [(0, 200)], lyon, busy=100)
    d = _r("D", [(0, 200)], paris, busy=0)
    pool = {x.id: x for x in (a, b, c, d)}
    two = Need(options=(a.id, b.id, c.id, d.id), count=2, same_site=True)
    [first, *_] = find_slots(two, pool, GRID, 30)
    assert first.site_id in (paris, lyon) and len({pool[r].site_id for r in first.resource_ids}) == 1
    [preferred, *_] = find_slots(two, pool, GRID, 30, preferred=frozenset({a.id}))
    assert set(_names([preferred], pool.values())[0]) == {"A", "D"} and preferred.site_id == paris
    one = find_slots(Need(options=(a.id, b.id, c.id, d.id)), pool, GRID, 30, limit=1)
    assert _names(one, pool.values()) == [{"B"}]  # least busy first, then by name
