"""Graph events (JSON) <-> one iCalendar object, for the Graph store.

Reading: a single event, or a series master with its instances (GET /events/{id}/instances over the series'
range), becomes one VCALENDAR: the master with RRULE and an EXDATE for each occurrence the rule generates that
Graph no longer has (a cancelled occurrence), and an overriding VEVENT per instance of type `exception`
(RECURRENCE-ID = its originalStart). Graph is asked for times in UTC (`Prefer: outlook.timezone="UTC"`); they are
written in the zone the organizer chose, `originalStartTimeZone`, a Windows name that calendar_sync.timezones
turns into its IANA zone. The UID is our own when we created the event (Exchange gives every event it stores a
new iCalUId, so the creator's UID is kept in a named extended property, UID_PROPERTY), else Graph's iCalUId.

Writing: the JSON Graph takes on POST/PATCH (subject, body as text, start/end with a Windows zone name, isAllDay,
location, attendees by role, recurrence for a master)."""

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from dateutil import rrule as dateutil_rrule

from calendar_sync.errors import ItemBroken
from calendar_sync.items import CalendarItem
from calendar_sync.stores.graph_recurrence import from_rrule, to_rrule
from calendar_sync.timezones import UnknownTimeZone, windows_name, zone

# A named property in PS_PUBLIC_STRINGS, as Graph's extended-property docs name them.
UID_PROPERTY = "String {00020329-0000-0000-C000-000000000046} Name mailcrm-uid"
PARTSTAT = {"accepted": "ACCEPTED", "tentativelyAccepted": "TENTATIVE", "declined": "DECLINED"}
ROLE = {"required": "REQ-PARTICIPANT", "optional": "OPT-PARTICIPANT", "resource": "NON-PARTICIPANT"}
SELECT = ("id,type,changeKey,iCalUId,seriesMasterId,originalStart,originalStartTimeZone,originalEndTimeZone,"
          "subject,body,start,end,isAllDay,location,attendees,organizer,recurrence,isCancelled")
EXPAND = f"singleValueExtendedProperties($filter=id eq '{UID_PROPERTY}')"


# -- Graph -> iCalendar -------------------------------------------------------------------------------------------
def event_zone(event: dict[str, Any]) -> ZoneInfo:
    """The zone the organizer chose; UTC for Outlook's legacy custom zones and anything unknown."""
    try:
        return zone(str(event.get("originalStartTimeZone") or "UTC"))
    except UnknownTimeZone:
        return ZoneInfo("UTC")


def graph_time(value: dict[str, Any]) -> dt.datetime:
    """A dateTimeTimeZone as an aware datetime ("2030-03-04T09:00:00.0000000", "UTC")."""
    text = str(value["dateTime"])
    head, _, fraction = text.partition(".")
    moment = dt.datetime.fromisoformat(head + ("." + fraction[:6] if fraction else ""))
    return moment.replace(tzinfo=zone(str(value.get("timeZone") or "UTC")))


def _when(value: dict[str, Any], tz: ZoneInfo, all_day: bool) -> dt.date | dt.datetime:
    if all_day:  # all-day events are floating in Exchange: midnight in whatever zone was asked for
        return dt.date.fromisoformat(str(value["dateTime"])[:10])
    return graph_time(value).astimezone(tz)


def uid_of(event: dict[str, Any]) -> str:
    for prop in event.get("singleValueExtendedProperties") or []:
        if str(prop.get("id", "")).lower() == UID_PROPERTY.lower() and prop.get("value"):
            return str(prop["value"])
    return str(event.get("iCalUId") or event["id"])


def _vevent(event: dict[str, Any], uid: str, tz: ZoneInfo, all_day: bool) -> icalendar.Event:
    out = icalendar.Event()
    out.add("UID", uid)
    out.add("DTSTAMP", dt.datetime.now(dt.UTC).replace(microsecond=0))
    out.add("DTSTART", _when(event["start"], tz, all_day))
    out.add("DTEND", _when(event["end"], tz, all_day))
    out.add("SUMMARY", str(event.get("subject") or ""))
    content = str((event.get("body") or {}).get("content") or "").strip()
    if content:
        out.add("DESCRIPTION", content)
    location = str((event.get("location") or {}).get("displayName") or "")
    if location:
        out.add("LOCATION", location)
    organizer = ((event.get("organizer") or {}).get("emailAddress") or {})
    if organizer.get("address"):
        out.add("ORGANIZER", f"mailto:{organizer['address']}", parameters=_cn(organizer))
    for attendee in event.get("attendees") or []:
        address = (attendee.get("emailAddress") or {})
        if not address.get("address"):
            continue
        kind = str(attendee.get("type") or "required")
        params = {"ROLE": ROLE.get(kind, "REQ-PARTICIPANT"),
                  "PARTSTAT": PARTSTAT.get(str((attendee.get("status") or {}).get("response")), "NEEDS-ACTION"),
                  **_cn(address)}
        if kind == "resource":
            params["CUTYPE"] = "RESOURCE"
        out.add("ATTENDEE", f"mailto:{address['address']}", parameters=params)
    return out


