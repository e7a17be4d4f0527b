"""An iCalendar feed (an http(s) or webcal URL, or a local .ics file) as a read-only calendar store.

A feed is one VCALENDAR holding every event. The store splits it into one CalendarItem per UID (the master
and its overridden instances, with the VTIMEZONEs they name copied into each), so the sync engine sees the
same shape as from CalDAV. href is a stable name derived from the UID; the etag is the item's content hash,
so an event whose only change is a new DTSTAMP (feeds rewrite it on every export) is not news.

An event without a UID (some exporters forget it) gets one derived from its content rather than being
dropped. A component that cannot be read is listed all the same: `get` raises ItemBroken with the reason,
so the sync quarantines it and goes on with the rest; `problems` lists them.

Refetching is conditional (If-None-Match / If-Modified-Since from the last answer); 429 and 503 become
TemporaryFailure with the server's Retry-After, 401 and 403 AuthenticationFailed."""

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import icalendar
import x_wr_timezone

from calendar_sync.errors import (
    AuthenticationFailed,
    CalendarMissing,
    ConnectionFailed,
    ItemBroken,
    NotFound,
    ReadOnly,
    TemporaryFailure,
)
from calendar_sync.items import CalendarItem
from calendar_sync.series import series_of
from calendar_sync.stores.base import ListingChanges
from mailbridge.sources.graph.throttling import retry_after_seconds

_OBJECTS = ("VEVENT", "VTODO", "VJOURNAL")
_CALENDAR_PROPERTIES = ("VERSION", "PRODID", "CALSCALE")  # carried into every item
_TIMED = ("DTSTART", "DTEND", "DUE", "RECURRENCE-ID", "RDATE", "EXDATE")
_SAFE_UID = re.compile(r"[A-Za-z0-9@._+-]{1,200}")


@dataclass
class Feed:
    """A feed split into items: href -> (item, etag), and href -> why the component could not be read."""

    items: dict[str, tuple[CalendarItem, str]] = field(default_factory=dict)
    broken: dict[str, ItemBroken] = field(default_factory=dict)


