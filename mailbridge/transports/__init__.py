"""Mail transports: how an outgoing mail leaves (SMTP submission now; EWS and Graph later)."""

from mailbridge.transports.base import MailTransport, MemoryTransport, SentMessage
from mailbridge.transports.smtp import SmtpSettings, SmtpTransport

__all__ = ["MailTransport", "MemoryTransport", "SentMessage", "SmtpSettings", "SmtpTransport"]
