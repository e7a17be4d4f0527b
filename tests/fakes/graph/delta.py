"""`GET .../mailFolders/{id}/messages/delta`, as concepts/delta-query-messages.md describes it.

A round starts from no token (every message of the folder) or from a `$deltatoken` (each message created,
changed or moved in since, once, in its current state, and `@removed` for each deleted or moved out). The round's
list is fixed when it starts; its pages (`Prefer: odata.maxpagesize`, default 10) follow `@odata.nextLink`
(`$skiptoken`), and its last page carries `@odata.deltaLink` (`$deltatoken`) whose watermark is the journal
position at the round's start, so a change made while a round is being paged shows up in the next round rather
than being lost (a replay, which the docs tell clients to expect). Tokens are opaque and kept by the fake:
replaying a nextLink gives the same page; a deltaLink can be used again (kill and rerun); after
`reset_delta` every earlier token of that folder, like a made-up one, answers 410 Gone with `syncStateNotFound`
and a Location header to start over from."""

import datetime as dt
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from tests.fakes.graph.mailbox import FakeMailbox
from tests.fakes.graph.message_json import message_select, removed_item, render_message
from tests.fakes.graph.replies import GraphError, bad_request

DEFAULT_PAGE = 10
CHANGE_TYPES = ("created", "updated", "deleted")
# The only $filter message delta supports (delta-query-messages.md).
_FILTER = re.compile(r"^\s*receivedDateTime\s+(ge|gt)\s+(\S+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class _Query:
    mailbox: str
    folder_id: str
    generation: int
    select: tuple[str, ...] | None
    top: int | None
    change_type: str | None
    received_after: tuple[str, dt.datetime] | None = None  # ("ge" | "gt", moment)

    def wants(self, received: dt.datetime) -> bool:
        if self.received_after is None:
            return True
        operator, moment = self.received_after
        return received >= moment if operator == "ge" else received > moment


@dataclass(frozen=True)
class _Round:
    query: _Query
    items: tuple[tuple[str, str], ...]  # ("message" | "removed", message id)
    watermark: int  # the journal position the next round starts after


class DeltaTokens:
    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._skip: dict[str, tuple[_Round, int]] = {}
        self._delta: dict[str, tuple[_Query, int]] = {}

    def page(self, box: FakeMailbox, folder_id: str, params: dict[str, str], page_size: int | None,
             link: str, graph_url: str, text_body: bool) -> dict[str, Any]:
        """One delta response body; `link` is the absolute URL the next/delta links are built on."""
        with self._lock:
            if "$skiptoken" in params:
                skip = self._skip.get(params["$skiptoken"])
                self._check(skip[0].query if skip else None, box, folder_id, link)
                assert skip is not None
                round_, offset = skip
            elif "$deltatoken" in params:
                delta = self._delta.get(params["$deltatoken"])
                self._check(delta[0] if delta else None, box, folder_id, link)
                assert delta is not None
                round_, offset = self._changes(box, *delta), 0
            else:
                round_, offset = self._initial(box, folder_id, params), 0
            size = page_size or round_.query.top or DEFAULT_PAGE
            chunk = round_.items[offset:offset + size]
            value = []
            for kind, message_id in chunk:
                if kind == "removed":
                    value.append(removed_item(message_id))
                    continue
                message = box.get(message_id)
                # Gone or moved out since the round began: the next round reports that.
                if message is not None and message.folder == folder_id:
                    value.append(render_message(message, list(round_.query.select) if round_.query.select else None,
                                                text_body=text_body, odata_type=True))
            payload: dict[str, Any] = {"@odata.context": f"{graph_url}/$metadata#Collection(message)"}
            if offset + size < len(round_.items):
                token = secrets.token_urlsafe(24)
                self._skip[token] = (round_, offset + size)
                payload["@odata.nextLink"] = f"{link}?$skiptoken={token}"
            else:
                token = secrets.token_urlsafe(24)
                self._delta[token] = (round_.query, round_.watermark)
                payload["@odata.deltaLink"] = f"{link}?$deltatoken={token}"
            payload["value"] = value
            return payload

    @staticmethod
    def _check(query: _Query | None, box: FakeMailbox, folder_id: str, link: str) -> None:
        if (query is None or query.mailbox != box.address or query.folder_id != folder_id
                or query.generation != box.generation(folder_id)):
            raise GraphError(410, "syncStateNotFound", "The sync state generation is not found. The delta token "
                             "is expired and data must be synchronized again.", {"Location": link})

    def _initial(self, box: FakeMailbox, folder_id: str, params: dict[str, str]) -> _Round:
        select = message_select(params.get("$select"))
        top = params.get("$top")
        if top is not None and (not top.isdigit() or int(top) < 1):
            raise bad_request(f"Invalid value '{top}' for $top.", "ErrorInvalidUrlQuery")
        change_type = params.get("changeType")
        if change_type is not None and change_type not in CHANGE_TYPES:
            raise bad_request(f"Invalid value '{change_type}' for changeType.", "ErrorInvalidUrlQuery")
        query = _Query(box.address, folder_id, box.generation(folder_id), tuple(select) if select else None,
                       int(top) if top else None, change_type, _received_filter(params.get("$filter")))
        items = tuple(("message", m.id) for m in box.in_folder(folder_id) if query.wants(m.received))
        return _Round(query, items, box.seq)

    def _changes(self, box: FakeMailbox, query: _Query, watermark: int) -> _Round:
        """What happened in the folder after `watermark`, one entry per message, in the order last changed."""
        at_watermark: dict[str, str | None] = {}
        last_change: dict[str, int] = {}
        for change in box.journal:
            if change.seq <= watermark:
                at_watermark[change.message_id] = change.folder
            else:
                last_change[change.message_id] = change.seq
        items = []
        for message_id in sorted(last_change, key=last_change.__getitem__):
            was_here = at_watermark.get(message_id) == query.folder_id
            message = box.get(message_id)
            is_here = message is not None and message.folder == query.folder_id
            if is_here and message is not None and not query.wants(message.received):
                continue
            if is_here:
                kind = "updated" if was_here else "created"
                if query.change_type in (None, kind):
                    items.append(("message", message_id))
            elif was_here and query.change_type in (None, "deleted"):
                items.append(("removed", message_id))
        return _Round(query, tuple(items), box.seq)


def _received_filter(value: str | None) -> tuple[str, dt.datetime] | None:
    if value is None:
        return None
    found = _FILTER.match(value)
    try:
        moment = dt.datetime.fromisoformat(found[2]) if found else None
    except ValueError:
        moment = None
    if found is None or moment is None:
        raise bad_request("The only $filter supported by message delta is receivedDateTime ge|gt {value}.",
                          "ErrorInvalidUrlQuery")
    return found[1].lower(), moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
