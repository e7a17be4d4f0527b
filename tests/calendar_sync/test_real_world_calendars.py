"""Every .ics that icalendar and recurring-ical-events ship for their own tests (real exports from Google,
Outlook, Thunderbird, Apple, khal..., and deliberately broken files) read through IcsFeedStore, and our
expansion of each series held to recurring-ical-events' over a year of that file.

The files are found inside the installed packages, not copied here."""

import datetime as dt
from importlib.resources import files
from pathlib import Path
from typing import Any

import icalendar
import pytest
import recurring_ical_events

from calendar_sync.errors import CalendarMissing, ItemBroken, TemporaryFailure
from calendar_sync.items import CalendarItem
from calendar_sync.recurrence import expand
from calendar_sync.series import series_of
from calendar_sync.stores.ics import IcsFeedStore


def _calendars(package: str, *parts: str) -> list[Path]:
    folder = Path(str(files(package).joinpath(*parts)))
    return sorted(folder.glob("*.ics"))


FILES = _calendars("icalendar", "tests", "calendars") + _calendars("recurring_ical_events", "test", "calendars")


def _name(path: Path) -> str:
    return f"{'icalendar' if 'icalendar' in path.parts[-4:-1] else 'rie'}/{path.name}"


FILE_PARAMS = [pytest.param(path, id=_name(path)) for path in FILES]

# Files the store refuses as a whole, with the reason: not iCalendar at all, or cut off before END:VCALENDAR
# (read as complete, half a feed would delete the other half's events).
REFUSED = {
    "icalendar/big_bad_calendar.ics": "truncated", "icalendar/small_bad_calendar.ics": "truncated",
    "icalendar/pr_480_summary_with_colon.ics": "truncated",
    "icalendar/fuzz_testcase_0_char_in_component_name.ics": "calendar_missing",
    "icalendar/fuzz_testcase_invalid_month.ics": "calendar_missing",
    "icalendar/fuzz_testcase_vtimezone_lone_cr.ics": "calendar_missing",
    "icalendar/issue_178_component_with_invalid_name_represented.ics": "calendar_missing",
    "icalendar/issue_178_custom_component_contains_other.ics": "calendar_missing",
    "icalendar/issue_82_expected_output.ics": "calendar_missing",  # a bare VEVENT, no VCALENDAR
}

# Items the store reports as ItemBroken, per file (every other file has none). The reasons, in short:
BROKEN = {
    # no DTSTART: RFC 5545 requires one in a VEVENT of a calendar without METHOD; these files test other things
    "icalendar/broken_ical.ics": 1,  # its DTSTART line is unparseable, so the event has none
    "icalendar/created_calendar_with_unicode_fields.ics": 1, "icalendar/issue_1050_multiple_calendars.ics": 2,
    "icalendar/issue_1050_uid_in_description.ics": 2, "icalendar/issue_1081_with_summary.ics": 1,
    "icalendar/issue_1549_binary_attachment.ics": 1, "icalendar/issue_1561_image_value.ics": 4,
    "icalendar/issue_322_expected_calendar.ics": 1, "icalendar/issue_722_missing_timezones.ics": 2,
    "icalendar/issue_798_related_to.ics": 2, "icalendar/rfc_5545_RDATE_example.ics": 6,
    "icalendar/rfc_6868.ics": 1, "icalendar/rfc_7256_multi_value_parameters.ics": 2,
    "icalendar/rfc_7986_conferences.ics": 1, "icalendar/rfc_7986_image.ics": 2, "icalendar/rfc_9253_gap.ics": 2,
    "icalendar/rfc_9253_related_to.ics": 1,
    # a DTSTART, DTEND, DURATION, EXDATE or RRULE value icalendar cannot read
    "icalendar/broken_dtstart.ics": 1, "icalendar/invalid_duration.ics": 1,
    "icalendar/issue_1081_invalid_rrule_freq.ics": 1, "icalendar/issue_1081_invalid_start_and_end.ics": 1,
    "icalendar/issue_1081_invalid_start_valid_end.ics": 1, "icalendar/issue_165_missing_event.ics": 1,
    "icalendar/parsing_error.ics": 1,
    # two DTSTARTs in one event
    "icalendar/america_new_york_forward_reference.ics": 1, "icalendar/pacific_fiji.ics": 1,
    # a VTIMEZONE with a UTC offset of 57 hours (the whole file is only that)
    "icalendar/parsing_error_in_UTC_offset.ics": 1,
    # rules dateutil does not know: RFC 7529's RSCALE, and a misspelt UNTIL
    "icalendar/rfc_7529.ics": 4, "rie/bad_rrule_missing_until_event.ics": 1,
}


