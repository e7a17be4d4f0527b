"""RFC 6578 sync-collection for one CalDAV calendar: the initial sync (an empty token: every member), a delta
since a token (changed members with their ETags, removed ones as 404 responses), a truncated answer (a 507
for the collection itself, RFC 6578 section 3.6) followed with each new token to the end, a refused token as
CursorInvalid, and a server without the report answered by a complete listing.

The request body is built from the caldav library's elements, the answer read by its parser
(DAVResponse.parse_sync_collection), so the XML quirks it knows about are handled once, there."""

from dataclasses import dataclass, field

from caldav.elements import dav
from caldav.elements.base import BaseElement, ValuedBaseElement
from caldav.lib import error as dav_error
from caldav.response import DAVResponse
from lxml import etree

from calendar_sync.errors import CalendarError, CursorInvalid
from calendar_sync.stores.caldav_http import DavSession, Forbidden

VALID_SYNC_TOKEN = "{DAV:}valid-sync-token"  # noqa: S105 - an XML element's name, not a secret
# Statuses servers use for a token they do not know: 403 (RFC 6578), 409, 412 (Xandikos), 400.
_TOKEN_REFUSED = frozenset({400, 403, 409, 412})
# Statuses that say the report itself is not there: 403 with DAV:supported-report, 405, 501 and friends.
_NO_REPORT = frozenset({400, 403, 405, 415, 422, 501})
MAX_PAGES = 1000  # a truncated answer is followed this many times at most (each page moves the token on)


class SyncUnsupported(Exception):
    """The server has no sync-collection REPORT for this collection: list it instead."""


@dataclass
class SyncResult:
    changed: dict[str, str | None] = field(default_factory=dict)  # href -> etag (None: the server left it out)
    deleted: set[str] = field(default_factory=set)
    token: str | None = None


def sync_collection(session: DavSession, token: str | None, *, limit: int | None = None) -> SyncResult:
    """Every page of a sync-collection since `token` (None: the initial sync), merged: a later page wins.
    `limit` asks the server for at most that many results per page (RFC 5323 DAV:limit), which servers may
    ignore; it exists for tests of the truncation handling."""
    result = SyncResult(token=token)
    for _page in range(MAX_PAGES):
        changed, deleted, new_token, truncated = _one_page(session, result.token, token, limit)
        for href, etag in changed.items():
            result.changed[href] = etag
            result.deleted.discard(href)
        for href in deleted:
            result.changed.pop(href, None)
            result.deleted.add(href)
        if not truncated:
            result.token = new_token
            return result
        if not new_token or new_token == result.token:
            # A truncated answer that does not move the token on can never be followed to the end.
            raise SyncUnsupported("the server truncated the sync-collection answer without a new token")
        result.token = new_token
    raise SyncUnsupported(f"the sync-collection answer was still truncated after {MAX_PAGES} pages")


def _one_page(session: DavSession, token: str | None, asked: str | None,
              limit: int | None) -> tuple[dict[str, str | None], set[str], str | None, bool]:
    url = session.url
    try:
        response = session.request("REPORT", url, _body(token, limit), depth=0)
    except Forbidden as exc:
        if VALID_SYNC_TOKEN in exc.preconditions and asked is not None:
            raise CursorInvalid(f"the server refused the sync token: {exc}") from exc
        raise SyncUnsupported(str(exc)) from exc
    refused = _token_refused(response.status, _preconditions(response))
    if refused and asked is not None:
        raise CursorInvalid(f"REPORT {url}: the server refused the sync token (HTTP {response.status})")
    if response.status in _NO_REPORT or refused:
        raise SyncUnsupported(f"REPORT {url}: HTTP {response.status}")
    if response.status != 207:
        raise CalendarError(f"REPORT {url}: unexpected HTTP {response.status} {response.reason}",
                            reason="protocol")
    try:
        parsed = response.parse_sync_collection()
    except (dav_error.DAVError, etree.LxmlError, ValueError) as exc:
        raise CalendarError(f"REPORT {url}: unreadable sync-collection answer: {exc}", reason="protocol") from exc
    collection = session.path.rstrip("/")
    changed = {r.href: r.etag for r in parsed.changed if r.href.rstrip("/") != collection}
    return changed, set(parsed.deleted), parsed.sync_token, parsed.truncated


def _token_refused(status: int, preconditions: list[str]) -> bool:
    """A 4xx naming DAV:valid-sync-token; or, without any DAV:error, the 409/412 some servers answer."""
    if status not in _TOKEN_REFUSED:
        return False
    return VALID_SYNC_TOKEN in preconditions or (not preconditions and status in (409, 412))


def _preconditions(response: DAVResponse) -> list[str]:
    return dav_error.parse_preconditions(response.raw) if response.status >= 400 else []


def _body(token: str | None, limit: int | None) -> str:
    elements = [dav.SyncToken(value=token or ""), dav.SyncLevel(value="1")]
    if limit is not None:
        elements.append(_Limit() + _NResults(value=str(limit)))
    elements.append(dav.Prop().append(dav.GetEtag()))
    root = dav.SyncCollection().append(elements)
    return etree.tostring(root.xmlelement(), encoding="utf-8", xml_declaration=True).decode("utf-8")


class _Limit(BaseElement):
    tag = "{DAV:}limit"


class _NResults(ValuedBaseElement):
    tag = "{DAV:}nresults"

