"""The Graph calendar store (calendar_sync/stores/graph.py) against the fake Graph server (tests/fakes/graph),
over our real client stack (msal, httpx): the store contract, and what only Exchange Online does: Windows zone
names, series read as one item with their exceptions and deleted occurrences, calendarView delta over a window,
change keys, a create retried after a lost answer, throttling."""

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from calendar_sync.errors import CursorInvalid, PreconditionFailed, TemporaryFailure
from calendar_sync.stores.base import CalendarStore
from calendar_sync.stores.graph import GraphCalendarStore
from calendar_sync.stores.graph_convert import etag_of, to_icalendar
from calendar_sync.stores.graph_delta import DeltaCursor, Window
from mailbridge.sources.graph import GraphLimits
from mailbridge.sources.graph.client import GraphClient
from tests.calendar_sync.store_contract import START, StoreContract, essence, event_item
from tests.fakes.graph import fixtures
from tests.fakes.graph.calendar import FakeCalendar, calendar_of
from tests.mailbridge.graph_fixtures import GraphAccount, graph_account

graph_certificate, graph_fake = fixtures.graph_certificate, fixtures.graph_fake  # the fake's fixtures, here

# The contract's events are in 2030: a window reaching that far, as a calendar with far-off meetings would set.
WIDE = Window(back=dt.timedelta(days=90), ahead=dt.timedelta(days=365 * 8))
TODAY = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self, now: dt.datetime = TODAY) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def account(graph_fake: Any) -> GraphAccount:
    return graph_account(graph_fake)


@pytest.fixture
def calendar(account: GraphAccount) -> FakeCalendar:
    return calendar_of(account.box)


@pytest.fixture
def clock() -> Clock:
    return Clock()


def open_store(account: GraphAccount, clock: Clock, window: Window = WIDE, **limits: Any) -> GraphCalendarStore:
    settings = account.settings(limits=GraphLimits(max_wait=3.0, backoff=0.05, **limits)) if limits else \
        account.settings()
    return GraphCalendarStore(GraphClient(settings), account.address, window=window, now=clock)


class TestGraphStore(StoreContract):
    @pytest.fixture
    def store(self, account: GraphAccount, clock: Clock) -> Iterator[GraphCalendarStore]:
        store = open_store(account, clock)
        yield store
        store.close()

    def bad_cursor(self, store: CalendarStore) -> str:
        # A cursor shaped like ours whose deltaLink Graph never gave: Graph answers 410 syncStateNotFound.
        assert isinstance(store, GraphCalendarStore)
        start, end = store.window.at(TODAY)
        link = f"{store.client.settings.graph_url}{store.base}/calendarView/delta?$deltatoken=made-up"
        return DeltaCursor(link, start, end).dump()


@pytest.fixture
def store(account: GraphAccount, clock: Clock) -> Iterator[GraphCalendarStore]:
    store = open_store(account, clock)
    yield store
    store.close()


def _outlook_series(calendar: FakeCalendar) -> str:
    """A weekly series made in Outlook in Berlin time (a Windows zone name), as Graph stores it."""
    event = calendar.create({
        "subject": "Pipeline review", "body": {"contentType": "text", "content": "Forecast"},
        "start": {"dateTime": "2026-03-02T09:00:00", "timeZone": "W. Europe Standard Time"},
        "end": {"dateTime": "2026-03-02T10:00:00", "timeZone": "W. Europe Standard Time"},
        "location": {"displayName": "Room 4"},
        "attendees": [{"type": "required", "emailAddress": {"address": "alice@example.com"}},
                      {"type": "optional", "emailAddress": {"address": "bob@example.com", "name": "Bob"}}],
        "recurrence": {"pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday", "thursday"],
                                   "firstDayOfWeek": "sunday"},
                       "range": {"type": "numbered", "startDate": "2026-03-02", "numberOfOccurrences": 6,
                                 "recurrenceTimeZone": "W. Europe Standard Time"}}}, None, {})
    return event.id


