"""The EWS calendar store against the store contract and Exchange's own calendar semantics, over exchangelib's
HTTP path to the fake Exchange server (tests/fakes/ews): Windows time zones, a series with a moved and a deleted
occurrence, stale ChangeKeys, no meeting mail, throttling."""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from defusedxml.ElementTree import fromstring

from calendar_sync.errors import PreconditionFailed, TemporaryFailure
from calendar_sync.stores.ews import EwsCalendarStore
from mailbridge.sources.ews.settings import EwsSettings
from tests.calendar_sync.store_contract import START, StoreContract, essence, event_item
from tests.fakes.ews import EwsFake, FakeMailbox
from tests.fakes.ews.calendar import Appointment, Attendee, Fields, Modified, Recurrence
from tests.fakes.ews.fixtures import ews, ews_certificate  # noqa: F401  (fixtures)
from tests.mailbridge.test_ews_fake import body_shape
from tests.mailbridge.tls import TestCertificate

ADDRESS, LOGIN, PASSWORD = "rep@contoso.example", "CONTOSO\\rep", "Passw0rd!"
M = "{http://schemas.microsoft.com/exchange/services/2006/messages}"
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "ews"


@pytest.fixture
def box(ews: EwsFake) -> FakeMailbox:  # noqa: F811
    return ews.add_mailbox(ADDRESS, username=LOGIN, password=PASSWORD)


def open_store(fake: EwsFake, certificate: TestCertificate, **settings: object) -> EwsCalendarStore:
    return EwsCalendarStore(EwsSettings(ADDRESS, "ntlm", fake.url, username=LOGIN, password=PASSWORD, timeout=10,
                                        ssl_context=certificate.client_context(), **settings),  # type: ignore[arg-type]
                            sleep=lambda seconds: None)


@pytest.fixture
def store(ews: EwsFake, box: FakeMailbox, ews_certificate: TestCertificate) -> Iterator[EwsCalendarStore]:  # noqa: F811
    opened = open_store(ews, ews_certificate)
    yield opened
    opened.close()


class TestEwsStore(StoreContract):
    pass


def test_a_windows_time_zone_reads_as_its_iana_zone(store: EwsCalendarStore, box: FakeMailbox) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = dt.datetime(2030, 6, 3, 9, 0, tzinfo=berlin)
    fields = Fields(start=start.astimezone(dt.UTC), end=(start + dt.timedelta(hours=1)).astimezone(dt.UTC),
                    subject="Site visit", required=[Attendee("alice@example.com", response="Accept")])
    box.add_item("calendar", item_class="IPM.Appointment", subject="Site visit", appointment=Appointment(
        "uid-berlin", ADDRESS, fields, start_zone="W. Europe Standard Time", end_zone="W. Europe Standard Time"))

    [(href, _)] = list(store.list())
    event = store.get(href)[0].events[0]

    assert event["DTSTART"].dt == start and event["DTSTART"].dt.tzinfo.key == "Europe/Berlin"
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert event["ATTENDEE"].params["PARTSTAT"] == "ACCEPTED"
    assert str(event["ORGANIZER"]) == f"mailto:{ADDRESS}"


def test_a_series_with_a_moved_and_a_deleted_occurrence_is_one_item(store: EwsCalendarStore,
                                                                    box: FakeMailbox) -> None:
    # As Outlook leaves it: a weekly series in Berlin time, its second week moved by an hour, its third cancelled.
    berlin = ZoneInfo("Europe/Berlin")
    start = dt.datetime(2030, 3, 4, 9, 0, tzinfo=berlin)
    week = dt.timedelta(weeks=1)

    def at(moment: dt.datetime, hours: int = 1) -> Fields:
        return Fields(start=moment.astimezone(dt.UTC), end=(moment + dt.timedelta(hours=hours)).astimezone(dt.UTC),
                      subject="Stand-up")

    moved = at(start + week + dt.timedelta(hours=1))
    moved.subject = "Stand-up (moved)"
    series = Appointment("uid-series", ADDRESS, at(start), "W. Europe Standard Time", "W. Europe Standard Time",
                         Recurrence("WeeklyRecurrence", {"Interval": "1", "DaysOfWeek": "Monday",
                                                         "FirstDayOfWeek": "Monday"},
                                    "NumberedRecurrence", {"StartDate": "2030-03-04", "NumberOfOccurrences": "5"}))
    series.modified[2] = Modified("AAMkEmoved", (start + week).astimezone(dt.UTC), moved)
    series.deleted[3] = (start + 2 * week).astimezone(dt.UTC)
    box.add_item("calendar", item_class="IPM.Appointment", subject="Stand-up", appointment=series)

    [(href, _)] = list(store.list())
    got = essence(store.get(href)[0])
    item = store.get(href)[0]

    second, third = (start + week).astimezone(dt.UTC), (start + 2 * week).astimezone(dt.UTC)
    assert set(got) == {None, second}
    assert got[None]["rrule"] == {"COUNT": ["5"], "FREQ": ["WEEKLY"]}
    assert got[second] == {**got[None], "summary": "Stand-up (moved)", "rrule": None,
                           "start": second + dt.timedelta(hours=1), "end": second + dt.timedelta(hours=2)}
    [master] = [e for e in item.events if "RECURRENCE-ID" not in e]
    assert [d.dt for d in master["EXDATE"].dts] == [start + 2 * week]
    assert third not in got


