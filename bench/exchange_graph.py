"""The Graph side of the Exchange sync benchmark (bench/exchange_sync.py): the fake Graph server
(tests/fakes/graph) in a process of its own, filled with the benchmark's corpus; what its request log says a
sync cost; and a fresh CRM database holding one mailbox on a Graph email server profile (application access with
the app's secret, tracked mail marked with a category as Dynamics does).

Why a process of its own: the fake is Python. In the benchmark's process its TLS, JSON and base64 work would
take the interpreter lock from our sync and be timed as ours, while the other side's server (Dovecot) runs in
processes of its own. The child draws the same messages as the Dovecot side (bench/imap_corpus.py's `Generator`
with the same seed, in the same order, and the same read/flagged flags), so no corpus crosses the pipe: only
commands, and counts from the request log.

Exchange Online's rate limit (10,000 requests per 10 minutes per app and mailbox, counted one by one inside a
$batch) is lifted on both sides for the timing, in the fake and in our client's request budget
(`unbudgeted_graph`): a first sync of 10,000 messages needs more requests than that, so with the limit the
folder would stop at its last commit until the window moves on, and the time would be Microsoft's policy rather
than our work. The benchmark reports the requests instead, from which the wait follows."""

import dataclasses
import datetime as dt
import multiprocessing
import random
import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from bench.imap_corpus import OWNER, Generator, _flags
from bench.imap_sync import OurSync
from crm_core.models import EmailServerProfile, Mailbox
from crm_core.security import secrets
from crm_core.services.email_server_profiles import profile_secret_context
from crm_core.services.mailboxes import MailboxConnection
from mailbridge.sources import registry
from mailbridge.sources.base import MailSource
from mailbridge.sources.graph import GraphSource
from mailbridge.tracking import TrackingOptions

SECRET_KEY = "exchange-sync-bench"  # seals the app's secret in the bench's own throw-away databases
CATEGORY = "Tracked to CRM"
UNLIMITED = 10**9  # requests per window: Graph's rate limit lifted (see the module's docstring)
READY_TIMEOUT = 60.0


# --- the fake, in its own process -----------------------------------------------------------------------
@dataclass(frozen=True)
class Endpoint:
    """Where the fake listens and the app registration our profile uses."""

    base_url: str
    graph_url: str
    tenant_id: str
    client_id: str
    secret: str
    ca_file: str
    address: str

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


@dataclass(frozen=True)
class RequestCounts:
    """What one sync cost, from the fake's request log. `wire`: HTTP requests our client sent to Graph (a $batch
    is one); `counted`: what Graph's limits count (each request inside a $batch on its own, the envelope not);
    `token`: requests to Entra ID (msal's discovery and token); the rest splits `counted` by purpose."""

    wire: int = 0
    counted: int = 0
    token: int = 0
    batches: int = 0
    delta_pages: int = 0
    downloads: int = 0  # GET .../messages/{id}/$value
    marks: int = 0  # PATCH of a tracked message's categories
    other: int = 0  # folder look-ups and the like
    throttled: int = 0  # answers 429, at either level

    @classmethod
    def of(cls, records: list[Any]) -> "RequestCounts":
        n = dict.fromkeys((f.name for f in dataclasses.fields(cls)), 0)
        for r in records:
            n["throttled"] += r.status == 429
            if not r.path.startswith("/v1.0"):
                n["token"] += 1
                continue
            if not r.in_batch:
                n["wire"] += 1
            if r.path.rstrip("/").lower().endswith("$batch"):
                n["batches"] += 1
                continue
            n["counted"] += 1
            kind = ("delta_pages" if r.path.rstrip("/").endswith("/delta") else
                    "downloads" if r.path.endswith("/$value") else "marks" if r.method == "PATCH" else "other")
            n[kind] += 1
        return cls(**n)


def _serve(conn: Connection, seed: int, directory: str) -> None:
    """The child: a fake Graph with one app and the mailbox OWNER, answering commands until "stop"."""
    from tests.fakes.graph import running_graph  # imported here: only the child needs the fake
    from tests.fakes.graph.server import _RequestHandler
    from tests.mailbridge.tls import make_certificate

    # The fake writes a reply's head and body in two sends; without TCP_NODELAY the body waits for the client's
    # delayed ACK, about 40 ms per request on loopback, which is neither Graph's nor our client's time.
    _RequestHandler.disable_nagle_algorithm = True
    certificate = make_certificate(Path(directory))
    generator, flag_rng = Generator(seed), random.Random(seed + 1)  # as fill_maildir draws them
    number = 0
    with running_graph(certificate, rate_limit=(UNLIMITED, 600.0)) as fake:
        secret = f"bench-{uuid.uuid4().hex}"
        app = fake.register_app(secret=secret)
        box = fake.add_mailbox(OWNER)
        inbox = box.folder_id("inbox")
        conn.send(Endpoint(fake.base_url, fake.graph_url, fake.tenant_id, app.client_id, secret,
                           str(certificate.cert_path), OWNER))

        def add(count: int, corpus: bool) -> None:
            # The corpus carries the Maildir's flags; new mail arrives unread, as by APPEND without flags.
            nonlocal number
            for _ in range(count):
                raw, when, _attached = generator.message(number)
                flags = _flags(flag_rng) if corpus else ""
                box.add_message(inbox, raw.replace(b"\n", b"\r\n"), is_read="S" in flags, flagged="F" in flags,
                                received=dt.datetime.fromtimestamp(when, dt.UTC))
                number += 1

        while True:
            command, argument = conn.recv()
            try:
                if command == "stop":
                    conn.send(None)
                    return
                if command in ("fill", "deliver"):
                    add(argument, command == "fill")
                    conn.send(None)
                elif command == "count":
                    conn.send(len(box.messages("inbox")))
                elif command == "clear":
                    fake.clear_requests()
                    conn.send(None)
                elif command == "requests":
                    conn.send(RequestCounts.of(fake.requests))
                elif command == "unmark":
                    marked = [m.id for m in box.messages("inbox") if m.categories]
                    for message_id in marked:
                        box.update(message_id, categories=[])
                    conn.send(len(marked))
                else:
                    conn.send(ValueError(f"unknown command {command!r}"))
            except Exception as exc:  # the parent raises it; the child goes on serving
                conn.send(exc)


