"""An Exchange Online calendar (the mailbox's default calendar) through Microsoft Graph, as a CalendarStore.

- href: the id of the single event or the series master. etag: its @odata.etag, and for a series with
  exceptions or deleted occurrences also a digest of the exceptions' change keys and the deleted occurrences'
  starts (graph_convert.etag_of), so it moves when an exception does; If-Match sends the event's own part.
- list: GET /calendar/events (singles and masters), and each master's instances ($batch) for its etag.
- changes: calendarView delta over a rolling window (graph_delta); instances map to their seriesMasterId.
- get/get_many: the event and, for a master, GET /events/{id}/instances over the series' range ($batch for
  many): type == exception becomes an override, an occurrence the rule generates but Graph lacks an EXDATE.
- upload: POST with transactionId = a hash of the UID, so a create retried after a lost answer does not make a
  second event (Graph answers the retry with the first); our UID kept in an extended property (Graph gives
  every event its own iCalUId); then each override PATCHes its occurrence and each EXDATE deletes one.
- Invitations: Graph sends meeting requests to the attendees whenever the organizer's mailbox creates or
  updates a meeting with attendees, and v1.0 has no way to say otherwise (EWS's SendMeetingInvitations=
  SendToNone has no Graph equivalent). A calendar synced through this store therefore mails its attendees; the
  CRM must not send its own invitations for it.
- Errors: mailbridge's Graph translation (429/503 after Retry-After -> TemporaryFailure, 401 ->
  AuthenticationFailed, 410 -> CursorInvalid); 404 -> NotFound, 412 -> PreconditionFailed here."""

from __future__ import annotations

import datetime as dt
import hashlib
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from calendar_sync.errors import ItemBroken, NotFound, PreconditionFailed
from calendar_sync.items import CalendarItem
from calendar_sync.stores.base import Changes
from calendar_sync.stores.graph_convert import (
    EXPAND,
    SELECT,
    UID_PROPERTY,
    Series,
    etag_of,
    graph_time,
    master_etag,
    occurrence_starts,
    plan,
    series_of,
    to_icalendar,
)
from calendar_sync.stores.graph_delta import DeltaCursor, Window, delta_round, href_of, pages, sort_items
from calendar_sync.stores.graph_delta import graph_time as url_time
from mailbridge.errors import MailError
from mailbridge.sources.graph.client import BatchRequest, BatchResponse, GraphClient
from mailbridge.sources.graph.errors import response_error

PREFER = 'outlook.timezone="UTC", outlook.body-content-type="text"'
HEADERS = {"Prefer": PREFER}
SLACK = dt.timedelta(days=31)  # how far an exception may have moved from its series' range and still be found
FAR = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)
INSTANCE_SELECT = "id,type,changeKey,originalStart,subject,body,start,end,isAllDay,location,attendees,organizer"


