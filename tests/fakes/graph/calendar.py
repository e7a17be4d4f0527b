"""One mailbox's default calendar in the fake Graph: events as Exchange keeps them (a single event, or a series
master holding its exceptions and its deleted occurrences), expanded into instances the way Graph shows them
(type singleInstance / seriesMaster / occurrence / exception, seriesMasterId, originalStart), with a changeKey per
save. An occurrence's id names its master and original start (Exchange's occurrence ids do too), so it can be
read, changed (it becomes an exception) or deleted (it joins the cancelled ones) like any event; saving an
occurrence saves its master as well, so the master's changeKey moves with it, as in Exchange where exceptions
live inside the master item.

The test reaches it with `calendar_of(fake.mailbox(address))`; what a test changes directly is seen by the API
and by delta alike. `invitations` records the meeting requests Exchange sends when an organizer saves a meeting
with attendees (Graph has no switch to suppress them); `lose_next_create` applies the next POST and answers 504,
as when the response is lost on the way back."""

import base64
import datetime as dt
import secrets
import threading
import uuid
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule
from tzlocal.windows_tz import win_tz

from tests.fakes.graph.mailbox import FakeMailbox, make_id
from tests.fakes.graph.replies import GraphError, bad_request, utcnow

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
WRITABLE = ("subject", "body", "start", "end", "isAllDay", "location", "attendees", "recurrence", "categories",
            "showAs", "importance", "sensitivity", "isReminderOn", "reminderMinutesBeforeStart",
            "responseRequested", "allowNewTimeProposals")
MAX_INSTANCES = 5000


def zone_of(name: str) -> ZoneInfo:
    """Graph takes Windows names and IANA names for a dateTimeTimeZone."""
    if name in ("UTC", "tzone://Microsoft/Utc", "Coordinated Universal Time"):
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(win_tz.get(name, name))
    except (KeyError, ValueError):
        raise bad_request(f"A valid TimeZone value must be specified. The following TimeZone value is not "
                          f"supported: '{name}'.", "TimeZoneNotSupportedException") from None


def parse_time(value: Any) -> dt.datetime:
    """A dateTimeTimeZone as an aware datetime; 400 when it is not one."""
    if not isinstance(value, dict) or "dateTime" not in value:
        raise bad_request("Cannot convert the literal to the expected type 'Edm.DateTimeTimeZone'.")
    head = str(value["dateTime"]).split(".")[0].removesuffix("Z")
    try:
        local = dt.datetime.fromisoformat(head)
    except ValueError:
        raise bad_request(f"Cannot convert the literal '{value['dateTime']}' to the expected type "
                          "'Edm.DateTime'.") from None
    return local.replace(tzinfo=zone_of(str(value.get("timeZone") or "UTC")))


def render_time(moment: dt.datetime, zone_name: str) -> dict[str, str]:
    local = moment.astimezone(zone_of(zone_name)).replace(tzinfo=None)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone_name}


def new_change_key() -> str:
    return base64.b64encode(secrets.token_bytes(16)).decode()


def occurrence_id(master_id: str, original: dt.datetime) -> str:
    token = base64.urlsafe_b64encode(f"{master_id}\x00{original.strftime('%Y%m%dT%H%M%SZ')}".encode()).decode()
    return "AAMkOCC" + token.rstrip("=")


def split_occurrence_id(event_id: str) -> tuple[str, dt.datetime] | None:
    if not event_id.startswith("AAMkOCC"):
        return None
    raw = event_id[len("AAMkOCC"):]
    try:
        master_id, stamp = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode().split("\x00")
        return master_id, dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass
