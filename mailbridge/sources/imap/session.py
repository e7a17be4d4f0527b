"""One logged-in IMAP connection: connect (implicit TLS, STARTTLS or loopback plain), log in, learn the
capabilities, enable QRESYNC (or CONDSTORE) when offered, resolve folders (special-use \\Sent included).

Use it as a context manager; every library error leaves it as one of mailbridge's errors. A session kept
between passes (pool.py) remembers the state of the folder it left selected (`kept`), which the next pass
may confirm with a NOOP instead of examining the folder again (sync.py)."""

import contextlib
import imaplib
import time
from types import TracebackType
from typing import NamedTuple

from imapclient import IMAPClient

from mailbridge.errors import FolderMissing
from mailbridge.security import client_context
from mailbridge.sources.imap.errors import imap_errors
from mailbridge.sources.imap.protocol import Protocol
from mailbridge.sources.imap.settings import SENT, ImapSettings

_SENT_NAMES = ("Sent", "Sent Items", "Sent Messages", "Sent Mail", "INBOX.Sent", "INBOX/Sent", "Gesendet",
               "Gesendete Elemente", "Envoyés", "Enviados", "Skickat", "Verzonden items")


PING_TIMEOUT = 5.0  # seconds a kept session has to answer NOOP before it is dropped for a new one


class KeptFolder(NamedTuple):
    """What a folder's state is known to be: the session's selected folder, which the server reported nothing
    against since; compared with the stored cursor (the same counts mean the same state)."""

    folder: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int | None
    count: int


class ImapSession:
    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self._client: IMAPClient | None = None
        self.capabilities: frozenset[str] = frozenset()
        self.qresync = False
        self.condstore = False
        self._protocol: Protocol | None = None
        # Set by the owner of a session kept between passes: the selected folder's state may then be confirmed
        # by NOOP (see KeptFolder). Off for a session of one use, whose next command examines as it always did.
        self.keep_selected = False
        self.kept: KeptFolder | None = None
        self.opened_at = 0.0  # time.monotonic() of the login

    # -- life cycle ----------------------------------------------------------------------------------------
    def __enter__(self) -> "ImapSession":
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def open(self) -> None:
        s = self.settings
        with imap_errors(s.host, "connecting"):
            client = IMAPClient(
                s.host, port=s.effective_port, ssl=s.security == "tls",
                ssl_context=client_context(s.ssl_context) if s.security == "tls" else None, timeout=s.timeout,
            )
        self._client = client
        try:
            with imap_errors(s.host, "starting TLS"):
                if s.security == "starttls":
                    client.starttls(client_context(s.ssl_context))
            with imap_errors(s.host, "logging in"):
                client.login(s.username, s.password)
            with imap_errors(s.host, "reading capabilities"):
                client.normalise_times = False
                self.capabilities = frozenset(c.decode().upper() for c in client.capabilities())
                self.condstore = "CONDSTORE" in self.capabilities or "QRESYNC" in self.capabilities
                if "QRESYNC" in self.capabilities and "ENABLE" in self.capabilities:
                    enabled = {e.decode().upper() for e in client.enable("QRESYNC")}
                    self.qresync = "QRESYNC" in enabled
                elif self.condstore and "ENABLE" in self.capabilities:
                    client.enable("CONDSTORE")
        except BaseException:
            self.close()
            raise
        self._protocol = Protocol(self._imap)
        self.opened_at = time.monotonic()

    def ping(self) -> bool:
        """Whether a kept session still answers (NOOP, within PING_TIMEOUT: a connection a firewall dropped
        without a word must not hold the pass for the whole timeout). False: close it and open another."""
        if self._client is None or self._protocol is None:
            return False
        sock = self._client._imap.sock
        try:
            sock.settimeout(min(PING_TIMEOUT, self.settings.timeout))
            self._protocol.noop()
            sock.settimeout(self.settings.timeout)
        except (imaplib.IMAP4.error, OSError):
            return False
        return True

    def close(self) -> None:
        self.kept = None
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            with contextlib.suppress(OSError):
                client.shutdown()

    # -- access --------------------------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        return self._client is not None

    @property
    def client(self) -> IMAPClient:
        if self._client is None:
            raise RuntimeError("the IMAP session is not open")
        return self._client

    @property
    def _imap(self) -> imaplib.IMAP4:
        return self.client._imap  # imapclient's documented escape hatch for commands it lacks

    @property
    def protocol(self) -> Protocol:
        if self._protocol is None:
            raise RuntimeError("the IMAP session is not open")
        return self._protocol

    @property
    def command_log(self) -> list[str]:
        """The IMAP commands our sync issued on this connection (names only), oldest first."""
        return self.protocol.log

    # -- folders -------------------------------------------------------------------------------------------
    def list_folders(self) -> list[tuple[str, frozenset[str]]]:
        """(name, flags) of every folder, flags such as "\\Sent" when the server supports SPECIAL-USE."""
        with imap_errors(self.settings.host, "listing folders"):
            listed = self.client.list_folders()
        return [(str(name), frozenset(f.decode() if isinstance(f, bytes) else str(f) for f in flags))
                for flags, _delimiter, name in listed]

    def resolve_folder(self, spec: str, folders: list[tuple[str, frozenset[str]]] | None = None) -> str:
        """A folder name from a spec: a name (checked to exist) or "\\Sent" for the special-use Sent folder;
        `folders`: a listing (list_folders) already at hand."""
        folders = self.list_folders() if folders is None else folders
        if spec == SENT:
            for name, flags in folders:
                if SENT.lower() in {f.lower() for f in flags}:
                    return name
            names = {name.lower(): name for name, _ in folders}
            for candidate in _SENT_NAMES:
                if candidate.lower() in names:
                    return names[candidate.lower()]
            raise FolderMissing("no Sent folder: the server marks none \\Sent and none has a usual name")
        names = {name for name, _ in folders}
        if spec in names or (spec.upper() == "INBOX" and any(n.upper() == "INBOX" for n in names)):
            return "INBOX" if spec.upper() == "INBOX" else spec
        raise FolderMissing(f"folder {spec!r} does not exist")
