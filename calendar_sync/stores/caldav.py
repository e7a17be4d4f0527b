"""A CalDAV calendar collection as a CalendarStore, through the caldav library's DAVClient.

- list(): a depth-1 PROPFIND of DAV:getetag.
- changes(cursor): RFC 6578 sync-collection (calendar_sync.stores.caldav_sync); a server without it gets a
  complete listing instead, and this store stops asking it for the report.
- get_many(): calendar-multiget REPORTs, CHUNK hrefs each.
- upload/update/delete: PUT with If-None-Match: * or If-Match, DELETE with If-Match, so a concurrent change on
  the server is PreconditionFailed and never overwritten.

An object's body is not parsed here: CalendarItem parses lazily, so one unreadable object does not stop a
listing (the sync quarantines it when it reads it). Hrefs are the server's paths, decoded, the same in
list, changes, get and upload."""

import logging
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from caldav.elements import cdav, dav
from caldav.lib import error as dav_error
from caldav.response import DAVResponse
from lxml import etree

from calendar_sync.errors import CalendarError, ItemBroken, NotFound, PreconditionFailed
from calendar_sync.items import CalendarItem
from calendar_sync.stores.base import Changes
from calendar_sync.stores.caldav_discovery import DiscoveredCalendar, discover
from calendar_sync.stores.caldav_http import DavSession, Forbidden, unexpected, write_refused
from calendar_sync.stores.caldav_sync import SyncUnsupported, sync_collection

__all__ = ["CaldavStore", "DiscoveredCalendar", "discover"]

log = logging.getLogger(__name__)
CHUNK = 100  # hrefs per calendar-multiget: a few hundred KiB of iCalendar per answer at most
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
T = TypeVar("T")
_ICAL = {"Content-Type": 'text/calendar; charset="utf-8"'}


