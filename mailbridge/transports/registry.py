"""Which `MailTransport` sends for a mailbox: the one place that looks at its protocol (as
mailbridge.sources.registry does for reading). An IMAP mailbox sends by SMTP submission, an Exchange one
through its own API, from the owner's mailbox, so the copy lands in its Sent Items."""

import ssl
from collections.abc import Callable

from crm_core.services.mailboxes import MailboxConnection
from mailbridge.errors import MailError
from mailbridge.sources.ews.settings import EwsSettings
from mailbridge.sources.graph.settings import GraphSettings
from mailbridge.transports.base import MailTransport
from mailbridge.transports.ews import EwsTransport
from mailbridge.transports.graph import GraphTransport
from mailbridge.transports.smtp import SmtpSettings, SmtpTransport

TransportMaker = Callable[[MailboxConnection, float, ssl.SSLContext | None], MailTransport]


def _smtp(connection: MailboxConnection, timeout: float, ssl_context: ssl.SSLContext | None) -> MailTransport:
    endpoint = connection.outgoing
    if endpoint is None:
        raise MailError("the mailbox has no outgoing server", reason="configuration")
    return SmtpTransport(SmtpSettings(host=endpoint.host, port=endpoint.port, security=endpoint.security,  # type: ignore[arg-type]
                                      username=endpoint.username, password=endpoint.password, timeout=timeout,
                                      ssl_context=ssl_context))


def _graph(connection: MailboxConnection, timeout: float, ssl_context: ssl.SSLContext | None) -> MailTransport:
    return GraphTransport(GraphSettings.of_connection(connection, timeout=timeout, ssl_context=ssl_context))


def _ews(connection: MailboxConnection, timeout: float, ssl_context: ssl.SSLContext | None) -> MailTransport:
    return EwsTransport(EwsSettings.of_connection(connection, timeout=timeout, ssl_context=ssl_context))


TRANSPORTS: dict[str, TransportMaker] = {"imap": _smtp, "graph": _graph, "ews": _ews}


def transport_for(connection: MailboxConnection, *, timeout: float = 30.0,
                  ssl_context: ssl.SSLContext | None = None) -> MailTransport:
    maker = TRANSPORTS.get(connection.protocol)
    if maker is None:
        raise MailError(f"{connection.protocol} mailboxes cannot send yet", reason="unsupported")
    return maker(connection, timeout, ssl_context)
