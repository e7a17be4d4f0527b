"""The fake EWS server's calendar items: what Exchange keeps of an appointment (single, or a recurring master
with its exceptions and deleted occurrences), how a `t:CalendarItem` in a request sets it, and how an answer
writes it, in the schema's element order (Types.xsd, CalendarItemType).

Semantics, as Microsoft documents them:
  - a series is one folder item, the RecurringMaster; its occurrences are not folder items (FindItem without a
    CalendarView and SyncFolderItems show the master only), but each has an id (GetItem, UpdateItem and
    DeleteItem take it, or an OccurrenceItemId: the master's id and a 1-based InstanceIndex);
  - an occurrence updated becomes an Exception, listed in the master's ModifiedOccurrences (ItemId, Start, End,
    OriginalStart); one deleted is listed in DeletedOccurrences (its Start);
  - "The ChangeKey is the same for the recurring master and all occurrences. If either the recurring master or
    any of its occurrences change, the ChangeKey changes" (OccurrenceItemIdType.ChangeKey): an exception's edit
    is an edit of the master (a new ChangeKey, an Update to SyncFolderItems);
  - setting a master's Recurrence, Start or End drops its exceptions and deleted occurrences, as Outlook warns.
The recurrence patterns known are Daily, Weekly, AbsoluteMonthly, RelativeMonthly, AbsoluteYearly and
RelativeYearly, with NoEnd, EndDate and Numbered ranges; occurrences are expanded in the item's start zone
(dateutil's rrule on wall-clock times, so a weekly 09:00 stays 09:00 across a DST change)."""

import base64
import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from xml.etree.ElementTree import Element
from zoneinfo import ZoneInfo

from dateutil import rrule
from tzlocal.windows_tz import win_tz

from tests.fakes.ews.soap import Node, SoapFault, schema_error, t, text_of

if TYPE_CHECKING:
    from tests.fakes.ews.mailbox import FakeItem
    from tests.fakes.ews.shapes import Shape

CALENDAR_DEFAULT = frozenset({"item:ItemId", "item:ParentFolderId", "item:ItemClass", "item:Subject",
                              "calendar:UID", "calendar:Start", "calendar:End", "calendar:IsAllDayEvent",
                              "calendar:Location", "calendar:CalendarItemType", "calendar:Organizer",
                              "calendar:IsRecurring"})
CALENDAR_ALL = CALENDAR_DEFAULT | {"item:Body", "calendar:RequiredAttendees", "calendar:OptionalAttendees",
                                   "calendar:Recurrence", "calendar:ModifiedOccurrences",
                                   "calendar:DeletedOccurrences", "calendar:StartTimeZone", "calendar:EndTimeZone"}
RESPONSES = ("Unknown", "Organizer", "Tentative", "Accept", "Decline", "NoResponseReceived")
DAYS = {"Monday": rrule.MO, "Tuesday": rrule.TU, "Wednesday": rrule.WE, "Thursday": rrule.TH, "Friday": rrule.FR,
        "Saturday": rrule.SA, "Sunday": rrule.SU}
INDEX = {"First": 1, "Second": 2, "Third": 3, "Fourth": 4, "Last": -1}
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
PATTERNS = ("DailyRecurrence", "WeeklyRecurrence", "AbsoluteMonthlyRecurrence", "RelativeMonthlyRecurrence",
            "AbsoluteYearlyRecurrence", "RelativeYearlyRecurrence")
RANGES = ("NoEndRecurrence", "EndDateRecurrence", "NumberedRecurrence")
NO_END_LIMIT = 1000  # occurrences of a NoEnd series the fake expands (enough to find any instance index asked)
# Properties a client may send that the fake keeps no state for, and which change nothing it answers.
IGNORED = frozenset({"LegacyFreeBusyStatus", "ReminderIsSet", "ReminderMinutesBeforeStart", "ReminderDueBy",
                     "Sensitivity", "Importance", "Culture", "IsResponseRequested", "AllowNewTimeProposal",
                     "MeetingTimeZone", "Categories"})


