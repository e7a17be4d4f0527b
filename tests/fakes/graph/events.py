"""The calendar endpoints of the fake Graph, under `/users/{id}/` and `/me/` (api-reference event, event-delta,
event-list-instances; samples in /work/shared/exchange-samples/graph/event-get and event-delta):

* `GET calendar/events` | `events`: singles and series masters, `$select`, `$top`/`$skip` paging with
  `@odata.nextLink`, `$filter=iCalUId eq '...'`, and `$expand=singleValueExtendedProperties($filter=id eq '...')`.
* `POST calendar/events` | `events`: 201 and the event; a `transactionId` seen before answers with the event it
  created (Graph's protection against a retried create).
* `GET|PATCH|DELETE events/{id}` (also under `calendar/`): singles, masters, occurrences and exceptions; PATCH
  and DELETE honour `If-Match` (412 ErrorIrresolvableConflict when the changeKey moved on).
* `GET events/{id}/instances?startDateTime=&endDateTime=`: a master's occurrences and exceptions in the range.
* `GET calendarView/delta?startDateTime=&endDateTime=` (also under `calendar/`): a round over the window fixed by
  the first call; pages by `Prefer: odata.maxpagesize`, `@odata.deltaLink` at the end, then each instance added or
  changed since, and `{"id", "@removed": {"reason": "deleted"}}` for each that left the window or was deleted; a
  token the fake did not give, or given before `reset_delta`, answers 410 syncStateNotFound.
Times come back in UTC unless `Prefer: outlook.timezone="..."` names another zone (Preference-Applied says so)."""

import datetime as dt
import re
import secrets
from typing import Any

from tests.fakes.graph.calendar import (
    WRITABLE,
    FakeCalendar,
    FakeEvent,
    Instance,
    calendar_of,
    parse_time,
    render_time,
)
from tests.fakes.graph.replies import GraphError, Reply, bad_request, empty_reply, iso, json_reply

ROOTS = frozenset({"calendar", "events", "calendarview"})
DEFAULT_PAGE = 10
_ZONE = re.compile(r'outlook\.timezone\s*=\s*"([^"]+)"', re.IGNORECASE)
_SIZE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)
_EXPAND = re.compile(r"^singleValueExtendedProperties\(\$filter=id eq '([^']+)'\)$", re.IGNORECASE)
_ICALUID = re.compile(r"^iCalUId eq '([^']*)'$")
_NO_WINDOW = ("This request requires a time window specified by the query string parameters StartDateTime and "
              "EndDateTime.")


def handle(call: Any) -> Reply:
    """`call` is mail_api.Call; its segments start after the user."""
    calendar = calendar_of(call.box)
    names = [s.lower() for s in call.segments]
    if names[:1] == ["calendar"]:
        names, segments = names[1:], call.segments[1:]
    else:
        segments = call.segments
    method = call.method
    if names == ["events"] and method == "GET":
        return _list(call, calendar)
    if names == ["events"] and method == "POST":
        return _create(call, calendar)
    if names == ["calendarview", "delta"] and method == "GET":
        return _delta(call, calendar)
    if len(names) == 2 and names[0] == "events":
        instance = calendar.find(segments[1])
        if method == "GET":
            return json_reply(200, _render(call, instance), _applied(call))
        if method == "PATCH":
            _check_etag(call, instance)
            calendar.update(instance, _writable(call.json_body()))
            return json_reply(200, _render(call, calendar.find(instance.id)), _applied(call))
        if method == "DELETE":
            _check_etag(call, instance)
            calendar.delete(instance)
            return empty_reply(204)
    if len(names) == 3 and names[0] == "events" and names[2] == "instances" and method == "GET":
        return _instances(call, calendar, calendar.find(segments[1]))
    raise GraphError(405, "BadRequest", "Specified HTTP method is not allowed for the request target.")


# -- shapes -----------------------------------------------------------------------------------------------------
def _zone(call: Any) -> str:
    found = _ZONE.search(call.prefer)
    return found[1] if found else "UTC"


def _applied(call: Any, extra: list[str] | None = None) -> dict[str, str]:
    applied = list(extra or [])
    found = _ZONE.search(call.prefer)
    if found:
        applied.append(f'outlook.timezone="{found[1]}"')
    return {"Preference-Applied": ", ".join(applied)} if applied else {}


