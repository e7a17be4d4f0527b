"""Business-time arithmetic with fixed moments: weekends, closures, breaks, starts outside working hours,
daylight-saving changes in Paris and New York (wall-clock hours hold), around the clock, zero minutes; and the
same answers through GET /business-calendars/{id}/business-time."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_core.services.business_hours import BusinessClock, BusinessTimeError, add_minutes, minutes_between
from tests.api import created, problem
from tests.org import TestUser

PARIS, NEW_YORK = ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York")
NINE_TO_FIVE = [(d, 9 * 60, 17 * 60) for d in range(5)]
WITH_LUNCH = [(d, s, e) for d in range(5) for s, e in ((9 * 60, 12 * 60), (13 * 60, 17 * 60))]


def _clock(zone: str = "Europe/Paris", hours=NINE_TO_FIVE, closures=()) -> BusinessClock:
    return BusinessClock.build(zone, hours, closures)


def _local(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def test_friday_afternoon_runs_over_the_weekend() -> None:
    clock = _clock()
    friday_4pm = _local(PARIS, 2025, 1, 10, 16, 0)
    assert add_minutes(clock, friday_4pm, 60) == _local(PARIS, 2025, 1, 10, 17, 0)  # ends exactly at closing
    assert add_minutes(clock, friday_4pm, 120) == _local(PARIS, 2025, 1, 13, 10, 0)  # Monday 10:00
    assert minutes_between(clock, friday_4pm, _local(PARIS, 2025, 1, 13, 10, 0)) == 120
    # The answer is in UTC.
    assert add_minutes(clock, friday_4pm, 120).tzinfo == UTC


def test_a_start_outside_working_hours_waits_for_the_opening() -> None:
    clock = _clock()
    saturday = _local(PARIS, 2025, 1, 11, 11, 0)
    assert add_minutes(clock, saturday, 30) == _local(PARIS, 2025, 1, 13, 9, 30)
    early = _local(PARIS, 2025, 1, 14, 6, 15)
    assert add_minutes(clock, early, 8 * 60) == _local(PARIS, 2025, 1, 14, 17, 0)
    late = _local(PARIS, 2025, 1, 14, 22, 0)
    assert add_minutes(clock, late, 1) == _local(PARIS, 2025, 1, 15, 9, 1)
    assert minutes_between(clock, saturday, _local(PARIS, 2025, 1, 12, 23, 0)) == 0


def test_breaks_are_not_working_time() -> None:
    clock = _clock(hours=WITH_LUNCH)
    assert add_minutes(clock, _local(PARIS, 2025, 1, 13, 11, 30), 60) == _local(PARIS, 2025, 1, 13, 13, 30)
    assert add_minutes(clock, _local(PARIS, 2025, 1, 13, 12, 15), 1) == _local(PARIS, 2025, 1, 13, 13, 1)
    assert minutes_between(clock, _local(PARIS, 2025, 1, 13, 8), _local(PARIS, 2025, 1, 13, 18)) == 7 * 60


def test_closed_days_are_skipped_including_ranges() -> None:
    christmas = [(date(2024, 12, 25), date(2024, 12, 26))]
    clock = _clock(closures=christmas)
    tuesday_4pm = _local(PARIS, 2024, 12, 24, 16, 0)
    assert add_minutes(clock, tuesday_4pm, 90) == _local(PARIS, 2024, 12, 27, 9, 30)
    assert minutes_between(clock, tuesday_4pm, _local(PARIS, 2024, 12, 27, 9, 30)) == 90
    # Without the closure it is Wednesday.
    assert add_minutes(_clock(), tuesday_4pm, 90) == _local(PARIS, 2024, 12, 25, 9, 30)


def test_zero_minutes_is_the_start_itself() -> None:
    clock = _clock()
    sunday = _local(PARIS, 2025, 1, 12, 3, 7)
    assert add_minutes(clock, sunday, 0) == sunday
    assert minutes_between(clock, sunday, sunday) == 0
    assert minutes_between(clock, _local(PARIS, 2025, 1, 14, 12), _local(PARIS, 2025, 1, 13, 12)) == 0


def test_no_calendar_counts_around_the_clock() -> None:
    start = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)
    assert add_minutes(None, start, 3 * 24 * 60 + 5) == start + timedelta(days=3, minutes=5)
    assert minutes_between(None, start, start + timedelta(hours=50, seconds=59)) == 50 * 60


@pytest.mark.parametrize(("zone", "friday", "monday"), [
    # Spring: the clocks go forward on the Sunday (Paris 30 March 2025, New York 9 March 2025).
    (PARIS, (2025, 3, 28), (2025, 3, 31)),
    (NEW_YORK, (2025, 3, 7), (2025, 3, 10)),
    # Autumn: back (Paris 26 October 2025, New York 2 November 2025).
    (PARIS, (2025, 10, 24), (2025, 10, 27)),
    (NEW_YORK, (2025, 10, 31), (2025, 11, 3)),
])
def test_wall_clock_hours_hold_across_daylight_saving_changes(zone: ZoneInfo, friday: tuple, monday: tuple) -> None:
    clock = _clock(zone.key)
    start = _local(zone, *friday, 16, 0)
    due = add_minutes(clock, start, 120)
    assert due == _local(zone, *monday, 10, 0)
    assert due.astimezone(zone).hour == 10  # 10 o'clock local, whatever the offset became
    assert minutes_between(clock, start, due) == 120
    assert start.utcoffset() != due.astimezone(zone).utcoffset()


@pytest.mark.parametrize(("zone", "day", "hours"), [
    (PARIS, (2025, 3, 30), 23), (PARIS, (2025, 10, 26), 25),
    (NEW_YORK, (2025, 3, 9), 23), (NEW_YORK, (2025, 11, 2), 25),
])
def test_a_day_open_around_the_clock_lasts_as_long_as_it_really_does(zone: ZoneInfo, day: tuple, hours: int) -> None:
    clock = _clock(zone.key, hours=[(d, 0, 24 * 60) for d in range(7)])
    midnight = _local(zone, *day, 0, 0)
    next_midnight = datetime.combine(midnight.date() + timedelta(days=1), midnight.time(), tzinfo=zone)
    assert minutes_between(clock, midnight, next_midnight) == hours * 60
    assert add_minutes(clock, midnight, hours * 60) == next_midnight
    # Around the clock, business time is elapsed time.
    assert add_minutes(clock, midnight, 1000) == midnight.astimezone(UTC) + timedelta(minutes=1000)


def test_working_hours_inside_the_skipped_hour_do_not_exist() -> None:
    # 01:00-02:30 on the Sunday Paris skips from 02:00 to 03:00: one hour of work that night.
    clock = _clock(hours=[(6, 60, 150), (6, 180, 240)])
    sunday = _local(PARIS, 2025, 3, 30, 0, 0)
    assert minutes_between(clock, sunday, _local(PARIS, 2025, 3, 30, 5, 0)) == 60 + 60
    assert add_minutes(clock, sunday, 61) == _local(PARIS, 2025, 3, 30, 3, 1)


def test_large_counts_skip_weeks_and_agree_with_a_year_of_days() -> None:
    clock = _clock(closures=[(date(2025, 5, 1), date(2025, 5, 1)), (date(2025, 12, 24), date(2026, 1, 1))])
    start = _local(PARIS, 2025, 1, 6, 9, 0)  # a Monday
    year_end = _local(PARIS, 2026, 1, 5, 9, 0)
    # 52 weeks of 5 days, less 1 May (a Thursday) and 24 Dec - 1 Jan (7 working days).
    expected = (52 * 5 - 1 - 7) * 8 * 60
    assert minutes_between(clock, start, year_end) == expected
    assert add_minutes(clock, start, expected) == _local(PARIS, 2026, 1, 2, 17, 0)
    far = add_minutes(clock, start, 2_000_000)
    assert minutes_between(clock, start, far) == 2_000_000


def test_a_week_without_working_time_is_refused() -> None:
    with pytest.raises(BusinessTimeError, match="no working time"):
        BusinessClock.build("Europe/Paris", [])
    with pytest.raises(ValueError, match="aware"):
        add_minutes(_clock(), datetime(2025, 1, 1, 9), 5)  # a naive datetime: refused


@settings(max_examples=150, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    minutes=st.integers(min_value=0, max_value=200_000),
    zone=st.sampled_from(["Europe/Paris", "America/New_York", "UTC"]),
    lunch=st.booleans(),
)
def test_minutes_between_undoes_add_minutes(start: datetime, minutes: int, zone: str, lunch: bool) -> None:
    clock = _clock(zone, hours=WITH_LUNCH if lunch else [(d, 0, 24 * 60) for d in (0, 2, 3, 5)],
                   closures=[(date(2025, 7, 14), date(2025, 8, 15))])
    due = add_minutes(clock, start, minutes)
    assert due >= start
    assert minutes_between(clock, start, due) == minutes


# --- through the API ----------------------------------------------------------------------------------
def test_a_calendar_answers_when_something_is_due(client, admin: TestUser) -> None:
    holidays = created(client, admin, "business-calendars", {
        "name": "French holidays", "kind": "holiday_schedule", "time_zone": "Europe/Paris",
        "closures": [{"name": "Christmas", "starts_on": "2024-12-25", "ends_on": "2024-12-26"}]})
    calendar = created(client, admin, "business-calendars", {
        "name": "Paris office", "time_zone": "Europe/Paris", "holiday_calendar_id": holidays["id"],
        "hours": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]})
    url = f"/api/v1/business-calendars/{calendar['id']}/business-time"
    r = client.get(url, params={"start": "2024-12-24T16:00:00+01:00", "minutes": 90}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["due"]) == _local(PARIS, 2024, 12, 27, 9, 30)
    r = client.get(url, params={"start": "2024-12-24T16:00:00+01:00", "end": "2024-12-27T09:30:00+01:00"},
                   headers=admin.headers)
    assert r.json()["minutes"] == 90
    problem(client.get(url, params={"start": "2024-12-24T16:00:00"}, headers=admin.headers), 422, "start")
    problem(client.get(url, params={"start": "2024-12-24T16:00:00Z"}, headers=admin.headers), 422, "minutes")
    problem(client.get(f"/api/v1/business-calendars/{holidays['id']}/business-time",
                       params={"start": "2024-12-24T16:00:00Z", "minutes": 5}, headers=admin.headers), 409)


def test_replacing_hours_and_closures_shows_what_went_in_the_audit(client, admin: TestUser) -> None:
    calendar = created(client, admin, "business-calendars", {
        "name": "Office", "time_zone": "Europe/Paris", "hours": [{"weekday": 0, "start": "09:00", "end": "17:00"}],
        "closures": [{"name": "Christmas", "starts_on": "2026-12-25", "ends_on": "2026-12-25"}]})
    r = client.patch(f"/api/v1/business-calendars/{calendar['id']}", headers=admin.headers, json={
        "hours": [{"weekday": 1, "start": "10:00", "end": "16:00"}], "closures": []})
    assert r.status_code == 200, r.text
    trail = client.get(f"/api/v1/business-calendars/{calendar['id']}/audit", headers=admin.headers).json()
    changes = trail[0]["changes"]
    weekdays = [v for k, v in changes.items() if k.startswith("hours.") and k.endswith(".weekday")]
    assert sorted(weekdays, key=str) == sorted([[0, None], [None, 1]], key=str)
    assert [v for k, v in changes.items() if k.startswith("closure.") and k.endswith(".name")] == [["Christmas", None]]
