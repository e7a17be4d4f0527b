"""How to reach one IMAP mailbox. Built by the caller from the email server profile and the mailbox; the
password arrives decrypted and is never part of repr() or an error message."""

import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mailbridge.security import Security, check_security

if TYPE_CHECKING:
    from crm_core.services.mailboxes import MailboxConnection

SENT = "\\Sent"  # a folder spec meaning "the special-use \Sent folder, whatever it is called"
DEFAULT_FOLDERS: tuple[str, ...] = ("INBOX", SENT)


def folder_spec(name: str) -> str:
    """A mailbox's folder as the IMAP source takes it: "Sent" means the server's sent folder, whatever its name."""
    return SENT if name.lower() in ("sent", SENT.lower()) else name


@dataclass(frozen=True)
class ImapSettings:
    host: str
    username: str
    password: str = field(repr=False)
    port: int | None = None
    security: Security = "tls"
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    folders: tuple[str, ...] = DEFAULT_FOLDERS
    fetch_batch_size: int = 100

    def __post_init__(self) -> None:
        check_security(self.host, self.security)

    @property
    def effective_port(self) -> int:
        return self.port or (993 if self.security == "tls" else 143)

    @classmethod
    def of_connection(cls, connection: "MailboxConnection", *, timeout: float = 30.0,
                      ssl_context: ssl.SSLContext | None = None, fetch_batch_size: int = 100) -> "ImapSettings":
        """The settings of a mailbox's incoming connection (its folders as specs); the login name defaults to
        the mailbox's address."""
        endpoint = connection.incoming
        return cls(
            host=endpoint.host, port=endpoint.port, security=endpoint.security,  # type: ignore[arg-type]
            username=endpoint.username or connection.email_address, password=endpoint.password or "",
            timeout=timeout, ssl_context=ssl_context, folders=tuple(folder_spec(f) for f in connection.folders),
            fetch_batch_size=fetch_batch_size)