class IcsFeedStore(ListingChanges):
    read_only = True

    def __init__(self, source: str | Path, *, username: str | None = None, password: str | None = None,
                 timeout: float = 30.0, client: httpx.Client | None = None) -> None:
        text = str(source)
        self.url = "https://" + text[len("webcal://"):] if text.startswith("webcal://") else text
        self.is_remote = self.url.startswith(("http://", "https://"))
        self._client = client
        self._own_client = client is None
        self._auth = httpx.BasicAuth(username, password or "") if username else None
        self._timeout = timeout
        self._validators: dict[str, str] = {}  # the conditional headers for the next fetch
        self._digest: str | None = None
        self._feed: Feed | None = None
        self.fetches = 0  # requests or reads made, and how many the server answered 304 to
        self.not_modified = 0

    # -- reading ------------------------------------------------------------------------------------------
    def list(self) -> Iterator[tuple[str, str]]:
        feed = self.refresh()
        listing = {href: etag for href, (_, etag) in feed.items.items()}
        listing.update({href: _broken_etag(href) for href in feed.broken})
        return iter(listing.items())

    def get(self, href: str) -> tuple[CalendarItem, str]:
        feed = self._feed if self._feed is not None else self.refresh()
        if href in feed.broken:
            raise feed.broken[href]
        try:
            return feed.items[href]
        except KeyError:
            raise NotFound(f"{href} is not in the feed") from None

    @property
    def problems(self) -> tuple[tuple[str, str], ...]:
        """(href, reason) of each component of the last fetch that could not be read."""
        return tuple((href, str(error)) for href, error in (self._feed or Feed()).broken.items())

    def refresh(self) -> Feed:
        """Fetches the feed again (conditionally) and splits it if it changed."""
        raw = self._fetch_remote() if self.is_remote else self._read_file()
        if raw is not None:
            digest = hashlib.sha256(raw).hexdigest()
            if digest != self._digest or self._feed is None:
                self._feed, self._digest = split_feed(raw), digest
        assert self._feed is not None
        return self._feed

    # -- writing: never ------------------------------------------------------------------------------------
    def upload(self, item: CalendarItem) -> tuple[str, str]:
        raise ReadOnly(f"{self.url} is an iCalendar feed: it cannot be written")

    def update(self, href: str, item: CalendarItem, etag: str) -> str:
        raise ReadOnly(f"{self.url} is an iCalendar feed: it cannot be written")

    def delete(self, href: str, etag: str) -> None:
        raise ReadOnly(f"{self.url} is an iCalendar feed: it cannot be written")

    def close(self) -> None:
        if self._client is not None and self._own_client:
            self._client.close()
            self._client = None

    # -- fetching -----------------------------------------------------------------------------------------
    def _read_file(self) -> bytes:
        self.fetches += 1
        try:
            return Path(self.url.removeprefix("file://")).read_bytes()
        except FileNotFoundError:
            raise CalendarMissing(f"no feed file at {self.url}") from None
        except OSError as exc:
            raise CalendarMissing(f"cannot read {self.url}: {exc}") from exc

    def _fetch_remote(self) -> bytes | None:
        """The feed's bytes, or None when the server says it has not changed since the last fetch."""
        if self._client is None:
            self._client = httpx.Client(follow_redirects=True, timeout=self._timeout)
        self.fetches += 1
        headers = {"Accept": "text/calendar, */*;q=0.5"}
        if self._feed is not None:
            headers.update(self._validators)
        try:
            response = self._client.get(self.url, headers=headers, auth=self._auth or httpx.USE_CLIENT_DEFAULT)
        except httpx.ConnectError as exc:
            raise ConnectionFailed(f"cannot reach {self.url}: {exc}") from exc
        except httpx.TimeoutException as exc:
            raise TemporaryFailure(f"{self.url} did not answer in time", reason="timeout") from exc
        except httpx.HTTPError as exc:
            raise ConnectionFailed(f"fetching {self.url} failed: {exc}") from exc
        status = response.status_code
        if status == 304 and self._feed is not None:
            self.not_modified += 1
            return None
        if status in (401, 403):
            raise AuthenticationFailed(f"{self.url} refused the credentials (HTTP {status})")
        if status in (429, 503):
            raise TemporaryFailure(f"{self.url} asks to come back later (HTTP {status})", reason="throttled",
                                   retry_after=retry_after_seconds(response.headers.get("Retry-After")))
        if status in (404, 410):
            raise CalendarMissing(f"no feed at {self.url} (HTTP {status})")
        if status >= 500:
            raise TemporaryFailure(f"{self.url} failed (HTTP {status})")
        if status != 200:
            raise CalendarMissing(f"{self.url} answered HTTP {status}, not a feed")
        self._validators = {}
        if "ETag" in response.headers:
            self._validators["If-None-Match"] = response.headers["ETag"]
        if "Last-Modified" in response.headers:
            self._validators["If-Modified-Since"] = response.headers["Last-Modified"]
        return response.content


def _broken_etag(href: str) -> str:
    return "broken-" + hashlib.sha256(href.encode()).hexdigest()[:16]


