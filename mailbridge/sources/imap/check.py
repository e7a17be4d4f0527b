""""Test connection": log in, find each configured folder, and say in one reason code what went wrong.

Reasons: "dns", "connect", "tls", "auth", "folder_missing", or "protocol"/"temporary"/"unavailable" for
answers we did not expect; `ok` is True with reason None when everything works."""

from dataclasses import dataclass, field

from mailbridge.errors import FolderMissing, MailError
from mailbridge.sources.imap.session import ImapSession
from mailbridge.sources.imap.settings import ImapSettings


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    reason: str | None
    message: str
    capabilities: frozenset[str] = frozenset()
    folders: dict[str, str] = field(default_factory=dict)  # spec -> resolved name

    @property
    def supports_qresync(self) -> bool:
        return "QRESYNC" in self.capabilities


def test_connection(settings: ImapSettings) -> ConnectionCheck:
    """Never raises a MailError: the outcome is the returned check."""
    try:
        with ImapSession(settings) as session:
            folders: dict[str, str] = {}
            for spec in settings.folders:
                try:
                    folders[spec] = session.resolve_folder(spec)
                except FolderMissing as exc:
                    return ConnectionCheck(False, exc.reason, exc.detail, session.capabilities, folders)
            modes = "QRESYNC" if session.qresync else ("CONDSTORE" if session.condstore else "full comparison")
            message = f"logged in to {settings.host}; folders {', '.join(folders.values())}; sync by {modes}"
            return ConnectionCheck(True, None, message, session.capabilities, folders)
    except MailError as exc:
        return ConnectionCheck(False, exc.reason, exc.detail)


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite its name