def zone_of(ms_id: str) -> ZoneInfo:
    """The zone of an Exchange time zone id (a Windows name, or UTC)."""
    if ms_id in ("UTC", "tzone://Microsoft/Utc"):
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(win_tz[ms_id])
    except KeyError:
        raise SoapFault("ErrorTimeZone", f"The time zone '{ms_id}' is not valid.") from None


def parse_time(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise schema_error(f"{text!r} is not an xs:dateTime") from None
    if value.tzinfo is None:  # EWS reads a time without offset in the request's TimeZoneContext; we send none
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


def ews_time(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Attendee:
    address: str
    name: str = ""
    response: str = "Unknown"


@dataclass
class Fields:
    """What a user sets on an appointment or on one exception of a series."""

    start: dt.datetime
    end: dt.datetime
    subject: str = ""
    body: str = ""
    body_type: str = "Text"
    location: str = ""
    all_day: bool = False
    required: list[Attendee] = field(default_factory=list)
    optional: list[Attendee] = field(default_factory=list)


@dataclass
class Recurrence:
    pattern: str  # one of PATTERNS
    values: dict[str, str]  # the pattern's child elements' text (Interval, DaysOfWeek, DayOfMonth...)
    range: str  # one of RANGES
    range_values: dict[str, str]  # StartDate, EndDate, NumberOfOccurrences

    @classmethod
    def parse(cls, element: Element) -> "Recurrence":
        if len(element) != 2:
            raise schema_error("Recurrence needs a pattern and a range")
        pattern, span = element
        name, span_name = pattern.tag.split("}")[-1], span.tag.split("}")[-1]
        if name not in PATTERNS or span_name not in RANGES:
            raise schema_error(f"Recurrence {name}/{span_name}")
        return cls(name, {c.tag.split("}")[-1]: text_of(c) for c in pattern}, span_name,
                   {c.tag.split("}")[-1]: text_of(c) for c in span})

    def rule(self, start: dt.datetime, zone: ZoneInfo) -> rrule.rrule:
        local = start.astimezone(zone)
        first = dt.date.fromisoformat(self.range_values.get("StartDate", local.date().isoformat())[:10])
        dtstart = dt.datetime.combine(first, local.time(), tzinfo=zone)
        v = self.values
        days = [DAYS[d] for d in v.get("DaysOfWeek", "").split()]
        kwargs: dict[str, object] = {"interval": int(v.get("Interval", "1")), "dtstart": dtstart}
        freq = {"DailyRecurrence": rrule.DAILY, "WeeklyRecurrence": rrule.WEEKLY}.get(self.pattern)
        if self.pattern == "WeeklyRecurrence":
            kwargs.update(byweekday=days or None, wkst=DAYS.get(v.get("FirstDayOfWeek", "Sunday"), rrule.SU))
        elif self.pattern.endswith("MonthlyRecurrence") or self.pattern.endswith("YearlyRecurrence"):
            freq = rrule.MONTHLY if "Monthly" in self.pattern else rrule.YEARLY
            if "Yearly" in self.pattern:
                kwargs["bymonth"] = MONTHS.index(v["Month"]) + 1
                kwargs.pop("interval")
            if self.pattern.startswith("Absolute"):
                kwargs["bymonthday"] = int(v["DayOfMonth"])
            else:
                kwargs.update(byweekday=days, bysetpos=INDEX[v["DayOfWeekIndex"]])
        if self.range == "NumberedRecurrence":
            kwargs["count"] = int(self.range_values["NumberOfOccurrences"])
        elif self.range == "EndDateRecurrence":
            last = dt.date.fromisoformat(self.range_values["EndDate"][:10])
            kwargs["until"] = dt.datetime.combine(last, dt.time(23, 59, 59), tzinfo=zone)
        return rrule.rrule(freq, **kwargs)  # type: ignore[arg-type]


@dataclass
class Modified:
    """An exception of a series: its own id and what it changed, at its instance index."""

    id: str
    original_start: dt.datetime
    fields: Fields


@dataclass
class Appointment:
    """One folder item of the calendar: a single appointment or a recurring master."""

    uid: str
    organizer: str
    fields: Fields
    start_zone: str = "UTC"
    end_zone: str = "UTC"
    recurrence: Recurrence | None = None
    modified: dict[int, Modified] = field(default_factory=dict)  # instance index -> exception
    deleted: dict[int, dt.datetime] = field(default_factory=dict)  # instance index -> original start

    def occurrences(self) -> list[dt.datetime]:
        """The original starts of the series, in UTC (a single appointment: none)."""
        if self.recurrence is None:
            return []
        rule = self.recurrence.rule(self.fields.start, zone_of(self.start_zone))
        return [d.astimezone(dt.UTC) for _, d in zip(range(NO_END_LIMIT), rule, strict=False)]

    def occurrence_id(self, master_id: str, index: int) -> str:
        # Exchange's occurrence ids name the master and the instance; the fake's spell that out.
        return "AAMkO" + base64.b64encode(f"{master_id}|{index}".encode()).decode()

    def node(self, item: "FakeItem", shape: "Shape") -> Node:
        return calendar_node(item, self, shape)


def occurrence_of(item_id: str) -> tuple[str, int] | None:
    """(master id, instance index) of an occurrence id the fake gave out."""
    if not item_id.startswith("AAMkO"):
        return None
    try:
        master, _, index = base64.b64decode(item_id[5:], validate=True).decode().rpartition("|")
        return master, int(index)
    except ValueError:
        return None


def _attendees(element: Element) -> list[Attendee]:
    found = []
    for attendee in element.iterfind(t("Attendee")):
        address = text_of(attendee.find(f"{t('Mailbox')}/{t('EmailAddress')}"))
        if not address:
            raise SoapFault("ErrorInvalidRecipients", "At least one recipient isn't valid.")
        response = text_of(attendee.find(t("ResponseType")), "Unknown")
        if response not in RESPONSES:
            raise schema_error(f"ResponseType {response!r}")
        found.append(Attendee(address, text_of(attendee.find(f"{t('Mailbox')}/{t('Name')}")), response))
    return found


def apply(element: Element, fields: Fields, appointment: Appointment | None) -> set[str]:
    """Sets what a `t:CalendarItem` element holds on `fields` (and, for a folder item, `appointment`); returns
    the local names set. A property the fake does not know is refused, not silently dropped."""
    seen: set[str] = set()
    for prop in element:
        name = prop.tag.split("}")[-1]
        seen.add(name)
        if name == "Subject":
            fields.subject = text_of(prop)
        elif name == "Body":
            fields.body, fields.body_type = prop.text or "", prop.get("BodyType", "Text")
        elif name == "Start":
            fields.start = parse_time(text_of(prop))
        elif name == "End":
            fields.end = parse_time(text_of(prop))
        elif name == "IsAllDayEvent":
            fields.all_day = text_of(prop) == "true"
        elif name == "Location":
            fields.location = text_of(prop)
        elif name in ("RequiredAttendees", "OptionalAttendees"):
            setattr(fields, "required" if name.startswith("R") else "optional", _attendees(prop))
        elif name in ("UID", "Recurrence", "StartTimeZone", "EndTimeZone") and appointment is not None:
            if name == "UID":
                appointment.uid = text_of(prop)
            elif name == "Recurrence":
                appointment.recurrence = Recurrence.parse(prop)
            else:
                zone_of(prop.get("Id", ""))
                setattr(appointment, "start_zone" if name.startswith("S") else "end_zone", prop.get("Id", ""))
        elif name in ("StartTimeZone", "EndTimeZone"):
            pass  # an occurrence keeps its series' zone; Exchange takes the element and changes nothing
        elif name not in IGNORED:
            raise SoapFault("ErrorInvalidRequest", f"the fake EWS server does not implement {name} on a "
                            "calendar item")
    return seen


def _mailbox(parent: Node, address: str, name: str = "") -> None:
    box = parent.child("t:Mailbox")
    box.child("t:Name", name or address)
    box.child("t:EmailAddress", address)
    box.child("t:RoutingType", "SMTP")


def calendar_node(item: "FakeItem", appointment: Appointment, shape: "Shape", *, index: int | None = None,
                  item_id: str | None = None) -> Node:
    """A calendar item as an answer writes it: the folder item, or (with `index`) one occurrence of it."""
    base = {"IdOnly": frozenset({"item:ItemId"}), "Default": CALENDAR_DEFAULT, "AllProperties": CALENDAR_ALL}
    wanted = base[shape.base] | shape.fields | {"item:ItemId"}
    fields, original, kind = appointment.fields, None, "Single"
    if appointment.recurrence is not None:
        kind = "RecurringMaster"
    if index is not None:
        original = appointment.occurrences()[index - 1]
        modified = appointment.modified.get(index)
        if modified is not None:
            fields, kind = modified.fields, "Exception"
        else:
            length = fields.end - fields.start
            fields, kind = dataclasses.replace(fields, start=original, end=original + length), "Occurrence"
    node = Node("t:CalendarItem")
    node.child("t:ItemId", Id=item_id or item.id, ChangeKey=item.change_key)
    if "item:ParentFolderId" in wanted:
        node.child("t:ParentFolderId", Id=item.folder_id, ChangeKey="AQAAAA==")
    if "item:ItemClass" in wanted:
        node.child("t:ItemClass", item.item_class)
    if "item:Subject" in wanted:
        node.child("t:Subject", fields.subject)
    if "item:Body" in wanted:
        node.child("t:Body", fields.body, BodyType=fields.body_type)
    if "calendar:UID" in wanted:
        node.child("t:UID", appointment.uid)
    if "calendar:Start" in wanted:
        node.child("t:Start", ews_time(fields.start))
    if "calendar:End" in wanted:
        node.child("t:End", ews_time(fields.end))
    if "calendar:OriginalStart" in wanted and original is not None:
        node.child("t:OriginalStart", ews_time(original))
    if "calendar:IsAllDayEvent" in wanted:
        node.child("t:IsAllDayEvent", "true" if fields.all_day else "false")
    if "calendar:Location" in wanted and fields.location:
        node.child("t:Location", fields.location)
    if "calendar:IsRecurring" in wanted:
        node.child("t:IsRecurring", "true" if kind in ("Occurrence", "Exception") else "false")
    if "calendar:CalendarItemType" in wanted:
        node.child("t:CalendarItemType", kind)
    if "calendar:Organizer" in wanted:
        _mailbox(node.child("t:Organizer"), appointment.organizer)
    for name, attendees in (("RequiredAttendees", fields.required), ("OptionalAttendees", fields.optional)):
        if f"calendar:{name}" in wanted and attendees:
            listed = node.child(f"t:{name}")
            for attendee in attendees:
                entry = listed.child("t:Attendee")
                _mailbox(entry, attendee.address, attendee.name)
                entry.child("t:ResponseType", attendee.response)
    if index is None and appointment.recurrence is not None:
        _series(node, item, appointment, wanted)
    if "calendar:StartTimeZone" in wanted:
        node.child("t:StartTimeZone", Id=appointment.start_zone, Name=appointment.start_zone)
    if "calendar:EndTimeZone" in wanted:
        node.child("t:EndTimeZone", Id=appointment.end_zone, Name=appointment.end_zone)
    return node


def _series(node: Node, item: "FakeItem", appointment: Appointment, wanted: frozenset[str]) -> None:
    recurrence = appointment.recurrence
    assert recurrence is not None
    if "calendar:Recurrence" in wanted:
        holder = node.child("t:Recurrence")
        pattern = holder.child(f"t:{recurrence.pattern}")
        for name, value in recurrence.values.items():
            pattern.child(f"t:{name}", value)
        span = holder.child(f"t:{recurrence.range}")
        for name, value in recurrence.range_values.items():
            span.child(f"t:{name}", value)
    if "calendar:ModifiedOccurrences" in wanted and appointment.modified:
        listed = node.child("t:ModifiedOccurrences")
        for _, modified in sorted(appointment.modified.items()):
            entry = listed.child("t:Occurrence")
            entry.child("t:ItemId", Id=modified.id, ChangeKey=item.change_key)
            entry.child("t:Start", ews_time(modified.fields.start))
            entry.child("t:End", ews_time(modified.fields.end))
            entry.child("t:OriginalStart", ews_time(modified.original_start))
    if "calendar:DeletedOccurrences" in wanted and appointment.deleted:
        listed = node.child("t:DeletedOccurrences")
        for _, start in sorted(appointment.deleted.items()):
            listed.child("t:DeletedOccurrence").child("t:Start", ews_time(start))
