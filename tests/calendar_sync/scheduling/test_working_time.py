"""When a resource works: weekly hours with breaks in its own zone, business closures, time off and extra hours,
and the days the clocks change. Pure: no database."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from calendar_sync.scheduling.intervals import instant, minute_floor, saturated
from calendar_sync.scheduling.working_time import DEFAULT_WEEK, ResourceTime, working_spans

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def m(text: str, zone: ZoneInfo = PARIS) -> int:
    return minute_floor(datetime.fromisoformat(text).replace(tzinfo=zone))


def local(spans: list[tuple[int, int]], zone: ZoneInfo = PARIS) -> list[str]:
    fmt = "%a %d %H:%M"
    return [f"{instant(a).astimezone(zone).strftime(fmt)}-{instant(b).astimezone(zone).strftime('%H:%M')}"
            for a, b in spans]


def week(*days: list[tuple[str, str]]) -> tuple[tuple[tuple[int, int], ...], ...]:
    def minutes(t: str) -> int:
        h, mm = t.split(":")
        return int(h) * 60 + int(mm)
    rows = [(d, minutes(a), minutes(b)) for d, intervals in enumerate(days) for a, b in intervals]
    return ResourceTime.week_of(rows)


MORNING_AND_AFTERNOON = [("09:00", "12:00"), ("13:00", "17:00")]


def test_a_lunch_break_splits_the_day() -> None:
    rt = ResourceTime(PARIS, week(*[MORNING_AND_AFTERNOON] * 5, [], []))
    spans = working_spans(rt, (m("2026-03-02 00:00"), m("2026-03-03 00:00")))
    assert local(spans) == ["Mon 02 09:00-12:00", "Mon 02 13:00-17:00"]


def test_without_hours_a_resource_works_the_default_week() -> None:
    rt = ResourceTime(PARIS)
    assert rt.week == DEFAULT_WEEK
    spans = working_spans(rt, (m("2026-03-06 00:00"), m("2026-03-09 00:00")))  # Friday to Sunday
    assert local(spans) == ["Fri 06 08:00-17:00"]


def test_hours_are_read_in_the_resources_own_zone() -> None:
    rt = ResourceTime(NEW_YORK, week(*[[("09:00", "17:00")]] * 5, [], []))
    spans = working_spans(rt, (m("2026-03-02 00:00"), m("2026-03-03 06:00")))
    assert local(spans) == ["Mon 02 15:00-23:00"]  # 9 to 5 in New York, seen from Paris


def test_a_business_closure_removes_the_whole_local_day() -> None:
    rt = ResourceTime(PARIS, closures=((date(2026, 5, 1), date(2026, 5, 1)),))
    spans = working_spans(rt, (m("2026-04-30 00:00"), m("2026-05-05 00:00")))
    assert local(spans) == ["Thu 30 08:00-17:00", "Mon 04 08:00-17:00"]


def test_time_off_cuts_hours_and_extra_hours_add_them_even_on_a_closed_day() -> None:
    rt = ResourceTime(PARIS, working=((m("2026-05-01 10:00"), m("2026-05-01 12:00")),),
                      time_off=((m("2026-04-30 14:00"), m("2026-04-30 15:30")),),
                      closures=((date(2026, 5, 1), date(2026, 5, 1)),))
    spans = working_spans(rt, (m("2026-04-30 00:00"), m("2026-05-02 00:00")))
    assert local(spans) == ["Thu 30 08:00-14:00", "Thu 30 15:30-17:00", "Fri 01 10:00-12:00"]


def test_a_day_off_over_the_whole_day_leaves_nothing() -> None:
    rt = ResourceTime(PARIS, time_off=((m("2026-03-03 00:00"), m("2026-03-04 00:00")),))
    spans = working_spans(rt, (m("2026-03-02 00:00"), m("2026-03-05 00:00")))
    assert local(spans) == ["Mon 02 08:00-17:00", "Wed 04 08:00-17:00"]


def test_wall_clock_hours_hold_across_the_change_to_summer_time() -> None:
    """Paris moves from UTC+1 to UTC+2 at 02:00 on Sunday 29 March 2026: a night shift 00:00-06:00 that day
    holds five real hours, and Monday's 08:00 is 06:00 UTC where the Friday before it was 07:00 UTC."""
    rt = ResourceTime(PARIS, week(*[[("08:00", "17:00")]] * 5, [], [("00:00", "06:00")]))
    spans = working_spans(rt, (m("2026-03-27 00:00"), m("2026-03-31 00:00")))
    assert local(spans) == ["Fri 27 08:00-17:00", "Sun 29 00:00-06:00", "Mon 30 08:00-17:00"]
    sunday = spans[1]
    assert sunday[1] - sunday[0] == 5 * 60
    assert instant(spans[0][0]).hour == 7 and instant(spans[2][0]).hour == 6  # UTC


def test_a_full_day_holds_twenty_five_hours_when_the_clocks_go_back() -> None:
    rt = ResourceTime(PARIS, week([], [], [], [], [], [], [("00:00", "24:00")]))
    [sunday] = working_spans(rt, (m("2026-10-25 00:00"), m("2026-10-26 00:00")))
    assert sunday[1] - sunday[0] == 25 * 60


def test_a_start_inside_the_skipped_hour_means_the_moment_the_clocks_jumped() -> None:
    rt = ResourceTime(PARIS, week([], [], [], [], [], [], [("02:30", "05:00")]))
    [sunday] = working_spans(rt, (m("2026-03-29 00:00"), m("2026-03-30 00:00")))
    assert local([sunday]) == ["Sun 29 03:00-05:00"]  # 02:30 does not exist that night


def test_a_facility_is_full_only_where_its_capacity_is_reached() -> None:
    a, b, c = (m("2026-03-02 09:00"), m("2026-03-02 11:00")), (m("2026-03-02 10:00"), m("2026-03-02 12:00")), \
        (m("2026-03-02 10:30"), m("2026-03-02 10:45"))
    assert local(saturated([a, b, c], 2)) == ["Mon 02 10:00-11:00"]
    assert local(saturated([a, b, c], 3)) == ["Mon 02 10:30-10:45"]
    assert saturated([a, b], 3) == []
    # Back to back is not overlapping: a room booked 9-10 and 10-11 is never double-booked.
    assert saturated([(m("2026-03-02 09:00"), m("2026-03-02 10:00")), (m("2026-03-02 10:00"), m("2026-03-02 11:00"))],
                     2) == []