class FakeEvent:
    """A single event or a series master, as stored."""

    id: str
    ical_uid: str
    fields: dict[str, Any]  # the writable properties as last written (start/end as given)
    change_key: str = field(default_factory=new_change_key)
    transaction_id: str | None = None
    extended: dict[str, str] = field(default_factory=dict)  # singleValueExtendedProperties by id
    created: dt.datetime = field(default_factory=utcnow)
    last_modified: dt.datetime = field(default_factory=utcnow)
    # original start (UTC) -> the exception's own properties and changeKey
    exceptions: dict[dt.datetime, dict[str, Any]] = field(default_factory=dict)
    cancelled: set[dt.datetime] = field(default_factory=set)

    @property
    def start(self) -> dt.datetime:
        return parse_time(self.fields["start"])

    @property
    def end(self) -> dt.datetime:
        return parse_time(self.fields["end"])

    @property
    def zone_name(self) -> str:
        return str(self.fields["start"].get("timeZone") or "UTC")

    @property
    def is_master(self) -> bool:
        return bool(self.fields.get("recurrence"))

    def originals(self, until: dt.datetime | None = None) -> Iterator[dt.datetime]:
        """The original starts (UTC) the recurrence generates, in order."""
        recurrence = self.fields["recurrence"]
        pattern, range_ = recurrence["pattern"], recurrence["range"]
        tz = zone_of(str(range_.get("recurrenceTimeZone") or self.zone_name))
        local_start = self.start.astimezone(tz)
        first = dt.datetime.combine(dt.date.fromisoformat(range_["startDate"]), local_start.time(), tz)
        kind = pattern["type"]
        options: dict[str, Any] = {"dtstart": first, "interval": int(pattern.get("interval") or 1)}
        days = [DAYS.index(d) for d in pattern.get("daysOfWeek") or []]
        if kind == "daily":
            freq = rrule.DAILY
        elif kind == "weekly":
            freq = rrule.WEEKLY
            options.update(byweekday=days, wkst=DAYS.index(pattern.get("firstDayOfWeek") or "sunday"))
        elif kind == "absoluteMonthly":
            freq = rrule.MONTHLY
            options["bymonthday"] = int(pattern["dayOfMonth"])
        elif kind == "relativeMonthly":
            freq = rrule.MONTHLY
            options.update(byweekday=days, bysetpos=INDEX[pattern.get("index") or "first"])
        elif kind == "absoluteYearly":
            freq = rrule.YEARLY
            options.update(bymonth=int(pattern["month"]), bymonthday=int(pattern["dayOfMonth"]))
        elif kind == "relativeYearly":
            freq = rrule.YEARLY
            options.update(bymonth=int(pattern["month"]), byweekday=days,
                           bysetpos=INDEX[pattern.get("index") or "first"])
        else:
            raise bad_request(f"The recurrence pattern type '{kind}' is not valid.")
        if range_["type"] == "numbered":
            options["count"] = int(range_["numberOfOccurrences"])
        elif range_["type"] == "endDate":
            options["until"] = dt.datetime.combine(dt.date.fromisoformat(range_["endDate"]), dt.time(23, 59, 59), tz)
        for number, moment in enumerate(rrule.rrule(freq, **options)):
            utc = moment.astimezone(dt.UTC)
            if number >= MAX_INSTANCES or (until is not None and utc >= until):
                return
            yield utc


@dataclass
class Instance:
    """One event as Graph lists it: a single, an occurrence or an exception (`master` for the latter two)."""

    id: str
    kind: str
    event: FakeEvent
    original: dt.datetime | None = None

    @property
    def properties(self) -> dict[str, Any]:
        if self.kind == "exception":
            assert self.original is not None
            return {**self.event.fields, **self.event.exceptions[self.original]["fields"], "recurrence": None}
        if self.kind == "occurrence":
            assert self.original is not None
            duration = self.event.end - self.event.start
            zone_name = self.event.zone_name
            return {**self.event.fields, "recurrence": None, "start": render_time(self.original, zone_name),
                    "end": render_time(self.original + duration, zone_name)}
        return self.event.fields

    @property
    def change_key(self) -> str:
        if self.kind == "exception":
            assert self.original is not None
            return str(self.event.exceptions[self.original]["changeKey"])
        return self.event.change_key

    @property
    def span(self) -> tuple[dt.datetime, dt.datetime]:
        properties = self.properties
        return parse_time(properties["start"]), parse_time(properties["end"])


