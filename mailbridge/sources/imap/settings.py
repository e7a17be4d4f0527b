"""How to reach one IMAP mailbox. Built by the caller from the email server profile and the mailbox; the
password arrives decrypted and is never part of repr() or an error message."""

import ssl
from dataclasses import dataclass, field

from mailbridge.security import Security, check_security

SENT = "\\Sent"  # a folder spec meaning "the special-use \Sent folder, whatever it is called"
DEFAULT_FOLDERS: tuple[str, ...] = ("INBOX", SENT)


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
