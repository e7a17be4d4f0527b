"""An iCalendar feed as a read-only store: the store contract over a feed file and over HTTP from a real
server on 127.0.0.1, then what only a feed does (one item per UID out of one file, derived UIDs, broken
components, conditional refetch, the server's refusals)."""

import threading
from collections.abc import Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import icalendar
import pytest

from calendar_sync.errors import AuthenticationFailed, CalendarMissing, ItemBroken, ReadOnly, TemporaryFailure
from calendar_sync.items import CalendarItem
from calendar_sync.recurrence import expand
from calendar_sync.series import series_of
from calendar_sync.stores.base import CalendarStore
from calendar_sync.stores.ics import IcsFeedStore
from tests.calendar_sync.store_contract import StoreContract, event_item

DATA = Path(__file__).parent.parent / "data" / "ics"


def feed_of(items: list[CalendarItem]) -> bytes:
    """One VCALENDAR holding every item's components, as a feed serves them."""
    feed = icalendar.Calendar()
    feed.add("PRODID", "-//mailcrm tests//feed//EN")
    feed.add("VERSION", "2.0")
    for item in items:
        for component in item.calendar.subcomponents:
            feed.add_component(component)
    return feed.to_ical()


class FeedServer:
    """A feed over HTTP on 127.0.0.1: serves `body` with an ETag and Last-Modified and answers 304 to a
    matching If-None-Match; `status` and `headers` make it refuse."""

    def __init__(self) -> None:
        self.body = feed_of([])
        self.status = 200
        self.headers: dict[str, str] = {}
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(dict(self.headers))
                if server.status != 200:
                    self.send_response(server.status)
                    for name, value in server.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                etag = f'"{hash(server.body) & 0xFFFFFFFF:x}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/calendar; charset=utf-8")
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", "Mon, 03 Mar 2025 09:00:00 GMT")
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args: object) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/calendar.ics"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    yield server
    server.stop()


class TestIcsFileStore(StoreContract):
    read_only = True
    incremental = False
    locals().update(dict.fromkeys(StoreContract.WRITES + StoreContract.DELTAS))

    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[IcsFeedStore]:
        path = tmp_path / "calendar.ics"
        path.write_bytes(feed_of([]))
        store = IcsFeedStore(path)
        yield store
        store.close()

    def seed(self, store: CalendarStore, items: list[CalendarItem]) -> None:
        assert isinstance(store, IcsFeedStore)
        Path(store.url).write_bytes(feed_of(items))


class TestIcsHttpStore(StoreContract):
    read_only = True
    incremental = False
    locals().update(dict.fromkeys(StoreContract.WRITES + StoreContract.DELTAS))

    @pytest.fixture
    def store(self, feed_server: FeedServer) -> Iterator[IcsFeedStore]:
        self.server = feed_server
        store = IcsFeedStore(feed_server.url)
        yield store
        store.close()

    def seed(self, store: CalendarStore, items: list[CalendarItem]) -> None:
        self.server.body = feed_of(items)


# -- what only a feed does ---------------------------------------------------------------------------------
def read_all(store: IcsFeedStore) -> dict[str, CalendarItem]:
    return {href: store.get(href)[0] for href, _ in store.list()}


def test_a_feed_splits_into_one_item_per_uid_with_the_zone_it_uses(tmp_path: Path) -> None:
    outlook = (DATA / "outlook_windows_tzid_with_moved_and_cancelled.ics").read_bytes()
    custom = (DATA / "custom_vtimezone_made_up_tzid.ics").read_bytes()
    merged = icalendar.Calendar.from_ical(outlook)
    for component in icalendar.Calendar.from_ical(custom).subcomponents:
        merged.add_component(component)
    path = tmp_path / "feed.ics"
    path.write_bytes(merged.to_ical())
    items = read_all(IcsFeedStore(path))
    assert len(items) == 2
    by_uid = {item.uid: item for item in items.values()}
    assert len(by_uid["040000008200E00074C5B7101A82E00800000000outlook-weekly"].events) == 3
    # As a CalDAV client would receive it: its own text, the made-up zone's VTIMEZONE inside.
    received = CalendarItem(by_uid["custom-zone-weekly@contoso.example"].raw)
    assert [c["TZID"] for c in received.calendar.walk("VTIMEZONE")] == ["Contoso Head Office Time"]
    got = expand(series_of(received.events), date(2025, 3, 1), date(2025, 5, 1))
    assert [o.start.utcoffset().total_seconds() / 3600 for o in got] == [1, 1, 2, 2]


