"""The messages delta query of one folder, read page by page, as `Change`s: a message that is there now (new,
changed, or moved in) or one removed (deleted or moved out). The cursor is the link to read next, the page's
nextLink while a round is paged and the round's deltaLink once it is done, with how many changes of that page
were handed over already (a page may be cut into several batches).

A delta token Graph no longer knows (410 Gone, or a sync-state error) is not the end: the folder is read again
from scratch, once per pass. Known messages then come back as changes, which the source recognises (it asks
which places the mailbox tracked), so nothing is downloaded or tracked twice."""

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from mailbridge.errors import CursorInvalid, ProtocolError
from mailbridge.sources.base import Cursor, Flags
from mailbridge.sources.graph.client import GraphClient
from mailbridge.sources.graph.folders import GraphFolder, user_path

SELECT = "id,internetMessageId,conversationId,isRead,flag,categories,receivedDateTime"
_VERSION = 1


@dataclass(frozen=True)
class Change:
    id: str
    removed: bool
    flags: Flags = frozenset()
    categories: tuple[str, ...] = ()
    received: dt.datetime | None = None


@dataclass(frozen=True)
class Page:
    link: str  # the URL this page was read from
    changes: tuple[Change, ...]
    next_link: str | None  # None: this page ends the round
    delta_link: str | None
    restarted: bool  # the stored link was refused and the round began again from scratch


@dataclass(frozen=True)
class DeltaCursor:
    folder: str
    folder_id: str
    link: str | None  # None: from scratch
    skip: int = 0

    def to_dict(self) -> Cursor:
        return {"v": _VERSION, "source": "graph", "folder": self.folder, "folder_id": self.folder_id,
                "link": self.link, "skip": self.skip}

    @classmethod
    def read(cls, cursor: Any, folder: GraphFolder, graph_url: str) -> "DeltaCursor":
        if not isinstance(cursor, Mapping):
            raise CursorInvalid(f"a Graph cursor is a mapping, not {type(cursor).__name__}")
        if cursor.get("v") != _VERSION or cursor.get("source") != "graph":
            raise CursorInvalid(f"not a Graph cursor (version {cursor.get('v')!r})")
        if cursor.get("folder") != folder.name:
            raise CursorInvalid(f"the cursor is for folder {cursor.get('folder')!r}, not {folder.name!r}")
        if cursor.get("folder_id") != folder.id:
            raise CursorInvalid(f"the folder {folder.name!r} was deleted and created again since")
        link, skip = cursor.get("link"), cursor.get("skip")
        if not (link is None or (isinstance(link, str) and link.startswith(graph_url))):
            raise CursorInvalid("the cursor's link is not on this Graph endpoint")
        if not isinstance(skip, int) or skip < 0:
            raise CursorInvalid("the cursor's position is unreadable")
        return cls(folder.name, folder.id, link, skip)


def first_link(graph_url: str, user: str, folder: GraphFolder) -> str:
    return (f"{graph_url}{user_path(user)}/mailFolders/{folder.id}/messages/delta?"
            + urlencode({"$select": SELECT}, safe="$,"))


def pages(client: GraphClient, link: str, start: str, page_size: int) -> Iterator[Page]:
    """The pages of a round, from `link` (a stored next or delta link, or `start`) to its deltaLink."""
    headers = {"Prefer": f'odata.maxpagesize={page_size}, IdType="ImmutableId"'}
    restarted = False
    while True:
        try:
            payload = client.get_json(link, "read the folder's changes (delta)", headers=headers)
        except CursorInvalid:
            if restarted or link == start:
                raise
            link, restarted = start, True
            continue
        changes, next_link, delta_link = _read_page(payload)
        yield Page(link, changes, next_link, delta_link, restarted)
        if not next_link:
            return
        link = next_link


def _read_page(payload: Mapping[str, Any]) -> tuple[tuple[Change, ...], str | None, str | None]:
    """(changes, nextLink, deltaLink) of a page; a page of the wrong shape is a ProtocolError (found by
    tests/fuzz: a non-list value or a non-text link escaped as TypeError, a bug stopping the sync)."""
    values = payload.get("value", [])
    next_link, delta_link = payload.get("@odata.nextLink"), payload.get("@odata.deltaLink")
    if not isinstance(values, list):
        raise ProtocolError(f"a delta page's value is a {type(values).__name__}, not a list")
    if not all(link is None or isinstance(link, str) for link in (next_link, delta_link)):
        raise ProtocolError("a delta page's @odata link is not text")
    items = [v for v in values if isinstance(v, dict) and v.get("id")]
    if not all(isinstance(v["id"], str) for v in items):
        raise ProtocolError("a delta page holds a message whose id is not text")
    return tuple(_change(v) for v in items), next_link or None, delta_link or None


def _change(item: Mapping[str, Any]) -> Change:
    if "@removed" in item:
        return Change(str(item["id"]), True)
    flags = set()
    if item.get("isRead") in (True, "true"):  # the docs' own sample sends "true" as a string
        flags.add("\\Seen")
    flag = item.get("flag")
    if isinstance(flag, Mapping) and flag.get("flagStatus") == "flagged":
        flags.add("\\Flagged")
    listed = item.get("categories")
    categories = tuple(str(c) for c in listed) if isinstance(listed, list) else ()
    return Change(str(item["id"]), False, frozenset(flags), categories, _date(item.get("receivedDateTime")))


def _date(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
