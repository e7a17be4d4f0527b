"""Two-way sync between the CRM and a real CalDAV server (Radicale and Xandikos, on loopback), through the
runner the CLI, the API and the workers use: each direction, each kind of change, a recurring series with a
moved and a removed occurrence, the incoming filter, conflicts under each policy, a pass killed halfway (or in
the middle of a transaction of CRM writes) that resumes with nothing lost or doubled, and an object the CRM
refuses among others."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import icalendar
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from calendar_sync.appointments.from_ical import write_item
from calendar_sync.errors import ItemBroken
from calendar_sync.items import CalendarItem
from calendar_sync.runner import sync_calendar
from calendar_sync.stores import crm as crm_store
from calendar_sync.stores.caldav import CaldavStore
from calendar_sync.stores.registry import StoreOptions
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Appointment, Contact, RecurringAppointment
from crm_core.models.calendars import Calendar, CalendarConflict, CalendarSyncItem
from crm_core.security.principal import Principal
from crm_core.services.calendars import CalendarService
from tests.api import created
from tests.calendar_sync.dav_servers import DavServer
from tests.calendar_sync.store_contract import START, essence, event_item
from tests.org import OrgBuilder, TestUser


class World:
    """The CRM (a rep whose calendar is on the DAV server, a contact) and the server, side by side."""

    def __init__(self, factory: sessionmaker[Session], server: DavServer, rep: TestUser, client: Any,
                 policy: str = "newest_wins") -> None:
        self.factory, self.server, self.rep, self.client = factory, server, rep, client
        url = server.new_calendar()
        with UnitOfWork(factory) as uow:
            contact = Contact(id=uuid.uuid4(), first_name="Alice", last_name="Archer", full_name="Alice Archer",
                              email_address1="alice@example.com", owning_user_id=rep.id,
                              owning_business_unit_id=rep.business_unit_id)
            uow.session.add(contact)
            uow.session.flush()
            calendar = CalendarService(uow, Principal.system()).create({
                "name": f"rep-{uuid.uuid4().hex[:6]}", "kind": "caldav", "url": url, "user_id": rep.id,
                "username": server.username, "password": server.password, "conflict_policy": policy})
            self.calendar_id, self.contact_id = calendar.id, contact.id
        self.dav = CaldavStore(url, server.username, server.password, verify=server.verify)

    def sync(self, **kwargs: Any) -> Any:
        return sync_calendar(self.factory, self.calendar_id, options=StoreOptions(verify=self.server.verify),
                             **kwargs)

    def on_server(self) -> dict[str, CalendarItem]:
        return {item.uid: item for _, item, _ in self.dav.get_many([h for h, _ in self.dav.list()])}

    def server_href(self, uid: str) -> tuple[str, str]:
        for href, item, etag in self.dav.get_many([h for h, _ in self.dav.list()]):
            if item.uid == uid:
                return href, etag
        raise AssertionError(f"{uid} is not on the server")

    def appointment(self, uid: str) -> Any:
        with self.factory() as session:
            row = session.scalar(select(Appointment).where(Appointment.global_object_id == uid,
                                                           Appointment.instance_type_code == 0))
            return row or session.scalar(select(RecurringAppointment).where(
                RecurringAppointment.global_object_id == uid))

    def count(self, model: Any) -> int:
        with self.factory() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def rep(org: OrgBuilder) -> TestUser:
    return org.user("rep@example.org", ["Salesperson"])


@pytest.fixture
def world(session_factory: sessionmaker[Session], dav_server: DavServer, rep: TestUser, client: Any) -> World:
    w = World(session_factory, dav_server, rep, client)
    yield w
    w.dav.close()


def restamped(item: CalendarItem, minutes: int = 5, **changes: Any) -> CalendarItem:
    cal = icalendar.Calendar.from_ical(item.raw)
    for event in cal.walk("VEVENT"):
        for name in ("DTSTAMP", "LAST-MODIFIED"):
            event.pop(name, None)
            event.add(name, datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=minutes))
        if "RECURRENCE-ID" in event:
            continue
        for name, value in changes.items():
            prop = name.upper().replace("_", "-")
            event.pop(prop, None)
            event.add(prop, value)
    return CalendarItem.from_calendar(cal)


def test_a_meeting_with_a_contact_comes_to_the_crm_and_a_private_one_does_not(world: World) -> None:
    meeting = event_item(summary="Renewal with Alice", attendees=("alice@example.com",))
    dentist = event_item(summary="Dentist", attendees=("someone@elsewhere.example",))
    world.dav.upload(meeting)
    world.dav.upload(dentist)
    summary = world.sync()
    assert summary.to_crm == 1 and summary.report.complete
    appt = world.appointment(meeting.uid)
    assert appt.subject == "Renewal with Alice" and appt.scheduled_start == START
    assert appt.owning_user_id == world.rep.id
    parties = {(p.participation, p.party_type, p.party_id) for p in appt.parties}
    assert (5, "contact", world.contact_id) in parties
    assert world.appointment(dentist.uid) is None
    assert world.sync().report.done == {}  # nothing new: nothing read, nothing written


def test_an_appointment_made_in_the_crm_appears_on_the_server(world: World) -> None:
    body = {"activity_type": "appointment", "subject": "Demo at Contoso", "location": "Contoso HQ",
            "scheduled_start": "2030-05-06T13:00:00Z", "scheduled_end": "2030-05-06T14:30:00Z",
            "parties": [{"role": "required_attendee", "address": "alice@example.com"}]}
    appt = created(world.client, world.rep, "activities", body)
    assert world.sync().to_server == 1
    [(uid, item)] = world.on_server().items()
    [(_, event)] = essence(item).items()
    assert event["summary"] == "Demo at Contoso" and event["location"] == "Contoso HQ"
    assert event["start"] == datetime(2030, 5, 6, 13, tzinfo=UTC) and "alice@example.com" in event["attendees"]
    assert str(world.appointment(uid).id) == appt["id"]


def test_changes_flow_both_ways(world: World) -> None:
    meeting = event_item(summary="Review", attendees=("alice@example.com",))
    world.dav.upload(meeting)
    world.sync()
    href, etag = world.server_href(meeting.uid)
    moved = START + timedelta(days=2)
    world.dav.update(href, restamped(meeting, summary="Review (moved)", dtstart=moved,
                                     dtend=moved + timedelta(hours=1)), etag)
    assert world.sync().to_crm == 1
    appt = world.appointment(meeting.uid)
    assert (appt.subject, appt.scheduled_start) == ("Review (moved)", moved)
    r = world.client.patch(f"/api/v1/activities/{appt.id}", json={"subject": "Review with legal"},
                           headers=world.rep.headers)
    assert r.status_code == 200, r.text
    assert world.sync().to_server == 1
    assert essence(world.on_server()[meeting.uid])[None]["summary"] == "Review with legal"


def test_a_server_deletion_cancels_in_the_crm_and_a_crm_cancel_deletes_on_the_server(world: World) -> None:
    a = event_item(summary="A", attendees=("alice@example.com",))
    b = event_item(summary="B", attendees=("alice@example.com",))
    world.dav.upload(a)
    world.dav.upload(b)
    world.sync()
    world.dav.delete(*world.server_href(a.uid))
    r = world.client.post(f"/api/v1/activities/{world.appointment(b.uid).id}/cancel", headers=world.rep.headers)
    assert r.status_code == 200, r.text
    world.sync()
    assert world.appointment(a.uid).statecode == 2  # canceled, kept with its history
    assert world.on_server() == {}


def test_a_series_with_a_moved_and_a_removed_occurrence(world: World) -> None:
    second, fourth = START + timedelta(weeks=1), START + timedelta(weeks=3)
    series = event_item(summary="Weekly sync", rrule="FREQ=WEEKLY;COUNT=6", attendees=("alice@example.com",),
                        overrides={second: "Weekly sync (moved)"})
    cal = series.calendar
    cal.walk("VEVENT")[0].add("EXDATE", fourth)
    world.dav.upload(CalendarItem.from_calendar(cal))
    world.sync()
    master = world.appointment(series.uid)
    assert isinstance(master, RecurringAppointment) and "FREQ=WEEKLY" in (master.rrule or "")
    with world.factory() as session:
        exceptions = session.scalars(select(Appointment).where(Appointment.series_id == master.id)).all()
    assert [(e.subject, e.recurrence_id, e.scheduled_start) for e in exceptions] == \
        [("Weekly sync (moved)", second, second + timedelta(hours=1))]
    assert any(x.startswith(fourth.strftime("%Y-%m-%d")) for x in master.exdates)
    # And back: the CRM's rendering of the series keeps the override and the removed occurrence.
    world.client.patch(f"/api/v1/activities/{master.id}", json={"subject": "Weekly sync (renamed)"},
                       headers=world.rep.headers)
    world.sync()
    got = essence(world.on_server()[series.uid])
    assert got[None]["summary"] == "Weekly sync (renamed)"
    assert got[second]["start"] == second + timedelta(hours=1)
    raw = world.on_server()[series.uid].raw
    assert "EXDATE" in raw


@pytest.mark.parametrize(("policy", "winner"), [("crm_wins", "crm"), ("server_wins", "server"),
                                                ("newest_wins", "server")])
def test_a_conflict_is_decided_by_the_calendar_policy_and_logged(session_factory: sessionmaker[Session],
                                                                  radicale: DavServer, rep: TestUser, client: Any,
                                                                  policy: str, winner: str) -> None:
    world = World(session_factory, radicale, rep, client, policy=policy)
    meeting = event_item(summary="Budget", attendees=("alice@example.com",))
    world.dav.upload(meeting)
    world.sync()
    appt = world.appointment(meeting.uid)
    world.client.patch(f"/api/v1/activities/{appt.id}", json={"subject": "Budget (CRM)"}, headers=rep.headers)
    href, etag = world.server_href(meeting.uid)
    # The server's change is the later one (LAST-MODIFIED an hour ahead), so newest_wins picks it.
    world.dav.update(href, restamped(meeting, minutes=60, summary="Budget (server)"), etag)
    world.sync()
    expected = "Budget (CRM)" if winner == "crm" else "Budget (server)"
    assert world.appointment(meeting.uid).subject == expected
    assert essence(world.on_server()[meeting.uid])[None]["summary"] == expected
    with session_factory() as session:
        [conflict] = session.scalars(select(CalendarConflict)).all()
    assert (conflict.policy, conflict.winner) == (policy, winner)
    assert "Budget (CRM)" in (conflict.crm_version or "") and "Budget (server)" in (conflict.server_version or "")


def test_an_event_whose_only_change_is_its_dtstamp_is_not_rewritten(world: World) -> None:
    meeting = event_item(summary="Stand-up", attendees=("alice@example.com",))
    world.dav.upload(meeting)
    world.sync()
    before = world.appointment(meeting.uid).modified_on
    href, etag = world.server_href(meeting.uid)
    world.dav.update(href, restamped(meeting), etag)
    summary = world.sync()
    assert summary.to_crm == 0 and summary.to_server == 0
    assert world.appointment(meeting.uid).modified_on == before


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so nothing on the way catches it."""


