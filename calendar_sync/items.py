"""One calendar object resource: a VCALENDAR holding the events of one UID (a single event, or a series
master with its overridden instances), as CalDAV stores it and as every store hands it to the sync engine.

Its `hash` ignores the properties that change without the event changing (DTSTAMP is rewritten on every
export, PRODID names whichever program wrote it last, LAST-MODIFIED moves on a no-op save), so an event whose
only change is one of those is never written back (vdirsyncer's rule)."""

import hashlib
from dataclasses import dataclass
from functools import cached_property

import icalendar

from calendar_sync.errors import ItemBroken

VOLATILE = frozenset({"DTSTAMP", "PRODID", "LAST-MODIFIED", "CREATED", "X-RADICALE-NAME"})
_COMPONENTS = ("VEVENT", "VTODO", "VJOURNAL")


@dataclass(frozen=True, eq=False)
class CalendarItem:
    raw: str

    @classmethod
    def from_calendar(cls, calendar: icalendar.Calendar) -> "CalendarItem":
        item = cls(calendar.to_ical().decode("utf-8"))
        item.__dict__["calendar"] = calendar
        return item

    @cached_property
    def calendar(self) -> icalendar.Calendar:
        """The parsed VCALENDAR. Raises ItemBroken when it is not iCalendar or holds no event."""
        try:
            calendar = icalendar.Calendar.from_ical(self.raw)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:  # AttributeError: tests/fuzz
            raise ItemBroken(f"not iCalendar: {exc}") from exc
        if not isinstance(calendar, icalendar.Calendar):
            raise ItemBroken("not a VCALENDAR")
        if not any(c.name in _COMPONENTS for c in calendar.subcomponents):
            raise ItemBroken("the calendar object holds no event")
        return calendar

    @property
    def events(self) -> list[icalendar.Event]:
        return [c for c in self.calendar.subcomponents if c.name == "VEVENT"]

    @cached_property
    def uid(self) -> str:
        uids = {str(c["UID"]) for c in self.calendar.subcomponents if c.name in _COMPONENTS and "UID" in c}
        if not uids:
            raise ItemBroken("the event has no UID")
        if len(uids) > 1:
            raise ItemBroken(f"one calendar object holds {len(uids)} UIDs")
        return uids.pop()

    @cached_property
    def hash(self) -> str:
        """SHA-256 of the content without its volatile properties, components in a stable order."""
        digest = hashlib.sha256()
        for component in sorted(self.calendar.subcomponents, key=_order):
            digest.update(_canonical(component))
        return digest.hexdigest()


def _order(component: icalendar.cal.Component) -> tuple[str, str]:
    recurrence_id = component.get("RECURRENCE-ID")
    if isinstance(recurrence_id, list):  # found by tests/fuzz: the line repeated
        raise ItemBroken(f"a {component.name} with {len(recurrence_id)} RECURRENCE-IDs")
    return component.name, recurrence_id.to_ical().decode() if recurrence_id is not None else ""


def _canonical(component: icalendar.cal.Component) -> bytes:
    lines = [f"BEGIN:{component.name}".encode()]
    properties = [_property_line(name, value)
                  for name, value in component.property_items(recursive=False, sorted=False)[1:-1]
                  if name not in VOLATILE]
    lines.extend(sorted(properties))
    for sub in component.subcomponents:
        lines.append(_canonical(sub))
    lines.append(f"END:{component.name}".encode())
    return b"\n".join(lines) + b"\n"


def _property_line(name: str, value: object) -> bytes:
    # Parameters count: an attendee's PARTSTAT or a start's TZID is a real change.
    params = getattr(value, "params", None)
    head = name.encode() + (b";" + params.to_ical(sorted=True) if params else b"")
    body = value.to_ical() if hasattr(value, "to_ical") else str(value).encode()
    if isinstance(body, str):  # icalendar's vUTCOffset (a VTIMEZONE's TZOFFSETFROM/TO) gives str
        body = body.encode()
    return head + b":" + body
