"""The fake Exchange server: HTTPS on 127.0.0.1 and a free port, `/EWS/Exchange.asmx` for EWS and
`/{tenant}/oauth2/v2.0/token` as a minimal Entra ID token endpoint (client credentials), with the test's
switches; `/autodiscover/autodiscover.svc` answers SOAP Autodiscover (autodiscover.py; network.py lets a test
reach it under published names, as exchangelib's autodiscover looks for it). `running_ews(certificate)` starts
it and yields the `EwsFake` a test drives.

How a request is answered, in the order Exchange's front end does it:
  1. a switched-on broken connection: the request is read, then the connection closed without an answer;
  2. authentication (Basic or NTLM with a mailbox's login, or a Bearer token the test issued): 401 otherwise,
     and NTLM's challenge (ntlm.py);
  3. the mailbox acted on: the login's own, or with a token the ExchangeImpersonation header's, if the
     token was granted it (`accept_bearer`);
  4. EWS blocked for that mailbox (`disable_ews`, as Set-CASMailbox -EwsEnabled $false): HTTP 403, no body;
  5. throttling (`busy`): HTTP 500, a SOAP fault ErrorServerBusy with BackOffMilliseconds;
  6. the operation (folders.py, items.py; streaming notifications in notifications.py, whose GetStreamingEvents
     answer is a chunked body written as its events happen).
NTLM needs a login of the form DOMAIN\\user (`add_mailbox(username=...)`)."""

import base64
import datetime as dt
import json
import secrets
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.ews import autodiscover, calendar_ops, folders, items, ntlm
from tests.fakes.ews.folders import Call
from tests.fakes.ews.mailbox import FakeMailbox
from tests.fakes.ews.notifications import Subscriptions
from tests.fakes.ews.ntlm import NtlmConnection, NtlmUsers
from tests.fakes.ews.soap import Request, SoapFault, parse_request, server_busy
from tests.mailbridge.tls import TestCertificate

OPERATIONS: dict[str, Callable[[Call], bytes]] = {
    "GetFolder": folders.get_folder, "FindFolder": folders.find_folder, "ConvertId": folders.convert_id,
    "SyncFolderItems": items.sync_folder_items, "GetItem": calendar_ops.get_item,
    "UpdateItem": calendar_ops.update_item, "CreateItem": calendar_ops.create_item,
    "DeleteItem": calendar_ops.delete_item, "FindItem": calendar_ops.find_item,
}  # calendar_ops hands a request that concerns no calendar item on to items.py
XML_TYPE = "text/xml; charset=utf-8"


@dataclass
class Reply:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    stream: Iterable[bytes] | None = None  # a chunked body, each chunk written as it comes (GetStreamingEvents)


@dataclass
class _App:
    tenant_id: str
    client_id: str
    client_secret: str
    token: str


