"""The MIME side of the fake mailbox: reading a raw message once into the fields Graph derives from it (subject,
addresses, Message-ID, thread, body, attachments), and writing a raw message from the JSON a client posts to
`POST .../messages` or `.../sendMail`, so that every message, however it arrived, has a `$value`."""

import base64
import datetime as dt
import email.utils
import hashlib
import html
import re
import uuid
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

_TAGS = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Address:
    name: str
    address: str

    def recipient(self) -> dict[str, Any]:
        # Graph resolves a display name; with none known it repeats the address.
        return {"emailAddress": {"name": self.name or self.address, "address": self.address}}


@dataclass(frozen=True)
class ParsedMime:
    subject: str = ""
    message_id: str = ""
    sender: Address | None = None
    from_: Address | None = None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    sent: dt.datetime | None = None
    thread_root: str = ""
    thread_index: str = ""
    importance: str = "normal"
    body_html: str | None = None
    body_text: str = ""
    has_attachments: bool = False
    headers: tuple[tuple[str, str], ...] = field(default=())
    delivery_receipt: bool = False
    read_receipt: bool = False


def _addresses(message: EmailMessage, name: str) -> tuple[Address, ...]:
    values = [str(v) for v in message.get_all(name, [])]
    return tuple(Address(n, a) for n, a in email.utils.getaddresses(values) if a)


def _text_of(part: EmailMessage) -> str:
    try:
        return str(part.get_content())
    except (LookupError, ValueError, KeyError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def html_to_text(markup: str) -> str:
    return html.unescape(_TAGS.sub("", markup)).strip()


def parse(raw: bytes) -> ParsedMime:
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    body_html = body_text = None
    has_attachments = False
    for part in message.walk():
        if part.is_multipart():
            continue
        disposition = part.get_content_disposition()
        if disposition == "attachment" or (disposition == "inline" and part.get_filename()):
            has_attachments = True
            continue
        if part.get_content_type() == "text/html" and body_html is None:
            body_html = _text_of(part)
        elif part.get_content_type() == "text/plain" and body_text is None:
            body_text = _text_of(part)
    message_id = " ".join(str(message.get("Message-ID", "")).split())
    references = str(message.get("References", "")).split()
    in_reply_to = str(message.get("In-Reply-To", "")).split()
    # A thread is named by its first message: the first Reference, else what this one replies to, else itself.
    root = (references or in_reply_to or [message_id])[0]
    sent = None
    if message.get("Date"):
        try:
            sent = email.utils.parsedate_to_datetime(str(message["Date"]))
        except (TypeError, ValueError):
            sent = None
    importance = str(message.get("Importance", "normal")).strip().lower()
    from_ = _addresses(message, "From")
    sender = _addresses(message, "Sender") or from_
    return ParsedMime(
        subject=str(message.get("Subject", "")), message_id=message_id,
        sender=sender[0] if sender else None, from_=from_[0] if from_ else None,
        to=_addresses(message, "To"), cc=_addresses(message, "Cc"), bcc=_addresses(message, "Bcc"),
        reply_to=_addresses(message, "Reply-To"), sent=sent, thread_root=root,
        thread_index=str(message.get("Thread-Index", "")).strip(),
        importance=importance if importance in ("low", "normal", "high") else "normal",
        body_html=body_html, body_text=(body_text or "").strip() if body_text else "",
        has_attachments=has_attachments, headers=tuple((k, str(v)) for k, v in message.items()),
        delivery_receipt="Return-Receipt-To" in message, read_receipt="Disposition-Notification-To" in message)


def conversation_id(thread_root: str) -> str:
    """Graph's conversationId is opaque; messages of one thread share it, which is all a client may rely on."""
    digest = hashlib.sha256(thread_root.lower().encode()).digest()[:24]
    return "AAQkAD" + base64.urlsafe_b64encode(digest).decode()


def new_message_id(domain: str) -> str:
    # Exchange Online names its own messages after the server that stored them.
    return f"<{uuid.uuid4().hex.upper()}@{domain}>"


def _format(addresses: list[dict[str, Any]] | None) -> str:
    parts = []
    for item in addresses or []:
        mail = item.get("emailAddress", {})
        parts.append(email.utils.formataddr((mail.get("name") or "", mail.get("address") or "")))
    return ", ".join(parts)


def build(message: dict[str, Any], sender: str, message_id: str, sent: dt.datetime) -> bytes:
    """A raw MIME message for the Graph JSON `message` a client posted (subject, body, recipients, custom
    internetMessageHeaders, file attachments), as Exchange would have stored it."""
    mime = EmailMessage()
    from_field = message.get("from") or {"emailAddress": {"address": sender}}
    mime["From"] = _format([from_field])
    for header, key in (("To", "toRecipients"), ("Cc", "ccRecipients"), ("Bcc", "bccRecipients"),
                        ("Reply-To", "replyTo")):
        if message.get(key):
            mime[header] = _format(message[key])
    mime["Subject"] = str(message.get("subject") or "")
    mime["Date"] = email.utils.format_datetime(sent)
    mime["Message-ID"] = message_id
    importance = str(message.get("importance") or "").lower()
    if importance in ("low", "high"):
        mime["Importance"] = importance
    for header in message.get("internetMessageHeaders") or []:
        mime[str(header.get("name"))] = str(header.get("value"))
    body = message.get("body") or {}
    content = str(body.get("content") or "")
    if str(body.get("contentType") or "text").lower() == "html":
        mime.set_content(content, subtype="html")
    else:
        mime.set_content(content)
    for attachment in message.get("attachments") or []:
        data = base64.b64decode(attachment.get("contentBytes") or "")
        maintype, _, subtype = str(attachment.get("contentType") or "application/octet-stream").partition("/")
        mime.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                            filename=str(attachment.get("name") or "attachment"))
    return mime.as_bytes(policy=policy.SMTP)


def with_message_id(raw: bytes, message_id: str) -> bytes:
    """The raw message with a Message-ID header added in front (Exchange gives every stored message one)."""
    return f"Message-ID: {message_id}\r\n".encode() + raw
