"""mailbridge's errors: every connector translates its library's exceptions (imaplib/imapclient, smtplib,
socket, ssl) into these at the boundary, so one policy can decide retry, reset, quarantine or stop.

The `reason` of each error is a short stable code (a CLI, an API or a quarantine row can show and filter it);
the message says the rest in words. Secrets never appear in either."""

from crm_core.errors import CrmError


class MailError(CrmError):
    """Root of every mail error. `reason` is a stable code such as "auth" or "broken_mime"."""

    status = 502
    title = "Mail server error"
    reason = "unknown"

    def __init__(self, detail: str, *, reason: str | None = None) -> None:
        super().__init__(detail, reason=reason or type(self).reason)
        if reason is not None:
            self.reason = reason


class TemporaryFailure(MailError):
    """Worth retrying later; `retry_after` is the server's wait hint in seconds when it gave one."""

    reason = "temporary"

    def __init__(self, detail: str, *, reason: str | None = None, retry_after: float | None = None) -> None:
        super().__init__(detail, reason=reason)
        self.retry_after = retry_after


class ConnectionFailed(TemporaryFailure):
    """The server could not be reached or spoken to securely. reason: "dns", "connect" or "tls"."""

    reason = "connect"


class AuthenticationFailed(MailError):
    """The server refused the credentials. Retrying will not help until someone changes them."""

    reason = "auth"


class FolderMissing(MailError):
    """A configured folder does not exist on the server."""

    reason = "folder_missing"


class CursorInvalid(MailError):
    """A stored sync state cannot be used (unreadable, or for another folder): resync from scratch."""

    reason = "cursor_invalid"


class RecipientsRefused(MailError):
    """The submission server refused every recipient; `refused` maps each address to the server's answer."""

    status = 422
    title = "Recipients refused"
    reason = "recipients_refused"

    def __init__(self, detail: str, refused: dict[str, str]) -> None:
        super().__init__(detail)
        self.refused = refused


class ProtocolError(MailError):
    """The server answered something we did not expect (a NO/BAD to a command that should work)."""

    reason = "protocol"


class Unreadable(MailError):
    """One message that cannot be normalised. The pipeline quarantines its raw bytes with `reason`
    (one of mailbridge.message.QUARANTINE_REASONS) rather than stopping the sync."""

    status = 422
    title = "Unreadable message"
    reason = "unreadable"
