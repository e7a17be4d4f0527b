"""One CalDAV connection: the caldav library's DAVClient (its session, authentication negotiation and response
parsing) with every failure translated into calendar_sync.errors at this boundary, and the hrefs of one
calendar collection turned into URLs.

Hrefs are what the library's parsers give: the server's path, percent-decoded. They go back on the wire
quoted again, so an href read from a listing addresses the same resource in a GET, PUT or DELETE."""

import socket
import ssl
from typing import NoReturn
from urllib.parse import quote, unquote, urljoin, urlsplit

import caldav
from caldav.lib import error as dav_error
from caldav.lib.http_sync import requests as http
from caldav.response import DAVResponse
from lxml import etree

from calendar_sync.errors import (
    AuthenticationFailed,
    CalendarError,
    ConnectionFailed,
    NotFound,
    PreconditionFailed,
    ReadOnly,
    TemporaryFailure,
)

# Characters an href keeps literally on the wire: RFC 3986's path characters. '@' stays literal as the
# library sends it; servers read both spellings alike.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
UID_CONFLICT = frozenset({"{urn:ietf:params:xml:ns:caldav}no-uid-conflict",
                          "{urn:ietf:params:xml:ns:caldav}unique-scheduling-object-resource"})


class Forbidden(Exception):
    """A 403 the caller has to interpret (an expired sync token, an unsupported report, a UID conflict,
    a read-only calendar); `preconditions` are the DAV:error elements the server named, in Clark notation."""

    def __init__(self, url: str, preconditions: list[str]) -> None:
        super().__init__(f"{url}: 403 Forbidden {' '.join(preconditions)}".rstrip())
        self.url = url
        self.preconditions = frozenset(preconditions)


class DavSession:
    def __init__(self, url: str, username: str | None, password: str | None, *, timeout: float = 30,
                 verify: bool | str = True) -> None:
        # Nothing goes on the network here: RFC 6764 DNS discovery is off, the URL is used as given.
        self.url = url if url.endswith("/") else url + "/"
        self.path = unquote(urlsplit(self.url).path)
        self.client = caldav.DAVClient(url=self.url, username=username, password=password, timeout=timeout,
                                       ssl_verify_cert=verify, enable_rfc6764=False)

    def url_of(self, href: str) -> str:
        """The URL of an href (a server path, or a name relative to the collection)."""
        return urljoin(self.url, quote(href, safe=_PATH_SAFE))

    def wire_path(self, href: str) -> str:
        """The path of an href as it goes on the wire (quoted), for the hrefs of a request body."""
        return urlsplit(self.url_of(href)).path

    def path_of(self, href: str) -> str:
        """The absolute path of an href, as the server names it in a multistatus."""
        return unquote(urlsplit(self.url_of(href)).path)

    def request(self, method: str, url: str, body: str = "", headers: dict[str, str] | None = None,
                *, depth: int | None = None) -> DAVResponse:
        """One request. 401 -> AuthenticationFailed, 403 -> Forbidden (for the caller to say what it means),
        429 and 503 -> TemporaryFailure with the server's Retry-After, no answer -> ConnectionFailed; any
        other status is the caller's to read."""
        all_headers = dict(headers or {})
        if depth is not None:
            all_headers["Depth"] = str(depth)
        if body and "Content-Type" not in all_headers:
            all_headers["Content-Type"] = 'application/xml; charset="utf-8"'
        try:
            response = self.client.request(url, method, body, all_headers)
        except dav_error.RateLimitError as exc:
            raise TemporaryFailure(f"{method} {url}: the server asks to wait (HTTP {exc.status})",
                                   reason="throttled", retry_after=exc.retry_after_seconds) from exc
        except dav_error.AuthorizationError as exc:
            if exc.status == 403:
                raise Forbidden(url, exc.preconditions) from exc
            raise AuthenticationFailed(f"{method} {url}: the server refused the credentials",
                                       reason="auth") from exc
        except http.exceptions.RequestException as exc:
            raise transport_error(exc, url) from exc
        except etree.XMLSyntaxError as exc:
            raise CalendarError(f"{method} {url}: the server's XML is unreadable: {exc}",
                                reason="protocol") from exc
        except NotImplementedError as exc:  # the server offers no authentication scheme the library has
            raise AuthenticationFailed(f"{method} {url}: {exc}", reason="auth") from exc
        if response.status >= 500 and response.status not in (501, 507):  # those two are not passing
            raise TemporaryFailure(f"{method} {url}: HTTP {response.status} {response.reason}",
                                   reason=f"http_{response.status}")
        return response

    def close(self) -> None:
        self.client.close()


def unexpected(method: str, url: str, response: DAVResponse) -> NoReturn:
    """The error for a status the operation has no meaning for."""
    status = response.status
    if status == 404:
        raise NotFound(f"{method} {url}: not found")
    if status == 412:
        raise PreconditionFailed(f"{method} {url}: the item changed on the server")
    raise CalendarError(f"{method} {url}: unexpected HTTP {status} {response.reason}", reason="protocol")


def write_refused(method: str, exc: Forbidden) -> CalendarError:
    """A 403 to a PUT or DELETE: another object holds the UID, or the calendar cannot be written."""
    if exc.preconditions & UID_CONFLICT:
        return PreconditionFailed(f"{method} {exc.url}: another object in the calendar has this UID")
    return ReadOnly(f"{method} {exc.url}: the server does not let this account write the calendar")


def transport_error(exc: BaseException, url: str) -> ConnectionFailed:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return ConnectionFailed(f"TLS with {url} failed: {cause}", reason="tls")
        if isinstance(cause, socket.gaierror):
            return ConnectionFailed(f"{url}: the host name does not resolve", reason="dns")
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, http.exceptions.SSLError):
        return ConnectionFailed(f"TLS with {url} failed: {exc}", reason="tls")
    text = str(exc)
    if "NameResolution" in text or "Name or service not known" in text or "getaddrinfo" in text:
        return ConnectionFailed(f"{url}: the host name does not resolve", reason="dns")
    if isinstance(exc, http.exceptions.Timeout):
        return ConnectionFailed(f"{url} did not answer in time", reason="connect")
    if _cut_mid_answer(exc):
        return ConnectionFailed(f"{url}: the connection was closed mid-answer ({text or type(exc).__name__})",
                                reason="connect")
    return ConnectionFailed(f"{url} could not be reached: {text or type(exc).__name__}", reason="connect")


# What the HTTP stack raises when the server's answer stops short: reset, or closed before its length was read.
_CUT_ERRORS = ("IncompleteRead", "RemoteDisconnected", "ConnectionResetError", "ConnectionAbortedError",
               "BrokenPipeError")
# niquests may wrap the cut in an error of its own that only names it in its text.
_CUT_TEXTS = ("IncompleteRead", "RemoteDisconnected")


def _cut_mid_answer(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if type(cause).__name__ in _CUT_ERRORS or any(text in str(cause) for text in _CUT_TEXTS):
            return True
        cause = cause.__cause__ or cause.__context__
    return False
