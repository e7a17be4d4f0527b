"""The EWS source: Exchange Server on premises (or Exchange Online) through Exchange Web Services, with
exchangelib as the SOAP/HTTP client. Basic, NTLM or OAuth (client credentials) logins; a manual EWS URL or
autodiscover; each folder synced with SyncFolderItems, its sync state the cursor (sync.py returns it, nothing
keeps it); MIME read with GetItem in batches; tracked items marked with a category; throttling honoured.

Streaming notifications (streaming.py: one mailbox's subscription and connection; listener.py: one per EWS
mailbox, run by the workers) only ask for a sync sooner, as Graph's change notifications do.

`ews_source` is the registry's factory (the signature of registry.py's `_imap`); `EwsTransport`
(mailbridge/transports/ews.py) sends through the same session; `check_ews` is "Test connection"."""

from typing import TYPE_CHECKING

from mailbridge.sources.ews.check import check_ews
from mailbridge.sources.ews.settings import DEFAULT_FOLDERS, INBOX, SENT, EwsSettings, folder_spec
from mailbridge.sources.ews.source import EwsSource

if TYPE_CHECKING:
    from crm_core.services.mailboxes import MailboxConnection
    from mailbridge.sources.base import MailSource
    from mailbridge.sources.registry import SourceOptions


def ews_source(connection: "MailboxConnection", options: "SourceOptions") -> "MailSource":
    """The source of an "ews" mailbox (unopened: no request is sent until it is entered)."""
    return EwsSource(EwsSettings.of_connection(connection, timeout=options.timeout, ssl_context=options.ssl_context,
                                               batch_size=options.batch_size))


__all__ = ["DEFAULT_FOLDERS", "INBOX", "SENT", "EwsSettings", "EwsSource", "check_ews", "ews_source", "folder_spec"]
