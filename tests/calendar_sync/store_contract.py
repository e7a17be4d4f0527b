"""What every calendar store must do (calendar_sync.stores.base.CalendarStore), as one class of tests in the
manner of vdirsyncer's StorageTests. A backend's test module subclasses `StoreContract` and gives a `store`
fixture (an empty calendar, writable unless the subclass says `read_only = True`).

Servers rewrite what they store (Radicale adds a DTSTAMP, Exchange converts to its own model and back), so
the tests compare an event's essence (what a user sees: summary, times, location, recurrence, overrides,
attendees), never the bytes."""

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import icalendar
import pytest

from calendar_sync.errors import CursorInvalid, NotFound, PreconditionFailed, ReadOnly
from calendar_sync.items import CalendarItem
from calendar_sync.stores.base import CalendarStore, Changes

_serial = itertools.count()
START = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)


def event_item(uid: str | None = None, summary: str = "Quarterly review", *, start: datetime = START,
               hours: int = 1, rrule: str | None = None, overrides: dict[datetime, str] | None = None,
               attendees: tuple[str, ...] = ("alice@example.com",), location: str | None = "Room 4") -> CalendarItem:
    """An event as a calendar program writes it; with `rrule`, a series, and `overrides` maps an occurrence's
    original start to the summary of its moved (one hour later) exception."""
    uid = uid or f"contract-{next(_serial)}@example.com"
    cal = icalendar.Calendar()
    cal.add("PRODID", "-//mailcrm tests//EN")
    cal.add("VERSION", "2.0")
    master = _vevent(uid, summary, start, start + timedelta(hours=hours), attendees, location)
    if rrule:
        master.add("RRULE", icalendar.vRecur.from_ical(rrule))
    cal.add_component(master)
    for original, title in (overrides or {}).items():
        moved = original + timedelta(hours=1)
        override = _vevent(uid, title, moved, moved + timedelta(hours=hours), attendees, location)
        override.add("RECURRENCE-ID", original)
        cal.add_component(override)
    return CalendarItem.from_calendar(cal)


def _vevent(uid: str, summary: str, start: datetime, end: datetime, attendees: tuple[str, ...],
            location: str | None) -> icalendar.Event:
    event = icalendar.Event()
    event.add("UID", uid)
    event.add("DTSTAMP", datetime.now(UTC).replace(microsecond=0))
    event.add("DTSTART", start)
    event.add("DTEND", end)
    event.add("SUMMARY", summary)
    if location:
        event.add("LOCATION", location)
    event.add("ORGANIZER", "mailto:rep@example.org")
    for address in attendees:
        event.add("ATTENDEE", f"mailto:{address}", parameters={"ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION"})
    return event