def read_feed(path: Path) -> tuple[dict[str, Any], dict[str, str]]:
    """The store's items of one file (href -> item) and its broken ones (href -> reason)."""
    store = IcsFeedStore(path)
    items, broken = {}, {}
    for href, _ in store.list():
        try:
            item, _ = store.get(href)
            assert item.uid and item.events is not None
            items[href] = item
        except ItemBroken as exc:
            broken[href] = str(exc)
    return items, broken


@pytest.mark.filterwarnings("ignore::Warning")
@pytest.mark.parametrize("path", FILE_PARAMS)
def test_the_feed_store_reads_the_file_or_says_why_not(path: Path) -> None:
    name = _name(path)
    if name in REFUSED:
        with pytest.raises((CalendarMissing, TemporaryFailure)) as refused:
            read_feed(path)
        assert refused.value.reason == REFUSED[name]
        return
    _, broken = read_feed(path)
    for href, reason in broken.items():
        print(f"{name}: {href} broken: {reason}")  # shown with -rP; every reason names the UID and the fault
        assert reason.strip()
    assert len(broken) == BROKEN.get(name, 0), broken


def _instant(value: Any) -> str:
    """One spelling per moment, so that two libraries' equal answers compare equal."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).isoformat()
    return value.isoformat()


def _first_year(items: list[CalendarItem]) -> int:
    years = [e["DTSTART"].dt.year for item in items for e in item.events]
    return min(years, default=2020)


def theirs(calendar: icalendar.Calendar, year: int) -> list[tuple[str, str]]:
    events = recurring_ical_events.of(calendar).between(dt.datetime(year, 1, 1), dt.datetime(year + 1, 1, 1))
    return sorted((_instant(e["DTSTART"].dt), _instant(e["DTEND"].dt if "DTEND" in e else e["DTSTART"].dt))
                  for e in events)


def ours(item: CalendarItem, year: int) -> list[tuple[str, str]]:
    occurrences = expand(series_of(item.events), dt.datetime(year, 1, 1), dt.datetime(year + 1, 1, 1),
                         include_cancelled=True)  # recurring-ical-events does not leave cancelled ones out
    return sorted((_instant(o.start), _instant(o.end)) for o in occurrences)


# Files whose expansion is not compared, and why.
NOT_COMPARED = {
    # RDATE;VALUE=TIME is not RFC 5545 (a TIME cannot recur); recurring-ical-events crashes in dateutil on
    # it, we skip those values.
    "icalendar/multiple_timezones.ics": "RDATE;VALUE=TIME",
}
COMPARED = [p for p in FILE_PARAMS if p.id not in REFUSED and p.id not in NOT_COMPARED]


@pytest.mark.filterwarnings("ignore::Warning")
@pytest.mark.parametrize("path", COMPARED)
def test_each_series_expands_as_recurring_ical_events_does(path: Path) -> None:
    """Each readable item the store made of the file, as a CalDAV client would receive it (its text), once
    through our expand and once through recurring-ical-events, over the year of the file's first event."""
    items, _ = read_feed(path)
    year = _first_year(list(items.values()))
    for href, item in items.items():
        received = CalendarItem(item.raw)
        if not received.events:
            continue
        assert ours(received, year) == theirs(icalendar.Calendar.from_ical(item.raw), year), href
