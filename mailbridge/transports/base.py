"""The transport interface and its memory backend (for tests and for the pipeline's own tests)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from typing import Protocol

from mailbridge.message.identifiers import normalise_message_id


@dataclass(frozen=True)
class SentMessage:
    """What the server accepted: our Message-ID (normalised, without brackets) and any refused recipients."""

    message_id: str
    accepted: tuple[str, ...]
    refused: dict[str, str] = field(default_factory=dict)
    raw: bytes = field(default=b"", repr=False)


class MailTransport(Protocol):
    def send(self, message: EmailMessage, *, sender: str | None = None,
             recipients: Sequence[str] | None = None) -> SentMessage: ...


def ensure_message_id(message: EmailMessage) -> str:
    """The message's Message-ID, adding one on the sender's domain when it has none; returned normalised.
    The CRM stores this id so that the copy in Sent, and replies to it, are recognised."""
    current = normalise_message_id(message.get("Message-ID"))
    if current:
        return current
    sender = message.get("Sender") or message.get("From") or ""
    addresses = getaddresses([str(sender)])
    domain = addresses[0][1].rpartition("@")[2] if addresses and "@" in addresses[0][1] else None
    if "Message-ID" in message:
        del message["Message-ID"]
    message["Message-ID"] = make_msgid(domain=domain or None)
    return normalise_message_id(message["Message-ID"]) or ""


def envelope(message: EmailMessage, sender: str | None, recipients: Sequence[str] | None) -> tuple[str, list[str]]:
    """The SMTP envelope: given explicitly, or From/Sender and To+Cc+Bcc as smtplib would take them."""
    if sender is None:
        found = getaddresses([str(message.get("Sender") or message.get("From") or "")])
        sender = found[0][1] if found else ""
    if recipients is None:
        fields = [str(v) for h in ("To", "Cc", "Bcc") for v in message.get_all(h, [])]
        recipients = [addr for _name, addr in getaddresses(fields) if addr]
    return sender, list(dict.fromkeys(recipients))


class MemoryTransport:
    """Keeps what it 'sends'. `refuse` lists recipients it refuses, to exercise partial failures."""

    def __init__(self, refuse: Sequence[str] = ()) -> None:
        self.sent: list[tuple[str, list[str], bytes]] = []
        self.refuse = {r.lower() for r in refuse}

    def send(self, message: EmailMessage, *, sender: str | None = None,
             recipients: Sequence[str] | None = None) -> SentMessage:
        from mailbridge.errors import RecipientsRefused

        message_id = ensure_message_id(message)
        mail_from, rcpts = envelope(message, sender, recipients)
        refused = {r: "550 refused by the memory transport" for r in rcpts if r.lower() in self.refuse}
        accepted = tuple(r for r in rcpts if r not in refused)
        if not accepted:
            raise RecipientsRefused("every recipient was refused", refused)
        raw = message.as_bytes()
        self.sent.append((mail_from, list(accepted), raw))
        return SentMessage(message_id, accepted, refused, raw)
