"""Calendar objects into appointments and back: what the CRM keeps of an event, a series and its exceptions,
its people and its regarding record, and that writing it back keeps what the CRM does not model."""

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from textwrap import dedent

import icalendar
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from calendar_sync.appointments.events import as_list
from calendar_sync.appointments.from_ical import write_item
from calendar_sync.appointments.relevance import concerns_crm
from calendar_sync.appointments.to_ical import PRODID, render
from calendar_sync.items import CalendarItem
from crm_core.models import Account, Appointment, Contact, RecurringAppointment
from crm_core.models.calendars import Calendar
from tests.calendar_sync.store_contract import essence, event_item
from tests.org import OrgBuilder, TestUser


def ics(body: str) -> CalendarItem:
    """A VCALENDAR around `body` (VEVENTs), lines as written here, CRLF as iCalendar wants."""
    text = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Example//Cal//EN\n" + dedent(body).strip() + "\nEND:VCALENDAR\n"
    return CalendarItem(text.replace("\n", "\r\n"))


@pytest.fixture
def rep(org: OrgBuilder) -> TestUser:
    return org.user("rep@example.org", ["Salesperson"])


@pytest.fixture
def session(session_factory: sessionmaker[Session], rep: TestUser) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def calendar(session: Session, rep: TestUser) -> Calendar:
    cal = Calendar(id=uuid.uuid4(), name="Rep's calendar", kind="caldav", url="http://example.invalid/cal/",
                   user_id=rep.id, business_unit_id=rep.business_unit_id)
    session.add(cal)
    session.flush()
    return cal


def contact(session: Session, rep: TestUser, email: str, name: str = "Alice Buyer") -> Contact:
    record = Contact(id=uuid.uuid4(), first_name=name.split()[0], last_name=name.split()[-1], full_name=name,
                     email_address1=email, owning_user_id=rep.id, owning_business_unit_id=rep.business_unit_id)
    session.add(record)
    session.flush()
    return record


def parties(record: Appointment | RecurringAppointment) -> set[tuple[int, str | None, str | None]]:
    return {(p.participation, p.party_type, p.address_used) for p in record.parties}


SINGLE = """
    BEGIN:VEVENT
    UID:single-1@example.com
    DTSTAMP:20300101T120000Z
    SEQUENCE:2
    DTSTART:20300304T090000Z
    DTEND:20300304T103000Z
    SUMMARY:Contract review
    DESCRIPTION:Bring the redlines
    LOCATION:Room 4
    ORGANIZER;CN=Rep:mailto:rep@example.org
    ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;CN=Alice:mailto:Alice@Example.com
    ATTENDEE;ROLE=OPT-PARTICIPANT;PARTSTAT=NEEDS-ACTION:mailto:stranger@example.net
    X-MAILCRM-REGARDING:{regarding}
    X-CONFERENCE-URL:https://meet.example.com/abc
    BEGIN:VALARM
    ACTION:DISPLAY
    DESCRIPTION:Reminder
    TRIGGER:-PT15M
    END:VALARM
    END:VEVENT
"""


def test_a_single_event_becomes_an_appointment_with_its_people_resolved(session: Session, calendar: Calendar,
                                                                        rep: TestUser) -> None:
    alice = contact(session, rep, "alice@example.com")
    account = Account(id=uuid.uuid4(), name="Buyer Ltd", owning_user_id=rep.id,
                      owning_business_unit_id=rep.business_unit_id)
    session.add(account)
    session.flush()
    item = ics(SINGLE.format(regarding=f"account:{account.id}"))
    record = write_item(session, calendar, item)
    assert isinstance(record, Appointment) and record.instance_type_code == 0
    assert (record.subject, record.description, record.location) == ("Contract review", "Bring the redlines",
                                                                     "Room 4")
    assert record.scheduled_start == datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
    assert record.scheduled_end == datetime(2030, 3, 4, 10, 30, tzinfo=UTC)
    assert record.occurred_on == record.scheduled_start
    assert (record.statecode, record.statuscode) == (3, 5)
    assert record.global_object_id == "single-1@example.com"
    assert (record.ical_sequence, record.ical_dtstamp) == (2, datetime(2030, 1, 1, 12, tzinfo=UTC))
    assert record.owning_user_id == rep.id and record.ical_source == item.raw
    assert (record.regarding_type, record.regarding_id) == ("account", account.id)
    assert parties(record) == {(7, "user", "rep@example.org"), (5, "contact", "alice@example.com"),
                               (6, None, "stranger@example.net")}
    assert {p.party_id for p in record.parties if p.party_type == "contact"} == {alice.id}


