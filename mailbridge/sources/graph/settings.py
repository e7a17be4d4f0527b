"""How to reach one mailbox through Microsoft Graph: the user, Graph's base URL, Entra ID's authority, the app
registration and its credential (a secret, a certificate, or the user's refresh token for delegated access),
and the limits the client keeps to (Graph's documented ones by default). Secrets are never in repr()."""

import ssl
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crm_core.errors import ValidationFailed
from crm_core.models.mailboxes import GRAPH_URL

if TYPE_CHECKING:
    from crm_core.services.mailboxes import MailboxConnection

GRAPH_SCOPE = "https://graph.microsoft.com/.default"  # what the token is for, wherever Graph is reached
DELEGATED_SCOPES = ("https://graph.microsoft.com/Mail.ReadWrite", "https://graph.microsoft.com/Mail.Send")


@dataclass(frozen=True)
class GraphLimits:
    """Graph's throttling limits for Outlook resources, per app and mailbox: 4 requests in flight, 10,000 per
    10 minutes (requests inside a $batch count one by one). `max_wait` is the longest a client waits on a
    Retry-After (or its own back-off) before it stops the folder and hands the wait to the scheduler."""

    concurrency: int = 4
    requests: int = 10_000
    window: float = 600.0
    max_wait: float = 30.0
    attempts: int = 6
    backoff: float = 1.0  # the first wait when a 429/503 carries no Retry-After; doubled each time


@dataclass(frozen=True)
class GraphSettings:
    user: str  # the mailbox: its user principal name (or id); "me" with delegated access works too
    tenant_id: str
    client_id: str
    auth_type: str = "application"  # or "delegated"
    client_secret: str | None = field(default=None, repr=False)
    client_certificate: str | None = field(default=None, repr=False)  # PEM: RSA private key and certificate
    client_certificate_thumbprint: str | None = None
    refresh_token: str | None = field(default=None, repr=False)
    graph_url: str = GRAPH_URL
    authority_url: str = "https://login.microsoftonline.com"
    folders: tuple[str, ...] = ("INBOX", "Sent")
    mark_category: str | None = None
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    page_size: int = 100
    limits: GraphLimits = GraphLimits()

    def __post_init__(self) -> None:
        if self.auth_type not in ("application", "delegated"):
            raise ValidationFailed.field("auth_type", "application or delegated")

    @property
    def authority(self) -> str:
        return f"{self.authority_url.rstrip('/')}/{self.tenant_id}"

    @classmethod
    def of_connection(cls, connection: "MailboxConnection", *, timeout: float = 30.0,
                      ssl_context: ssl.SSLContext | None = None, page_size: int = 100) -> "GraphSettings":
        exchange = connection.exchange
        if exchange is None or connection.protocol != "graph":
            raise ValidationFailed.field("incoming_protocol", "not a Microsoft Graph mailbox")
        return cls(
            user=connection.email_address, tenant_id=exchange.tenant_id or "", client_id=exchange.client_id or "",
            auth_type=exchange.auth_type, client_secret=exchange.client_secret,
            client_certificate=exchange.client_certificate,
            client_certificate_thumbprint=exchange.client_certificate_thumbprint,
            refresh_token=exchange.refresh_token, graph_url=(exchange.service_url or GRAPH_URL).rstrip("/"),
            authority_url=exchange.authority_url, folders=connection.folders, mark_category=exchange.mark_category,
            timeout=timeout, ssl_context=ssl_context, page_size=page_size)
