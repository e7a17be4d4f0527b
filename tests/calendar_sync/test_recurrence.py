"""Occurrences as a user sees them in a calendar: which days, what time, which ones moved or were cancelled."""

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from calendar_sync.errors import ItemBroken
from calendar_sync.recurrence import Occurrence, Override, Series, expand
from calendar_sync.series import series_of

UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)
OUTLOOK = Path(__file__).parent.parent / "data" / "ics" / "outlook_windows_tzid_with_moved_and_cancelled.ics"


def starts(occurrences: list[Occurrence]) -> list[object]:
    return [o.start for o in occurrences]


def from_ics(text: str) -> Series:
    calendar = icalendar.Calendar.from_ical("BEGIN:VCALENDAR\nVERSION:2.0\n" + text.strip() + "\nEND:VCALENDAR\n")
    return series_of(calendar.walk("VEVENT"))


def test_daily_with_a_count_stops_after_that_many() -> None:
    series = Series(datetime(2025, 5, 1, 8, tzinfo=UTC), HOUR, "FREQ=DAILY;COUNT=3")
    got = expand(series, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
    assert starts(got) == [datetime(2025, 5, d, 8, tzinfo=UTC) for d in (1, 2, 3)]
    assert [o.end for o in got] == [datetime(2025, 5, d, 9, tzinfo=UTC) for d in (1, 2, 3)]


def test_weekly_on_two_days_until_an_end_date() -> None:
    series = from_ics("""
BEGIN:VEVENT
UID:w
DTSTART;TZID=Europe/Berlin:20250505T100000
DURATION:PT30M
RRULE:FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20250515T080000Z
END:VEVENT""")
    got = expand(series, date(2025, 1, 1), date(2026, 1, 1))
    assert [o.start.day for o in got] == [5, 8, 12, 15]  # UNTIL 08:00Z is 10:00 Berlin: the 15th is in


def test_monthly_by_weekday_second_tuesday_and_last_friday() -> None:
    start = datetime(2025, 1, 14, 9, tzinfo=BERLIN)
    second_tuesday = expand(Series(start, HOUR, "FREQ=MONTHLY;BYDAY=2TU"), date(2025, 1, 1), date(2025, 5, 1))
    assert [o.start.date() for o in second_tuesday] == [date(2025, 1, 14), date(2025, 2, 11), date(2025, 3, 11),
                                                         date(2025, 4, 8)]
    last_friday = expand(Series(datetime(2025, 1, 31, 9, tzinfo=BERLIN), HOUR, "FREQ=MONTHLY;BYDAY=-1FR"),
                         date(2025, 1, 1), date(2025, 4, 1))
    assert [o.start.date() for o in last_friday] == [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 28)]


def test_monthly_by_date_skips_months_without_that_day() -> None:
    series = Series(datetime(2025, 1, 31, 9, tzinfo=BERLIN), HOUR, "FREQ=MONTHLY;BYMONTHDAY=31")
    got = expand(series, date(2025, 1, 1), date(2025, 7, 1))
    assert [o.start.month for o in got] == [1, 3, 5]


def test_bysetpos_last_working_day_of_the_month() -> None:
    series = Series(datetime(2025, 1, 31, 17, tzinfo=BERLIN), HOUR,
                    "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1")
    got = expand(series, date(2025, 1, 1), date(2025, 4, 1))
    assert [o.start.date() for o in got] == [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31)]


def test_yearly_all_day_birthday() -> None:
    series = Series(date(2020, 2, 29), timedelta(days=1), "FREQ=YEARLY")
    got = expand(series, date(2020, 1, 1), date(2030, 1, 1))
    assert starts(got) == [date(2020, 2, 29), date(2024, 2, 29), date(2028, 2, 29)]
    assert got[0].end == date(2020, 3, 1)


def test_exdates_remove_and_rdates_add_occurrences() -> None:
    start = datetime(2025, 3, 3, 9, tzinfo=BERLIN)
    series = Series(start, HOUR, "FREQ=WEEKLY;COUNT=4", rdates=(datetime(2025, 3, 5, 15, tzinfo=BERLIN),),
                    exdates=(datetime(2025, 3, 10, 8, tzinfo=UTC),))  # 09:00 Berlin, given in UTC
    got = expand(series, date(2025, 3, 1), date(2025, 4, 1))
    assert [(o.start.day, o.start.hour) for o in got] == [(3, 9), (5, 15), (17, 9), (24, 9)]