class GraphServer:
    """The parent's handle on the child process running the fake."""

    def __init__(self, seed: int, directory: Path) -> None:
        # spawn, not fork: this process may already run threads (and the tracking pipeline's worker pool).
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, seed, str(directory)), name="graph-fake",
                                        daemon=True)
        self._process.start()
        child.close()
        if not self._conn.poll(READY_TIMEOUT):
            self._process.kill()
            raise RuntimeError("the fake Graph server did not start")
        self.endpoint: Endpoint = self._conn.recv()

    def _call(self, command: str, argument: Any = None) -> Any:
        self._conn.send((command, argument))
        answer = self._conn.recv()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def fill(self, count: int) -> None:
        """The next `count` corpus messages into the inbox, with their flags."""
        self._call("fill", count)

    def deliver(self, count: int) -> None:
        """The next `count` messages, as new mail (unread)."""
        self._call("deliver", count)

    def count(self) -> int:
        return int(self._call("count"))

    def clear_requests(self) -> None:
        self._call("clear")

    def requests(self) -> RequestCounts:
        counts: RequestCounts = self._call("requests")
        return counts

    def unmark(self) -> int:
        """Takes every category off the inbox's messages (a fresh database's first sync marks them again)."""
        return int(self._call("unmark"))

    def version(self) -> str:
        return "tests/fakes/graph (Graph v1.0 and Entra ID v2.0, from Microsoft's documented shapes)"

    def stop(self) -> None:
        try:
            self._call("stop")
        finally:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.kill()


@contextmanager
def running_graph_process(seed: int, directory: Path) -> Iterator[GraphServer]:
    server = GraphServer(seed, directory)
    try:
        yield server
    finally:
        server.stop()


# --- our client, without Exchange Online's request budget ------------------------------------------------
@contextmanager
def unbudgeted_graph() -> Iterator[None]:
    """Graph mailboxes sync with the production source, its request budget lifted (see the docstring); the
    registry's own entry is put back on exit."""
    original = registry.SOURCES["graph"]

    def graph(connection: MailboxConnection, options: registry.SourceOptions) -> MailSource:
        source = original(connection, options)
        assert isinstance(source, GraphSource)
        limits = dataclasses.replace(source.settings.limits, requests=UNLIMITED)
        source.settings = dataclasses.replace(source.settings, limits=limits)
        return source

    registry.SOURCES["graph"] = graph
    try:
        yield
    finally:
        registry.SOURCES["graph"] = original


# --- our side: a CRM database with the Graph mailbox -----------------------------------------------------
class GraphSync(OurSync):
    """bench/imap_sync.py's `OurSync` (the same user, mailbox and known contacts) on a Graph profile with
    application access: the app's secret sealed on the profile, the tracked-mail category on."""

    def __init__(self, url: str, endpoint: Endpoint, senders: list[str]) -> None:
        super().__init__(url, endpoint, senders, TrackingOptions(timeout=120, ssl_context=endpoint.ssl_context()))

    def _profile(self, session: Session) -> EmailServerProfile:
        endpoint: Endpoint = self.account
        host = endpoint.graph_url.split("/")[2].split(":")[0]
        profile = EmailServerProfile(
            id=uuid.uuid4(), name="Bench Exchange Online", incoming_protocol="graph", outgoing_protocol="graph",
            incoming_host=host, outgoing_host=host, incoming_security="tls", outgoing_security="tls",
            service_url=endpoint.graph_url, auth_type="application", authority_url=endpoint.base_url,
            tenant_id=endpoint.tenant_id, client_id=endpoint.client_id, mark_category=CATEGORY)
        profile.client_secret_secret = secrets.keyring_of(session).seal(
            endpoint.secret, profile_secret_context(profile.id, "client_secret"))
        return profile

    def _credential(self, session: Session, mailbox: Mailbox) -> None:
        """None of its own: the app's secret on the profile is the credential."""