class EwsFake:
    """The server's state and the test's switches. Mailboxes are found by address; `requests` lists the EWS
    operations asked for, in order (including those answered busy or dropped)."""

    def __init__(self, certificate: TestCertificate, ntlm_users: NtlmUsers | None = None) -> None:
        self.lock = threading.RLock()
        self.ntlm_users = ntlm_users
        self.certificate = certificate
        self.mailboxes: dict[str, FakeMailbox] = {}
        self.requests: list[str] = []
        self.bodies: list[bytes] = []  # each EWS request's body, in the order of `requests`
        self.delay = 0.0  # seconds every EWS answer waits (a slow server, for timeouts)
        self.port = 0
        self._busy: list[tuple[str, int | None]] = []  # (operation or "*", back-off) per throttled request
        self._drops: list[str] = []  # the operation (or "*") of each request whose connection is dropped
        self._apps: list[_App] = []
        self._grants: dict[str, set[str]] = {}  # bearer token -> addresses it may act on
        self._disabled: set[str] = set()
        self.subscriptions = Subscriptions(self.lock)  # streaming notifications; `minute` shortens connections

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.origin}/EWS/Exchange.asmx"

    @property
    def authority_url(self) -> str:
        """The token endpoint's authority: tokens come from {authority_url}/{tenant}/oauth2/v2.0/token."""
        return self.origin

    @property
    def ca_file(self) -> str:
        return str(self.certificate.cert_path)

    # -- the test's side ---------------------------------------------------------------------------------------
    def add_mailbox(self, address: str, *, username: str | None = None, password: str | None = None) -> FakeMailbox:
        """A mailbox; its login is `username` (default: the address) with `password` (default: "secret")."""
        password = "secret" if password is None else password
        with self.lock:
            box = FakeMailbox(address, username or address, password, self.lock)
            box.on_event = lambda event: self.subscriptions.publish(box.address, event)
            self.mailboxes[address.lower()] = box
            if self.ntlm_users is not None and "\\" in box.username:
                self.ntlm_users.add(box.username, password)
            return box

    def busy(self, times: int = 1, back_off_ms: int | None = 500, *, operation: str | None = None) -> None:
        """The next `times` authenticated requests (of `operation`, or any) are throttled with this
        BackOffMilliseconds (None: the fault carries none)."""
        with self.lock:
            self._busy.extend([(operation or "*", back_off_ms)] * times)

    def drop_connection(self, times: int = 1, *, operation: str | None = None) -> None:
        """The next `times` requests (of `operation`, or any) are read and their connection closed unanswered."""
        with self.lock:
            self._drops.extend([operation or "*"] * times)

    def register_app(self, client_id: str, client_secret: str, tenant_id: str = "contoso") -> str:
        """An Entra ID app that may get tokens by client credentials; returns the token it will be issued."""
        token = ".".join(base64.urlsafe_b64encode(secrets.token_bytes(n)).decode().rstrip("=") for n in (24, 96, 48))
        with self.lock:
            self._apps.append(_App(tenant_id, client_id, client_secret, token))
            self._grants.setdefault(token, set())  # a valid token, for no mailbox until `accept_bearer`
        return token

    def accept_bearer(self, token: str, address: str) -> None:
        """Lets `token` act on `address`'s mailbox (as an application access grant does)."""
        with self.lock:
            self._grants.setdefault(token, set()).add(address.lower())

    def disable_ews(self, address: str) -> None:
        with self.lock:
            self._disabled.add(address.lower())

    def refuse_streaming(self, code: str | None = "ErrorInvalidRequest") -> None:
        """Subscribe for streaming notifications is answered with this error (None: accepted again), as by a
        server that has them switched off; "ErrorSchemaValidation" is the SOAP fault of a server that has none
        (before Exchange 2010 SP1)."""
        with self.lock:
            self.subscriptions.refusal = code

    def lose_subscriptions(self, address: str | None = None) -> None:
        """The streaming subscriptions (of one mailbox, or all) are gone, as after a mailbox server restart: open
        connections end, and their ids are answered ErrorSubscriptionNotFound."""
        self.subscriptions.lose(address)

    # -- EWS ---------------------------------------------------------------------------------------------------
    def handle_ews(self, headers: Any, body: bytes, connection: NtlmConnection) -> Reply | None:
        try:
            request: Request | SoapFault = parse_request(body)
        except SoapFault as fault:
            request = fault
        with self.lock:
            operation = request.operation if isinstance(request, Request) else "?"
            self.requests.append(operation)
            self.bodies.append(body)
            if _take(self._drops, lambda wanted: wanted in ("*", operation)) is not None:
                return None
            delay = self.delay
        if delay:
            time.sleep(delay)
        try:
            principal = self._authenticate(str(headers.get("Authorization", "")), connection)
            if isinstance(principal, Reply):
                return principal
            if principal is None:
                return _unauthorized(headers)
            if isinstance(request, SoapFault):
                raise request
            with self.lock:
                box = self._target(principal, request)
                if box.address.lower() in self._disabled:
                    return Reply(403, b"", [("Content-Length", "0")])
                busy = _take(self._busy, lambda entry: entry[0] in ("*", request.operation))
                if busy is not None:
                    raise server_busy(busy[1])
                handler = OPERATIONS.get(request.operation) or self._notification_operations().get(request.operation)
                if handler is None:
                    raise SoapFault("ErrorInvalidRequest",
                                    f"the fake EWS server does not implement {request.operation}")
                answer = handler(Call(box, request, dict(self.mailboxes)))
                if isinstance(answer, bytes):
                    return Reply(200, answer, [("Content-Type", XML_TYPE)])
                return Reply(200, b"", [("Content-Type", XML_TYPE)], stream=answer)
        except SoapFault as fault:
            return Reply(500, fault.body(), [("Content-Type", XML_TYPE)])

    def _notification_operations(self) -> dict[str, Callable[[Call], bytes | Iterator[bytes]]]:
        subscriptions = self.subscriptions
        return {"Subscribe": subscriptions.subscribe, "Unsubscribe": subscriptions.unsubscribe,
                "GetStreamingEvents": subscriptions.get_streaming_events}

    def _authenticate(self, authorization: str, connection: NtlmConnection) -> FakeMailbox | set[str] | Reply | None:
        """The login's mailbox (Basic, NTLM), the addresses a token may act on (Bearer), NTLM's challenge, or
        None."""
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() in ("ntlm", "negotiate") and self.ntlm_users is not None:
            challenge, _user = ntlm.step(connection, value.strip())
            if challenge is not None:
                return Reply(401, b"", [("WWW-Authenticate", f"{scheme} {base64.b64encode(challenge).decode()}")])
        if connection.user is not None and (not scheme or scheme.lower() in ("ntlm", "negotiate")):
            with self.lock:  # an NTLM connection stays authenticated
                return next((b for b in self.mailboxes.values() if b.username.lower() == connection.user.lower()),
                            None)
        with self.lock:
            if scheme.lower() == "basic":
                try:
                    username, _, password = base64.b64decode(value).decode().partition(":")
                except ValueError:
                    return None
                return next((b for b in self.mailboxes.values() if username.lower() in
                             (b.username.lower(), b.address.lower())
                             and secrets.compare_digest(password.encode(), b.password.encode())),
                            None)
            if scheme.lower() == "bearer":
                return set(self._grants.get(value.strip(), set())) if value.strip() in self._grants else None
        return None

    def _target(self, principal: FakeMailbox | set[str], request: Request) -> FakeMailbox:
        impersonated = (request.impersonated or "").lower()
        if isinstance(principal, FakeMailbox):
            if impersonated and impersonated != principal.address.lower():
                raise SoapFault("ErrorImpersonateUserDenied",
                                "The account does not have permission to impersonate the requested user.")
            return principal
        if not impersonated:
            raise SoapFault("ErrorInvalidExchangeImpersonationHeaderData",
                            "ExchangeImpersonation SOAP header must be present for this type of OAuth token.")
        if impersonated not in self.mailboxes:
            raise SoapFault("ErrorNonExistentMailbox", folders.NO_MAILBOX)
        if impersonated not in principal:
            raise SoapFault("ErrorImpersonateUserDenied",
                            "The account does not have permission to impersonate the requested user.")
        return self.mailboxes[impersonated]

    # -- SOAP Autodiscover (autodiscover.py) -------------------------------------------------------------------
    def handle_autodiscover(self, headers: Any, body: bytes, connection: NtlmConnection) -> Reply:
        """GetUserSettings, authenticated as EWS is; every mailbox's EWS URL is this server's."""
        with self.lock:
            self.requests.append("GetUserSettings")
        principal = self._authenticate(str(headers.get("Authorization", "")), connection)
        if principal is None or isinstance(principal, Reply):
            return principal or _unauthorized(headers)
        with self.lock:
            mailboxes = dict(self.mailboxes)
        status, answer = autodiscover.get_user_settings(body, mailboxes, self.url)
        return Reply(status, answer, [("Content-Type", XML_TYPE)])

    # -- Entra ID's token endpoint (client credentials only) ---------------------------------------------------
    def handle_token(self, path: str, headers: Any, body: bytes) -> Reply:
        tenant = path.strip("/").split("/", 1)[0]
        form = {k: v[0] for k, v in parse_qs(body.decode(errors="replace")).items()}
        authorization = str(headers.get("Authorization", ""))
        if authorization.lower().startswith("basic "):
            client_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            form.setdefault("client_id", client_id)
            form.setdefault("client_secret", secret)
        if form.get("grant_type") != "client_credentials":
            return _entra_error("unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
        with self.lock:
            apps = [a for a in self._apps if a.client_id == form.get("client_id")]
            if not any(a.tenant_id == tenant for a in self._apps):
                return _entra_error("invalid_request", 90002, f"Tenant '{tenant}' not found.")
            app = next((a for a in apps if a.tenant_id == tenant), None)
            if app is None:
                return _entra_error("unauthorized_client", 700016, f"Application with identifier "
                                    f"'{form.get('client_id')}' was not found in the directory.")
            if not secrets.compare_digest(form.get("client_secret", "").encode(), app.client_secret.encode()):
                return _entra_error("invalid_client", 7000215, "Invalid client secret provided.", status=401)
        resource = form.get("scope", "").split(" ")[0].removesuffix("/.default")
        if resource.rstrip("/") not in (self.origin, f"https://localhost:{self.port}"):
            return _entra_error("invalid_resource", 500011, f"The resource principal named {resource} was not "
                                "found in the tenant.")
        answer = {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": app.token}
        return Reply(200, json.dumps(answer).encode(), [("Content-Type", "application/json; charset=utf-8")])


def _take(pending: list[Any], matches: Callable[[Any], bool]) -> Any:
    """Removes and returns the first entry that `matches`; None when none does."""
    for index, entry in enumerate(pending):
        if matches(entry):
            return pending.pop(index)
    return None


def _unauthorized(headers: Any) -> Reply:
    challenges = [("WWW-Authenticate", "Negotiate"), ("WWW-Authenticate", "NTLM"),
                  ("WWW-Authenticate", 'Basic realm="127.0.0.1"')]
    if str(headers.get("Authorization", "")).lower().startswith("bearer"):
        challenges = [("WWW-Authenticate", 'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", '
                       'token_types="app_asserted_user_v1 service_asserted_app_v1", error="invalid_token"'),
                      ("x-ms-diagnostics", '2000001;reason="The token is invalid.";error_category="invalid_token"')]
    page = b"<html><body><h2>401 - Unauthorized: Access is denied due to invalid credentials.</h2></body></html>"
    return Reply(401, page, [("Content-Type", "text/html"), *challenges])


def _entra_error(code: str, number: int, text: str, status: int = 400) -> Reply:
    trace = str(uuid.uuid4())
    body = {"error": code, "error_description": f"AADSTS{number}: {text} Trace ID: {trace}",
            "error_codes": [number], "timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": trace, "correlation_id": str(uuid.uuid4())}
    return Reply(status, json.dumps(body).encode(), [("Content-Type", "application/json; charset=utf-8")])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as IIS
    server: "_Server"

    def setup(self) -> None:
        super().setup()
        self.request.do_handshake()  # here, in the connection's thread, not in the accepting one
        self.ntlm = NtlmConnection()

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        path = urlsplit(self.path).path
        fake = self.server.fake
        if path.lower() == "/ews/exchange.asmx":
            reply = fake.handle_ews(self.headers, body, self.ntlm)
        elif path.endswith("/oauth2/v2.0/token"):
            reply = fake.handle_token(path, self.headers, body)
        elif path.lower() == "/autodiscover/autodiscover.svc":
            reply = fake.handle_autodiscover(self.headers, body, self.ntlm)
        else:
            reply = Reply(404, b"", [("Content-Length", "0")])
        if reply is None:
            self.close_connection = True  # the broken connection the test asked for
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            if name != "Content-Length":
                self.send_header(name, value)
        if reply.stream is None:
            self.send_header("Content-Length", str(len(reply.body)))
        else:
            self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Server", "Microsoft-IIS/10.0")
        self.send_header("request-id", str(uuid.uuid4()))
        self.send_header("X-FEServer", "EXCH01")
        self.end_headers()
        if reply.stream is None:
            self.wfile.write(reply.body)
            return
        try:
            for chunk in reply.stream:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:  # the client went away mid-stream
            self.close_connection = True
        finally:
            close = getattr(reply.stream, "close", None)
            if close is not None:
                close()

    def do_HEAD(self) -> None:
        """exchangelib checks that an endpoint found by SRV record or redirect answers before it posts to it."""
        known = urlsplit(self.path).path.lower() == "/autodiscover/autodiscover.svc"
        reply = _unauthorized(self.headers) if known else Reply(404)
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a test reads `fake.requests`, not a log."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: EwsFake, context: ssl.SSLContext) -> None:
        self.fake, self.context = fake, context
        super().__init__(("127.0.0.1", 0), _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gives up, distrusts the certificate or times out is no server error."""


@contextmanager
def running_ews(certificate: TestCertificate) -> Iterator[EwsFake]:
    """The fake on a free loopback port, stopped on leaving."""
    with ntlm.ntlm_users() as users:
        fake = EwsFake(certificate, users)
        server = _Server(fake, certificate.server_context())
        fake.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="fake-ews", daemon=True)
        thread.start()
        try:
            yield fake
        finally:
            fake.subscriptions.close()  # open GetStreamingEvents connections end, so their threads do
            server.shutdown()
            server.server_close()
            thread.join(timeout=10)