class CaldavStore:
    read_only = False

    def __init__(self, url: str, username: str | None, password: str | None, *, timeout: float = 30,
                 verify: bool | str = True) -> None:
        self.session = DavSession(url, username, password, timeout=timeout, verify=verify)
        self.url = self.session.url
        self._sync_supported = True  # until the server says otherwise

    # -- reading -------------------------------------------------------------------------------------------
    def list(self) -> Iterator[tuple[str, str]]:
        return iter(self._etags().items())

    def changes(self, cursor: str | None) -> Changes:
        if self._sync_supported:
            try:
                result = sync_collection(self.session, cursor)
            except SyncUnsupported as exc:
                log.info("%s: no usable sync-collection (%s); listing the calendar instead", self.url, exc)
                self._sync_supported = False
            else:
                changed = self._with_etags(result.changed)
                deleted = frozenset(result.deleted | (result.changed.keys() - changed.keys()))
                if cursor is None:
                    return Changes(changed=changed, cursor=result.token, complete=True)
                return Changes(changed=changed, deleted=deleted, cursor=result.token, complete=False)
        return Changes(changed=self._etags(), cursor=None, complete=True)

    def get(self, href: str) -> tuple[CalendarItem, str]:
        url = self.session.url_of(href)
        response = self._read("GET", url)
        if response.status != 200:
            unexpected("GET", url, response)
        etag = response.headers.get("ETag") or self._etag_of(href)
        return CalendarItem(response.raw), etag

    def get_many(self, hrefs: Iterable[str]) -> Iterator[tuple[str, CalendarItem, str]]:
        wanted = list(dict.fromkeys(self.session.path_of(href) for href in hrefs))
        for start in range(0, len(wanted), CHUNK):
            yield from self._multiget(wanted[start:start + CHUNK])

    # -- writing -------------------------------------------------------------------------------------------
    def upload(self, item: CalendarItem) -> tuple[str, str]:
        href = self.session.path + _name_for(item)
        url = self.session.url_of(href)
        response = self._write("PUT", url, item.raw, {**_ICAL, "If-None-Match": "*"})
        if response.status in (409, 412):  # 412: the name is taken; 409 (Radicale): the UID is elsewhere
            raise PreconditionFailed(f"PUT {url}: an object with UID {item.uid!r} is already there")
        if response.status not in (200, 201, 204):
            unexpected("PUT", url, response)
        return href, response.headers.get("ETag") or self._etag_of(href)

    def update(self, href: str, item: CalendarItem, etag: str) -> str:
        url = self.session.url_of(href)
        response = self._write("PUT", url, item.raw, {**_ICAL, "If-Match": etag})
        if response.status in (409, 412):
            raise PreconditionFailed(f"PUT {url}: the item changed on the server since it was read")
        if response.status not in (200, 201, 204):
            unexpected("PUT", url, response)
        return response.headers.get("ETag") or self._etag_of(href)

    def delete(self, href: str, etag: str) -> None:
        url = self.session.url_of(href)
        response = self._write("DELETE", url, "", {"If-Match": etag})
        if response.status == 412 and not self._exists(href):
            raise NotFound(f"DELETE {url}: the item is gone")  # If-Match on a missing resource is a 412 too
        if response.status not in (200, 204):
            unexpected("DELETE", url, response)

    def close(self) -> None:
        self.session.close()

    # -- internals -----------------------------------------------------------------------------------------
    def _read(self, method: str, url: str, body: str = "", *, depth: int | None = None) -> DAVResponse:
        try:
            return self.session.request(method, url, body, depth=depth)
        except Forbidden as exc:
            raise CalendarError(f"{method} {url}: the server does not let this account read it ({exc})",
                                reason="access_denied") from exc

    def _write(self, method: str, url: str, body: str, headers: dict[str, str]) -> DAVResponse:
        try:
            return self.session.request(method, url, body, headers)
        except Forbidden as exc:
            raise write_refused(method, exc) from exc

    def _etags(self, url: str | None = None, depth: int = 1) -> dict[str, str]:
        """href -> etag of the members (depth 1) or of the resource itself (depth 0)."""
        url = url or self.url
        response = self._read("PROPFIND", url, _PROPFIND_ETAGS, depth=depth)
        if response.status == 404:
            raise NotFound(f"PROPFIND {url}: not found")
        if response.status != 207:
            unexpected("PROPFIND", url, response)
        collection = self.session.path.rstrip("/")
        etags = {}
        for result in _parsed(response.parse_propfind, url):
            etag = result.properties.get(dav.GetEtag.tag)
            kinds = result.properties.get(dav.ResourceType.tag) or []
            if result.status == 404 or result.href.rstrip("/") == collection or dav.Collection.tag in kinds:
                continue
            if isinstance(etag, str) and etag:
                etags[result.href] = etag
        return etags

    def _etag_of(self, href: str) -> str:
        """An item's etag when the server did not send one with the body (it rewrote what we PUT)."""
        found = self._etags(self.session.url_of(href), depth=0)
        if not found:
            raise NotFound(f"{href} is gone")
        return next(iter(found.values()))

    def _exists(self, href: str) -> bool:
        try:
            self._etag_of(href)
        except NotFound:
            return False
        return True

    def _with_etags(self, changed: dict[str, str | None]) -> dict[str, str]:
        """The sync answer's etags, with the ones a server left out read from a listing; an href the listing
        no longer has is gone and left out."""
        if all(changed.values()):
            return {href: etag for href, etag in changed.items() if etag}
        listing = self._etags()
        return {href: etag or listing[href] for href, etag in changed.items() if etag or href in listing}

    def _multiget(self, paths: Sequence[str]) -> Iterator[tuple[str, CalendarItem, str]]:
        # BaseElement.append is the library's `+`: a child, or a list of children.
        root = cdav.CalendarMultiGet().append(dav.Prop().append([dav.GetEtag(), cdav.CalendarData()]))
        root.append([dav.Href(value=self.session.wire_path(path)) for path in paths])
        body = etree.tostring(root.xmlelement(), encoding="utf-8", xml_declaration=True).decode("utf-8")
        response = self._read("REPORT", self.url, body)  # no Depth: RFC 4791 section 7.9
        if response.status != 207:
            unexpected("REPORT", self.url, response)
        for result in _parsed(response.parse_calendar_query, self.url):
            if result.status == 404 or result.calendar_data is None:
                continue
            etag = result.etag or self._etag_of(result.href)
            yield result.href, CalendarItem(result.calendar_data), etag


def _name_for(item: CalendarItem) -> str:
    """A resource name from the UID when it is plain enough for every server's paths, else a UUID."""
    try:
        uid = item.uid
    except ItemBroken:
        uid = ""
    return f"{uid}.ics" if _SAFE_NAME.fullmatch(uid) else f"{uuid.uuid4().hex}.ics"


def _parsed(parse: Callable[[], list[T]], url: str) -> list[T]:
    try:
        return parse()
    except (dav_error.DAVError, etree.LxmlError, ValueError) as exc:
        raise CalendarError(f"{url}: unreadable multistatus: {exc}", reason="protocol") from exc


_PROPFIND_ETAGS = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/><d:resourcetype/></d:prop></d:propfind>"""
