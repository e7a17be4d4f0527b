"""Bookings published to the resources' calendars on a real Radicale server, through the runner the CLI, the
API and the workers use: a booking appears with its time and status, follows a reschedule, leaves on cancel;
a move made in the calendar moves the booking when the time is free and is put back (with a conflict logged)
when it is not; a deletion in the calendar publishes the booking again; a room publishes to its own calendar."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from calendar_sync.items import CalendarItem
from calendar_sync.runner import CalendarSyncSummary, sync_calendar
from calendar_sync.stores.caldav import CaldavStore
from calendar_sync.stores.registry import StoreOptions
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import ResourceBooking, ServiceActivity
from crm_core.models.calendars import CalendarConflict
from crm_core.security.principal import Principal
from crm_core.services.calendars import CalendarService
from tests.api import created
from tests.calendar_sync.dav_servers import DavServer
from tests.calendar_sync.scheduling.scheduling_fixtures import API, book, resource, service
from tests.org import OrgBuilder, TestUser

MONDAY_9 = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)  # a Monday, inside the default week (08:00-17:00 UTC)
HOUR = timedelta(hours=1)


class PublishedCalendar:
    """One calendar on Radicale, as the CRM syncs it and as a calendar program sees it."""

    def __init__(self, factory: sessionmaker[Session], server: DavServer, user: TestUser, name: str) -> None:
        self.factory, self.server = factory, server
        url = server.new_calendar(name)
        with UnitOfWork(factory) as uow:
            calendar = CalendarService(uow, Principal.system()).create({
                "name": f"{name}-{uuid.uuid4().hex[:6]}", "kind": "caldav", "url": url, "user_id": user.id,
                "username": server.username, "password": server.password})
            self.id = calendar.id
        self.dav = CaldavStore(url, server.username, server.password, verify=server.verify)

    def sync(self) -> CalendarSyncSummary:
        return sync_calendar(self.factory, self.id, options=StoreOptions(verify=self.server.verify))

    def events(self) -> dict[str, icalendar.Event]:
        """The server's events by UID (one VEVENT each: bookings are single events)."""
        out = {}
        for _, item, _ in self.dav.get_many([h for h, _ in self.dav.list()]):
            [event] = item.events
            out[item.uid] = event
        return out

    def event_of(self, booking: dict[str, Any]) -> icalendar.Event:
        [event] = [e for e in self.events().values() if str(e.get("X-MAILCRM-ACTIVITY")) == booking["id"]]
        return event

    def edit(self, booking: dict[str, Any], **changes: Any) -> None:
        """Changes the booking's event as a calendar program would (with a newer LAST-MODIFIED)."""
        for href, item, etag in self.dav.get_many([h for h, _ in self.dav.list()]):
            if str(item.events[0].get("X-MAILCRM-ACTIVITY")) != booking["id"]:
                continue
            cal = icalendar.Calendar.from_ical(item.raw)
            for event in cal.walk("VEVENT"):
                for name, value in {"LAST-MODIFIED": datetime.now(UTC).replace(microsecond=0) + HOUR,
                                    **changes}.items():
                    event.pop(name.upper().replace("_", "-"), None)
                    event.add(name.upper().replace("_", "-"), value)
            self.dav.update(href, CalendarItem.from_calendar(cal), etag)
            return
        raise AssertionError(f"booking {booking['id']} is not on the server")

    def delete(self, booking: dict[str, Any]) -> None:
        for href, item, etag in self.dav.get_many([h for h, _ in self.dav.list()]):
            if str(item.events[0].get("X-MAILCRM-ACTIVITY")) == booking["id"]:
                self.dav.delete(href, etag)
                return
        raise AssertionError(f"booking {booking['id']} is not on the server")

    def conflicts(self) -> list[CalendarConflict]:
        with self.factory() as session:
            return list(session.scalars(select(CalendarConflict).where(CalendarConflict.calendar_id == self.id)))