@pytest.mark.parametrize("after", [1, 3, 5])
def test_a_pass_killed_halfway_resumes_with_nothing_lost_or_doubled(world: World, after: int) -> None:
    meetings = [event_item(summary=f"Meeting {n}", attendees=("alice@example.com",)) for n in range(4)]
    for m in meetings:
        world.dav.upload(m)
    for n in range(3):
        created(world.client, world.rep, "activities", {
            "activity_type": "appointment", "subject": f"CRM meeting {n}",
            "scheduled_start": f"2030-06-0{n + 1}T09:00:00Z", "scheduled_end": f"2030-06-0{n + 1}T10:00:00Z"})

    def die(done: int, total: int) -> None:
        if done == after:
            raise Killed

    with pytest.raises(Killed):
        world.sync(progress=die)
    world.sync()
    assert world.sync().report.done == {}
    assert len(world.on_server()) == 7
    with world.factory() as session:
        subjects = sorted(session.scalars(select(Appointment.subject).where(Appointment.statecode != 2)))
    assert subjects == sorted([f"Meeting {n}" for n in range(4)] + [f"CRM meeting {n}" for n in range(3)])
    with world.factory() as session:
        calendar = session.get_one(Calendar, world.calendar_id)
        assert calendar.last_synced_on is not None and calendar.last_error_reason is None