def _instant(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value
    return value if isinstance(value, date) else None


def essence(item: CalendarItem) -> dict[Any, dict[str, Any]]:
    """What a user sees of each event of the item, keyed by its RECURRENCE-ID (None for the master)."""
    out: dict[Any, dict[str, Any]] = {}
    for event in item.events:
        recurrence_id = event.get("RECURRENCE-ID")
        rrule = event.get("RRULE")
        out[_instant(recurrence_id.dt) if recurrence_id is not None else None] = {
            "summary": str(event.get("SUMMARY", "")),
            "start": _instant(event["DTSTART"].dt),
            "end": _instant(event["DTEND"].dt) if "DTEND" in event else None,
            "location": str(event.get("LOCATION", "")) or None,
            "rrule": _rrule(rrule) if rrule is not None else None,
            "attendees": sorted(_address(a) for a in _as_list(event.get("ATTENDEE"))),
        }
    return out


def _rrule(rrule: icalendar.vRecur) -> dict[str, Any]:
    # Servers reorder the parts and some spell out the defaults (INTERVAL=1, WKST=MO).
    parts = {k: v for k, v in rrule.items() if (k, v) not in (("INTERVAL", [1]), ("WKST", ["MO"]))}
    return {k: [str(x) for x in v] for k, v in sorted(parts.items())}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _address(value: Any) -> str:
    return str(value).lower().removeprefix("mailto:")


def effective_listing(store: CalendarStore, before: dict[str, str], changes: Changes) -> dict[str, str]:
    """The listing `changes` implies when applied to `before`, as the sync engine applies it."""
    if changes.complete:
        return dict(changes.changed)
    after = {href: etag for href, etag in before.items() if href not in changes.deleted}
    after.update(changes.changed)
    return after


class StoreContract:
    """Subclass with a `store` fixture. `read_only`: the store refuses writes; its calendar is filled by the
    subclass's `seed(items)` instead, and the subclass sets the tests in WRITES to None. `incremental`:
    `changes(cursor)` returns a delta for a valid cursor; a store without one sets the tests in DELTAS to None
    (nothing is skipped at run time: a test that cannot apply is not collected)."""

    WRITES = ("test_update_with_the_current_etag_replaces_the_event",
              "test_update_with_a_stale_etag_is_refused_and_changes_nothing",
              "test_delete_with_the_current_etag_removes_it", "test_delete_with_a_stale_etag_is_refused",
              "test_a_series_updated_with_a_new_exception_keeps_both",
              "test_changes_since_a_cursor_bring_the_listing_up_to_date")
    DELTAS = ("test_no_change_since_a_cursor_is_an_empty_delta", "test_a_refused_cursor_is_cursor_invalid")

    read_only: ClassVar[bool] = False
    incremental: ClassVar[bool] = True

    def seed(self, store: CalendarStore, items: list[CalendarItem]) -> None:
        for item in items:
            store.upload(item)

    # -- reading ------------------------------------------------------------------------------------------
    def test_empty_calendar_lists_nothing(self, store: CalendarStore) -> None:
        assert list(store.list()) == []
        assert store.changes(None).changed == {}

    def test_an_uploaded_event_lists_and_reads_back_unchanged(self, store: CalendarStore) -> None:
        item = event_item(summary="Kick-off", attendees=("alice@example.com", "bob@example.com"))
        self.seed(store, [item])
        [(href, etag)] = list(store.list())
        got, got_etag = store.get(href)
        assert got_etag == etag
        assert got.uid == item.uid
        assert essence(got) == essence(item)

    def test_a_series_with_a_moved_occurrence_reads_back_as_one_item(self, store: CalendarStore) -> None:
        second = START + timedelta(weeks=1)
        item = event_item(summary="Stand-up", rrule="FREQ=WEEKLY;COUNT=5", overrides={second: "Stand-up (moved)"})
        self.seed(store, [item])
        [(href, _)] = list(store.list())
        got, _ = store.get(href)
        assert essence(got) == essence(item)
        assert essence(got)[second]["start"] == second + timedelta(hours=1)

    def test_get_many_returns_each_and_leaves_out_the_gone(self, store: CalendarStore) -> None:
        items = [event_item(summary=f"Visit {n}") for n in range(3)]
        self.seed(store, items)
        hrefs = [href for href, _ in store.list()]
        got = {item.uid: (href, etag) for href, item, etag in store.get_many([*hrefs, "gone-for-good.ics"])}
        assert set(got) == {item.uid for item in items}
        assert {href for href, _ in got.values()} == set(hrefs)

    def test_get_of_a_missing_href_is_not_found(self, store: CalendarStore) -> None:
        with pytest.raises(NotFound):
            store.get("gone-for-good.ics")

    def test_changes_without_cursor_is_the_whole_listing(self, store: CalendarStore) -> None:
        self.seed(store, [event_item(summary="A"), event_item(summary="B")])
        changes = store.changes(None)
        assert changes.complete
        assert changes.changed == dict(store.list())

    # -- writing ------------------------------------------------------------------------------------------
    def test_update_with_the_current_etag_replaces_the_event(self, store: CalendarStore) -> None:
        item = event_item(summary="Demo")
        href, etag = store.upload(item)
        changed = event_item(uid=item.uid, summary="Demo (moved)", start=START + timedelta(days=1))
        new_etag = store.update(href, changed, etag)
        assert new_etag != etag
        got, got_etag = store.get(href)
        assert got_etag == new_etag
        assert essence(got) == essence(changed)

    def test_update_with_a_stale_etag_is_refused_and_changes_nothing(self, store: CalendarStore) -> None:
        item = event_item(summary="Demo")
        href, etag = store.upload(item)
        newer = store.update(href, event_item(uid=item.uid, summary="Demo v2"), etag)
        with pytest.raises(PreconditionFailed):
            store.update(href, event_item(uid=item.uid, summary="Demo from a stale copy"), etag)
        got, got_etag = store.get(href)
        assert got_etag == newer
        assert essence(got)[None]["summary"] == "Demo v2"

    def test_delete_with_the_current_etag_removes_it(self, store: CalendarStore) -> None:
        keep, drop = event_item(summary="Keep"), event_item(summary="Drop")
        store.upload(keep)
        href, etag = store.upload(drop)
        store.delete(href, etag)
        assert [store.get(h)[0].uid for h, _ in store.list()] == [keep.uid]
        with pytest.raises(NotFound):
            store.get(href)

    def test_delete_with_a_stale_etag_is_refused(self, store: CalendarStore) -> None:
        item = event_item(summary="Drop")
        href, etag = store.upload(item)
        store.update(href, event_item(uid=item.uid, summary="Changed meanwhile"), etag)
        with pytest.raises(PreconditionFailed):
            store.delete(href, etag)
        assert store.get(href)[0].uid == item.uid

    def test_a_series_updated_with_a_new_exception_keeps_both(self, store: CalendarStore) -> None:
        third = START + timedelta(weeks=2)
        item = event_item(summary="Weekly", rrule="FREQ=WEEKLY;COUNT=4")
        href, etag = store.upload(item)
        changed = event_item(uid=item.uid, summary="Weekly", rrule="FREQ=WEEKLY;COUNT=4",
                             overrides={third: "Weekly (customer visit)"})
        store.update(href, changed, etag)
        assert essence(store.get(href)[0]) == essence(changed)

    def test_a_store_says_whether_it_can_be_written(self, store: CalendarStore) -> None:
        assert store.read_only is self.read_only
        if self.read_only:
            with pytest.raises(ReadOnly):
                store.upload(event_item())

    # -- incremental --------------------------------------------------------------------------------------
    def test_changes_since_a_cursor_bring_the_listing_up_to_date(self, store: CalendarStore) -> None:
        a, b, c = event_item(summary="A"), event_item(summary="B"), event_item(summary="C")
        href_a, etag_a = store.upload(a)
        href_b, etag_b = store.upload(b)
        first = store.changes(None)
        before = dict(first.changed)
        store.update(href_a, event_item(uid=a.uid, summary="A v2"), etag_a)
        store.delete(href_b, etag_b)
        store.upload(c)
        later = store.changes(first.cursor)
        assert effective_listing(store, before, later) == dict(store.list())
        if self.incremental:
            assert first.cursor is not None
            assert not later.complete
            assert href_b in later.deleted
            assert href_a in later.changed

    def test_no_change_since_a_cursor_is_an_empty_delta(self, store: CalendarStore) -> None:
        self.seed(store, [event_item(summary="Quiet")])
        first = store.changes(None)
        later = store.changes(first.cursor)
        assert later.changed == {} and later.deleted == frozenset()

    def test_a_refused_cursor_is_cursor_invalid(self, store: CalendarStore) -> None:
        with pytest.raises(CursorInvalid):
            store.changes(self.bad_cursor(store))

    def bad_cursor(self, store: CalendarStore) -> str:
        return "not-a-token-this-server-gave"
