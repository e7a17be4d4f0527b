"""calendarView delta for the Graph store: the rolling window, the cursor, and one round of delta pages.

Graph's calendarView delta covers the window its first call names (startDateTime/endDateTime); every later call
follows `@odata.deltaLink`, whose token keeps that window. The store wants a window that rolls with today
(by default 90 days back to a year ahead), so when the cursor's window has fallen behind today's by more than
`Window.moved` the store starts a new round, and lists everything (complete) while it does.

The cursor is JSON: the deltaLink, the round's window, and the ids of the series masters seen in it (delta
returns instances; when one is removed, its id no longer says which series it belonged to, so the known
series are checked again: a deleted series is a deletion, a deleted occurrence is a change of its master)."""

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from calendar_sync.errors import CursorInvalid
from mailbridge.sources.graph.client import GraphClient


@dataclass(frozen=True)
class Window:
    back: dt.timedelta = dt.timedelta(days=90)
    ahead: dt.timedelta = dt.timedelta(days=365)
    moved: dt.timedelta = dt.timedelta(days=7)  # how far the window may fall behind before a new round

    def at(self, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """The window for `now`, in whole UTC days (a pass later the same day asks for the same window)."""
        today = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(), dt.UTC)
        return today - self.back, today + self.ahead


@dataclass(frozen=True)
class DeltaCursor:
    link: str
    start: dt.datetime
    end: dt.datetime
    masters: frozenset[str] = frozenset()

    def dump(self) -> str:
        return json.dumps({"v": 1, "link": self.link, "start": self.start.isoformat(), "end": self.end.isoformat(),
                           "masters": sorted(self.masters)}, separators=(",", ":"))

    @classmethod
    def load(cls, text: str) -> "DeltaCursor":
        try:
            data = json.loads(text)
            return cls(str(data["link"]), dt.datetime.fromisoformat(data["start"]),
                       dt.datetime.fromisoformat(data["end"]), frozenset(str(m) for m in data.get("masters", [])))
        except (ValueError, KeyError, TypeError) as exc:
            raise CursorInvalid(f"not a Graph calendar cursor: {exc}") from None

    def behind(self, start: dt.datetime, window: Window) -> bool:
        return start - self.start > window.moved


def graph_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pages(client: GraphClient, url: str, what: str, headers: Mapping[str, str],
          params: Mapping[str, str] | None = None) -> Iterator[dict[str, Any]]:
    """Every page of a collection, following @odata.nextLink (absolute URLs that keep the query)."""
    payload = client.get_json(url, what, headers=headers, params=params)
    yield payload
    while payload.get("@odata.nextLink"):
        payload = client.get_json(str(payload["@odata.nextLink"]), what, headers=headers)
        yield payload


def delta_round(client: GraphClient, url: str, headers: Mapping[str, str],
                params: Mapping[str, str] | None = None) -> tuple[list[dict[str, Any]], str]:
    """Every item of one round and the deltaLink that ends it. A refused token is CursorInvalid (410)."""
    items: list[dict[str, Any]] = []
    link = ""
    for page in pages(client, url, "read the calendar's changes", headers, params):
        items.extend(page.get("value") or [])
        link = str(page.get("@odata.deltaLink") or "")
    if not link:
        raise CursorInvalid("Graph ended a delta round without a deltaLink")
    return items, link


@dataclass(frozen=True)
class Sorted:
    """A round's items by what they mean for the store's hrefs."""

    touched: set[str]  # hrefs (singles, series masters) with an instance added or changed
    removed: set[str]  # instance ids that left the window or were deleted
    masters: set[str]  # series masters seen


def sort_items(items: list[dict[str, Any]]) -> Sorted:
    touched, removed, masters = set(), set(), set()
    for item in items:
        if "@removed" in item:
            removed.add(str(item["id"]))
            continue
        master = item.get("seriesMasterId")
        if master:
            masters.add(str(master))
        touched.add(str(master or item["id"]))
    return Sorted(touched, removed, masters)


def href_of(event: Mapping[str, Any]) -> str:
    return str(event.get("seriesMasterId") or event["id"])