def test_a_pass_killed_inside_a_batch_of_crm_writes_leaves_the_crm_and_its_status_agreeing(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes into the CRM share a transaction with their status rows: a death in the middle of them keeps no
    write without its status row (which would be written twice) nor a status row without its write (lost)."""
    meetings = [event_item(summary=f"Meeting {n}", attendees=("alice@example.com",)) for n in range(4)]
    for m in meetings:
        world.dav.upload(m)
    writes = []

    def dying(*args: Any, **kwargs: Any) -> Any:
        if len(writes) == 2:
            raise Killed
        writes.append(args)
        return write_item(*args, **kwargs)

    monkeypatch.setattr(crm_store, "write_item", dying)
    with pytest.raises(Killed):
        world.sync()
    with world.factory() as session:
        kept = set(session.scalars(select(Appointment.id).where(Appointment.statecode != 2)))
        statused = set(session.scalars(select(CalendarSyncItem.activity_id).where(
            CalendarSyncItem.calendar_id == world.calendar_id)))
    assert kept == statused
    monkeypatch.undo()
    world.sync()
    assert world.sync().report.done == {}
    with world.factory() as session:
        subjects = sorted(session.scalars(select(Appointment.subject).where(Appointment.statecode != 2)))
    assert subjects == [f"Meeting {n}" for n in range(4)]


def test_an_object_the_crm_refuses_amid_others_is_quarantined_and_the_others_are_kept(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    meetings = [event_item(summary=f"Meeting {n}", attendees=("alice@example.com",)) for n in range(3)]
    for m in meetings:
        world.dav.upload(m)
    refused = meetings[1].uid

    def refusing(session: Session, calendar: Calendar, item: CalendarItem, *args: Any, **kwargs: Any) -> Any:
        if item.uid == refused:
            raise ItemBroken("a date the CRM cannot keep")
        return write_item(session, calendar, item, *args, **kwargs)

    monkeypatch.setattr(crm_store, "write_item", refusing)
    summary = world.sync()
    assert summary.to_crm == 2 and summary.quarantined == 1
    assert world.appointment(refused) is None
    assert [world.appointment(m.uid).subject for m in meetings if m.uid != refused] == ["Meeting 0", "Meeting 2"]
    assert world.sync().report.done == {}