def _render(call: Any, instance: Instance, *, delta: bool = False) -> dict[str, Any]:
    event, props, zone_name = instance.event, instance.properties, _zone(call)
    start, end = instance.span
    body = props.get("body") or {"contentType": "html", "content": ""}
    attendees = [{"type": a.get("type", "required"), "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                  "emailAddress": a.get("emailAddress", {})} for a in props.get("attendees") or []]
    out: dict[str, Any] = {
        "@odata.etag": f'W/"{instance.change_key}"', "id": instance.id,
        "createdDateTime": iso(event.created), "lastModifiedDateTime": iso(event.last_modified),
        "changeKey": instance.change_key, "categories": list(props.get("categories") or []),
        "transactionId": event.transaction_id, "originalStartTimeZone": event.zone_name,
        "originalEndTimeZone": str(event.fields["end"].get("timeZone") or "UTC"),
        "iCalUId": event.ical_uid if instance.original is None else
        event.ical_uid + instance.original.strftime("%Y%m%d"),
        "reminderMinutesBeforeStart": 15, "isReminderOn": True, "hasAttachments": False,
        "subject": props.get("subject") or "", "bodyPreview": str(body.get("content") or "")[:255],
        "importance": "normal", "sensitivity": "normal", "isAllDay": bool(props.get("isAllDay")),
        "isCancelled": False, "isOrganizer": True, "responseRequested": True,
        "seriesMasterId": event.id if instance.original is not None else None, "showAs": "busy",
        "type": instance.kind, "webLink": f"https://outlook.office365.com/owa/?itemid={instance.id}&exvsurl=1",
        "onlineMeetingUrl": None, "isOnlineMeeting": False,
        "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
        "body": body,
        "start": _time(start, zone_name, bool(props.get("isAllDay")), props["start"]),
        "end": _time(end, zone_name, bool(props.get("isAllDay")), props["end"]),
        "location": {"displayName": (props.get("location") or {}).get("displayName", ""),
                     "locationType": "default", "uniqueIdType": "unknown"},
        "recurrence": props.get("recurrence") if instance.kind == "seriesMaster" else None,
        "attendees": attendees,
        "organizer": {"emailAddress": {"name": call.box.display_name, "address": call.box.address}},
    }
    if instance.original is not None:
        out["originalStart"] = iso(instance.original)
    if delta:
        out["@odata.type"] = "#microsoft.graph.event"
    select = call.params.get("$select")
    if select and not delta:
        wanted = {s.strip() for s in select.split(",")} | {"id", "@odata.etag"}
        out = {k: v for k, v in out.items() if k in wanted}
    expand = call.params.get("$expand")
    if expand:
        found = _EXPAND.match(expand)
        if not found:
            raise bad_request(f"The fake does not implement $expand={expand}.", "ErrorInvalidUrlQuery")
        value = event.extended.get(found[1].lower())
        if value is not None and instance.original is None:
            out["singleValueExtendedProperties"] = [{"id": found[1], "value": value}]
    return out


def _time(moment: Any, zone_name: str, all_day: bool, given: dict[str, Any]) -> dict[str, str]:
    if all_day:  # all-day events float: midnight whatever zone is asked for
        return {"dateTime": str(given["dateTime"])[:10] + "T00:00:00.0000000", "timeZone": zone_name}
    return render_time(moment, zone_name)


def _check_etag(call: Any, instance: Instance) -> None:
    wanted = call.headers.get("if-match")
    if wanted is not None and wanted.strip() not in ("*", f'W/"{instance.change_key}"', f'"{instance.change_key}"'):
        raise GraphError(412, "ErrorIrresolvableConflict", "The send or update operation could not be performed "
                         "because the change key passed in the request does not match the current change key for "
                         "the item.")


def _writable(body: dict[str, Any]) -> dict[str, Any]:
    unknown = set(body) - set(WRITABLE) - {"@odata.type"}
    if unknown:
        name = sorted(unknown)[0]
        raise bad_request(f"The property '{name}' does not exist on type 'microsoft.graph.event' or is read-only.")
    for key in ("start", "end"):
        if key in body:
            parse_time(body[key])
    return {k: v for k, v in body.items() if k != "@odata.type"}


# -- handlers ---------------------------------------------------------------------------------------------------
def _page(call: Any, items: list[Any], link: str) -> tuple[list[Any], str | None]:
    top, skip = call.params.get("$top", str(DEFAULT_PAGE)), call.params.get("$skip", "0")
    if not top.isdigit() or not skip.isdigit() or int(top) < 1:
        raise bad_request("Invalid value for $top or $skip.", "ErrorInvalidUrlQuery")
    start, size = int(skip), min(int(top), 1000)
    if start + size >= len(items):
        return items[start:], None
    extra = "".join(f"&{k}={v}" for k, v in call.params.items() if k not in ("$top", "$skip"))
    return items[start:start + size], f"{link}?$top={size}&$skip={start + size}{extra}"


def _list(call: Any, calendar: FakeCalendar) -> Reply:
    with calendar._lock:
        events = sorted(calendar.events.values(), key=lambda e: e.created)
        wanted = call.params.get("$filter")
        if wanted is not None:
            found = _ICALUID.match(wanted)
            if not found:
                raise bad_request(f"The fake does not implement $filter={wanted}.", "ErrorInvalidUrlQuery")
            events = [e for e in events if e.ical_uid == found[1]]
        rendered = [_render(call, calendar.find(e.id)) for e in events]
    chunk, link = _page(call, rendered, f"{call.graph_url}/{call.user_path}/calendar/events")
    payload: dict[str, Any] = {"@odata.context": f"{call.graph_url}/$metadata#users('{call.box.user_id}')/events",
                               "value": chunk}
    if link:
        payload["@odata.nextLink"] = link
    return json_reply(200, payload, _applied(call))


def _create(call: Any, calendar: FakeCalendar) -> Reply:
    body = dict(call.json_body())
    transaction_id = body.pop("transactionId", None)
    extended = {str(p.get("id", "")).lower(): str(p.get("value", ""))
                for p in body.pop("singleValueExtendedProperties", None) or []}
    fields = _writable(body)
    if "start" not in fields or "end" not in fields:
        raise bad_request("Your request can't be completed. The start and end of an event are required.",
                          "ErrorInvalidRequest")
    event = calendar.create(fields, str(transaction_id) if transaction_id else None, extended)
    if calendar.lose_next_create:
        calendar.lose_next_create = False
        raise GraphError(504, "GatewayTimeout", "The gateway did not receive a response in time.")
    return json_reply(201, _render(call, calendar.find(event.id)), _applied(call))


def _window(call: Any) -> tuple[Any, Any]:
    start, end = call.params.get("startDateTime"), call.params.get("endDateTime")
    if not start or not end:
        raise bad_request(_NO_WINDOW, "ErrorInvalidParameter")
    try:
        return parse_time({"dateTime": start, "timeZone": "UTC"}), parse_time({"dateTime": end, "timeZone": "UTC"})
    except GraphError:
        raise bad_request(_NO_WINDOW, "ErrorInvalidParameter") from None


def _instances(call: Any, calendar: FakeCalendar, master: Instance) -> Reply:
    start, end = _window(call)
    if master.kind != "seriesMaster":
        raise bad_request("The instances of an event can only be listed for a series master.",
                          "ErrorInvalidRequest")
    with calendar._lock:
        found = [i for i in calendar.instances_of(master.event, end + dt.timedelta(days=366))
                 if i.span[0] < end and i.span[1] > start]
        rendered = [_render(call, i) for i in found]
    chunk, link = _page(call, rendered, f"{call.graph_url}/{call.user_path}/events/{master.id}/instances")
    payload: dict[str, Any] = {"@odata.context": f"{call.graph_url}/$metadata#Collection(event)", "value": chunk}
    if link:
        payload["@odata.nextLink"] = link
    return json_reply(200, payload, _applied(call))


# -- calendarView delta -----------------------------------------------------------------------------------------
_rounds: dict[str, tuple[int, str, Any, Any, dict[str, str]]] = {}  # token -> (generation, box, start, end, seen)
_pages: dict[str, tuple[list[dict[str, Any]], int, str]] = {}  # skiptoken -> (items, offset, delta token)


def _delta(call: Any, calendar: FakeCalendar) -> Reply:
    link = f"{call.graph_url}/{call.user_path}/calendarView/delta"
    found = _SIZE.search(call.prefer)
    size = int(found[1]) if found and int(found[1]) > 0 else DEFAULT_PAGE
    with calendar._lock:
        if "$skiptoken" in call.params:
            page = _pages.get(call.params["$skiptoken"])
            if page is None:
                raise _gone(link)
            items, offset, token = page
        else:
            if "$deltatoken" in call.params:
                known = _rounds.get(call.params["$deltatoken"])
                if known is None or known[0] != calendar.delta_generation or known[1] != call.box.address:
                    raise _gone(link)
                _, _, start, end, seen = known
            else:
                start, end = _window(call)
                seen = {}
            now = {i.id: i for i in calendar.view(start, end)}
            items = [_render(call, i, delta=True) for i in now.values() if seen.get(i.id) != i.change_key]
            items += [{"id": gone, "@removed": {"reason": "deleted"}} for gone in seen if gone not in now]
            token, offset = secrets.token_urlsafe(24), 0
            _rounds[token] = (calendar.delta_generation, call.box.address, start, end,
                              {i.id: i.change_key for i in now.values()})
        payload: dict[str, Any] = {"@odata.context": f"{call.graph_url}/$metadata#Collection(event)"}
        if offset + size < len(items):
            skip = secrets.token_urlsafe(24)
            _pages[skip] = (items, offset + size, token)
            payload["@odata.nextLink"] = f"{link}?$skiptoken={skip}"
        else:
            payload["@odata.deltaLink"] = f"{link}?$deltatoken={token}"
        payload["value"] = items[offset:offset + size]
    return json_reply(200, payload, _applied(call, [f"odata.maxpagesize={size}"] if found else []))


def _gone(link: str) -> GraphError:
    return GraphError(410, "syncStateNotFound", "The sync state generation is not found. The delta token is expired "
                      "and data must be synchronized again.", {"Location": link})


__all__ = ["ROOTS", "FakeEvent", "handle"]