def test_a_moved_occurrence_shows_at_its_new_time_once() -> None:
    start = datetime(2025, 3, 3, 9, tzinfo=BERLIN)
    original = start + timedelta(weeks=1)
    moved = Override(original + timedelta(days=1, hours=5), original + timedelta(days=1, hours=7), payload="x")
    series = Series(start, HOUR, "FREQ=WEEKLY;COUNT=3", overrides={original: moved})
    got = expand(series, date(2025, 3, 1), date(2025, 4, 1))
    assert starts(got) == [start, moved.start, start + timedelta(weeks=2)]
    assert got[1].is_exception and got[1].recurrence_id == original and got[1].payload == "x"
    assert got[1].end - got[1].start == timedelta(hours=2)


def test_an_occurrence_moved_into_the_window_from_outside_is_found() -> None:
    start = datetime(2025, 3, 3, 9, tzinfo=BERLIN)
    series = Series(start, HOUR, "FREQ=WEEKLY;COUNT=3",
                    overrides={start: Override(datetime(2025, 6, 2, 9, tzinfo=BERLIN), datetime(2025, 6, 2, 10,
                                                                                              tzinfo=BERLIN))})
    got = expand(series, date(2025, 6, 1), date(2025, 7, 1))
    assert [o.recurrence_id for o in got] == [start]


def test_a_cancelled_occurrence_is_left_out_unless_asked_for() -> None:
    series = series_of(icalendar.Calendar.from_ical(OUTLOOK.read_bytes()).walk("VEVENT"))
    shown = expand(series, date(2025, 1, 1), date(2025, 3, 1))
    # Mondays 6 Jan to 3 Feb 14:00: the 13th excluded, the 20th moved to Tuesday 21st, the 27th cancelled,
    # 3 Feb is past UNTIL (13:00Z = 14:00 Berlin is the last allowed start, and that is the 3rd: in).
    assert [(o.start.day, o.start.hour) for o in shown] == [(6, 14), (21, 16), (3, 14)]
    everything = expand(series, date(2025, 1, 1), date(2025, 3, 1), include_cancelled=True)
    assert [o.start.day for o in everything if o.cancelled] == [27]


def test_an_endless_series_expands_in_a_window_years_later() -> None:
    series = Series(datetime(2015, 1, 5, 9, tzinfo=BERLIN), HOUR, "FREQ=WEEKLY")
    got = expand(series, date(2031, 6, 1), date(2031, 6, 30))
    assert starts(got) == [datetime(2031, 6, d, 9, tzinfo=BERLIN) for d in (2, 9, 16, 23)]


def test_the_window_counts_overlap_not_just_start() -> None:
    series = Series(datetime(2025, 3, 3, 23, tzinfo=UTC), 2 * HOUR, "FREQ=DAILY;COUNT=2")
    got = expand(series, datetime(2025, 3, 4, 0, 30, tzinfo=UTC), datetime(2025, 3, 4, 1, tzinfo=UTC))
    assert starts(got) == [datetime(2025, 3, 3, 23, tzinfo=UTC)]


def test_floating_times_stay_on_the_wall_clock() -> None:
    series = from_ics("""
BEGIN:VEVENT
UID:f
DTSTART:20250328T073000
DTEND:20250328T080000
RRULE:FREQ=DAILY;COUNT=3
END:VEVENT""")
    got = expand(series, datetime(2025, 3, 1), datetime(2025, 4, 1))
    assert starts(got) == [datetime(2025, 3, d, 7, 30) for d in (28, 29, 30)]
    assert all(o.start.tzinfo is None for o in got)


def test_all_day_events_stay_dates() -> None:
    series = from_ics("""
BEGIN:VEVENT
UID:a
DTSTART;VALUE=DATE:20250101
RRULE:FREQ=WEEKLY;UNTIL=20250115
EXDATE;VALUE=DATE:20250108
END:VEVENT""")
    got = expand(series, date(2025, 1, 1), date(2025, 2, 1))
    assert [(o.start, o.end) for o in got] == [(date(2025, 1, 1), date(2025, 1, 2)),
                                               (date(2025, 1, 15), date(2025, 1, 16))]


def test_this_and_future_moves_the_later_occurrences() -> None:
    series = from_ics("""
BEGIN:VEVENT
UID:t
DTSTART:20250303T090000Z
DTEND:20250303T100000Z
RRULE:FREQ=WEEKLY;COUNT=4
END:VEVENT
BEGIN:VEVENT
UID:t
RECURRENCE-ID;RANGE=THISANDFUTURE:20250310T090000Z
DTSTART:20250310T110000Z
DTEND:20250310T120000Z
END:VEVENT""")
    got = expand(series, date(2025, 3, 1), date(2025, 4, 1))
    assert [(o.start.day, o.start.hour) for o in got] == [(3, 9), (10, 11), (17, 11), (24, 11)]


def test_an_unreadable_rule_is_item_broken() -> None:
    with pytest.raises(ItemBroken):
        expand(Series(datetime(2025, 1, 1, tzinfo=UTC), HOUR, "FREQ=WEEKLY;UNTL=2025"), date(2025, 1, 1),
               date(2026, 1, 1))
