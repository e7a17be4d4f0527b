"""imapclient, imaplib, socket and ssl errors translated into mailbridge's at the IMAP boundary."""

import imaplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager

from imapclient import exceptions as imap_exceptions

from mailbridge.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    MailError,
    ProtocolError,
    TemporaryFailure,
)


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:300]


@contextmanager
def imap_errors(host: str, action: str) -> Iterator[None]:
    """Run an IMAP step; anything the libraries raise comes out as one of our errors."""
    try:
        yield
    except MailError:
        raise
    except socket.gaierror as exc:
        raise ConnectionFailed(f"cannot resolve {host}: {_short(exc)}", reason="dns") from exc
    except (ssl.SSLError, ssl.CertificateError) as exc:
        raise ConnectionFailed(f"TLS with {host} failed while {action}: {_short(exc)}", reason="tls") from exc
    except imap_exceptions.LoginError as exc:
        if "[UNAVAILABLE]" in str(exc).upper():
            raise TemporaryFailure(f"{host} cannot log in now: {_short(exc)}", reason="unavailable") from exc
        raise AuthenticationFailed(f"{host} refused the login: {_short(exc)}") from exc
    except (imaplib.IMAP4.abort, TimeoutError, ConnectionError) as exc:
        raise ConnectionFailed(f"connection to {host} lost while {action}: {_short(exc)}") from exc
    except OSError as exc:
        raise ConnectionFailed(f"cannot connect to {host} while {action}: {_short(exc)}") from exc
    except imaplib.IMAP4.error as exc:  # also imapclient's IMAPClientError
        text = _short(exc)
        if "STARTTLS" in text.upper():
            raise ConnectionFailed(f"{host} does not offer STARTTLS: {text}", reason="tls") from exc
        raise ProtocolError(f"{host} failed while {action}: {text}") from exc