def test_a_windows_zone_reads_as_its_iana_zone(store: GraphCalendarStore, calendar: FakeCalendar) -> None:
    href = _outlook_series(calendar)
    item, _ = store.get(href)
    [master] = item.events
    assert master["DTSTART"].dt == dt.datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert master["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert essence(item)[None]["rrule"] == {"BYDAY": ["MO", "TH"], "COUNT": ["6"], "FREQ": ["WEEKLY"],
                                            "WKST": ["SU"]}
    roles = {str(a).removeprefix("mailto:"): a.params["ROLE"] for a in master["ATTENDEE"]}
    assert roles == {"alice@example.com": "REQ-PARTICIPANT", "bob@example.com": "OPT-PARTICIPANT"}


def test_a_series_with_an_exception_and_a_deleted_occurrence_is_one_item(
        store: GraphCalendarStore, calendar: FakeCalendar) -> None:
    href = _outlook_series(calendar)
    berlin = ZoneInfo("Europe/Berlin")
    master = calendar.events[href]
    moved, dropped = (dt.datetime(2026, 3, 5, 8, 0, tzinfo=dt.UTC), dt.datetime(2026, 3, 9, 8, 0, tzinfo=dt.UTC))
    instances = {i.original: i for i in calendar.instances_of(master)}
    calendar.update(instances[moved], {"subject": "Pipeline review (customer)",
                                       "start": {"dateTime": "2026-03-05T14:00:00", "timeZone": "UTC"},
                                       "end": {"dateTime": "2026-03-05T15:00:00", "timeZone": "UTC"}})
    calendar.delete(instances[dropped])
    [(listed, etag)] = list(store.list())
    item, got_etag = store.get(href)
    assert (listed, got_etag) == (href, etag)
    seen = essence(item)
    assert set(seen) == {None, moved}
    assert seen[moved]["summary"] == "Pipeline review (customer)"
    assert seen[moved]["start"] == dt.datetime(2026, 3, 5, 14, 0, tzinfo=dt.UTC)
    [exdate] = item.events[0]["EXDATE"].dts
    assert exdate.dt == dropped.astimezone(berlin)


def test_an_exception_changing_changes_the_series_etag(store: GraphCalendarStore, calendar: FakeCalendar) -> None:
    href = _outlook_series(calendar)
    before = dict(store.list())[href]
    occurrence = calendar.instances_of(calendar.events[href])[2]
    calendar.update(occurrence, {"location": {"displayName": "Online"}})
    after = dict(store.list())[href]
    assert after != before
    assert store.get(href)[1] == after


def test_delta_maps_occurrences_to_their_series(store: GraphCalendarStore, calendar: FakeCalendar,
                                                graph_fake: Any) -> None:
    href = _outlook_series(calendar)
    single = store.upload(event_item(summary="Lunch", start=dt.datetime(2026, 2, 10, 12, tzinfo=dt.UTC)))[0]
    first = store.changes(None)
    assert set(first.changed) == {href, single}
    occurrence = calendar.instances_of(calendar.events[href])[3]
    calendar.update(occurrence, {"subject": "Pipeline review (board)"})
    later = store.changes(first.cursor)
    assert set(later.changed) == {href}
    assert later.deleted == frozenset()
    assert later.changed[href] == dict(store.list())[href]
    # An occurrence deleted is a change of its series; the series deleted is a deletion of its href.
    calendar.delete(calendar.instances_of(calendar.events[href])[0])
    third = store.changes(later.cursor)
    assert href in third.changed and href not in third.deleted
    calendar.delete(calendar.find(href))
    fourth = store.changes(third.cursor)
    assert href in fourth.deleted and href not in fourth.changed
    assert any(r.path.endswith("/calendarView/delta") for r in graph_fake.requests)


def test_a_window_that_moved_on_starts_a_new_delta(store: GraphCalendarStore, clock: Clock,
                                                   graph_fake: Any) -> None:
    store.upload(event_item(summary="Demo", start=dt.datetime(2026, 2, 10, 9, tzinfo=dt.UTC)))
    first = store.changes(None)
    clock.now = TODAY + dt.timedelta(days=3)
    assert not store.changes(first.cursor).complete  # a few days: the round goes on
    graph_fake.clear_requests()
    clock.now = TODAY + dt.timedelta(days=8)
    moved = store.changes(first.cursor)
    assert moved.complete
    assert moved.changed == dict(store.list())
    [fresh] = [r for r in graph_fake.requests if r.path.endswith("/calendarView/delta")]
    assert fresh.query["startDateTime"] == "2025-10-15T00:00:00Z"  # 90 days before the new today
    assert DeltaCursor.load(moved.cursor or "").start == dt.datetime(2025, 10, 15, tzinfo=dt.UTC)


