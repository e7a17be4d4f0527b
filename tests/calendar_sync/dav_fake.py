"""A small CalDAV server on loopback for what Radicale and Xandikos cannot be made to do: truncate a
sync-collection answer (RFC 6578 section 3.6: a 507 response for the collection and a token to go on from),
have no sync-collection at all, throttle with 429 and Retry-After, or hold an object that is not iCalendar.

Neither real server truncates by itself: Radicale ignores DAV:limit, and Xandikos honours it by cutting the
answer short *without* the 507 and with its newest token, so what was cut is never reported (a bug that this
store avoids by never sending DAV:limit). One collection, /calendars/test/, no authentication; its members
and change log live in memory, the sync token is the log's revision."""

import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

from lxml import etree

from tests.mailbridge.dovecot import free_port

COLLECTION = "/calendars/test/"
_TOKEN = re.compile(r"urn:fake-sync:(\d+)")


class FakeCalDav:
    def __init__(self, *, page_size: int | None = None, no_sync_status: int | None = None) -> None:
        """`page_size`: truncate sync-collection answers after that many members. `no_sync_status`: answer
        the sync-collection REPORT with this status (403 carries DAV:supported-report), as a server without
        it does."""
        self.page_size = page_size
        self.no_sync_status = no_sync_status
        self.members: dict[str, tuple[str, str]] = {}  # name -> (etag, body)
        self.log: list[str] = []  # the name touched by each revision; revision n is log[n - 1]
        self.throttle = 0  # answer the next this-many requests with 429 and Retry-After: 7
        self.truncated_answers = 0
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}{COLLECTION}"
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "FakeCalDav":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def put(self, name: str, body: str) -> None:
        self.members[name] = (f'"{uuid.uuid4().hex}"', body)
        self.log.append(name)

    def remove(self, name: str) -> None:
        del self.members[name]
        self.log.append(name)

    def sync_answer(self, token: str) -> tuple[int, str]:
        if self.no_sync_status is not None:
            error = "<D:supported-report/>" if self.no_sync_status == 403 else ""
            return self.no_sync_status, f'<D:error xmlns:D="DAV:">{error}</D:error>' if error else ""
        since = 0
        if token:
            match = _TOKEN.fullmatch(token)
            if match is None or int(match[1]) > len(self.log):
                return 403, '<D:error xmlns:D="DAV:"><D:valid-sync-token/></D:error>'
            since = int(match[1])
        last_touch = {name: revision for revision, name in enumerate(self.log, 1) if revision > since}
        touched = sorted(last_touch.items(), key=lambda pair: pair[1])
        if not token:  # the initial sync reports the members there are, no removals
            touched = [(name, revision) for name, revision in touched if name in self.members]
        truncated = self.page_size is not None and len(touched) > self.page_size
        page = touched[:self.page_size] if truncated else touched
        new_token = page[-1][1] if truncated else len(self.log)
        responses = [_member(name, self.members.get(name)) for name, _ in page]
        if truncated:
            self.truncated_answers += 1
            responses.append(f"<D:response><D:href>{COLLECTION}</D:href>"
                             "<D:status>HTTP/1.1 507 Insufficient Storage</D:status></D:response>")
        return 207, _multistatus(responses, f"<D:sync-token>urn:fake-sync:{new_token}</D:sync-token>")


def _member(name: str, member: tuple[str, str] | None, data: bool = False) -> str:
    href = f"<D:href>{COLLECTION}{name}</D:href>"
    if member is None:
        return f"<D:response>{href}<D:status>HTTP/1.1 404 Not Found</D:status></D:response>"
    etag, body = member
    calendar_data = f"<C:calendar-data>{escape(body)}</C:calendar-data>" if data else ""
    return (f"<D:response>{href}<D:propstat><D:prop><D:getetag>{escape(etag)}</D:getetag>{calendar_data}"
            "</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>")


def _multistatus(responses: list[str], extra: str = "") -> str:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<D:multistatus xmlns:D="DAV:" '
            f'xmlns:C="urn:ietf:params:xml:ns:caldav">{"".join(responses)}{extra}</D:multistatus>')


def _handler(fake: FakeCalDav) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            return None  # quiet: pytest shows failures, not every request

        def _answer(self, status: int, body: str = "", headers: dict[str, str] | None = None) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            if data:
                kind = "text/calendar" if (headers or {}).get("ETag") else "application/xml"
                self.send_header("Content-Type", f"{kind}; charset=utf-8")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _throttled(self) -> bool:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if fake.throttle <= 0:
                return False
            fake.throttle -= 1
            self._answer(429, "", {"Retry-After": "7"})
            return True

        def do_GET(self) -> None:
            if self._throttled():
                return
            member = fake.members.get(self.path.removeprefix(COLLECTION))
            if member is None:
                self._answer(404)
            else:
                self._answer(200, member[1], {"ETag": member[0]})

        def do_PROPFIND(self) -> None:
            if self._throttled():
                return
            collection = ("<D:response><D:href>/calendars/test/</D:href><D:propstat><D:prop><D:resourcetype>"
                          "<D:collection/><C:calendar/></D:resourcetype></D:prop>"
                          "<D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>")
            members = [_member(name, member) for name, member in fake.members.items()]
            self._answer(207, _multistatus([collection, *members] if self.headers.get("Depth") == "1"
                                           else [collection]))

        def do_REPORT(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = etree.fromstring(self.rfile.read(length))
            if fake.throttle > 0:
                fake.throttle -= 1
                self._answer(429, "", {"Retry-After": "7"})
                return
            if request.tag == "{DAV:}sync-collection":
                token = request.findtext("{DAV:}sync-token") or ""
                self._answer(*fake.sync_answer(token))
            elif request.tag == "{urn:ietf:params:xml:ns:caldav}calendar-multiget":
                names = [(href.text or "").removeprefix(COLLECTION) for href in request.iter("{DAV:}href")]
                self._answer(207, _multistatus([_member(n, fake.members.get(n), data=True) for n in names]))
            else:
                self._answer(501)

    return Handler