# -- splitting ----------------------------------------------------------------------------------------------
def split_feed(raw: bytes) -> Feed:
    """One item per UID. A feed icalendar cannot parse as a whole is parsed a component at a time, so that
    one bad component costs only itself."""
    raw = raw.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte order mark, which some exporters write
    if not re.search(rb"^BEGIN:VCALENDAR\r?$", raw, re.MULTILINE | re.IGNORECASE):
        raise CalendarMissing("the feed is not iCalendar (no BEGIN:VCALENDAR)")
    if not re.search(rb"^END:VCALENDAR", raw, re.MULTILINE | re.IGNORECASE):
        # Half a feed read as the whole would delete every event of the missing half: refuse it.
        raise TemporaryFailure("the feed is cut off (no END:VCALENDAR)", reason="truncated")
    try:
        calendars = icalendar.Calendar.from_ical(raw, multiple=True)
        broken: dict[str, ItemBroken] = {}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):  # AttributeError: a misspelt VTIMEZONE
        calendars, broken = _parse_each_component(raw)
    # Google and others write floating times and name their zone in X-WR-TIMEZONE: make that RFC 5545.
    calendars = [x_wr_timezone.to_standard(cal, add_timezone_component=True) if "X-WR-TIMEZONE" in cal else cal
                 for cal in calendars]
    feed = Feed(broken=broken)
    zones = {str(c["TZID"]): c for cal in calendars for c in cal.walk("VTIMEZONE") if "TZID" in c}
    header = {name: cal[name] for cal in reversed(calendars) for name in _CALENDAR_PROPERTIES if name in cal}
    by_uid: dict[str, list[icalendar.cal.Component]] = {}
    for cal in calendars:
        for component in cal.subcomponents:
            if component.name in _OBJECTS:
                if "UID" not in component:
                    component.add("UID", _derived_uid(component))
                by_uid.setdefault(str(component["UID"]), []).append(component)
    for uid, components in by_uid.items():
        href = href_for(uid)
        try:
            item = _item(components, zones, header)
        except ItemBroken as exc:
            feed.broken[href] = exc if uid in str(exc) else ItemBroken(f"{uid}: {exc}", reason=exc.reason)
            continue
        feed.items[href] = (item, item.hash)
    return feed


def href_for(uid: str) -> str:
    """A stable file name for a UID: the UID itself when it is tame, else a digest of it."""
    if _SAFE_UID.fullmatch(uid):
        return f"{uid}.ics"
    return f"uid-{hashlib.sha256(uid.encode()).hexdigest()[:40]}.ics"


def _item(components: list[icalendar.cal.Component], zones: dict[str, icalendar.cal.Component],
          header: dict[str, object]) -> CalendarItem:
    calendar = icalendar.Calendar()
    for name in _CALENDAR_PROPERTIES:
        if name in header:
            calendar.add(name, header[name])
    if "VERSION" not in calendar:
        calendar.add("VERSION", "2.0")
    for tzid in sorted({tzid for c in components for tzid in _tzids(c)}):
        if tzid in zones:
            calendar.add_component(zones[tzid])
    for component in components:
        calendar.add_component(component)
    events = [c for c in components if c.name == "VEVENT"]
    if events:
        series_of(events).check()  # a series we cannot expand is reported now, not at expansion
    return CalendarItem.from_calendar(calendar)


def _tzids(component: icalendar.cal.Component) -> set[str]:
    found = set()
    for name in _TIMED:
        values = component.get(name)
        for value in values if isinstance(values, list) else [values]:
            tzid = getattr(value, "params", {}).get("TZID") if value is not None else None
            if tzid:
                found.add(str(tzid))
    return found


def _derived_uid(component: icalendar.cal.Component) -> str:
    wrapper = icalendar.Calendar()
    wrapper.add_component(component)
    return f"derived-{CalendarItem.from_calendar(wrapper).hash[:32]}@ics-feed"


_BLOCK = re.compile(rb"^BEGIN:(\S+?)\r?$(.*?)^END:\1\r?$", re.MULTILINE | re.DOTALL | re.IGNORECASE)


def _parse_each_component(raw: bytes) -> tuple[list[icalendar.Calendar], dict[str, ItemBroken]]:
    """The feed's top-level components parsed one by one inside an empty VCALENDAR each."""
    body = _BLOCK.search(raw)
    if body is None or body.group(1).upper() != b"VCALENDAR":
        raise CalendarMissing("the feed is not iCalendar (no BEGIN:VCALENDAR)")
    calendars: list[icalendar.Calendar] = []
    broken: dict[str, ItemBroken] = {}
    for block in _BLOCK.finditer(body.group(2)):
        text = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + block.group(0) + b"\r\nEND:VCALENDAR\r\n"
        try:
            calendars.append(icalendar.Calendar.from_ical(text))
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            uid = re.search(rb"^UID:(.*?)\r?$", block.group(0), re.MULTILINE)
            name = uid.group(1).decode("utf-8", "replace") if uid else hashlib.sha256(block.group(0)).hexdigest()
            broken[href_for(name)] = ItemBroken(f"a {block.group(1).decode()} icalendar cannot read: {exc}")
    return calendars, broken
