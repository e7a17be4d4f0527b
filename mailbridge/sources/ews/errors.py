"""exchangelib's, requests' and oauthlib's errors translated into mailbridge's at the EWS boundary.

  ErrorServerBusy                       TemporaryFailure "throttled", retry_after = BackOffMilliseconds in seconds
  HTTP 401, a refused token request     AuthenticationFailed "auth"
  ErrorAccessDenied, impersonation      AuthenticationFailed "access_denied" (the login works, the mailbox is not
                                        its to read)
  ErrorSendAsDenied                     AuthenticationFailed "send_as_denied"
  ErrorMessageSizeExceeded, quota       MailError "too_large"
  ErrorNonExistentMailbox               MailError "mailbox_not_found"
  HTTP 403 with no SOAP answer          MailError "ews_disabled" (EWS blocked for the mailbox or the application)
  ErrorInvalidSyncStateData             CursorInvalid
  ErrorFolderNotFound, ErrorSyncFolder… FolderMissing
  mailbox moving, store unavailable     TemporaryFailure "unavailable"
  DNS, TCP, TLS, timeouts, drops        ConnectionFailed "dns", "connect" or "tls"
  anything else EWS says                ProtocolError with its ResponseCode

exchangelib reports connection failures as ErrorTimeoutExpired or TransportError raised while handling the
requests exception, an error answer to its version probe as a TransportError raised while handling it, and an
unexpected HTTP status only in MalformedResponseError's text: the cause is read from the exception chain, the
status from that text."""

import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

import requests
from exchangelib import errors as ews
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from mailbridge.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    CursorInvalid,
    FolderMissing,
    MailError,
    ProtocolError,
    TemporaryFailure,
)

ACCESS_DENIED = (ews.ErrorAccessDenied, ews.ErrorImpersonateUserDenied, ews.ErrorImpersonationDenied,
                 ews.ErrorInvalidExchangeImpersonationHeaderData, ews.ErrorNonPrimarySmtpAddress,
                 ews.ErrorAccountDisabled)
UNAVAILABLE = (ews.ErrorMailboxMoveInProgress, ews.ErrorMailboxStoreUnavailable, ews.ErrorInternalServerError,
               ews.ErrorInternalServerTransientError, ews.ErrorTooManyObjectsOpened,
               ews.ErrorExceededConnectionCount, ews.ErrorConnectionFailed, ews.ErrorADUnavailable)
_STATUS = re.compile(r"Unknown failure in response\. Code: (\d{3})")


def short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything behind it: __cause__, __context__, and urllib3's `reason`."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen or len(seen) > 20:
            continue
        seen.add(id(current))
        yield current
        reason = getattr(current, "reason", None)
        pending.extend([current.__cause__, current.__context__,
                        reason if isinstance(reason, BaseException) else None])
        pending.extend(a for a in current.args if isinstance(a, BaseException))


def _connection_failure(exc: BaseException, where: str, action: str) -> ConnectionFailed | None:
    causes = list(_causes(exc))
    if any(isinstance(c, socket.gaierror) or type(c).__name__ == "NameResolutionError" for c in causes):
        return ConnectionFailed(f"cannot resolve {where}: {short(exc)}", reason="dns")
    if any(isinstance(c, (ssl.SSLError, ssl.CertificateError, requests.exceptions.SSLError)) for c in causes):
        return ConnectionFailed(f"TLS with {where} failed while {action}: {short(exc)}", reason="tls")
    if any(isinstance(c, (TimeoutError, requests.exceptions.Timeout)) for c in causes):
        return ConnectionFailed(f"{where} did not answer in time while {action}")
    if any(isinstance(c, (ConnectionError, requests.exceptions.ConnectionError)) for c in causes):
        return ConnectionFailed(f"connection to {where} failed while {action}: {short(exc)}")
    # An answer cut off mid-body (a reset or drop behind a proxy) is ChunkedEncodingError, which exchangelib
    # wraps in ErrorTimeoutExpired, its name for every connection error: a broken connection, not a protocol one.
    if any(isinstance(c, (ews.ErrorTimeoutExpired, requests.exceptions.ChunkedEncodingError)) for c in causes):
        return ConnectionFailed(f"connection to {where} broke while {action}: {short(exc)}")
    return None


