"""The CRM as a calendar store: the store contract over a real database and calendar, and what only the CRM
does (a deleted event cancels, one meeting for two users' calendars, attendees' copies bring only answers)."""

import uuid
from collections.abc import Iterator
from datetime import timedelta

import icalendar
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from calendar_sync.appointments.from_ical import KindChanged
from calendar_sync.errors import NotFound, PreconditionFailed
from calendar_sync.items import CalendarItem
from calendar_sync.stores.crm import CrmCalendarStore
from crm_core.models import Activity, Appointment, AuditEntry, Contact
from crm_core.models.calendars import Calendar, CalendarSyncItem
from tests.calendar_sync.store_contract import START, StoreContract, essence, event_item
from tests.org import OrgBuilder, TestUser


@pytest.fixture
def session(session_factory: sessionmaker[Session], org: OrgBuilder) -> Iterator[Session]:
    with session_factory() as s:
        yield s


def calendar_of(session: Session, user: TestUser) -> Calendar:
    cal = Calendar(id=uuid.uuid4(), name=f"{user.email}'s calendar", kind="caldav",
                   url="http://example.invalid/cal/", user_id=user.id, business_unit_id=user.business_unit_id)
    session.add(cal)
    session.flush()
    return cal


@pytest.fixture
def rep(org: OrgBuilder) -> TestUser:
    # The contract's events are organized by rep@example.org: this calendar holds the organizer's copies.
    return org.user("rep@example.org", ["Salesperson"])


@pytest.fixture
def store(session: Session, rep: TestUser) -> CrmCalendarStore:
    return CrmCalendarStore(session, calendar_of(session, rep))


class TestCrmStore(StoreContract):
    incremental = False
    locals().update(dict.fromkeys(StoreContract.DELTAS))


def with_partstat(item: CalendarItem, address: str, partstat: str) -> CalendarItem:
    cal = icalendar.Calendar.from_ical(item.raw)
    for event in cal.walk("VEVENT"):
        for attendee in event.get("ATTENDEE", []):
            if str(attendee).lower() == f"mailto:{address}":
                attendee.params["PARTSTAT"] = partstat
    return CalendarItem.from_calendar(cal)


def partstats(item: CalendarItem) -> dict[str, str]:
    [event] = [e for e in item.events if "RECURRENCE-ID" not in e]
    return {str(a).lower().removeprefix("mailto:"): str(a.params.get("PARTSTAT")) for a in event["ATTENDEE"]}


def test_deleting_on_the_server_cancels_the_appointment_and_keeps_it(store: CrmCalendarStore,
                                                                     session: Session) -> None:
    href, etag = store.upload(event_item(summary="Call off"))
    store.delete(href, etag)
    record = session.get(Activity, uuid.UUID(href))
    assert record is not None and (record.statecode, record.statuscode) == (2, 4)
    assert list(store.list()) == []
    with pytest.raises(NotFound):
        store.delete(href, etag)


def test_changing_only_an_attendee_changes_the_etag(store: CrmCalendarStore, session: Session) -> None:
    href, etag = store.upload(event_item(attendees=("alice@example.com",)))
    record = session.get(Activity, uuid.UUID(href))
    assert record is not None
    [attendee] = [p for p in record.parties if p.participation == 5]
    attendee.participation = 6  # now optional: nothing else changes
    session.flush()
    [(_, listed)] = list(store.list())
    assert listed != etag
    item, got = store.get(href)
    assert got == listed
    assert "OPT-PARTICIPANT" in item.raw
    with pytest.raises(PreconditionFailed):
        store.update(href, event_item(uid=item.uid, summary="From a stale copy"), etag)


def test_changing_an_exception_changes_the_series_etag(store: CrmCalendarStore, session: Session) -> None:
    second = START + timedelta(weeks=1)
    href, etag = store.upload(event_item(rrule="FREQ=WEEKLY;COUNT=3", overrides={second: "Moved"}))
    [exception] = session.scalars(select(Appointment).where(Appointment.series_id == uuid.UUID(href))).all()
    exception.location = "Elsewhere"
    session.flush()
    assert dict(store.list())[href] != etag


def test_two_users_calendars_bring_one_meeting_once(org: OrgBuilder, session: Session, rep: TestUser) -> None:
    colleague = org.user("colleague@example.org", ["Salesperson"])
    organizers, attendees = CrmCalendarStore(session, calendar_of(session, rep)), \
        CrmCalendarStore(session, calendar_of(session, colleague))
    meeting = event_item(summary="Joint visit", attendees=("colleague@example.org", "alice@example.com"))
    href, _ = organizers.upload(meeting)
    # The colleague's calendar has the same meeting, with his answer, and an old title he never changed.
    copy = with_partstat(event_item(uid=meeting.uid, summary="Old title",
                                    attendees=("colleague@example.org", "alice@example.com")),
                         "colleague@example.org", "ACCEPTED")
    assert not attendees.is_organizer_copy(copy) and organizers.is_organizer_copy(meeting)
    linked, _ = attendees.upload(copy)
    assert linked == href
    assert session.scalar(select(func.count()).select_from(Appointment)) == 1
    # The engine records the link; the colleague's store then lists the meeting too.
    session.add(CalendarSyncItem(calendar_id=attendees.calendar.id, uid=meeting.uid, activity_id=uuid.UUID(href)))
    session.flush()
    assert [h for h, _ in attendees.list()] == [href]
    item, _ = organizers.get(href)
    assert essence(item)[None]["summary"] == "Joint visit"  # only the organizer's copy writes the meeting
    assert partstats(item)["colleague@example.org"] == "ACCEPTED"
    # His later answer changes that, and only that.
    declined = with_partstat(copy, "colleague@example.org", "DECLINED")
    attendees.update(href, declined, dict(attendees.list())[href])
    item, _ = organizers.get(href)
    assert partstats(item) == {"colleague@example.org": "DECLINED", "alice@example.com": "NEEDS-ACTION"}
    assert essence(item)[None]["summary"] == "Joint visit"


def test_an_upload_resolves_attendees_and_is_audited(store: CrmCalendarStore, session: Session,
                                                    rep: TestUser) -> None:
    alice = Contact(id=uuid.uuid4(), last_name="Buyer", full_name="Alice Buyer", email_address1="alice@example.com",
                    owning_user_id=rep.id, owning_business_unit_id=rep.business_unit_id)
    session.add(alice)
    href, _ = store.upload(event_item(attendees=("alice@example.com", "bob@example.net")))
    record = session.get(Activity, uuid.UUID(href))
    assert record is not None and record.owning_user_id == rep.id
    assert {(p.participation, p.party_type, p.party_id) for p in record.parties} == {
        (7, "user", rep.id), (5, "contact", alice.id), (5, None, None)}
    session.flush()
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.record_id == record.id, AuditEntry.operation == "create")) == 1


def test_a_single_event_turned_into_a_series_is_refused_and_changes_nothing(store: CrmCalendarStore) -> None:
    item = event_item(summary="Once")
    href, etag = store.upload(item)
    with pytest.raises(KindChanged):
        store.update(href, event_item(uid=item.uid, summary="Every week", rrule="FREQ=WEEKLY"), etag)
    got, got_etag = store.get(href)
    assert got_etag == etag and essence(got) == essence(item)
