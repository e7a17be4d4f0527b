"""The CalDAV store against real servers (Radicale and Xandikos, both held to the whole store contract), and
against a loopback fake (tests/calendar_sync/dav_fake.py) for what neither real server can be made to do:
a truncated sync-collection answer, no sync-collection at all, a 429, an object that is not iCalendar."""

from collections.abc import Iterator
from datetime import timedelta

import pytest

from calendar_sync.errors import (
    AuthenticationFailed,
    CalendarMissing,
    ConnectionFailed,
    CursorInvalid,
    ItemBroken,
    TemporaryFailure,
)
from calendar_sync.stores.caldav import CaldavStore, DiscoveredCalendar, discover
from tests.calendar_sync.dav_fake import FakeCalDav
from tests.calendar_sync.dav_servers import DavServer
from tests.calendar_sync.store_contract import START, StoreContract, event_item
from tests.mailbridge.dovecot import free_port


def _store(server: DavServer, url: str, *, password: str | None = None) -> CaldavStore:
    return CaldavStore(url, server.username, password or server.password, timeout=10, verify=server.verify)


class TestRadicaleStore(StoreContract):
    @pytest.fixture
    def store(self, radicale: DavServer, radicale_calendar: str) -> Iterator[CaldavStore]:
        store = _store(radicale, radicale_calendar)
        yield store
        store.close()


class TestXandikosStore(StoreContract):
    @pytest.fixture
    def store(self, xandikos: DavServer, xandikos_calendar: str) -> Iterator[CaldavStore]:
        store = _store(xandikos, xandikos_calendar)
        yield store
        store.close()


@pytest.fixture
def calendar(dav_server: DavServer) -> Iterator[CaldavStore]:
    store = _store(dav_server, dav_server.new_calendar())
    yield store
    store.close()


# -- on both servers --------------------------------------------------------------------------------------
def test_a_wrong_password_is_authentication_failed(dav_server: DavServer) -> None:
    store = _store(dav_server, dav_server.new_calendar(), password="not-the-password")
    with pytest.raises(AuthenticationFailed):
        list(store.list())
    with pytest.raises(AuthenticationFailed):
        store.changes(None)


def test_discovery_from_the_server_root_finds_the_calendar(dav_server: DavServer) -> None:
    url = dav_server.new_calendar("Sales team")
    found = discover(dav_server.base_url, dav_server.username, dav_server.password, verify=dav_server.verify)
    assert DiscoveredCalendar("Sales team", url) in found


def test_discovery_of_a_calendar_url_is_that_calendar(dav_server: DavServer) -> None:
    url = dav_server.new_calendar("Field visits")
    found = discover(url, dav_server.username, dav_server.password, verify=dav_server.verify)
    assert found == [DiscoveredCalendar("Field visits", url)]


def test_discovery_with_a_wrong_password_is_authentication_failed(dav_server: DavServer) -> None:
    with pytest.raises(AuthenticationFailed):
        discover(dav_server.base_url, dav_server.username, "not-the-password", verify=dav_server.verify)


def test_a_delta_names_what_was_added_changed_and_deleted(calendar: CaldavStore) -> None:
    kept, changed, dropped = event_item(summary="Kept"), event_item(summary="Changed"), event_item(summary="Dropped")
    calendar.upload(kept)
    href_changed, etag_changed = calendar.upload(changed)
    href_dropped, etag_dropped = calendar.upload(dropped)
    first = calendar.changes(None)
    assert len(first.changed) == 3 and first.cursor

    href_new, etag_new = calendar.upload(event_item(summary="New"))
    etag_changed = calendar.update(href_changed, event_item(uid=changed.uid, summary="Changed v2",
                                                            start=START + timedelta(days=2)), etag_changed)
    calendar.delete(href_dropped, etag_dropped)
    delta = calendar.changes(first.cursor)

    assert not delta.complete
    assert delta.changed == {href_new: etag_new, href_changed: etag_changed}
    assert delta.deleted == {href_dropped}
    assert calendar.changes(delta.cursor).changed == {}


def test_a_token_the_server_never_gave_is_cursor_invalid(calendar: CaldavStore) -> None:
    calendar.upload(event_item())
    with pytest.raises(CursorInvalid):
        calendar.changes("http://example.com/sync/garbage-1234")


def test_hrefs_agree_between_listing_delta_and_multiget(calendar: CaldavStore) -> None:
    uploaded = dict(calendar.upload(event_item(uid=uid)) for uid in ("plain-uid-1", "a uid/with@odd chars"))
    assert dict(calendar.list()) == uploaded
    assert calendar.changes(None).changed == uploaded
    assert {href: etag for href, _, etag in calendar.get_many(uploaded)} == uploaded


