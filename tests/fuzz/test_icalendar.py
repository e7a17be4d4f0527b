"""iCalendar: whatever a CalDAV server, an .ics feed or a meeting mail hands us, the feed is split into items or
refused as a whole with a calendar error (CalendarMissing, or TemporaryFailure "truncated"), each item is read
or reported as ItemBroken (which the sync quarantines in calendar_quarantine and goes on), a meeting mail's
part is a MeetingMessage or ItemBroken, and a series' expansion over a year ends (the deadline says so)."""

import datetime as dt

import pytest
from hypothesis import example, given

from calendar_sync.errors import CalendarError, CalendarMissing, ItemBroken, TemporaryFailure
from calendar_sync.items import CalendarItem
from calendar_sync.meetings.itip import parse, sequence_of, stamp_of
from calendar_sync.recurrence import expand
from calendar_sync.series import series_of
from calendar_sync.stores.ics import split_feed
from tests.fuzz.ical_strategies import SEEDS, mutated_calendar
from tests.fuzz.profiles import FUZZ

YEAR = (dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def _read_item(item: CalendarItem) -> None:
    """What the sync engine and the CRM store ask of an item; only ItemBroken may come out."""
    try:
        assert item.uid
        assert len(item.hash) == 64
        events = item.events
        if events:
            expand(series_of(events), *YEAR, include_cancelled=True)
    except ItemBroken:
        pass


def test_the_seeds_are_there() -> None:
    assert len(SEEDS) >= 80


@FUZZ
@given(mutated_calendar())
def test_a_feed_is_split_into_items_or_refused_with_a_calendar_error(raw: bytes) -> None:
    try:
        feed = split_feed(raw)
    except CalendarMissing:
        return
    except TemporaryFailure as exc:
        assert exc.reason == "truncated"  # noqa: PT017 - either outcome is the property
        return
    for item, etag in feed.items.values():
        assert etag == item.hash
        _read_item(CalendarItem(item.raw))  # as a CalDAV client receives it: its text
    assert all(isinstance(e, ItemBroken) and str(e) for e in feed.broken.values())


@FUZZ
@given(mutated_calendar())
def test_a_calendar_object_is_read_or_broken(raw: bytes) -> None:
    _read_item(CalendarItem(raw.decode("utf-8", errors="replace")))


@FUZZ
@given(mutated_calendar())
@example(  # found by this test: an unreadable DTSTAMP raised BrokenCalendarProperty from stamp_of
    b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTAMP:x\r\nDTSTART:20150905T090000Z\r\nDTEND:20150905T100000Z\r\n"
    b"UID:123\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
def test_a_meeting_mail_part_is_a_meeting_message_or_broken(raw: bytes) -> None:
    try:
        meeting = parse(raw, "REQUEST")
    except CalendarError as exc:
        assert isinstance(exc, ItemBroken)  # noqa: PT017 - either outcome is the property
        return
    assert meeting.method in {"REQUEST", "REPLY", "CANCEL"}
    # What applying it reads first; a failure past these is caught and quarantined by apply_meeting_mail.
    assert meeting.uid
    for event in meeting.events:
        sequence_of(event)
        stamp_of(event)


def _event(*lines: str, header: str = "") -> bytes:
    body = "\r\n".join(["BEGIN:VEVENT", "UID:found@fuzz", "DTSTAMP:20250101T000000Z", *lines, "END:VEVENT"])
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n{header}{body}\r\nEND:VCALENDAR\r\n".encode()


# What this fuzzing found, kept as plain examples: each hung or crashed the sync before its fix.
FOUND = [
    # dateutil walked every second/minute from DTSTART to the window, for minutes (recurrence._check_bounded)
    _event("DTSTART:20000101T090000Z", "RRULE:FREQ=SECONDLY"),
    _event("DTSTART:20000101T090000Z", "RRULE:FREQ=MINUTELY;INTERVAL=1"),
    _event("DTSTART:20000101T090000Z", "RRULE:FREQ=DAILY;INTERVAL=0"),  # never advances: endless
    _event("DTSTART:20000101T090000Z", "RRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31"),  # searched to the year 9999
    # OverflowError past the year 9999 (recurrence.expand)
    _event("DTSTART:99991231T230000Z", "DTEND:99991231T235959Z", "RRULE:FREQ=DAILY", "DURATION:P99999999W"),
    # AttributeError hashing an event whose RECURRENCE-ID is repeated (items._order)
    _event("DTSTART:20250101T090000Z", "RECURRENCE-ID:20250105T090000Z", "RECURRENCE-ID:20250106T090000Z"),
    # BrokenCalendarProperty (a ValueError) from a DTSTART icalendar cannot read, once X-WR-TIMEZONE rewrote
    # the event (Series.from_events)
    _event("DTSTART:2025010\xc2", "DTEND:20250101T090000Z", header="X-WR-TIMEZONE:Etc/GMT\r\n"),
    # AttributeError from icalendar on a misspelt VTIMEZONE ended split_feed (stores/ics.py)
    _event(
        "DTSTART;TZID=MyTimezone:20240303T080000",
        header="BEGIN:VTIMEZNNE\r\nTZID:MyTimezone\r\n"
        "BEGIN:STANDARD\r\nTZOFFSETFROM:+1000\r\nTZOFFSETTO:+1200\r\nDTSTART:20250102T090000Z\r\n"
        "END:STANDARD\r\nEND:VTIMEZONE\r\n",
    ),
]


@pytest.mark.parametrize("raw", FOUND)
def test_what_the_fuzzing_found_is_refused_as_broken_not_a_crash(raw: bytes) -> None:
    feed = split_feed(raw)
    for item, _ in feed.items.values():
        _read_item(CalendarItem(item.raw))
    _read_item(CalendarItem(raw.decode("utf-8", errors="replace")))