class FakeCalendar:
    def __init__(self, box: FakeMailbox, lock: threading.RLock) -> None:
        self.box = box
        self._lock = lock
        self.events: dict[str, FakeEvent] = {}
        self.invitations: list[tuple[str, tuple[str, ...]]] = []  # (event id, attendee addresses) per request
        self.lose_next_create = False
        self.delta_generation = 0  # reset_delta bumps it: every earlier delta token answers 410

    # -- reading ----------------------------------------------------------------------------------------------
    def find(self, event_id: str) -> Instance:
        """A stored event or an occurrence/exception by id; 404 ErrorItemNotFound otherwise."""
        with self._lock:
            if event_id in self.events:
                event = self.events[event_id]
                return Instance(event.id, "seriesMaster" if event.is_master else "singleInstance", event)
            split = split_occurrence_id(event_id)
            if split is not None and split[0] in self.events:
                master, original = self.events[split[0]], split[1]
                if master.is_master and original not in master.cancelled:
                    if original in master.exceptions:
                        return Instance(event_id, "exception", master, original)
                    if original in set(master.originals(original + dt.timedelta(seconds=1))):
                        return Instance(event_id, "occurrence", master, original)
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    def instances_of(self, master: FakeEvent, until: dt.datetime | None = None) -> list[Instance]:
        out = []
        for original in master.originals(until):
            if original in master.cancelled:
                continue
            kind = "exception" if original in master.exceptions else "occurrence"
            out.append(Instance(occurrence_id(master.id, original), kind, master, original))
        return out

    def view(self, start: dt.datetime, end: dt.datetime) -> list[Instance]:
        """Every single, occurrence and exception overlapping [start, end), as calendarView shows them."""
        with self._lock:
            found: list[Instance] = []
            for event in self.events.values():
                if not event.is_master:
                    found.append(Instance(event.id, "singleInstance", event))
                    continue
                # An exception may have moved far from its original start: look a year past the window.
                found.extend(self.instances_of(event, end + dt.timedelta(days=366)))
            return [i for i in found if i.span[0] < end and i.span[1] > start]

    # -- writing ----------------------------------------------------------------------------------------------
    def create(self, fields: dict[str, Any], transaction_id: str | None, extended: dict[str, str]) -> FakeEvent:
        with self._lock:
            if transaction_id:
                for event in self.events.values():
                    if event.transaction_id == transaction_id:
                        return event  # the retried create answers with the event the first one made
            event = FakeEvent(make_id("AAMkAGI2TG93AAA", 48), "040000008200E00074C5B7101A82E008" +
                              uuid.uuid4().hex.upper(), fields, transaction_id=transaction_id, extended=extended)
            self.events[event.id] = event
            self._invite(event.id, fields)
            self.box.seq += 1
            return event

    def update(self, instance: Instance, changes: dict[str, Any]) -> None:
        with self._lock:
            master = instance.event
            if instance.kind in ("occurrence", "exception"):
                assert instance.original is not None
                current = master.exceptions.get(instance.original, {"fields": {}})
                fields = {**current["fields"], **changes}
                if "start" not in fields:  # an exception keeps its own times once it has any
                    fields.update(start=instance.properties["start"], end=instance.properties["end"])
                master.exceptions[instance.original] = {"fields": fields, "changeKey": new_change_key()}
            else:
                reshaped = any(k in changes and changes[k] != master.fields.get(k)
                               for k in ("recurrence", "start", "end"))
                master.fields = {**master.fields, **changes}
                if reshaped and master.is_master:
                    # Exchange drops a series' exceptions and deletions when its pattern or times change.
                    master.exceptions.clear()
                    master.cancelled.clear()
            self._invite(master.id, changes)
            self._saved(master)

    def delete(self, instance: Instance) -> None:
        with self._lock:
            if instance.kind in ("occurrence", "exception"):
                assert instance.original is not None
                instance.event.exceptions.pop(instance.original, None)
                instance.event.cancelled.add(instance.original)
                self._saved(instance.event)
            else:
                del self.events[instance.event.id]
                self.box.seq += 1

    def _saved(self, event: FakeEvent) -> None:
        event.change_key = new_change_key()
        event.last_modified = utcnow()
        self.box.seq += 1

    def _invite(self, event_id: str, fields: dict[str, Any]) -> None:
        addresses = tuple(str((a.get("emailAddress") or {}).get("address")) for a in fields.get("attendees") or [])
        if addresses:
            self.invitations.append((event_id, addresses))

    def reset_delta(self) -> None:
        with self._lock:
            self.delta_generation += 1


_calendars: "weakref.WeakKeyDictionary[FakeMailbox, FakeCalendar]" = weakref.WeakKeyDictionary()
_calendars_lock = threading.Lock()


def calendar_of(box: FakeMailbox) -> FakeCalendar:
    """The mailbox's default calendar, made on first use (it shares the mailbox's lock)."""
    with _calendars_lock:
        calendar = _calendars.get(box)
        if calendar is None:
            calendar = _calendars[box] = FakeCalendar(box, box._lock)
        return calendar
