"""The IMAP source: sessions, connection checks and incremental folder sync (RFC 7162 when offered), and
`ImapSource`, the same as a `MailSource`."""

from mailbridge.sources.imap.check import ConnectionCheck, test_connection
from mailbridge.sources.imap.session import ImapSession
from mailbridge.sources.imap.settings import DEFAULT_FOLDERS, SENT, ImapSettings, folder_spec
from mailbridge.sources.imap.source import ImapSource
from mailbridge.sources.imap.state import FolderState
from mailbridge.sources.imap.sync import FetchedMessage, FolderChanges, iter_folder_changes, sync_folder

__all__ = [
    "DEFAULT_FOLDERS",
    "SENT",
    "ConnectionCheck",
    "FetchedMessage",
    "FolderChanges",
    "FolderState",
    "ImapSession",
    "ImapSettings",
    "ImapSource",
    "folder_spec",
    "iter_folder_changes",
    "sync_folder",
    "test_connection",
]