def test_round_trip_keeps_the_essence_the_answers_and_what_the_crm_does_not_model(
        session: Session, calendar: Calendar, rep: TestUser) -> None:
    account = Account(id=uuid.uuid4(), name="Buyer Ltd", owning_user_id=rep.id,
                      owning_business_unit_id=rep.business_unit_id)
    session.add(account)
    item = ics(SINGLE.format(regarding=f"account:{account.id}"))
    back = render(session, write_item(session, calendar, item))
    assert essence(back) == essence(item)
    assert back.hash == item.hash  # nothing changed in the CRM: nothing changes in the event
    [event] = back.events
    assert str(event["X-CONFERENCE-URL"]) == "https://meet.example.com/abc"
    assert [a["TRIGGER"].dt.total_seconds() for a in event.walk("VALARM")] == [-900]
    assert {str(a): a.params["PARTSTAT"] for a in event["ATTENDEE"]}["mailto:Alice@Example.com"] == "ACCEPTED"


def test_a_change_in_the_crm_is_written_over_the_source(session: Session, calendar: Calendar) -> None:
    item = ics(SINGLE.format(regarding="account:not-a-uuid"))
    record = write_item(session, calendar, item)
    assert record.regarding_type is None  # a malformed regarding is ignored
    record.subject, record.location = "Contract review (moved)", "Room 9"
    record.scheduled_start = datetime(2030, 3, 5, 9, 0, tzinfo=UTC)
    record.scheduled_end = datetime(2030, 3, 5, 10, 0, tzinfo=UTC)
    record.statecode, record.statuscode = 0, 2
    [event] = render(session, record).events
    assert str(event["SUMMARY"]) == "Contract review (moved)" and str(event["LOCATION"]) == "Room 9"
    assert event["DTSTART"].dt == datetime(2030, 3, 5, 9, 0, tzinfo=UTC)
    assert str(event["STATUS"]) == "TENTATIVE"
    assert int(event["SEQUENCE"]) == 3  # a new time is a change attendees must take
    assert str(event["X-CONFERENCE-URL"]) == "https://meet.example.com/abc"


def test_an_all_day_event_keeps_its_days(session: Session, calendar: Calendar) -> None:
    item = ics("""
        BEGIN:VEVENT
        UID:allday@example.com
        DTSTAMP:20300101T120000Z
        DTSTART;VALUE=DATE:20300304
        DTEND;VALUE=DATE:20300306
        SUMMARY:Trade fair
        TRANSP:TRANSPARENT
        END:VEVENT
    """)
    record = write_item(session, calendar, item)
    assert record.is_all_day and (record.statecode, record.statuscode) == (0, 1)
    assert record.scheduled_start == datetime(2030, 3, 4, tzinfo=UTC)
    assert record.scheduled_end == datetime(2030, 3, 6, tzinfo=UTC)
    record.scheduled_end = datetime(2030, 3, 7, tzinfo=UTC)
    [event] = render(session, record).events
    assert (event["DTSTART"].dt, event["DTEND"].dt) == (date(2030, 3, 4), date(2030, 3, 7))


def test_a_floating_event_keeps_its_wall_time(session: Session, calendar: Calendar) -> None:
    item = ics("""
        BEGIN:VEVENT
        UID:floating@example.com
        DTSTAMP:20300101T120000Z
        DTSTART:20300304T090000
        DTEND:20300304T100000
        SUMMARY:Morning run
        END:VEVENT
    """)
    record = write_item(session, calendar, item)
    assert record.is_floating and record.time_zone is None
    assert record.scheduled_start == datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
    record.scheduled_start = datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
    [event] = render(session, record).events
    assert event["DTSTART"].dt == datetime(2030, 3, 4, 8, 0)  # naive: still floating


