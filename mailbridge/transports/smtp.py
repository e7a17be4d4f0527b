"""SMTP submission (RFC 6409) with smtplib: implicit TLS (465), STARTTLS (587) or plain to loopback, AUTH
when credentials are given, and our Message-ID on every mail (generated if the message has none) so the
CRM recognises the copy in Sent and the replies. smtplib, socket and ssl errors leave as mailbridge's."""

import smtplib
import socket
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage

from mailbridge.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    MailError,
    ProtocolError,
    RecipientsRefused,
    TemporaryFailure,
)
from mailbridge.security import Security, check_security, client_context
from mailbridge.transports.base import SentMessage, ensure_message_id, envelope


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int | None = None
    security: Security = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)
    local_hostname: str | None = None

    def __post_init__(self) -> None:
        check_security(self.host, self.security)

    @property
    def effective_port(self) -> int:
        return self.port or {"tls": 465, "starttls": 587, "plain": 25}[self.security]


def _answer(code: int, text: bytes | str) -> str:
    return f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}".strip()[:300]


@contextmanager
def _smtp_errors(host: str, action: str) -> Iterator[None]:
    try:
        yield
    except MailError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthenticationFailed(f"{host} refused the login: {_answer(exc.smtp_code, exc.smtp_error)}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        refused = {addr: _answer(code, text) for addr, (code, text) in exc.recipients.items()}
        raise RecipientsRefused(f"{host} refused every recipient", refused) from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise ConnectionFailed(f"{host} does not support what we need while {action}: {exc}", reason="tls") from exc
    except socket.gaierror as exc:
        raise ConnectionFailed(f"cannot resolve {host}: {exc}", reason="dns") from exc
    except ssl.SSLError as exc:
        raise ConnectionFailed(f"TLS with {host} failed while {action}: {exc}", reason="tls") from exc
    except smtplib.SMTPResponseException as exc:
        text = _answer(exc.smtp_code, exc.smtp_error)
        if 400 <= exc.smtp_code < 500:
            raise TemporaryFailure(f"{host} answered {text} while {action}") from exc
        raise ProtocolError(f"{host} answered {text} while {action}",
                            reason="sender_refused" if isinstance(exc, smtplib.SMTPSenderRefused) else None) from exc
    except smtplib.SMTPServerDisconnected as exc:
        # smtplib closes its socket when a write fails (a reset) and then only says "Server not connected".
        raise ConnectionFailed(f"the connection to {host} was closed while {action}: {exc}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise ConnectionFailed(f"cannot talk to {host} while {action}: {exc}") from exc


class SmtpTransport:
    """One submission per call (a connection each: sending is rare next to syncing)."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "tls":
            return smtplib.SMTP_SSL(s.host, s.effective_port, local_hostname=s.local_hostname,
                                    timeout=s.timeout, context=client_context(s.ssl_context))
        smtp = smtplib.SMTP(s.host, s.effective_port, local_hostname=s.local_hostname, timeout=s.timeout)
        try:
            if s.security == "starttls":
                smtp.starttls(context=client_context(s.ssl_context))
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp

    @contextmanager
    def _session(self) -> Iterator[smtplib.SMTP]:
        """Connected, secured and logged in; closed on the way out whatever happened."""
        s = self.settings
        with _smtp_errors(s.host, "connecting"):
            smtp = self._connect()
        try:
            with _smtp_errors(s.host, "logging in"):
                if s.username:
                    smtp.login(s.username, s.password or "")
            yield smtp
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def check(self) -> None:
        """Connect, secure and log in, then leave: "test connection". Raises our errors as send() does."""
        with self._session():
            pass

    def send(self, message: EmailMessage, *, sender: str | None = None,
             recipients: Sequence[str] | None = None) -> SentMessage:
        """Submit `message`; returns its Message-ID and the accepted and refused recipients."""
        message_id = ensure_message_id(message)
        mail_from, rcpts = envelope(message, sender, recipients)
        if not rcpts:
            raise RecipientsRefused("the message has no recipient", {})
        with self._session() as smtp, _smtp_errors(self.settings.host, "sending"):
            refused_raw = smtp.send_message(message, from_addr=mail_from, to_addrs=rcpts)
        refused = {addr: _answer(code, text) for addr, (code, text) in refused_raw.items()}
        accepted = tuple(r for r in rcpts if r not in refused)
        return SentMessage(message_id, accepted, refused, message.as_bytes())