def test_hrefs_and_etags_are_stable_and_a_new_dtstamp_is_not_a_change(tmp_path: Path) -> None:
    path = tmp_path / "feed.ics"
    first = event_item(uid="kick-off@example.com")
    path.write_bytes(feed_of([first]))
    store = IcsFeedStore(path)
    before = dict(store.list())
    path.write_bytes(feed_of([event_item(uid="kick-off@example.com")]))  # a new export: only DTSTAMP moved
    assert dict(store.list()) == before == {"kick-off@example.com.ics": first.hash}
    path.write_bytes(feed_of([event_item(uid="kick-off@example.com", summary="Kick-off (moved)")]))
    assert dict(store.list())["kick-off@example.com.ics"] != first.hash


def test_an_event_without_uid_gets_a_stable_one_rather_than_being_dropped(tmp_path: Path) -> None:
    path = tmp_path / "feed.ics"
    path.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nDTSTAMP:20250101T000000Z\r\n"
                    "DTSTART:20250303T090000Z\r\nSUMMARY:Forgot my UID\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    once = read_all(IcsFeedStore(path))
    again = read_all(IcsFeedStore(path))
    assert list(once) == list(again) and len(once) == 1
    [item] = once.values()
    assert item.uid.startswith("derived-") and str(item.events[0]["SUMMARY"]) == "Forgot my UID"


def test_a_broken_component_is_reported_and_the_rest_read(tmp_path: Path) -> None:
    path = tmp_path / "feed.ics"
    path.write_text("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"
                    "BEGIN:VEVENT\r\nUID:good\r\nDTSTART:20250303T090000Z\r\nEND:VEVENT\r\n"
                    "BEGIN:VEVENT\r\nUID:bad\r\nDTSTART:20250303T090000Z\r\nRRULE:FREQ=WEEKLY;UNTL=2025\r\n"
                    "END:VEVENT\r\nEND:VCALENDAR\r\n")
    store = IcsFeedStore(path)
    assert {href for href, _ in store.list()} == {"good.ics", "bad.ics"}
    assert store.get("good.ics")[0].uid == "good"
    with pytest.raises(ItemBroken, match="UNTL"):
        store.get("bad.ics")
    assert [href for href, _ in store.problems] == ["bad.ics"]


def test_a_cut_off_feed_is_refused_rather_than_read_as_whole(tmp_path: Path) -> None:
    path = tmp_path / "feed.ics"
    path.write_bytes(feed_of([event_item(), event_item()])[:-40])
    with pytest.raises(TemporaryFailure):
        list(IcsFeedStore(path).list())
    with pytest.raises(CalendarMissing):
        list(IcsFeedStore(tmp_path / "nowhere.ics").list())


def test_refetching_asks_conditionally_and_a_304_keeps_the_items(feed_server: FeedServer) -> None:
    feed_server.body = feed_of([event_item(uid="a@example.com"), event_item(uid="b@example.com")])
    store = IcsFeedStore(feed_server.url)
    first = dict(store.list())
    again = dict(store.list())
    assert again == first and len(first) == 2
    assert "If-None-Match" in feed_server.requests[1] and "If-Modified-Since" in feed_server.requests[1]
    assert store.not_modified == 1
    feed_server.body = feed_of([event_item(uid="a@example.com")])
    assert list(dict(store.list())) == ["a@example.com.ics"]
    store.close()


@pytest.mark.parametrize("status", [429, 503])
def test_a_busy_server_is_a_temporary_failure_with_its_wait(feed_server: FeedServer, status: int) -> None:
    feed_server.status, feed_server.headers = status, {"Retry-After": "120"}
    with pytest.raises(TemporaryFailure) as failure:
        list(IcsFeedStore(feed_server.url).list())
    assert failure.value.retry_after == 120


def test_refused_credentials_and_writes(feed_server: FeedServer) -> None:
    feed_server.status = 401
    store = IcsFeedStore(feed_server.url, username="rep", password="wrong")
    with pytest.raises(AuthenticationFailed):
        list(store.list())
    assert feed_server.requests[0]["Authorization"].startswith("Basic ")
    with pytest.raises(ReadOnly):
        store.update("x.ics", event_item(), "etag")
    with pytest.raises(ReadOnly):
        store.delete("x.ics", "etag")
