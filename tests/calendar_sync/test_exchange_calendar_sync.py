"""Two-way sync between the CRM and a mailbox's Exchange calendar, on the fake EWS server (NTLM over TLS) and
on the fake Graph server (an app's token), through the runner the CLI, the API and the workers use. The CRM
mailbox and calendar are made through the API as an admin and a salesperson would; the other side is the user's
own view of the calendar, or items filed as Outlook leaves them (tests/calendar_sync/exchange_sides.py).

Each direction, each kind of change, a series with a moved and a deleted occurrence, a conflict under each
one-sided policy, a sync cursor the server refuses, a pass killed halfway, one meeting in two users' calendars;
and no mail sent by the sync."""

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from calendar_sync.runner import CalendarSyncSummary, sync_calendar
from calendar_sync.stores.base import CalendarStore
from calendar_sync.stores.registry import StoreOptions
from crm_core.models import Appointment, RecurringAppointment
from crm_core.models.calendars import Calendar, CalendarConflict
from tests.api import created
from tests.calendar_sync.exchange_sides import ALICE, Ews, Graph, Rep, outlook_meeting
from tests.calendar_sync.store_contract import essence, event_item
from tests.calendar_sync.test_caldav_sync import Killed, restamped
from tests.fakes.ews import EwsFake
from tests.fakes.ews.fixtures import ews, ews_certificate  # noqa: F401  (fixtures)
from tests.fakes.graph.fixtures import graph_certificate, graph_fake  # noqa: F401  (fixtures)
from tests.mailbridge.tls import TestCertificate
from tests.org import OrgBuilder

BERLIN = ZoneInfo("Europe/Berlin")
# Meetings a few weeks ahead: Graph's store syncs a window around today (calendar_sync/stores/graph_delta.py).
_today = dt.datetime.now(dt.UTC).date()
SOON = dt.datetime.combine(_today + dt.timedelta(days=21 - _today.weekday()), dt.time(9), dt.UTC)  # a Monday


class World:
    """The CRM (an admin, a contact, an email server profile on the fake) and the fake Exchange server."""

    def __init__(self, factory: sessionmaker[Session], client: Any, org: OrgBuilder, side: Ews | Graph) -> None:
        self.factory, self.client, self.org, self.side = factory, client, org, side
        self.admin = org.admin()
        self.profile = created(client, self.admin, "email-server-profiles", side.profile())
        self.stores: list[CalendarStore] = []
        self.contact_id = uuid.UUID(created(client, self.admin, "contacts", {
            "first_name": "Alice", "last_name": "Archer", "email_address1": ALICE})["id"])

    def rep(self, name: str = "rep", policy: str = "newest_wins") -> Rep:
        address = f"{name}@contoso.example"
        user = self.org.user(address, ["Salesperson"])
        box, credentials, outlook = self.side.mailbox(address)
        self.stores.append(outlook)
        mailbox = created(self.client, self.admin, "mailboxes", {
            "email_address": address, "regarding_type": "user", "regarding_id": str(user.id),
            "server_profile_id": self.profile["id"], **credentials})
        r = self.client.post(f"/api/v1/mailboxes/{mailbox['id']}/approve", headers=self.admin.headers)
        assert r.status_code == 200, r.text
        # The salesperson connects the calendar of their own mailbox.
        calendar = created(self.client, user, "calendars", {
            "name": f"{name}'s Exchange calendar", "kind": self.side.kind, "mailbox_id": mailbox["id"],
            "conflict_policy": policy})
        return Rep(user, box, uuid.UUID(calendar["id"]), outlook)

    def sync(self, rep: Rep, **kwargs: Any) -> CalendarSyncSummary:
        options = StoreOptions(timeout=10, ssl_context=self.side.context)
        return sync_calendar(self.factory, rep.calendar_id, options=options, **kwargs)

    def mailed(self, rep: Rep) -> list[Any]:
        return self.side.mailed(rep.box)

    def appointment(self, uid: str) -> Any:
        with self.factory() as session:
            row = session.scalar(select(Appointment).where(Appointment.global_object_id == uid,
                                                           Appointment.instance_type_code == 0))
            return row or session.scalar(select(RecurringAppointment).where(
                RecurringAppointment.global_object_id == uid))

    def count(self, model: Any, *where: Any) -> int:
        with self.factory() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where)) or 0

    def close(self) -> None:
        for store in self.stores:
            store.close()