class Shop:
    """A technician (a user resource) whose calendar is on Radicale, and a one-hour service he delivers."""

    def __init__(self, factory: sessionmaker[Session], client: Any, admin: TestUser, tech: TestUser,
                 server: DavServer) -> None:
        self.factory, self.client, self.admin, self.tech = factory, client, admin, tech
        self.tech_resource = created(client, admin, "resources", {"kind": "user", "user_id": str(tech.id)})
        self.service = service(client, admin, {"resources": [self.tech_resource["id"]], "count": 1},
                               name="Boiler service")
        self.calendar = PublishedCalendar(factory, server, tech, "tech")

    def book(self, start: datetime, user: TestUser | None = None, **extra: Any) -> dict[str, Any]:
        r = book(self.client, user or self.tech, self.service["id"], start, [self.tech_resource], **extra)
        assert r.status_code == 201, r.text
        return r.json()  # type: ignore[no-any-return]

    def booking(self, booking: dict[str, Any]) -> tuple[datetime, datetime, list[tuple[datetime, datetime]]]:
        """The booking's time in the CRM and the time its resource_bookings hold."""
        with self.factory() as session:
            record = session.get_one(ServiceActivity, uuid.UUID(booking["id"]))
            held = [(b.starts_at, b.ends_at) for b in session.scalars(
                select(ResourceBooking).where(ResourceBooking.activity_id == record.id))]
            return record.scheduled_start, record.scheduled_end, held


@pytest.fixture
def tech(org: OrgBuilder) -> TestUser:
    return org.user("tech@example.org", ["Customer Service Representative"])


@pytest.fixture
def shop(session_factory: sessionmaker[Session], client: Any, admin: TestUser, tech: TestUser,
         radicale: DavServer) -> Iterator[Shop]:
    s = Shop(session_factory, client, admin, tech, radicale)
    yield s
    s.calendar.dav.close()


def _times(event: icalendar.Event) -> tuple[datetime, datetime]:
    return event["DTSTART"].dt.astimezone(UTC), event["DTEND"].dt.astimezone(UTC)


def test_a_booking_appears_in_the_resources_calendar_and_follows_reschedule_and_cancel(shop: Shop) -> None:
    reserved = shop.book(MONDAY_9, subject="Boiler at Mrs Dupont's", location="12 rue des Lilas",
                         description="Bring the spare valve")
    tentative = shop.book(MONDAY_9 + 3 * HOUR, statuscode=2)
    assert shop.calendar.sync().to_server == 2

    event = shop.calendar.event_of(reserved)
    assert str(event["SUMMARY"]) == "Boiler at Mrs Dupont's"
    assert _times(event) == (MONDAY_9, MONDAY_9 + HOUR)
    assert (str(event["LOCATION"]), str(event["DESCRIPTION"])) == ("12 rue des Lilas", "Bring the spare valve")
    assert (str(event["STATUS"]), str(event["TRANSP"])) == ("CONFIRMED", "OPAQUE")
    assert "CRM booking" in event["CATEGORIES"].cats
    assert str(shop.calendar.event_of(tentative)["STATUS"]) == "TENTATIVE"
    assert str(shop.calendar.event_of(tentative)["SUMMARY"]) == "Boiler service"  # the service's name
    assert shop.calendar.sync().report.done == {}  # nothing changed: nothing written

    r = shop.client.post(f"{API}/service-activities/{reserved['id']}/reschedule", headers=shop.tech.headers,
                         json={"start": (MONDAY_9 + 5 * HOUR).isoformat()})
    assert r.status_code == 200, r.text
    assert shop.calendar.sync().to_server == 1
    assert _times(shop.calendar.event_of(reserved)) == (MONDAY_9 + 5 * HOUR, MONDAY_9 + 6 * HOUR)

    r = shop.client.post(f"{API}/service-activities/{reserved['id']}/status", headers=shop.tech.headers,
                         json={"statuscode": 9})
    assert r.status_code == 200, r.text
    assert shop.calendar.sync().to_server == 1
    assert [str(e.get("X-MAILCRM-ACTIVITY")) for e in shop.calendar.events().values()] == [tentative["id"]]
    assert shop.calendar.conflicts() == []


def test_moved_in_the_calendar_to_a_free_time_the_booking_moves(shop: Shop) -> None:
    booking = shop.book(MONDAY_9)
    shop.calendar.sync()
    later = MONDAY_9 + 4 * HOUR
    shop.calendar.edit(booking, dtstart=later, dtend=later + 2 * HOUR)

    assert shop.calendar.sync().to_crm == 1
    assert shop.booking(booking) == (later, later + 2 * HOUR, [(later, later + 2 * HOUR)])
    assert shop.calendar.conflicts() == []
    assert shop.calendar.sync().report.done == {}
    assert _times(shop.calendar.event_of(booking)) == (later, later + 2 * HOUR)
    # The old time is free again: another booking can take it.
    shop.book(MONDAY_9)


