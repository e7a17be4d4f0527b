"""Finding the calendars behind a CalDAV URL a user typed: a calendar collection is taken as it is; a server
root or a principal URL leads, through the caldav library's discovery (current-user-principal, then
calendar-home-set, then a depth-1 PROPFIND of the home), to every calendar collection of the account."""

from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit

from caldav.lib import error as dav_error
from caldav.lib.http_sync import requests as http

from calendar_sync.errors import AuthenticationFailed, CalendarMissing, TemporaryFailure
from calendar_sync.stores.caldav_http import DavSession, Forbidden, transport_error

CALENDAR_TYPE = "{urn:ietf:params:xml:ns:caldav}calendar"


@dataclass(frozen=True)
class DiscoveredCalendar:
    name: str
    url: str


def discover(url: str, username: str | None, password: str | None, *, timeout: float = 30,
             verify: bool | str = True) -> list[DiscoveredCalendar]:
    """The calendars `url` leads to; CalendarMissing when it leads to none. A bare host name means HTTPS."""
    if "://" not in url:
        url = f"https://{url}"
    session = DavSession(url, username, password, timeout=timeout, verify=verify)
    try:
        itself = _as_calendar(session)
        if itself is not None:
            return [itself]
        calendars = _from_home(session)
    finally:
        session.close()
    if not calendars:
        raise CalendarMissing(f"no calendar found at {url}")
    return calendars


def _as_calendar(session: DavSession) -> DiscoveredCalendar | None:
    """The URL itself, when it is a calendar collection."""
    try:
        response = session.request("PROPFIND", session.url, _PROPFIND_SELF, depth=0)
    except Forbidden as exc:
        raise AuthenticationFailed(f"{session.url}: this account may not read it ({exc})",
                                   reason="access_denied") from exc
    if response.status != 207:
        return None  # not a DAV resource (a 404 root, a redirect page): the library's discovery decides
    for result in response.parse_propfind():
        if CALENDAR_TYPE in (result.properties.get("{DAV:}resourcetype") or []):
            return DiscoveredCalendar(_name(result.properties.get("{DAV:}displayname"), session.url),
                                      session.url)
    return None


def _from_home(session: DavSession) -> list[DiscoveredCalendar]:
    client = session.client
    try:
        # The names come with the home's PROPFIND; get_display_name() reads them from the library's cache.
        calendars = [(str(c.url), c.get_display_name()) for c in client.get_calendars()]
    except dav_error.AuthorizationError as exc:
        raise AuthenticationFailed(f"{session.url}: the server refused the credentials (HTTP {exc.status})",
                                   reason="auth" if exc.status == 401 else "access_denied") from exc
    except dav_error.RateLimitError as exc:
        raise TemporaryFailure(f"{session.url}: the server asks to wait", reason="throttled",
                               retry_after=exc.retry_after_seconds) from exc
    except http.exceptions.RequestException as exc:
        raise transport_error(exc, session.url) from exc
    except (dav_error.DAVError, ValueError) as exc:
        raise CalendarMissing(f"{session.url}: no calendar home found ({exc})") from exc
    found = []
    for url, name in calendars:
        calendar_url = urljoin(session.url, url)
        found.append(DiscoveredCalendar(_name(name, calendar_url), calendar_url))
    return sorted(found, key=lambda c: c.name.lower())


def _name(display_name: object, url: str) -> str:
    """The calendar's display name, or the last segment of its path when it has none."""
    if isinstance(display_name, str) and display_name.strip():
        return display_name.strip()
    return unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]) or url


_PROPFIND_SELF = """<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:displayname/></d:prop></d:propfind>"""
