"""Transport security choices shared by the IMAP source and the SMTP transport.

"tls" is implicit TLS (IMAPS 993, SMTPS 465), "starttls" upgrades a plain connection (IMAP 143, submission
587), "plain" sends everything in clear and is refused unless the host is a loopback address (the tests'
servers), because a password must never cross a network unencrypted."""

import ssl
from typing import Literal

from crm_core.errors import ValidationFailed
from crm_core.services.email_server_profiles import is_loopback

Security = Literal["tls", "starttls", "plain"]
SECURITIES: tuple[Security, ...] = ("tls", "starttls", "plain")


def check_security(host: str, security: str) -> None:
    if security not in SECURITIES:
        raise ValidationFailed.field("security", f"must be one of {', '.join(SECURITIES)}")
    if security == "plain" and not is_loopback(host):
        raise ValidationFailed.field("security", "plain (unencrypted) connections are only allowed to loopback")


def client_context(context: ssl.SSLContext | None) -> ssl.SSLContext:
    """The given context (tests pass one trusting their own certificate) or the system's verifying default."""
    return context if context is not None else ssl.create_default_context()