def test_a_stale_etag_is_refused_with_412(store: GraphCalendarStore, calendar: FakeCalendar,
                                          graph_fake: Any) -> None:
    item = event_item(summary="Demo")
    href, etag = store.upload(item)
    calendar.update(calendar.find(href), {"subject": "Changed in Outlook"})  # the change key moves on
    graph_fake.clear_requests()
    with pytest.raises(PreconditionFailed):
        store.update(href, event_item(uid=item.uid, summary="Demo v2"), etag)
    assert essence(store.get(href)[0])[None]["summary"] == "Changed in Outlook"
    # And a write whose If-Match is stale by the time it arrives gets Graph's own 412.
    _, fresh = store.get(href)
    calendar.update(calendar.find(href), {"subject": "Changed again"})
    with pytest.raises(PreconditionFailed):
        store._conditional("PATCH", href, fresh, {"subject": "Mine"}, "update an event")
    assert any(r.status == 412 and r.method == "PATCH" for r in graph_fake.requests)
    assert essence(store.get(href)[0])[None]["summary"] == "Changed again"


def test_a_create_retried_after_a_lost_answer_makes_one_event(store: GraphCalendarStore,
                                                              calendar: FakeCalendar, graph_fake: Any) -> None:
    calendar.lose_next_create = True
    item = event_item(summary="Kick-off")
    href, _ = store.upload(item)
    posts = [r for r in graph_fake.requests if r.method == "POST" and r.path.endswith("/calendar/events")]
    assert [r.status for r in posts] == [504, 201]
    assert [h for h, _ in store.list()] == [href]
    assert store.get(href)[0].uid == item.uid


def test_creating_a_meeting_mails_its_attendees(store: GraphCalendarStore, calendar: FakeCalendar) -> None:
    # Graph has no way to create a meeting without sending its requests: documented, not avoided.
    href, _ = store.upload(event_item(summary="Kick-off", attendees=("alice@example.com",)))
    assert calendar.invitations == [(href, ("alice@example.com",))]


def test_throttling_is_waited_out(account: GraphAccount, clock: Clock, graph_fake: Any) -> None:
    store = open_store(account, clock)
    store.upload(event_item(summary="Demo"))
    graph_fake.throttle(times=1, retry_after=1, match="/calendar/events")
    assert len(list(store.list())) == 1
    statuses = [r.status for r in graph_fake.requests if r.method == "GET" and r.path.endswith("/calendar/events")]
    assert statuses[-2:] == [429, 200]
    graph_fake.throttle(times=10, retry_after=60, match="/calendar/events")
    with pytest.raises(TemporaryFailure) as raised:
        list(store.list())
    assert raised.value.retry_after == 60
    store.close()


def test_a_refused_token_is_cursor_invalid(store: GraphCalendarStore, calendar: FakeCalendar) -> None:
    store.upload(event_item(summary="Demo", start=START))
    first = store.changes(None)
    calendar.reset_delta()
    with pytest.raises(CursorInvalid):
        store.changes(first.cursor)


def test_microsofts_documented_event_reads_as_icalendar() -> None:
    sample = json.loads((Path(__file__).parents[1] / "data/graph/event-get-select-timezone.json").read_text())
    item = to_icalendar(sample, None)
    [event] = item.events
    assert item.uid == sample["id"]  # the sample's $select left iCalUId out: the id stands in
    assert event["DTSTART"].dt == dt.datetime(2014, 11, 3, 17, 0, tzinfo=dt.UTC)
    assert essence(item)[None]["location"] == "Conf Room Rainier"
    assert essence(item)[None]["attendees"] == ["engineering@m365x214355.onmicrosoft.com",
                                                "irvins@m365x214355.onmicrosoft.com"]
    assert str(event["ORGANIZER"]) == "mailto:engineering@M365x214355.onmicrosoft.com"
    assert etag_of(sample, None) == 'W/"IiLKjG2I7E+Xv0+ys6MD0wAEd5/kNQ=="'