def _cn(address: dict[str, Any]) -> dict[str, str]:
    name = str(address.get("name") or "")
    return {"CN": name} if name and name != address.get("address") else {}


@dataclass(frozen=True)
class Series:
    """What a master's instances say: its exceptions, and the original starts (UTC) of cancelled occurrences."""

    exceptions: tuple[dict[str, Any], ...]
    cancelled: tuple[dt.datetime, ...]


def occurrence_starts(master: dict[str, Any], until: dt.datetime) -> list[dt.datetime]:
    """The original starts (UTC) the master's rule generates, up to `until` (an unbounded rule stops there)."""
    tz, all_day = event_zone(master), bool(master.get("isAllDay"))
    start = _when(master["start"], tz, all_day)
    rule = to_rrule(master["recurrence"], start, tz)
    first = start if isinstance(start, dt.datetime) else dt.datetime.combine(start, dt.time(), tz)
    text = rule.to_ical().decode()
    if all_day and "UNTIL" in rule:  # dateutil wants UNTIL as aware as DTSTART
        last = rule["UNTIL"][0] if isinstance(rule["UNTIL"], list) else rule["UNTIL"]
        rule["UNTIL"] = dt.datetime.combine(last, dt.time(23, 59, 59), tz).astimezone(dt.UTC)
        text = rule.to_ical().decode()
    starts = dateutil_rrule.rrulestr(text, dtstart=first)
    return [s.astimezone(dt.UTC) for s in starts.between(first - dt.timedelta(seconds=1), until, inc=True)]


def series_of(master: dict[str, Any], instances: Iterable[dict[str, Any]], until: dt.datetime) -> Series:
    present, exceptions = set(), []
    for instance in instances:
        if instance.get("originalStart"):
            present.add(_utc(str(instance["originalStart"])))
        if instance.get("type") == "exception":
            exceptions.append(instance)
    exceptions.sort(key=lambda e: str(e.get("originalStart")))
    cancelled = tuple(s for s in occurrence_starts(master, until) if s not in present)
    return Series(tuple(exceptions), cancelled)


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)


def etag_of(event: dict[str, Any], series: Series | None) -> str:
    """The event's @odata.etag; for a series also a digest of its exceptions' change keys and its cancelled
    occurrences, so that the etag moves when an exception changes, appears, or an occurrence is deleted."""
    etag = str(event.get("@odata.etag") or f'W/"{event.get("changeKey", "")}"')
    if series is None or not (series.exceptions or series.cancelled):
        return etag
    digest = hashlib.sha256()
    for exception in series.exceptions:
        digest.update(f"{exception.get('originalStart')}={exception.get('changeKey')};".encode())
    for cancelled in series.cancelled:
        digest.update(f"-{cancelled.isoformat()};".encode())
    return f"{etag}:{digest.hexdigest()[:16]}"


def master_etag(etag: str) -> str:
    """The If-Match part of a combined etag: up to its closing quote (a change key's base64 holds + and /)."""
    return etag[:etag.rindex('"') + 1] if '"' in etag else etag


def to_icalendar(event: dict[str, Any], series: Series | None) -> CalendarItem:
    tz, all_day, uid = event_zone(event), bool(event.get("isAllDay")), uid_of(event)
    cal = icalendar.Calendar()
    cal.add("PRODID", "-//mailcrm//Microsoft Graph//EN")
    cal.add("VERSION", "2.0")
    master = _vevent(event, uid, tz, all_day)
    if event.get("recurrence"):
        master.add("RRULE", to_rrule(event["recurrence"], master["DTSTART"].dt, tz))
    cal.add_component(master)
    if series is not None:
        for cancelled in series.cancelled:
            master.add("EXDATE", cancelled.date() if all_day else cancelled.astimezone(tz))
        for exception in series.exceptions:
            override = _vevent(exception, uid, tz, all_day)
            original = _utc(str(exception["originalStart"]))
            override.add("RECURRENCE-ID", original.date() if all_day else original.astimezone(tz))
            cal.add_component(override)
    return CalendarItem.from_calendar(cal)


