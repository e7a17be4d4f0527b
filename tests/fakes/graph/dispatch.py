"""From a request (method, path, query, headers, body) to a `Reply`, the same way at the top level and inside a
`$batch`: injected faults first, then the bearer token, the mailbox (unknown user -> 404 ErrorInvalidUser; an app
held back by an application access policy, or a delegated token for someone else's mailbox, unless its user has
Full Access to it and the token a *.Shared permission -> 403 ErrorAccessDenied), the per-mailbox rate and
concurrency limits, and the handler. Every request is recorded, with the mailbox it addressed, top-level or in a
batch. The Entra endpoints and `$batch` envelope are routed here as well."""

import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field

from tests.fakes.graph import batch, events, mail_api
from tests.fakes.graph.delta import DeltaTokens
from tests.fakes.graph.entra import Principal, Tenant
from tests.fakes.graph.faults import Faults, Limits, concurrency_error
from tests.fakes.graph.mailbox import FakeMailbox
from tests.fakes.graph.replies import GraphError, Reply, bad_request, json_reply
from tests.fakes.graph.subscriptions import Subscriptions

_KEY = re.compile(r"^([^()]+)\('(.*)'\)$")
_OPENID = re.compile(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration/?$")
_TOKEN = re.compile(r"^/([^/]+)/oauth2/v2\.0/token/?$")
_KEYS = re.compile(r"^/([^/]+)/discovery/v2\.0/keys/?$")
_RAOP = "Access to OData is disabled: [RAOP] : Blocked by tenant configured AppOnly AccessPolicy settings."


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    status: int
    in_batch: bool
    mailbox: str | None


@dataclass
class _Note:
    mailbox: str | None = None


@dataclass
class Dispatcher:
    lock: threading.RLock
    tenant: Tenant
    faults: Faults
    limits: Limits
    delta: DeltaTokens
    graph_url: str
    mailboxes: dict[str, FakeMailbox] = field(default_factory=dict)
    subscriptions: Subscriptions | None = None
    records: list[Recorded] = field(default_factory=list)
    delay: float = 0.0

    def pause(self) -> None:
        if self.delay > 0:
            time.sleep(self.delay)

    def record(self, method: str, path: str, params: dict[str, str], status: int, in_batch: bool,
               mailbox: str | None) -> None:
        with self.lock:
            self.records.append(Recorded(method, path, dict(params), status, in_batch, mailbox))

    # -- the transport's entry ----------------------------------------------------------------------------
    def handle_http(self, method: str, path: str, params: dict[str, str], headers: dict[str, str],
                    body: bytes) -> Reply:
        if path == "/v1.0" or path.startswith("/v1.0/"):
            relative = path[len("/v1.0"):] or "/"
            if relative.strip("/").lower() == "$batch":
                return batch.run(self, method, path, params, headers, body)
            return self.graph_request(method, relative, params, headers, body, held=None)
        reply = self.faults.take(path, envelope=True)
        if reply is None:
            self.pause()
            reply = self._entra(method, path, body)
        self.record(method, path, params, reply.status, False, None)
        return reply

    def _entra(self, method: str, path: str, body: bytes) -> Reply:
        found = _OPENID.match(path)
        if found and method == "GET":
            return self.tenant.openid_configuration(found[1])
        found = _KEYS.match(path)
        if found and method == "GET":
            return self.tenant.keys(found[1])
        found = _TOKEN.match(path)
        if found and method == "POST":
            form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            return self.tenant.token(found[1], form)
        return Reply(404, {"Content-Type": "text/plain"}, b"Not Found")

    # -- Graph --------------------------------------------------------------------------------------------
    def graph_request(self, method: str, path: str, params: dict[str, str], headers: dict[str, str], body: bytes,
                      *, held: list[tuple[str, str]] | None) -> Reply:
        """One Graph request. `held` is None at the top level; inside a batch, the slots taken are appended
        to it and released by the batch once the requests dispatched together are done."""
        note = _Note()
        try:
            reply = self._graph(method, path, params, headers, body, held, note)
        except GraphError as exc:
            reply = exc.reply()
        self.record(method, "/v1.0" + path, params, reply.status, held is not None, note.mailbox)
        return reply

    def _graph(self, method: str, path: str, params: dict[str, str], headers: dict[str, str], body: bytes,
               held: list[tuple[str, str]] | None, note: _Note) -> Reply:
        segments = split_path(path)
        head = segments[0].lower() if segments else ""
        if head == "users" and len(segments) > 1:  # recorded even when the request fails before resolving it
            known = self.mailboxes.get(segments[1].lower())
            note.mailbox = known.address if known else None
        injected = self.faults.take("/v1.0" + path)
        if injected is not None:
            if held is None:
                self.pause()
            return injected
        principal = self.tenant.authenticate(headers.get("authorization"))
        if head == "subscriptions":
            if held is None:
                self.pause()
            return self._subscriptions(method, segments[1:], principal, body)
        if head not in ("me", "users") or (head == "users" and len(segments) < 2):
            raise bad_request(f"Resource not found for the segment '{segments[0] if segments else ''}'.")
        user_path = "me" if head == "me" else "users/" + urllib.parse.quote(segments[1], safe="@")
        rest = segments[1:] if head == "me" else segments[2:]
        box = self.mailbox_for(principal, user_path)
        note.mailbox = box.address
        key = (principal.app.client_id, box.address)
        if not self.limits.acquire([key])[0]:
            raise concurrency_error()
        try:
            self.limits.count(key)
            if held is None:
                self.pause()
            if not rest and method == "GET":
                return json_reply(200, {"@odata.context": f"{self.graph_url}/$metadata#users/$entity",
                                        "id": box.user_id, "displayName": box.display_name, "mail": box.address,
                                        "userPrincipalName": box.address})
            call = mail_api.Call(method, rest, params, headers, body, principal, box, user_path, self.graph_url)
            with self.lock:
                if rest and rest[0].lower() in events.ROOTS:  # the calendar (tests/fakes/graph/events.py)
                    return events.handle(call)
                return mail_api.handle(call, self.delta)
        finally:
            if held is None:
                self.limits.release([key])
            else:
                held.append(key)

    def mailbox_for(self, principal: Principal, user_path: str) -> FakeMailbox:
        if user_path == "me":
            if principal.user is None:
                raise bad_request("/me request is only valid with delegated authentication flow.")
            return self.mailboxes[principal.user]
        key = urllib.parse.unquote(user_path.split("/", 1)[1])
        box = self.mailboxes.get(key.lower()) or next(
            (b for b in self.mailboxes.values() if b.user_id == key.lower()), None)
        if box is None:
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
        if principal.user is not None and principal.user != box.address and not (
                principal.user in box.delegates and any(s.endswith(".Shared") for s in principal.scopes)):
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        allowed = principal.app.allowed_mailboxes
        if principal.user is None and allowed is not None and box.address not in allowed:
            raise GraphError(403, "ErrorAccessDenied", _RAOP)
        return box

    def _subscriptions(self, method: str, rest: list[str], principal: Principal, body: bytes) -> Reply:
        assert self.subscriptions is not None
        if not rest and method == "POST":
            return self.subscriptions.create(principal, mail_api.parse_json(body), self.graph_url)
        if not rest and method == "GET":
            return self.subscriptions.list(principal, self.graph_url)
        if len(rest) == 1 and method == "GET":
            return self.subscriptions.get(rest[0], self.graph_url)
        if len(rest) == 1 and method == "PATCH":
            return self.subscriptions.renew(rest[0], mail_api.parse_json(body), self.graph_url)
        if len(rest) == 1 and method == "DELETE":
            return self.subscriptions.delete(rest[0])
        raise GraphError(405, "BadRequest", "Specified HTTP method is not allowed for the request target.")


def split_path(path: str) -> list[str]:
    """Path segments, percent-decoded, with OData key syntax `name('key')` split into `name`, `key`."""
    segments = []
    for raw in path.strip("/").split("/"):
        if not raw:
            continue
        segment = urllib.parse.unquote(raw)
        # Functions may be written `delta()` or fully qualified `microsoft.graph.delta`.
        segment = segment.removesuffix("()")
        if segment.lower().startswith("microsoft.graph."):
            segment = segment[len("microsoft.graph."):]
        keyed = _KEY.match(segment)
        segments.extend([keyed[1], keyed[2]] if keyed else [segment])
    return segments
