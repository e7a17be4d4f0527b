"""Graph's answers and httpx's exceptions as mailbridge errors (mailbridge/errors.py), at the boundary.

Graph reports an error as `{"error": {"code": ..., "message": ...}}` with the HTTP status; the code says more
than the status (404 is a missing user or a missing folder). The message is Graph's, which never carries our
credentials; the URL is ours and carries no secret either."""

import ssl
from typing import Any

import httpx

from mailbridge.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    CursorInvalid,
    FolderMissing,
    MailError,
    ProtocolError,
    TemporaryFailure,
)

MISSING_MAILBOX = frozenset({"ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "MailboxNotFound",
                             "ErrorNonExistentMailbox", "Request_ResourceNotFound"})
ACCESS_DENIED = frozenset({"ErrorAccessDenied", "Authorization_RequestDenied", "AccessDenied",
                           "ErrorAccessDeniedByPolicy"})


def error_of(payload: Any) -> tuple[str, str]:
    """Graph's (code, message) from an error body; ("", "") when it is not one."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code") or ""), str(error.get("message") or "")


def response_error(status: int, payload: Any, what: str, retry_after: float | None = None) -> MailError:
    """The error for a final (not retried) answer with `status`; `what` says what was asked, in words."""
    code, message = error_of(payload)
    said = f"{code}: {message}" if code else f"HTTP {status}"
    detail = f"Graph refused to {what} ({said})"
    if status == 401:
        return AuthenticationFailed(detail, reason="auth")
    if status == 403 or code in ACCESS_DENIED:
        return AuthenticationFailed(f"{detail}: the app may not read this mailbox (admin consent, or an "
                                    "application access policy that leaves it out)", reason="access_denied")
    if code in MISSING_MAILBOX:
        return MailError(f"{detail}: no such mailbox in the tenant", reason="mailbox_not_found")
    if status == 404:
        return FolderMissing(detail) if "folder" in what else MailError(detail, reason="not_found")
    if status == 412:  # an If-Match that no longer holds: the item changed since it was read
        return MailError(f"{detail}: it changed since it was read", reason="precondition_failed")
    if status == 410:
        return CursorInvalid(f"{detail}: the sync state expired; the folder is read again")
    if status in (429, 503, 504):
        return TemporaryFailure(detail, reason="throttled", retry_after=retry_after)
    if status >= 500:
        return TemporaryFailure(detail, retry_after=retry_after)
    return ProtocolError(detail)


def transport_error(exc: httpx.HTTPError, url: str) -> MailError:
    """A request that got no answer: the reason says which step failed."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLError):
            return ConnectionFailed(f"TLS with {url} failed: {cause}", reason="tls")
        cause = cause.__cause__ or cause.__context__
    text = str(exc)
    if isinstance(exc, httpx.ConnectError) and ("Name or service not known" in text or "getaddrinfo" in text):
        return ConnectionFailed(f"{url}: the host name does not resolve", reason="dns")
    if isinstance(exc, httpx.TimeoutException):
        return ConnectionFailed(f"{url} did not answer in time", reason="connect")
    return ConnectionFailed(f"{url} could not be reached: {text or type(exc).__name__}", reason="connect")
