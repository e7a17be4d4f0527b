"""A meeting at 09:00 stays at 09:00 on the attendee's wall clock when the clocks change, whichever way its
zone is named: IANA, Windows (Outlook, Exchange), or a VTIMEZONE with a made-up TZID."""

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from calendar_sync.recurrence import Series, expand
from calendar_sync.series import series_of
from calendar_sync.timezones import UnknownTimeZone, iana_name, windows_name, zone

UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
DATA = Path(__file__).parent.parent / "data" / "ics"


def weekly(tzid: str, first: str, weeks: int) -> Series:
    text = (f"BEGIN:VCALENDAR\nVERSION:2.0\nBEGIN:VEVENT\nUID:tz\nDTSTART;TZID={tzid}:{first}\n"
            f"DURATION:PT1H\nRRULE:FREQ=WEEKLY;COUNT={weeks}\nEND:VEVENT\nEND:VCALENDAR\n")
    return series_of(icalendar.Calendar.from_ical(text).walk("VEVENT"))


def test_berlin_weekly_stays_at_nine_through_march_and_october() -> None:
    series = weekly("Europe/Berlin", "20250317T090000", 34)  # 17 Mar to early Nov 2025
    got = expand(series, date(2025, 1, 1), date(2026, 1, 1))
    assert {(o.start.hour, o.start.minute) for o in got} == {(9, 0)}
    utc_hours = [o.start.astimezone(UTC).hour for o in got]
    # 08:00 UTC in winter time, 07:00 UTC from 30 March, back to 08:00 UTC from 26 October.
    assert utc_hours[:2] == [8, 8] and utc_hours[2] == 7
    assert next(o.start.date() for o in got if o.start.astimezone(UTC).hour == 7) == date(2025, 3, 31)
    assert [o.start.date() for o in got if o.start.astimezone(UTC).hour == 8][-1] == date(2025, 11, 3)
    assert got[-3].start.date() == date(2025, 10, 20) and got[-3].start.astimezone(UTC).hour == 7
    assert all(o.end - o.start == timedelta(hours=1) for o in got)


def test_new_york_changes_on_its_own_dates() -> None:
    series = weekly("America/New_York", "20250303T090000", 3)  # US clocks change on 9 March 2025
    got = expand(series, date(2025, 3, 1), date(2025, 4, 1))
    assert [o.start.hour for o in got] == [9, 9, 9]
    assert [o.start.astimezone(UTC).hour for o in got] == [14, 13, 13]


def test_a_windows_zone_name_is_the_same_zone() -> None:
    windows = expand(weekly("W. Europe Standard Time", "20250324T090000", 2), date(2025, 3, 1), date(2025, 5, 1))
    iana = expand(weekly("Europe/Berlin", "20250324T090000", 2), date(2025, 3, 1), date(2025, 5, 1))
    assert [o.start for o in windows] == [o.start for o in iana]
    assert [o.start.astimezone(UTC).hour for o in windows] == [8, 7]


def test_a_made_up_tzid_defined_by_the_files_vtimezone() -> None:
    calendar = icalendar.Calendar.from_ical((DATA / "custom_vtimezone_made_up_tzid.ics").read_bytes())
    got = expand(series_of(calendar.walk("VEVENT")), date(2025, 3, 1), date(2025, 5, 1))
    assert [o.start.hour for o in got] == [9, 9, 9, 9]
    assert [o.start.astimezone(UTC).hour for o in got] == [8, 8, 7, 7]  # the file's zone changes on 30 March


def test_until_in_utc_against_a_local_start_keeps_the_last_day() -> None:
    # RFC 5545: with a zoned DTSTART, UNTIL is UTC. 07:00Z on 31 March is 09:00 in Berlin summer time.
    series = Series(datetime(2025, 3, 24, 9, tzinfo=BERLIN), timedelta(hours=1), "FREQ=WEEKLY;UNTIL=20250331T070000Z")
    assert [o.start.day for o in expand(series, date(2025, 3, 1), date(2025, 5, 1))] == [24, 31]


def test_a_time_that_does_not_exist_on_the_day_clocks_go_forward() -> None:
    series = Series(datetime(2025, 3, 29, 2, 30, tzinfo=BERLIN), timedelta(minutes=30), "FREQ=DAILY;COUNT=2")
    got = expand(series, date(2025, 3, 1), date(2025, 4, 1))
    # 02:30 on 30 March does not exist in Berlin; RFC 5545 reads it with the offset before the gap (03:30 CEST).
    assert got[1].start.astimezone(UTC) == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(("name", "iana"), [("W. Europe Standard Time", "Europe/Berlin"),
                                            ("Eastern Standard Time", "America/New_York"),
                                            ("Europe/Berlin", "Europe/Berlin"), ("UTC", "UTC")])
def test_zone_names_translate(name: str, iana: str) -> None:
    assert iana_name(name) == iana
    assert zone(name).key == iana


def test_windows_name_for_exchange_and_an_unknown_zone() -> None:
    assert windows_name("Europe/Berlin") == "W. Europe Standard Time"
    with pytest.raises(UnknownTimeZone):
        zone("Contoso Head Office Time")