def translate(exc: BaseException, where: str, action: str) -> MailError:
    """Our error for one raised while `action` against `where` (a host, as errors name it)."""
    if isinstance(exc, MailError):
        return exc
    # exchangelib's version probe, the first request of a session, reports the server's error as a plain
    # TransportError raised while handling it: that error is the one to translate.
    if type(exc) is ews.TransportError and isinstance(exc.__context__, ews.ResponseMessageError):
        return translate(exc.__context__, where, action)
    if isinstance(exc, ews.ErrorServerBusy):
        wait = f"; it asks us to wait {exc.back_off:g} s" if exc.back_off else ""
        return TemporaryFailure(f"{where} is throttling us while {action}{wait}", reason="throttled",
                                retry_after=exc.back_off)
    if isinstance(exc, ews.UnauthorizedError):
        return AuthenticationFailed(f"{where} refused the login: {short(exc)}")
    if isinstance(exc, OAuth2Error):
        return AuthenticationFailed(f"the token endpoint refused us ({exc.error}): {short(exc.description or exc)}")
    if isinstance(exc, ACCESS_DENIED):
        return AuthenticationFailed(f"{where} denies access to the mailbox ({type(exc).__name__}): {short(exc)}",
                                    reason="access_denied")
    if isinstance(exc, ews.ErrorSendAsDenied):
        return AuthenticationFailed(f"{where} does not let this login send as the mailbox: {short(exc)}",
                                    reason="send_as_denied")
    if isinstance(exc, (ews.ErrorMessageSizeExceeded, ews.ErrorQuotaExceeded)):
        return MailError(f"{where} refused the size: {type(exc).__name__}: {short(exc)}", reason="too_large")
    if isinstance(exc, ews.ErrorNonExistentMailbox):
        return MailError(f"{where} has no such mailbox: {short(exc)}", reason="mailbox_not_found")
    if isinstance(exc, ews.ErrorInvalidSyncStateData):
        return CursorInvalid(f"{where} refused the stored sync state: {short(exc)}")
    if isinstance(exc, (ews.ErrorFolderNotFound, ews.ErrorSyncFolderNotFound)):
        return FolderMissing(f"the folder does not exist (any more) on {where}: {short(exc)}")
    if isinstance(exc, UNAVAILABLE):
        return TemporaryFailure(f"{where} cannot serve the mailbox now ({type(exc).__name__})", reason="unavailable")
    if isinstance(exc, ews.RedirectError):
        return ProtocolError(f"{where} redirects to {exc.url}: set that EWS URL instead", reason="redirect")
    if isinstance(exc, ews.MalformedResponseError) and (status := _STATUS.search(str(exc))):
        code = int(status.group(1))
        if code == 403:
            return MailError(f"{where} forbids EWS for this mailbox or this application (HTTP 403): an "
                             "administrator must allow it (Set-CASMailbox -EwsEnabled)", reason="ews_disabled")
        if code == 404:
            return ProtocolError(f"{where} has no EWS endpoint at that URL (HTTP 404)", reason="not_ews")
        return ProtocolError(f"{where} answered HTTP {code} while {action}")
    if isinstance(exc, (ews.ErrorTimeoutExpired, ews.TransportError, requests.RequestException, OSError)):
        failure = _connection_failure(exc, where, action)
        if failure is not None:
            return failure
    if isinstance(exc, ews.AutoDiscoverError):
        return MailError(f"autodiscover found no EWS endpoint: {short(exc)}", reason="autodiscover")
    if isinstance(exc, ews.EWSError):
        return ProtocolError(f"{where} failed while {action}: {type(exc).__name__}: {short(exc)}")
    if isinstance(exc, (requests.RequestException, OSError)):
        return ConnectionFailed(f"cannot talk to {where} while {action}: {short(exc)}")
    raise exc


@contextmanager
def ews_errors(where: str, action: str) -> Iterator[None]:
    """Run an EWS step; anything the libraries raise comes out as one of our errors."""
    try:
        yield
    except MailError:
        raise
    except (ews.EWSError, OAuth2Error, requests.RequestException, OSError) as exc:
        raise translate(exc, where, action) from exc