def test_moved_in_the_calendar_onto_a_booked_time_it_is_put_back(shop: Shop) -> None:
    first, second = shop.book(MONDAY_9), shop.book(MONDAY_9 + 2 * HOUR)
    shop.calendar.sync()
    shop.calendar.edit(first, dtstart=MONDAY_9 + 2 * HOUR, dtend=MONDAY_9 + 3 * HOUR)

    summary = shop.calendar.sync()
    assert summary.conflicts == 1
    [conflict] = shop.calendar.conflicts()
    assert (conflict.activity_id, conflict.policy, conflict.winner) == (uuid.UUID(first["id"]), "booking_busy", "crm")
    assert "20300304T110000Z" in (conflict.server_version or "")  # the time asked for, kept for review
    assert shop.booking(first) == (MONDAY_9, MONDAY_9 + HOUR, [(MONDAY_9, MONDAY_9 + HOUR)])  # not double-booked
    assert shop.booking(second)[2] == [(MONDAY_9 + 2 * HOUR, MONDAY_9 + 3 * HOUR)]

    assert shop.calendar.sync().to_server == 1  # the CRM's version goes back
    assert _times(shop.calendar.event_of(first)) == (MONDAY_9, MONDAY_9 + HOUR)
    assert shop.calendar.sync().report.done == {}
    assert len(shop.calendar.conflicts()) == 1


def test_deleted_or_retitled_in_the_calendar_the_booking_is_published_again(shop: Shop) -> None:
    booking = shop.book(MONDAY_9, subject="Boiler")
    shop.calendar.sync()

    shop.calendar.delete(booking)
    assert shop.calendar.sync().conflicts == 1
    assert shop.calendar.sync().to_server == 1
    assert str(shop.calendar.event_of(booking)["SUMMARY"]) == "Boiler"

    shop.calendar.edit(booking, summary="Day off!")
    assert shop.calendar.sync().conflicts == 1
    shop.calendar.sync()
    assert str(shop.calendar.event_of(booking)["SUMMARY"]) == "Boiler"
    assert [c.policy for c in shop.calendar.conflicts()] == ["booking_kept", "booking_kept"]
    with shop.factory() as session:
        record = session.get_one(ServiceActivity, uuid.UUID(booking["id"]))
        assert (record.subject, record.statecode) == ("Boiler", 3)  # still Scheduled, under its own name
    assert shop.calendar.sync().report.done == {}


def test_a_user_who_may_not_change_the_booking_cannot_move_it_from_his_calendar(shop: Shop) -> None:
    booking = shop.book(MONDAY_9, user=shop.admin)  # a scheduler's booking: the technician may only read it
    shop.calendar.sync()
    shop.calendar.edit(booking, dtstart=MONDAY_9 + 4 * HOUR, dtend=MONDAY_9 + 5 * HOUR)

    shop.calendar.sync()
    assert [c.policy for c in shop.calendar.conflicts()] == ["booking_deny"]
    assert shop.booking(booking)[0] == MONDAY_9
    shop.calendar.sync()
    assert _times(shop.calendar.event_of(booking)) == (MONDAY_9, MONDAY_9 + HOUR)


def test_a_room_publishes_to_its_own_calendar(shop: Shop, session_factory: sessionmaker[Session],
                                               radicale: DavServer) -> None:
    room_calendar = PublishedCalendar(session_factory, radicale, shop.admin, "room")
    try:
        room = resource(shop.client, shop.admin, "Workshop", kind="facility", calendar_id=room_calendar.id)
        workshop = service(shop.client, shop.admin, {"resources": [room["id"]], "count": 1}, name="Workshop slot")
        r = book(shop.client, shop.admin, workshop["id"], MONDAY_9, [room])
        assert r.status_code == 201, r.text
        booking = r.json()
        # The administrator who connected the room's calendar has a user resource too: his bookings stay out.
        own = created(shop.client, shop.admin, "resources", {"kind": "user", "user_id": str(shop.admin.id)})
        mine = service(shop.client, shop.admin, {"resources": [own["id"]], "count": 1}, name="Admin's own")
        assert book(shop.client, shop.admin, mine["id"], MONDAY_9, [own]).status_code == 201

        assert room_calendar.sync().to_server == 1
        assert _times(room_calendar.event_of(booking)) == (MONDAY_9, MONDAY_9 + HOUR)
        assert str(room_calendar.event_of(booking)["SUMMARY"]) == "Workshop slot"
        shop.calendar.sync()
        assert shop.calendar.events() == {}  # the technician's calendar shows only his own bookings

        room_calendar.edit(booking, dtstart=MONDAY_9 + HOUR, dtend=MONDAY_9 + 2 * HOUR)
        assert room_calendar.sync().to_crm == 1
        assert shop.booking(booking)[2] == [(MONDAY_9 + HOUR, MONDAY_9 + 2 * HOUR)]
    finally:
        room_calendar.dav.close()
