"""Which `MailSource` serves a mailbox: the one place that looks at the connection's protocol. A driver asks
here and works with the interface; a new kind of source (Exchange, Graph) is one entry more.

The source comes back unopened (no connection is made here): the caller opens it with `with`, outside any
database transaction."""

import ssl
from collections.abc import Callable
from dataclasses import dataclass

from crm_core.services.mailboxes import MailboxConnection
from mailbridge.errors import MailError
from mailbridge.sources.base import MailSource
from mailbridge.sources.ews import ews_source
from mailbridge.sources.graph import GraphSettings, GraphSource
from mailbridge.sources.imap.settings import ImapSettings
from mailbridge.sources.imap.source import ImapSource


@dataclass(frozen=True)
class SourceOptions:
    """How to reach a server, whichever the protocol: a timeout, and an SSL context for a private CA (tests)."""

    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = None
    batch_size: int = 100
    # Where a source hands a credential the server renewed (Graph's rotated refresh token), to be stored.
    on_refresh_token: Callable[[str], None] | None = None


SourceFactory = Callable[[MailboxConnection, SourceOptions], MailSource]


def _imap(connection: MailboxConnection, options: SourceOptions) -> MailSource:
    return ImapSource(ImapSettings.of_connection(connection, timeout=options.timeout, ssl_context=options.ssl_context,
                                                 fetch_batch_size=options.batch_size))


def _graph(connection: MailboxConnection, options: SourceOptions) -> MailSource:
    return GraphSource(GraphSettings.of_connection(connection, timeout=options.timeout,
                                                   ssl_context=options.ssl_context, page_size=options.batch_size),
                       on_refresh_token=options.on_refresh_token)


SOURCES: dict[str, SourceFactory] = {"imap": _imap, "graph": _graph, "ews": ews_source}


def source_for(connection: MailboxConnection, options: SourceOptions | None = None) -> MailSource:
    """The source for the mailbox's incoming protocol; a MailError ("unsupported") for one we cannot sync."""
    factory = SOURCES.get(connection.protocol)
    if factory is None:
        raise MailError(f"{connection.protocol} mailboxes cannot sync yet", reason="unsupported")
    return factory(connection, options or SourceOptions())