def test_a_series_written_with_an_exdate_reads_back_with_it(store: EwsCalendarStore) -> None:
    item = event_item(summary="Weekly", rrule="FREQ=WEEKLY;COUNT=4")
    item.events[0].add("EXDATE", START + dt.timedelta(weeks=1))
    href, _ = store.upload(type(item).from_calendar(item.calendar))

    [master] = [e for e in store.get(href)[0].events if "RECURRENCE-ID" not in e]

    assert [d.dt.astimezone(dt.UTC) for d in master["EXDATE"].dts] == [START + dt.timedelta(weeks=1)]


def test_a_stale_change_key_is_precondition_failed(store: EwsCalendarStore, ews: EwsFake) -> None:  # noqa: F811
    item = event_item(summary="Demo")
    href, etag = store.upload(item)
    store.update(href, event_item(uid=item.uid, summary="Demo v2"), etag)

    with pytest.raises(PreconditionFailed):
        store.update(href, event_item(uid=item.uid, summary="Demo v3"), etag)
    assert essence(store.get(href)[0])[None]["summary"] == "Demo v2"


def test_the_sync_never_mails_an_attendee(store: EwsCalendarStore, ews: EwsFake, box: FakeMailbox) -> None:  # noqa: F811
    item = event_item(summary="Visit", attendees=("alice@example.com", "bob@example.com"),
                      rrule="FREQ=WEEKLY;COUNT=3", overrides={START + dt.timedelta(weeks=1): "Visit (moved)"})
    href, etag = store.upload(item)
    etag = store.update(href, event_item(uid=item.uid, summary="Visit v2", attendees=("alice@example.com",)), etag)
    store.delete(href, etag)

    assert box.sent == []
    switches = {"CreateItem": "SendMeetingInvitations", "UpdateItem": "SendMeetingInvitationsOrCancellations",
                "DeleteItem": "SendMeetingCancellations"}
    writes = [(op, fromstring(body).find(f".//{M}{op}")) for op, body in zip(ews.requests, ews.bodies,
                                                                            strict=True) if op in switches]
    assert {op for op, _ in writes} == set(switches)
    assert all(element.get(switches[op]) == "SendToNone" for op, element in writes)


def test_a_short_back_off_is_waited_out_and_a_long_one_reported(
        ews: EwsFake, box: FakeMailbox, ews_certificate: TestCertificate) -> None:  # noqa: F811
    waits: list[float] = []
    store = EwsCalendarStore(EwsSettings(ADDRESS, "ntlm", ews.url, username=LOGIN, password=PASSWORD, timeout=10,
                                         ssl_context=ews_certificate.client_context(), max_back_off=5),
                             sleep=waits.append)
    try:
        store.upload(event_item(summary="Busy day"))
        ews.busy(1, back_off_ms=1500, operation="FindItem")
        assert len(list(store.list())) == 1
        assert waits == [1.5]

        ews.busy(1, back_off_ms=60_000, operation="SyncFolderItems")
        with pytest.raises(TemporaryFailure) as raised:
            store.changes(None)
        assert raised.value.retry_after == 60
    finally:
        store.close()


def test_the_documented_appointment_sample_is_created_as_documented(ews: EwsFake, box: FakeMailbox) -> None:  # noqa: F811
    answer = requests.post(ews.url, data=(SAMPLES / "CreateItem/appointment-request.xml").read_bytes(),
                           auth=(LOGIN, PASSWORD), verify=ews.ca_file, timeout=10,
                           headers={"Content-Type": "text/xml; charset=utf-8"})

    assert answer.status_code == 200
    assert body_shape(answer.content) == body_shape((SAMPLES / "CreateItem/appointment-response.xml").read_bytes())
    [item] = [i for i in box.items.values() if i.appointment is not None]
    assert item.subject == "Tennis lesson" and item.appointment.fields.location == "Tennis club"
    assert box.sent == []  # SendToNone