def test_an_unreachable_server_is_connection_failed(dav_server: DavServer) -> None:
    scheme = dav_server.base_url.split(":", 1)[0]
    store = CaldavStore(f"{scheme}://127.0.0.1:{free_port()}/cal/", "alice", "secret", timeout=5)
    with pytest.raises(ConnectionFailed) as refused:
        list(store.list())
    assert refused.value.reason == "connect"


def test_a_certificate_nobody_trusts_is_a_tls_failure(xandikos: DavServer, xandikos_calendar: str) -> None:
    store = CaldavStore(xandikos_calendar, xandikos.username, xandikos.password, timeout=10)  # system CAs
    with pytest.raises(ConnectionFailed) as failed:
        list(store.list())
    assert failed.value.reason == "tls"


# -- against the loopback fake ----------------------------------------------------------------------------
@pytest.fixture
def fake() -> Iterator[FakeCalDav]:
    server = FakeCalDav(page_size=2).start()
    yield server
    server.stop()


def _ics(uid: str, summary: str = "Visit") -> str:
    return event_item(uid=uid, summary=summary).raw


def test_a_truncated_sync_answer_is_followed_to_the_end(fake: FakeCalDav) -> None:
    for n in range(5):
        fake.put(f"e{n}.ics", _ics(f"e{n}"))
    store = CaldavStore(fake.url, None, None)

    first = store.changes(None)
    assert first.complete
    assert set(first.changed) == {f"/calendars/test/e{n}.ics" for n in range(5)}
    assert fake.truncated_answers >= 2  # the server really did cut its answers short

    for n in range(5, 8):
        fake.put(f"e{n}.ics", _ics(f"e{n}"))
    fake.put("e0.ics", _ics("e0", "Visit, moved"))
    fake.remove("e1.ics")
    answers_before = fake.truncated_answers
    delta = store.changes(first.cursor)
    assert fake.truncated_answers > answers_before
    assert not delta.complete
    assert set(delta.changed) == {"/calendars/test/e0.ics", *(f"/calendars/test/e{n}.ics" for n in range(5, 8))}
    assert delta.changed["/calendars/test/e0.ics"] == fake.members["e0.ics"][0]
    assert delta.deleted == {"/calendars/test/e1.ics"}
    assert store.changes(delta.cursor).changed == {}


@pytest.mark.parametrize("status", [403, 501])
def test_a_server_without_sync_collection_gets_a_complete_listing(status: int) -> None:
    fake = FakeCalDav(no_sync_status=status).start()
    try:
        fake.put("a.ics", _ics("a"))
        fake.put("b.ics", _ics("b"))
        store = CaldavStore(fake.url, None, None)
        for cursor in (None, "urn:fake-sync:1"):
            changes = store.changes(cursor)
            assert changes.complete and changes.cursor is None
            assert changes.changed == {f"/calendars/test/{n}": fake.members[n][0] for n in ("a.ics", "b.ics")}
    finally:
        fake.stop()


def test_a_refused_token_on_the_fake_is_cursor_invalid(fake: FakeCalDav) -> None:
    with pytest.raises(CursorInvalid):
        CaldavStore(fake.url, None, None).changes("urn:fake-sync:99")


def test_a_throttled_request_says_how_long_to_wait(fake: FakeCalDav) -> None:
    fake.put("a.ics", _ics("a"))
    fake.throttle = 1
    with pytest.raises(TemporaryFailure) as throttled:
        list(CaldavStore(fake.url, None, None).list())
    assert throttled.value.retry_after == 7


def test_an_object_that_is_not_icalendar_does_not_stop_the_others(fake: FakeCalDav) -> None:
    fake.put("good.ics", _ics("good"))
    fake.put("bad.ics", "this is not iCalendar at all")
    store = CaldavStore(fake.url, None, None)
    hrefs = [href for href, _ in store.list()]
    assert sorted(hrefs) == ["/calendars/test/bad.ics", "/calendars/test/good.ics"]
    items = {href: item for href, item, _ in store.get_many(hrefs)}
    assert items["/calendars/test/good.ics"].uid == "good"
    with pytest.raises(ItemBroken):
        _ = items["/calendars/test/bad.ics"].uid
    with pytest.raises(ItemBroken):
        _ = store.get("/calendars/test/bad.ics")[0].calendar


def test_discovery_where_there_is_no_calendar_is_calendar_missing(radicale: DavServer) -> None:
    # A fresh account's principal has no calendar until one is made.
    with pytest.raises(CalendarMissing):
        discover(f"{radicale.base_url}{radicale.username}/no-such-thing/", radicale.username,
                 radicale.password)