def test_a_windows_zone_is_stored_as_iana_and_written_back_under_its_own_name(session: Session,
                                                                              calendar: Calendar) -> None:
    item = ics("""
        BEGIN:VEVENT
        UID:outlook@example.com
        DTSTAMP:20300101T120000Z
        DTSTART;TZID=W. Europe Standard Time:20300304T090000
        DTEND;TZID=W. Europe Standard Time:20300304T100000
        SUMMARY:Outlook meeting
        END:VEVENT
    """)
    record = write_item(session, calendar, item)
    assert record.time_zone == "Europe/Berlin"
    assert record.scheduled_start == datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
    record.scheduled_start = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
    back = render(session, record)
    [event] = back.events
    assert event["DTSTART"].params["TZID"] == "W. Europe Standard Time"
    assert event["DTSTART"].dt.replace(tzinfo=None) == datetime(2030, 3, 4, 10, 0)
    assert "W. Europe Standard Time" in {str(tz["TZID"]) for tz in back.calendar.walk("VTIMEZONE")}


SERIES = """
    BEGIN:VEVENT
    UID:series-1@example.com
    DTSTAMP:20300101T120000Z
    DTSTART;TZID=Europe/Berlin:20300304T090000
    DTEND;TZID=Europe/Berlin:20300304T093000
    RRULE:FREQ=WEEKLY;COUNT=6
    RDATE;TZID=Europe/Berlin:20300501T090000
    EXDATE;TZID=Europe/Berlin:20300311T090000
    SUMMARY:Stand-up
    ORGANIZER:mailto:rep@example.org
    ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:alice@example.com
    END:VEVENT
    BEGIN:VEVENT
    UID:series-1@example.com
    DTSTAMP:20300101T120000Z
    RECURRENCE-ID;TZID=Europe/Berlin:20300318T090000
    DTSTART;TZID=Europe/Berlin:20300318T140000
    DTEND;TZID=Europe/Berlin:20300318T143000
    SUMMARY:Stand-up (afternoon)
    ORGANIZER:mailto:rep@example.org
    ATTENDEE;ROLE=OPT-PARTICIPANT:mailto:alice@example.com
    END:VEVENT
    BEGIN:VEVENT
    UID:series-1@example.com
    DTSTAMP:20300101T120000Z
    RECURRENCE-ID;TZID=Europe/Berlin:20300325T090000
    DTSTART;TZID=Europe/Berlin:20300325T090000
    DTEND;TZID=Europe/Berlin:20300325T093000
    SUMMARY:Stand-up
    STATUS:CANCELLED
    END:VEVENT
"""


def test_a_series_becomes_a_master_with_its_exceptions(session: Session, calendar: Calendar) -> None:
    master = write_item(session, calendar, ics(SERIES))
    assert isinstance(master, RecurringAppointment) and master.instance_type_code == 1
    assert master.rrule == "FREQ=WEEKLY;COUNT=6" and master.time_zone == "Europe/Berlin"
    assert master.rdates == ["2030-05-01T07:00:00+00:00"]
    # the EXDATE and the cancelled occurrence (an exclusion, not a row)
    assert master.exdates == ["2030-03-11T08:00:00+00:00", "2030-03-25T08:00:00+00:00"]
    assert (master.pattern_start, master.pattern_end) == (date(2030, 3, 4), date(2030, 5, 1))
    assert master.scheduled_start == datetime(2030, 3, 4, 8, 0, tzinfo=UTC)
    [moved] = session.scalars(select(Appointment).where(Appointment.series_id == master.id)).all()
    assert (moved.instance_type_code, moved.subject) == (3, "Stand-up (afternoon)")
    assert moved.recurrence_id == datetime(2030, 3, 18, 8, 0, tzinfo=UTC)
    assert moved.scheduled_start == datetime(2030, 3, 18, 13, 0, tzinfo=UTC)
    assert {(p.participation, p.address_used) for p in moved.parties} == {(7, "rep@example.org"),
                                                                          (6, "alice@example.com")}