@pytest.fixture(params=["ews", "graph"])
def world(request: pytest.FixtureRequest, session_factory: sessionmaker[Session], client: Any,
          org: OrgBuilder) -> Iterator[World]:
    if request.param == "ews":
        side: Ews | Graph = Ews(request.getfixturevalue("ews"), request.getfixturevalue("ews_certificate"))
    else:
        side = Graph(request.getfixturevalue("graph_fake"))
    w = World(session_factory, client, org, side)
    yield w
    w.close()


@pytest.fixture
def ews_world(session_factory: sessionmaker[Session], client: Any, org: OrgBuilder, ews: EwsFake,  # noqa: F811
              ews_certificate: TestCertificate) -> Iterator[World]:  # noqa: F811
    w = World(session_factory, client, org, Ews(ews, ews_certificate))
    yield w
    w.close()


@pytest.fixture
def rep(world: World) -> Rep:
    return world.rep()


def at(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_meeting_with_a_contact_comes_to_the_crm_and_a_private_one_does_not(world: World, rep: Rep) -> None:
    meeting = event_item(start=SOON, summary="Renewal with Alice", attendees=(ALICE,))
    dentist = event_item(start=SOON, summary="Dentist", attendees=("someone@elsewhere.example",))
    rep.outlook.upload(meeting)
    rep.outlook.upload(dentist)

    summary = world.sync(rep)

    assert summary.to_crm == 1 and summary.report.complete
    appt = world.appointment(meeting.uid)
    assert (appt.subject, appt.location, appt.scheduled_start) == ("Renewal with Alice", "Room 4", SOON)
    assert appt.owning_user_id == rep.user.id
    assert (5, "contact", world.contact_id) in {(p.participation, p.party_type, p.party_id) for p in appt.parties}
    assert world.appointment(dentist.uid) is None
    assert world.sync(rep).report.done == {}  # nothing new: nothing read, nothing written
    assert set(rep.on_server()) == {meeting.uid, dentist.uid}  # the private one is left alone


def test_an_appointment_made_in_the_crm_appears_in_exchange_without_mailing_anyone(world: World, rep: Rep) -> None:
    body = {"activity_type": "appointment", "subject": "Demo at Contoso", "location": "Contoso HQ",
            "scheduled_start": at(SOON), "scheduled_end": at(SOON + dt.timedelta(hours=1, minutes=30)),
            "parties": [{"role": "required_attendee", "address": ALICE}]}
    appt = created(world.client, rep.user, "activities", body)

    assert world.sync(rep).to_server == 1

    [(uid, item)] = rep.on_server().items()
    [(_, event)] = essence(item).items()
    assert (event["summary"], event["location"]) == ("Demo at Contoso", "Contoso HQ")
    assert (event["start"], event["end"]) == (SOON, SOON + dt.timedelta(hours=1, minutes=30))
    assert ALICE in event["attendees"]
    assert str(world.appointment(uid).id) == appt["id"]
    assert world.mailed(rep) == []  # Alice gets no invitation from the sync
    assert world.sync(rep).report.done == {}


def test_changes_flow_both_ways(world: World, rep: Rep) -> None:
    meeting = event_item(start=SOON, summary="Review", attendees=(ALICE,))
    rep.outlook.upload(meeting)
    world.sync(rep)
    href, etag = rep.server_href(meeting.uid)
    moved = SOON + dt.timedelta(days=2)
    rep.outlook.update(href, restamped(meeting, summary="Review (moved)", dtstart=moved,
                                       dtend=moved + dt.timedelta(hours=1)), etag)

    assert world.sync(rep).to_crm == 1
    appt = world.appointment(meeting.uid)
    assert (appt.subject, appt.scheduled_start) == ("Review (moved)", moved)

    r = world.client.patch(f"/api/v1/activities/{appt.id}", json={"subject": "Review with legal"},
                           headers=rep.user.headers)
    assert r.status_code == 200, r.text
    assert world.sync(rep).to_server == 1
    got = essence(rep.on_server()[meeting.uid])[None]
    assert (got["summary"], got["start"]) == ("Review with legal", moved)
    assert world.mailed(rep) == []


def test_a_deletion_in_exchange_cancels_in_the_crm_and_a_crm_cancel_deletes_in_exchange(world: World,
                                                                                        rep: Rep) -> None:
    a = event_item(start=SOON, summary="A", attendees=(ALICE,))
    b = event_item(start=SOON, summary="B", attendees=(ALICE,))
    rep.outlook.upload(a)
    rep.outlook.upload(b)
    world.sync(rep)
    rep.outlook.delete(*rep.server_href(a.uid))
    r = world.client.post(f"/api/v1/activities/{world.appointment(b.uid).id}/cancel", headers=rep.user.headers)
    assert r.status_code == 200, r.text

    world.sync(rep)

    assert world.appointment(a.uid).statecode == 2  # canceled, kept with its history
    assert rep.on_server() == {}
    assert world.mailed(rep) == []  # no cancellation mailed to Alice
    assert world.sync(rep).report.done == {}


def test_a_series_with_a_moved_and_a_deleted_occurrence(world: World, rep: Rep) -> None:
    start, week = dt.datetime.combine(SOON.date(), dt.time(9), BERLIN), dt.timedelta(weeks=1)
    second, fourth = (start + week).astimezone(dt.UTC), (start + 3 * week).astimezone(dt.UTC)
    world.side.file_series(rep.box, start)  # weekly, six times; the second moved an hour and renamed, the fourth gone
    [uid] = rep.on_server()  # the UID Exchange gave it

    assert world.sync(rep).to_crm == 1

    master = world.appointment(uid)
    assert isinstance(master, RecurringAppointment) and "FREQ=WEEKLY" in (master.rrule or "")
    assert master.time_zone == "Europe/Berlin"
    with world.factory() as session:
        exceptions = session.scalars(select(Appointment).where(Appointment.series_id == master.id)).all()
    assert [(e.subject, e.recurrence_id, e.scheduled_start) for e in exceptions] == \
        [("Weekly sync (moved)", second, second + dt.timedelta(hours=1))]
    assert [x[:10] for x in master.exdates] == [fourth.date().isoformat()]

    # And back: renamed in the CRM, the series in Exchange keeps its moved and its deleted occurrence.
    r = world.client.patch(f"/api/v1/activities/{master.id}", json={"subject": "Weekly sync (renamed)"},
                           headers=rep.user.headers)
    assert r.status_code == 200, r.text
    assert world.sync(rep).to_server == 1
    got = essence(rep.on_server()[uid])
    assert got[None]["summary"] == "Weekly sync (renamed)"
    assert (got[second]["summary"], got[second]["start"]) == ("Weekly sync (moved)", second + dt.timedelta(hours=1))
    [master_event] = [e for e in rep.on_server()[uid].events if "RECURRENCE-ID" not in e]
    assert [d.dt.astimezone(dt.UTC) for d in master_event["EXDATE"].dts] == [fourth]
    assert world.mailed(rep) == []


@pytest.mark.parametrize(("policy", "winner"), [("server_wins", "server"), ("crm_wins", "crm")])
def test_a_conflict_is_decided_by_the_calendar_policy_and_logged(world: World, policy: str, winner: str) -> None:
    rep = world.rep(policy=policy)
    meeting = event_item(start=SOON, summary="Budget", attendees=(ALICE,))
    rep.outlook.upload(meeting)
    world.sync(rep)
    appt = world.appointment(meeting.uid)
    r = world.client.patch(f"/api/v1/activities/{appt.id}", json={"subject": "Budget (CRM)"},
                           headers=rep.user.headers)
    assert r.status_code == 200, r.text
    href, etag = rep.server_href(meeting.uid)
    rep.outlook.update(href, restamped(meeting, minutes=60, summary="Budget (Exchange)"), etag)

    world.sync(rep)

    expected = "Budget (CRM)" if winner == "crm" else "Budget (Exchange)"
    assert world.appointment(meeting.uid).subject == expected
    assert essence(rep.on_server()[meeting.uid])[None]["summary"] == expected
    with world.factory() as session:
        [conflict] = session.scalars(select(CalendarConflict)).all()
    assert (conflict.policy, conflict.winner) == (policy, winner)
    assert "Budget (CRM)" in (conflict.crm_version or "") and "Budget (Exchange)" in (conflict.server_version or "")
    assert world.sync(rep).report.done == {}


def test_a_refused_sync_state_resyncs_without_doubling(world: World, rep: Rep) -> None:
    first = event_item(start=SOON, summary="Kick-off", attendees=(ALICE,))
    rep.outlook.upload(first)
    created(world.client, rep.user, "activities", {
        "activity_type": "appointment", "subject": "From the CRM",
        "scheduled_start": at(SOON + dt.timedelta(days=1)), "scheduled_end": at(SOON + dt.timedelta(days=1, hours=1))})
    world.sync(rep)
    world.side.refuse_cursor(rep.box)
    later = event_item(start=SOON, summary="Follow-up", attendees=(ALICE,))
    rep.outlook.upload(later)

    summary = world.sync(rep)

    assert summary.report.resynced and summary.report.complete
    assert summary.to_crm == 1 and summary.to_server == 0
    assert sorted(e["summary"] for item in rep.on_server().values() for e in essence(item).values()) == \
        ["Follow-up", "From the CRM", "Kick-off"]
    assert world.count(Appointment, Appointment.statecode != 2) == 3
    assert world.sync(rep).report.done == {}
    with world.factory() as session:
        assert session.get_one(Calendar, rep.calendar_id).last_error_reason is None


@pytest.mark.parametrize("after", [1, 3, 5])
def test_a_pass_killed_halfway_resumes_with_nothing_lost_or_doubled(world: World, rep: Rep, after: int) -> None:
    meetings = [event_item(start=SOON, summary=f"Meeting {n}", attendees=(ALICE,)) for n in range(4)]
    for m in meetings:
        rep.outlook.upload(m)
    for n in range(3):
        created(world.client, rep.user, "activities", {
            "activity_type": "appointment", "subject": f"CRM meeting {n}",
            "scheduled_start": at(SOON + dt.timedelta(days=n + 1)),
            "scheduled_end": at(SOON + dt.timedelta(days=n + 1, hours=1))})

    def die(done: int, total: int) -> None:
        if done == after:
            raise Killed

    with pytest.raises(Killed):
        world.sync(rep, progress=die)
    world.sync(rep)

    assert world.sync(rep).report.done == {}
    assert len(rep.on_server()) == 7
    with world.factory() as session:
        subjects = sorted(session.scalars(select(Appointment.subject).where(Appointment.statecode != 2)))
    assert subjects == sorted([f"Meeting {n}" for n in range(4)] + [f"CRM meeting {n}" for n in range(3)])
    with world.factory() as session:
        calendar = session.get_one(Calendar, rep.calendar_id)
        assert calendar.last_synced_on is not None and calendar.last_error_reason is None
    assert world.mailed(rep) == []


def test_one_meeting_in_two_users_calendars_is_one_appointment(ews_world: World) -> None:
    # EWS only: the fake Graph server makes every event its mailbox's own (organizer and iCalUId).
    world = ews_world
    anna, ben = world.rep("anna"), world.rep("ben")
    start = dt.datetime.combine(SOON.date(), dt.time(14), BERLIN)
    # Anna invited Alice and Ben; Exchange put the meeting in both calendars under the one UID.
    for box in (anna.box, ben.box):
        box.add_item("calendar", item_class="IPM.Appointment", subject="Contract signing", appointment=outlook_meeting(
            "uid-signing", anna.box.address, "Contract signing", start, ALICE, ben.box.address))

    world.sync(anna)
    world.sync(ben)
    for rep in (anna, ben, anna, ben):  # further passes write nothing new anywhere
        world.sync(rep)

    assert world.count(Appointment, Appointment.global_object_id == "uid-signing") == 1
    appt = world.appointment("uid-signing")
    assert appt.owning_user_id == anna.user.id
    people = {(p.party_type, p.party_id) for p in appt.parties}
    assert {("contact", world.contact_id), ("user", ben.user.id)} <= people
    for rep in (anna, ben):
        assert list(rep.on_server()) == ["uid-signing"]
        assert essence(rep.on_server()["uid-signing"])[None]["start"] == start.astimezone(dt.UTC)
        assert world.sync(rep).report.done == {}
        assert world.mailed(rep) == []
