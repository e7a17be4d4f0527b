"""Real mail servers for the mail tests: Dovecot (one with CONDSTORE/QRESYNC, one without, session-scoped,
a fresh account per test) and aiosmtpd (STARTTLS and AUTH required). Nothing here touches the CRM database."""

import email.utils
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import imapclient
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mailbridge.sources.imap import ImapSettings
from tests.fakes.graph.fixtures import graph_certificate, graph_fake  # noqa: F401 - fixtures for the Graph tests
from tests.mailbridge.dovecot import DovecotServer, find_dovecot, free_port
from tests.mailbridge.tls import TestCertificate, make_certificate
from tests.servers import missing


def _start_dovecot(extensions: Literal["qresync", "condstore", "none"]) -> Iterator[DovecotServer]:
    binary = find_dovecot()
    if binary is None:
        missing("Dovecot", "apt-get install dovecot-imapd")
    server = DovecotServer(binary, extensions=extensions)  # type: ignore[arg-type]
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    """Dovecot as shipped: CONDSTORE and QRESYNC (RFC 7162)."""
    yield from _start_dovecot("qresync")


@pytest.fixture(scope="session")
def dovecot_condstore() -> Iterator[DovecotServer]:
    """CONDSTORE without QRESYNC: changes by CHANGEDSINCE, expunges by UID SEARCH."""
    yield from _start_dovecot("condstore")


@pytest.fixture(scope="session")
def dovecot_nomodseq() -> Iterator[DovecotServer]:
    """Neither extension: the full UID + FLAGS comparison."""
    yield from _start_dovecot("none")


@dataclass
class Mailbox:
    """A fresh account on one Dovecot, with an ordinary IMAP client playing "the user's mail program"."""

    server: DovecotServer
    username: str
    password: str
    _client: imapclient.IMAPClient | None = field(default=None, repr=False)

    def settings(self, **overrides: Any) -> ImapSettings:
        values: dict[str, Any] = {"host": self.server.host, "port": self.server.port, "username": self.username,
                                  "password": self.password, "security": "plain"}
        values.update(overrides)
        return ImapSettings(**values)

    @property
    def client(self) -> imapclient.IMAPClient:
        if self._client is None:
            self._client = imapclient.IMAPClient(self.server.host, self.server.port, ssl=False)
            self._client.login(self.username, self.password)
        return self._client

    def deliver(self, folder: str = "INBOX", *, subject: str = "Hello", flags: tuple[bytes, ...] = (),
                body: str = "Hello there.") -> int:
        """Append one message; returns its UID (UIDPLUS)."""
        msgid = email.utils.make_msgid(domain="example.com")
        raw = (f"From: Alice <alice@example.com>\r\nTo: rep@example.org\r\nSubject: {subject}\r\n"
               f"Message-ID: {msgid}\r\nDate: {email.utils.formatdate()}\r\n\r\n{body}\r\n").encode()
        response = self.client.append(folder, raw, flags=flags)
        return int(response.split(b"]")[0].split()[-1])

    def set_flags(self, folder: str, uids: list[int], flags: list[bytes]) -> None:
        self.client.select_folder(folder)
        self.client.set_flags(uids, flags)
        self.client.unselect_folder()

    def expunge(self, folder: str, uids: list[int]) -> None:
        self.client.select_folder(folder)
        self.client.delete_messages(uids)
        self.client.uid_expunge(uids)
        self.client.unselect_folder()

    def close(self) -> None:
        if self._client is not None:
            self._client.logout()


def _mailbox(server: DovecotServer) -> Iterator[Mailbox]:
    username, password = server.add_user()
    box = Mailbox(server, username, password)
    yield box
    box.close()


@pytest.fixture
def mailbox(dovecot: DovecotServer) -> Iterator[Mailbox]:
    """A fresh account on the Dovecot that offers CONDSTORE and QRESYNC."""
    yield from _mailbox(dovecot)


@pytest.fixture
def mailbox_nomodseq(dovecot_nomodseq: DovecotServer) -> Iterator[Mailbox]:
    """A fresh account on the Dovecot that offers neither (the full-comparison path)."""
    yield from _mailbox(dovecot_nomodseq)


@pytest.fixture
def mailbox_condstore(dovecot_condstore: DovecotServer) -> Iterator[Mailbox]:
    yield from _mailbox(dovecot_condstore)


@pytest.fixture(params=["qresync", "condstore", "full"])
def any_mailbox(request: pytest.FixtureRequest) -> Iterator[Mailbox]:
    """Each test using this runs once per server kind: what holds must hold with and without RFC 7162."""
    server = request.getfixturevalue({"qresync": "dovecot", "condstore": "dovecot_condstore",
                                      "full": "dovecot_nomodseq"}[request.param])
    yield from _mailbox(server)


# -- SMTP ----------------------------------------------------------------------------------------------------
SMTP_USER, SMTP_PASSWORD = "rep@example.org", "submission-secret"


@dataclass
class SmtpServer:
    host: str
    port: int
    certificate: TestCertificate
    received: list[dict[str, Any]] = field(default_factory=list)


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.server.received.append({
            "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos), "content": envelope.content,
            "tls": session.ssl is not None, "auth": session.authenticated,
        })
        return "250 OK"


@contextmanager
def running_smtp(certificate: TestCertificate, username: str, password: str) -> Iterator[SmtpServer]:
    """aiosmtpd on loopback requiring STARTTLS, then AUTH with this login, before it accepts mail."""
    server = SmtpServer("127.0.0.1", free_port(), certificate)

    def authenticate(_server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data == (username.encode(), password.encode())
        return AuthResult(success=ok, handled=False)

    controller = Controller(_Handler(server), hostname=server.host, port=server.port,
                            tls_context=certificate.server_context(), require_starttls=True,
                            auth_required=True, auth_require_tls=True, authenticator=authenticate)
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def smtp_certificate(tmp_path_factory: pytest.TempPathFactory) -> TestCertificate:
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def smtp_server(smtp_certificate: TestCertificate) -> Iterator[SmtpServer]:
    """aiosmtpd on loopback requiring STARTTLS, then AUTH (SMTP_USER, SMTP_PASSWORD), before it accepts mail."""
    with running_smtp(smtp_certificate, SMTP_USER, SMTP_PASSWORD) as server:
        yield server
