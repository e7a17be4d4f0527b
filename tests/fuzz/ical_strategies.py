"""Mutations of real calendars for the iCalendar fuzz tests: the .ics files icalendar and recurring-ical-events
ship for their own tests (exports from Google, Outlook, Apple...) and ours (tests/data/ics) as seeds, mutated
the ways calendars break: bad RRULEs, unknown TZIDs, DTEND before DTSTART, huge COUNTs, a RECURRENCE-ID
without its master, and line-level damage."""

import re
from importlib.resources import files
from pathlib import Path

from hypothesis import strategies as st


def _calendars(package: str, *parts: str) -> list[Path]:
    return sorted(Path(str(files(package).joinpath(*parts))).glob("*.ics"))


_DATA = Path(__file__).resolve().parents[1] / "data" / "ics"
FILES = [
    *_calendars("icalendar", "tests", "calendars"),
    *_calendars("recurring_ical_events", "test", "calendars"),
    *sorted(_DATA.rglob("*.ics")),
]
# The event-bearing ones, small enough to mutate quickly.
SEEDS = sorted(raw for raw in (p.read_bytes() for p in FILES) if b"BEGIN:VEVENT" in raw and len(raw) < 60_000)

RRULES = [
    b"FREQ=DAILY;COUNT=999999999",
    b"FREQ=SECONDLY",
    b"FREQ=MINUTELY;INTERVAL=1",
    b"FREQ=YEARLY;BYDAY=+53MO",
    b"FREQ=FORTNIGHTLY",
    b"FREQ=WEEKLY;UNTIL=20251399",
    b"FREQ=DAILY;UNTIL=00000101T000000Z",
    b"FREQ=DAILY;COUNT=-5",
    b"FREQ=MONTHLY;BYMONTHDAY=31;BYMONTH=2",
    b"FREQ=DAILY;INTERVAL=0",
    b"",
    b"FREQ=WEEKLY;BYDAY=XX",
    b"FREQ=DAILY;UNTIL=20250101;COUNT=3",
    b"FREQ=HOURLY;BYSETPOS=9999",
    b"RSCALE=GREGORIAN;FREQ=YEARLY",
    b"FREQ=DAILY;UNTIL=99991231T235959Z",
    b"FREQ=YEARLY;BYWEEKNO=54",
]
TZIDS = [
    b"Nowhere/Atlantis",
    b"",
    b"(UTC+01:00) Amsterdam, Berlin",
    b"W. Europe Standard Time",
    b"/etc/passwd",
    b"../../x",
    b"UTC+99",
    b"\xff\xfe",
]
DATES = [
    b"20250101T090000",
    b"20250101T090000Z",
    b"20250101",
    b"00000000T000000",
    b"20251340T256161",
    b"99991231T235959Z",
    b"19000101",
    b"2025-01-01",
    b"20250101T09",
    b"x",
]
EXTRA = [
    b"RECURRENCE-ID:20250105T090000Z",
    b"RECURRENCE-ID;TZID=Nowhere/Atlantis:20250105T090000",
    b"RDATE;VALUE=PERIOD:20250101T090000Z/PT0S",
    b"RDATE;VALUE=TIME:090000",
    b"EXDATE:bogus",
    b"DURATION:-P1D",
    b"DURATION:P99999999W",
    b"DURATION:nonsense",
    b"SEQUENCE:99999999999999999999",
    b"STATUS:CANCELLED",
    b"UID:",
    b"UID:" + b"u" * 5000,
    b"DTSTAMP:x",
    b"ORGANIZER;SENT-BY=x:mailto:",
    b"ATTENDEE;PARTSTAT=ACCEPTED:mailto:",
    b"BEGIN:VALARM",
    b"END:VEVENT",
    b"BEGIN:VEVENT",
]


def _lines(raw: bytes) -> list[bytes]:
    return raw.replace(b"\r\n", b"\n").split(b"\n")


def _replace_value(raw: bytes, name: bytes, value: bytes) -> bytes:
    pattern = re.compile(rb"^(" + name + rb"(?:;[^:\n]*)?):[^\r\n]*", re.MULTILINE)
    if pattern.search(raw):
        return pattern.sub(lambda m: m.group(1) + b":" + value, raw, count=1)
    return raw.replace(b"BEGIN:VEVENT", b"BEGIN:VEVENT\r\n" + name + b":" + value, 1)


def _drop_master(raw: bytes) -> bytes:
    """The first VEVENT with an RRULE and no RECURRENCE-ID removed (line by line: a regex backtracked for
    minutes on a large file, out of reach of any timeout)."""
    lines, out, block = _lines(raw), [], None
    dropped = False
    for line in lines:
        if block is not None:
            block.append(line)
            if line.startswith(b"END:VEVENT"):
                names = {entry.split(b":")[0].split(b";")[0] for entry in block}
                if dropped or b"RRULE" not in names or b"RECURRENCE-ID" in names:
                    out.extend(block)
                else:
                    dropped = True
                block = None
        elif line.startswith(b"BEGIN:VEVENT"):
            block = [line]
        else:
            out.append(line)
    return b"\r\n".join(out + (block or []))


@st.composite
def mutation(draw: st.DrawFn, raw: bytes) -> bytes:
    kind = draw(
        st.sampled_from(
            [
                "rrule",
                "tzid",
                "dates",
                "end_before_start",
                "extra",
                "drop_master",
                "flip",
                "truncate",
                "delete_line",
                "duplicate_line",
                "fold",
            ]
        )
    )
    if kind == "rrule":
        return _replace_value(raw, b"RRULE", draw(st.sampled_from(RRULES)))
    if kind == "tzid":
        return (
            re.sub(rb"TZID=[^:;\r\n]*", lambda _: b"TZID=" + draw(st.sampled_from(TZIDS)), raw, count=1)
            if b"TZID=" in raw
            else raw.replace(b"DTSTART:", b"DTSTART;TZID=" + draw(st.sampled_from(TZIDS)) + b":", 1)
        )
    if kind == "dates":
        return _replace_value(
            raw,
            draw(st.sampled_from([b"DTSTART", b"DTEND", b"RECURRENCE-ID", b"EXDATE"])),
            draw(st.sampled_from(DATES)),
        )
    if kind == "end_before_start":
        return _replace_value(_replace_value(raw, b"DTSTART", b"20250102T090000Z"), b"DTEND", b"20250101T090000Z")
    if kind == "extra":
        return raw.replace(b"BEGIN:VEVENT", b"BEGIN:VEVENT\r\n" + draw(st.sampled_from(EXTRA)), 1)
    if kind == "drop_master":  # only the overridden instances remain: a RECURRENCE-ID without its master
        return _drop_master(raw)
    lines = _lines(raw)
    at = draw(st.integers(0, max(len(lines) - 1, 0)))
    if kind == "flip":
        data = bytearray(raw)
        if data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        return bytes(data)
    if kind == "truncate":
        return raw[: draw(st.integers(0, len(raw)))]
    if kind == "delete_line":
        return b"\r\n".join(lines[:at] + lines[at + 1 :])
    if kind == "duplicate_line":
        return b"\r\n".join(lines[: at + 1] + lines[at:])
    return b"\r\n".join([*lines[:at], lines[at][:3], b" " + lines[at][3:], *lines[at + 1 :]])  # fold mid-name


@st.composite
def mutated_calendar(draw: st.DrawFn) -> bytes:
    raw = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        raw = draw(mutation(raw))
    return raw