class GraphCalendarStore:
    read_only = False

    def __init__(self, client: GraphClient, user: str | None = None, *, window: Window | None = None,
                 now: Callable[[], dt.datetime] | None = None) -> None:
        self.client = client
        self.user = user or client.settings.user
        self.base = "/users/" + urllib.parse.quote(self.user, safe="@")
        self.window = window or Window()
        self._now = now or (lambda: dt.datetime.now(dt.UTC))

    def close(self) -> None:
        self.client.close()

    # -- reading ------------------------------------------------------------------------------------------------
    def list(self) -> Iterator[tuple[str, str]]:
        events = [e for page in pages(self.client, f"{self.base}/calendar/events", "list the calendar", HEADERS,
                                      {"$select": SELECT, "$top": "100"}) for e in page.get("value") or []]
        series = self._series([e for e in events if e.get("recurrence")])
        return iter([(e["id"], etag_of(e, series.get(e["id"]))) for e in events])

    def changes(self, cursor: str | None) -> Changes:
        start, end = self.window.at(self._now())
        known = DeltaCursor.load(cursor) if cursor is not None else None
        if known is None or known.behind(start, self.window):
            listing = dict(self.list())
            items, link = delta_round(self.client, f"{self.base}/calendarView/delta", HEADERS,
                                      {"startDateTime": url_time(start), "endDateTime": url_time(end)})
            masters = sort_items(items).masters
            return Changes(changed=listing, complete=True, cursor=DeltaCursor(link, start, end,
                                                                              frozenset(masters)).dump())
        items, link = delta_round(self.client, known.link, HEADERS)
        found = sort_items(items)
        candidates, masters = set(found.touched), set(known.masters) | found.masters
        # A removed instance: still there (moved out of the window) -> its series or itself changed; gone -> a
        # deleted single, series or occurrence, which its id alone does not tell apart: check the known series.
        present, gone = self._fetch(found.removed, select="id,seriesMasterId")
        candidates |= {href_of(e) for e in present.values()}
        if gone:
            candidates |= masters
        events, missing = self._fetch(candidates)
        series = self._series([e for e in events.values() if e.get("recurrence")])
        changed = {href: etag_of(e, series.get(href)) for href, e in events.items()}
        masters -= missing
        masters |= {h for h, e in events.items() if e.get("recurrence")}
        return Changes(changed=changed, deleted=frozenset((gone | missing) - changed.keys()), complete=False,
                       cursor=DeltaCursor(link, known.start, known.end, frozenset(masters)).dump())

    def get(self, href: str) -> tuple[CalendarItem, str]:
        try:
            event = self.client.get_json(f"{self._event(href)}", "read an event", headers=HEADERS,
                                         params={"$select": SELECT, "$expand": EXPAND})
        except MailError as exc:
            raise _translated(exc) from None
        series = self._series([event]).get(href) if event.get("recurrence") else None
        return to_icalendar(event, series), etag_of(event, series)

    def get_many(self, hrefs: Iterable[str]) -> Iterator[tuple[str, CalendarItem, str]]:
        events, _ = self._fetch(set(hrefs), expand=True)
        series = self._series([e for e in events.values() if e.get("recurrence")])
        for href, event in events.items():
            yield href, to_icalendar(event, series.get(href)), etag_of(event, series.get(href))

    # -- writing ------------------------------------------------------------------------------------------------
    def upload(self, item: CalendarItem) -> tuple[str, str]:
        writes = plan(item)
        body = {**writes.master, "transactionId": _transaction_id(item.uid),
                "singleValueExtendedProperties": [{"id": UID_PROPERTY, "value": item.uid}]}
        if body.get("recurrence") is None:
            body.pop("recurrence", None)
        try:
            created = self.client.request("POST", f"{self.base}/calendar/events", "create an event",
                                          json_body=body, headers=HEADERS).json()
        except MailError as exc:
            raise _translated(exc) from None
        href = str(created["id"])
        if writes.overrides or writes.cancelled:
            self._write_instances(created, writes.overrides, writes.cancelled, {})
        return href, self._etag(href)

    def update(self, href: str, item: CalendarItem, etag: str) -> str:
        writes = plan(item)
        current, series = self._current(href)
        if etag_of(current, series) != etag:
            raise PreconditionFailed(f"{href} changed since it was read")
        body = dict(writes.master)
        if body.get("recurrence") is None and not current.get("recurrence"):
            body.pop("recurrence", None)
        self._conditional("PATCH", href, master_etag(etag), body, "update an event")
        if body.get("recurrence"):
            refreshed, series = self._current(href)
            stale = {} if series is None else {_start(e): e for e in series.exceptions}
            cancelled = tuple(c for c in writes.cancelled if series is None or c not in series.cancelled)
            self._write_instances(refreshed, writes.overrides, cancelled, stale)
        return self._etag(href)

    def delete(self, href: str, etag: str) -> None:
        current, series = self._current(href)
        if etag_of(current, series) != etag:
            raise PreconditionFailed(f"{href} changed since it was read")
        self._conditional("DELETE", href, master_etag(etag), None, "delete an event")

    # -- helpers ------------------------------------------------------------------------------------------------
    def _event(self, event_id: str) -> str:
        return f"{self.base}/events/{urllib.parse.quote(event_id, safe='')}"

    def _current(self, href: str) -> tuple[dict[str, Any], Series | None]:
        events, _ = self._fetch({href})
        if href not in events:
            raise NotFound(f"{href} is gone")
        event = events[href]
        return event, (self._series([event]).get(href) if event.get("recurrence") else None)

    def _etag(self, href: str) -> str:
        event, series = self._current(href)
        return etag_of(event, series)

    def _fetch(self, ids: Iterable[str], *, expand: bool = False,
               select: str = SELECT) -> tuple[dict[str, dict[str, Any]], set[str]]:
        """The events by id ($batch) and the ids Graph no longer has."""
        wanted = sorted(set(ids))
        params = {"$select": select, **({"$expand": EXPAND} if expand else {})}
        query = "?" + urllib.parse.urlencode(params, quote_via=urllib.parse.quote, safe="$,")
        requests = [BatchRequest(str(n), "GET", self._event(i) + query, headers=HEADERS)
                    for n, i in enumerate(wanted)]
        answers = self.client.batch(requests, "read events") if requests else {}
        found, gone = {}, set()
        for n, event_id in enumerate(wanted):
            answer = answers[str(n)]
            if answer.status == 404:
                gone.add(event_id)
            elif not answer.ok or not isinstance(answer.body, dict):
                raise _failed(answer, "read an event")
            else:
                found[event_id] = answer.body
        return found, gone

    def _until(self, master: dict[str, Any]) -> dt.datetime:
        endless = (master.get("recurrence") or {}).get("range", {}).get("type") == "noEnd"
        return self.window.at(self._now())[1] if endless else FAR

    def _instances_range(self, master: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
        starts = occurrence_starts(master, self._until(master))
        first = starts[0] if starts else graph_time(master["start"]).astimezone(dt.UTC)
        last = starts[-1] if starts else first
        return first - SLACK, last + SLACK

    def _series(self, masters: list[dict[str, Any]]) -> dict[str, Series]:
        """Each master's exceptions and deleted occurrences, from its instances ($batch, then nextLinks)."""
        requests = []
        for n, master in enumerate(masters):
            start, end = self._instances_range(master)
            query = urllib.parse.urlencode({"startDateTime": url_time(start), "endDateTime": url_time(end),
                                            "$select": INSTANCE_SELECT, "$top": "1000"}, safe="$,:")
            requests.append(BatchRequest(str(n), "GET", f"{self._event(master['id'])}/instances?{query}",
                                         headers=HEADERS))
        answers = self.client.batch(requests, "read a series' occurrences") if requests else {}
        out = {}
        for n, master in enumerate(masters):
            answer = answers[str(n)]
            if not answer.ok or not isinstance(answer.body, dict):
                raise _failed(answer, "read a series' occurrences")
            instances = list(answer.body.get("value") or [])
            link = answer.body.get("@odata.nextLink")
            while link:
                page = self.client.get_json(str(link), "read a series' occurrences", headers=HEADERS)
                instances.extend(page.get("value") or [])
                link = page.get("@odata.nextLink")
            out[str(master["id"])] = series_of(master, instances, self._until(master))
        return out

    def _conditional(self, method: str, event_id: str, if_match: str, body: Any, what: str) -> None:
        """A write with If-Match: a 412 is PreconditionFailed, a 404 NotFound."""
        try:
            self.client.request(method, self._event(event_id), what, json_body=body,
                                headers={**HEADERS, "If-Match": if_match})
        except MailError as exc:
            raise _translated(exc) from None

    def _write_instances(self, master: dict[str, Any], overrides: dict[dt.datetime, dict[str, Any]],
                         cancelled: tuple[dt.datetime, ...], stale: dict[dt.datetime, dict[str, Any]]) -> None:
        """Overrides PATCH their occurrence, EXDATEs delete theirs, exceptions no longer wanted go back to the
        series' own values (Graph cannot turn an exception back into a plain occurrence)."""
        start, end = self._instances_range(master)
        instances = {_start(e): e for page in pages(
            self.client, f"{self._event(master['id'])}/instances", "read a series' occurrences", HEADERS,
            {"startDateTime": url_time(start), "endDateTime": url_time(end), "$select": "id,originalStart"})
            for e in page.get("value") or []}
        requests = []
        for original, body in overrides.items():
            if original not in instances:
                raise ItemBroken(f"the override of {original.isoformat()} is not an occurrence of the series")
            requests.append(BatchRequest(f"p{len(requests)}", "PATCH", self._event(instances[original]["id"]),
                                         body, HEADERS))
        duration = graph_time(master["end"]) - graph_time(master["start"])
        revert = {k: v for k, v in stale.items() if k not in overrides and k in instances}
        for original in revert:
            back = {key: master.get(key) for key in ("subject", "body", "location", "attendees")}
            back.update(start={"dateTime": original.replace(tzinfo=None).isoformat(), "timeZone": "UTC"},
                        end={"dateTime": (original + duration).replace(tzinfo=None).isoformat(), "timeZone": "UTC"})
            requests.append(BatchRequest(f"r{len(requests)}", "PATCH", self._event(instances[original]["id"]),
                                         _writable(back), HEADERS))
        for original in cancelled:
            if original in instances:
                requests.append(BatchRequest(f"d{len(requests)}", "DELETE", self._event(instances[original]["id"]),
                                             headers=HEADERS))
        for answer in self.client.batch(requests, "write a series' occurrences").values() if requests else []:
            if not answer.ok and answer.status != 404:
                raise _failed(answer, "write a series' occurrences")


def _writable(event: dict[str, Any]) -> dict[str, Any]:
    attendees = [{"type": a.get("type", "required"), "emailAddress": a.get("emailAddress", {})}
                 for a in event.get("attendees") or []]
    return {**event, "attendees": attendees,
            "location": {"displayName": (event.get("location") or {}).get("displayName", "")}}


def _start(event: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(str(event["originalStart"]).replace("Z", "+00:00")).astimezone(dt.UTC)


def _transaction_id(uid: str) -> str:
    # Graph keeps the transactionId of a create and answers a second create with it by returning the first event.
    return hashlib.sha256(uid.encode("utf-8")).hexdigest()[:32]


def _translated(exc: MailError) -> Exception:
    reason = getattr(exc, "reason", "")
    if reason == "precondition_failed":
        return PreconditionFailed(exc.detail)
    return NotFound(exc.detail) if reason == "not_found" else exc


def _failed(answer: BatchResponse, what: str) -> Exception:
    error = response_error(answer.status, answer.body, what)
    return _translated(error)


__all__ = ["GraphCalendarStore", "Window"]