def test_a_series_round_trips_and_its_exceptions_follow_the_newer_item(session: Session,
                                                                       calendar: Calendar) -> None:
    item = ics(SERIES)
    master = write_item(session, calendar, item)
    back = render(session, master)
    assert essence(back) == essence(item)
    # Nothing changed but the VTIMEZONE every TZID must have (RFC 5545 3.6.5), which the source left out.
    completed = icalendar.Calendar.from_ical(item.raw)
    completed.add_missing_timezones()
    assert back.hash == CalendarItem.from_calendar(completed).hash
    # A newer copy: the afternoon occurrence is back to normal, another one is moved.
    newer = ics(SERIES.replace("RECURRENCE-ID;TZID=Europe/Berlin:20300318T090000",
                               "RECURRENCE-ID;TZID=Europe/Berlin:20300401T090000")
                .replace("20300318T14", "20300401T14"))
    same = write_item(session, calendar, newer, master)
    assert same.id == master.id
    [moved] = session.scalars(select(Appointment).where(Appointment.series_id == master.id)).all()
    assert moved.recurrence_id == datetime(2030, 4, 1, 7, 0, tzinfo=UTC)
    assert essence(render(session, master)) == essence(newer)


def test_an_exception_changed_in_the_crm_is_written_as_its_override(session: Session, calendar: Calendar) -> None:
    master = write_item(session, calendar, ics(SERIES))
    [moved] = session.scalars(select(Appointment).where(Appointment.series_id == master.id)).all()
    moved.location = "Kitchen"
    master.exdates = [*master.exdates, "2030-04-08T07:00:00+00:00"]
    back = render(session, master)
    overrides = {e["RECURRENCE-ID"].dt.astimezone(UTC): e for e in back.events if "RECURRENCE-ID" in e}
    assert str(overrides[datetime(2030, 3, 18, 8, 0, tzinfo=UTC)]["LOCATION"]) == "Kitchen"
    [main] = [e for e in back.events if "RECURRENCE-ID" not in e]
    excluded = {v.dt.astimezone(UTC) for prop in as_list(main.get("EXDATE")) for v in prop.dts}
    assert excluded == {datetime(2030, 3, 11, 8, 0, tzinfo=UTC), datetime(2030, 4, 8, 7, 0, tzinfo=UTC)}
    # the cancelled occurrence stays as the source wrote it
    assert str(overrides[datetime(2030, 3, 25, 8, 0, tzinfo=UTC)]["STATUS"]) == "CANCELLED"


def test_a_crm_born_appointment_is_built_fresh_with_a_uid_it_keeps(session: Session, calendar: Calendar,
                                                                   rep: TestUser) -> None:
    alice = contact(session, rep, "alice@example.com")
    record = write_item(session, calendar, event_item(uid="tmp@example.com", attendees=()))
    record.ical_source, record.global_object_id = None, None
    record.regarding_type, record.regarding_id = "contact", alice.id
    record.parties[0].address_used = None  # the organizer as a record only: its address comes from the user
    record.time_zone = "Europe/Paris"
    item = render(session, record)
    assert record.global_object_id == f"{record.id}@mailcrm" and item.uid == record.global_object_id
    assert str(item.calendar["PRODID"]) == PRODID
    [event] = item.events
    assert str(event["X-MAILCRM-REGARDING"]) == f"contact:{alice.id}"
    assert str(event["ORGANIZER"]) == "mailto:rep@example.org"
    assert event["DTSTART"].params["TZID"] == "Europe/Paris"
    assert "Europe/Paris" in {str(tz["TZID"]) for tz in item.calendar.walk("VTIMEZONE")}
    again = write_item(session, calendar, item, record)
    assert (again.regarding_type, again.regarding_id) == ("contact", alice.id)


def test_relevance_follows_the_calendars_filter(session: Session, calendar: Calendar, rep: TestUser) -> None:
    stranger = event_item(attendees=("nobody@example.net",))
    with_contact = event_item(attendees=("alice@example.com",))
    contact(session, rep, "alice@example.com")
    tracked = icalendar.Calendar.from_ical(stranger.raw)
    tracked.walk("VEVENT")[0].add("CATEGORIES", ["Work", calendar.track_category])
    assert not concerns_crm(session, calendar, stranger)
    assert concerns_crm(session, calendar, with_contact)
    assert concerns_crm(session, calendar, CalendarItem.from_calendar(tracked))
    calendar.incoming_filter = "tracked"
    assert not concerns_crm(session, calendar, with_contact)
    assert concerns_crm(session, calendar, CalendarItem.from_calendar(tracked))
    marked = icalendar.Calendar.from_ical(stranger.raw)
    marked.walk("VEVENT")[0].add("X-MAILCRM-ACTIVITY", str(uuid.uuid4()))
    assert concerns_crm(session, calendar, CalendarItem.from_calendar(marked))