# -- iCalendar -> Graph -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """What to write: the master's JSON, each override's JSON by its original start (UTC), the EXDATEs (UTC)."""

    master: dict[str, Any]
    overrides: dict[dt.datetime, dict[str, Any]]
    cancelled: tuple[dt.datetime, ...]


def _zone_name(value: dt.date | dt.datetime) -> str:
    tz = value.tzinfo if isinstance(value, dt.datetime) else None
    key = getattr(tz, "key", None) or (tz.tzname(value) if tz is not None and isinstance(value, dt.datetime) else None)
    if not key or key in ("UTC", "Z"):
        return "UTC"
    try:
        return windows_name(str(key))
    except UnknownTimeZone as exc:
        raise ItemBroken(f"Exchange has no zone for {key!r}") from exc


def _graph_time(value: dt.date | dt.datetime, zone_name: str) -> dict[str, str]:
    if not isinstance(value, dt.datetime):
        return {"dateTime": f"{value.isoformat()}T00:00:00", "timeZone": zone_name}
    local = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    local = local.astimezone(zone(zone_name) if zone_name != "UTC" else dt.UTC)
    return {"dateTime": local.replace(tzinfo=None).isoformat(), "timeZone": zone_name}


def _end(event: icalendar.Event, start: dt.date | dt.datetime) -> dt.date | dt.datetime:
    if "DTEND" in event:
        return event["DTEND"].dt  # type: ignore[no-any-return]
    if "DURATION" in event:
        return start + event["DURATION"].dt  # type: ignore[no-any-return]
    return start + dt.timedelta(days=1) if not isinstance(start, dt.datetime) else start


def event_json(event: icalendar.Event, *, master: bool) -> dict[str, Any]:
    start = event["DTSTART"].dt
    all_day = not isinstance(start, dt.datetime)
    zone_name = "UTC" if all_day else _zone_name(start)
    body: dict[str, Any] = {
        "subject": str(event.get("SUMMARY", "")),
        "body": {"contentType": "text", "content": str(event.get("DESCRIPTION", ""))},
        "start": _graph_time(start, zone_name), "end": _graph_time(_end(event, start), zone_name),
        "isAllDay": all_day,
        "location": {"displayName": str(event.get("LOCATION", ""))},
        "attendees": [_attendee(a) for a in _as_list(event.get("ATTENDEE"))],
    }
    if master:
        rule = event.get("RRULE")
        body["recurrence"] = from_rrule(rule, start, zone_name) if rule is not None else None
    return body


def _attendee(value: Any) -> dict[str, Any]:
    params = getattr(value, "params", {})
    role, cutype = str(params.get("ROLE", "REQ-PARTICIPANT")), str(params.get("CUTYPE", "INDIVIDUAL"))
    kind = ("resource" if cutype in ("RESOURCE", "ROOM") else "optional" if role == "OPT-PARTICIPANT"
            else "required")
    address = str(value).removeprefix("mailto:").removeprefix("MAILTO:")
    email: dict[str, str] = {"address": address}
    if params.get("CN"):
        email["name"] = str(params["CN"])
    return {"type": kind, "emailAddress": email}


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _instant(value: dt.date | dt.datetime, tz: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return dt.datetime.combine(value, dt.time(), tz or dt.UTC).astimezone(dt.UTC)


def plan(item: CalendarItem) -> Plan:
    """The writes for one calendar object; ItemBroken when Graph cannot hold it."""
    masters = [e for e in item.events if "RECURRENCE-ID" not in e]
    if len(masters) != 1:
        raise ItemBroken("Graph keeps a series only with its master (an orphan override cannot be written)")
    master = masters[0]
    if "RDATE" in master:
        raise ItemBroken("Graph cannot express RDATE")
    start = master["DTSTART"].dt
    master_tz = zone(_zone_name(start)) if isinstance(start, dt.datetime) else ZoneInfo("UTC")
    overrides: dict[dt.datetime, dict[str, Any]] = {}
    for event in item.events:
        if "RECURRENCE-ID" in event:
            overrides[_instant(event["RECURRENCE-ID"].dt, master_tz)] = event_json(event, master=False)
    cancelled = []
    for exdate in _as_list(master.get("EXDATE")):
        cancelled.extend(_instant(d.dt, master_tz) for d in exdate.dts)
    return Plan(event_json(master, master=True), overrides, tuple(sorted(cancelled)))
