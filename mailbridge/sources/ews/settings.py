"""How to reach one mailbox on Exchange Server (or Exchange Online) through EWS. Built by the caller from the
mailbox's connection (`of_connection`); passwords and client secrets arrive decrypted and never appear in
repr() or an error message.

Credentials: "basic" and "ntlm" log in with the incoming endpoint's username and password (the mailbox's own
address when no username is set); "oauth" gets a token by client credentials from the connection's authority
(Entra ID, a national cloud, or a test server) and acts on the mailbox by impersonation, as an application with
EWS access does. `service_url` None means autodiscover."""

import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, get_args
from urllib.parse import urlsplit

from crm_core.errors import ValidationFailed
from crm_core.services.email_server_profiles import is_loopback

if TYPE_CHECKING:
    from crm_core.services.mailboxes import MailboxConnection

AuthType = Literal["basic", "ntlm", "oauth"]
INBOX = "INBOX"
SENT = "\\Sent"  # a folder spec meaning the mailbox's Sent Items, whatever its display name
DEFAULT_FOLDERS: tuple[str, ...] = (INBOX, SENT)
MAX_CHANGES = 512  # SyncFolderItems' MaxChangesReturned ceiling


def folder_spec(name: str) -> str:
    """A mailbox's folder as the EWS source takes it: any spelling of Inbox or Sent means the distinguished
    folder; anything else is a path of display names under the top of the mailbox ("Projects/2024")."""
    lowered = name.strip().lower()
    if lowered == "inbox":
        return INBOX
    if lowered in ("sent", "\\sent", "sent items"):
        return SENT
    return name.strip().strip("/")


@dataclass(frozen=True)
class EwsSettings:
    address: str  # the mailbox's primary SMTP address
    auth_type: AuthType
    service_url: str | None  # https://mail.contoso.com/EWS/Exchange.asmx; None: autodiscover
    username: str | None = None  # basic/ntlm: DOMAIN\user, a UPN or the address
    password: str | None = field(default=None, repr=False)
    tenant_id: str | None = None  # oauth
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    authority_url: str = "https://login.microsoftonline.com"
    folders: tuple[str, ...] = DEFAULT_FOLDERS
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    batch_size: int = 100  # changes per SyncFolderItems call (at most 512)
    fetch_batch_size: int = 20  # items per GetItem call for their MIME content
    max_back_off: float = 30.0  # ErrorServerBusy: a back-off up to this long is waited out, a longer one stops
    busy_retries: int = 3  # how many back-offs one call waits out before it gives up
    mark_category: str | None = "Tracked to CRM"  # the category a tracked item gets; None: none

    def __post_init__(self) -> None:
        if self.auth_type not in get_args(AuthType):
            raise ValidationFailed.field("auth_type", f"must be one of {', '.join(get_args(AuthType))}")
        if self.service_url is not None:
            parts = urlsplit(self.service_url)
            if parts.scheme not in ("https", "http") or not parts.hostname:
                raise ValidationFailed.field("service_url", "must be an https:// URL of the EWS endpoint")
            if parts.scheme == "http" and not is_loopback(parts.hostname):
                raise ValidationFailed.field("service_url", "plain http is only allowed to loopback")
        if self.auth_type == "oauth" and not (self.tenant_id and self.client_id and self.client_secret):
            raise ValidationFailed.field("exchange", "OAuth needs a tenant id, a client id and a client secret")
        if self.auth_type == "oauth" and self.service_url is None:
            # The token is for the EWS server's own resource, which autodiscover would have to reveal first.
            raise ValidationFailed.field("service_url", "OAuth needs the EWS URL (autodiscover is for Basic/NTLM)")
        if self.batch_size < 1 or self.fetch_batch_size < 1:
            raise ValidationFailed.field("batch_size", "must be positive")

    @property
    def max_changes(self) -> int:
        return min(self.batch_size, MAX_CHANGES)

    @property
    def where(self) -> str:
        """The server, as errors name it."""
        return urlsplit(self.service_url).netloc if self.service_url else f"autodiscover for {self.address}"

    @classmethod
    def of_connection(cls, connection: "MailboxConnection", *, timeout: float = 30.0,
                      ssl_context: ssl.SSLContext | None = None, batch_size: int = 100) -> "EwsSettings":
        """The settings of an "ews" mailbox: its Exchange endpoint, its incoming login, its folders as specs."""
        exchange = connection.exchange
        if exchange is None:
            raise ValidationFailed.field("exchange", "an EWS mailbox needs its Exchange endpoint")
        endpoint = connection.incoming
        return cls(
            address=connection.email_address, auth_type=exchange.auth_type,  # type: ignore[arg-type]
            service_url=exchange.service_url, username=endpoint.username or connection.email_address,
            password=endpoint.password, tenant_id=exchange.tenant_id, client_id=exchange.client_id,
            client_secret=exchange.client_secret, authority_url=exchange.authority_url,
            folders=tuple(folder_spec(f) for f in connection.folders), timeout=timeout, ssl_context=ssl_context,
            batch_size=batch_size, mark_category=exchange.mark_category)
