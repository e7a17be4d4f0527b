"""Bodies and attachments out of the MIME tree. The text and HTML bodies are the parts the stdlib's
`get_body()` would choose; further inline text parts (list footers, split bodies) are appended to the text
body; every other leaf, and every attached message/rfc822 as a whole, is an attachment."""

import hashlib
from dataclasses import dataclass, field
from email.message import EmailMessage, Message

from mailbridge.message.charsets import part_text, repair_header_text
from mailbridge.message.model import Attachment

_TNEF_TYPES = {"application/ms-tnef", "application/vnd.ms-tnef"}


@dataclass
class Parts:
    text: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


def _chosen_body(message: EmailMessage, kind: str) -> Message | None:
    try:
        return message.get_body(preferencelist=(kind,))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except (ValueError, TypeError, LookupError, UnicodeError, IndexError):
        return None
    return " ".join(repair_header_text(str(name)).split()) or None if name else None


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except (ValueError, TypeError, IndexError):
        return None


def _attachment(part: Message, limit: int, defects: list[str]) -> Attachment:
    content_type = part.get_content_type()
    if content_type == "message/rfc822" and part.is_multipart():
        try:
            inner = part.get_payload(0)
            content = inner.as_bytes() if isinstance(inner, Message) else b""
        except (ValueError, TypeError, LookupError, UnicodeError, IndexError, AttributeError):
            content, _ = b"", defects.append("undecodable_attached_message")
        filename = _filename(part) or "attached-message.eml"
    else:
        try:
            payload = part.get_payload(decode=True)
        except (ValueError, TypeError, LookupError, AssertionError):
            payload, _ = b"", defects.append("undecodable_attachment")
        content = payload if isinstance(payload, bytes) else b""
        filename = _filename(part)
    content_id = part.get("Content-ID")
    content_id = repair_header_text(str(content_id)).strip().strip("<>") or None if content_id else None
    too_large = len(content) > limit
    is_tnef = content_type in _TNEF_TYPES or (filename or "").lower() == "winmail.dat"
    if is_tnef:
        defects.append("tnef_attachment")
    return Attachment(
        filename=filename,
        content_type=content_type,
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        content=None if too_large else content,
        too_large=too_large,
        inline=_disposition(part) == "inline" or (content_id is not None and _disposition(part) != "attachment"),
        content_id=content_id,
        is_tnef=is_tnef,
    )


def _leaves(part: Message, depth: int = 0) -> list[Message]:
    """Leaf parts in order; an attached message is one leaf; absurd nesting stops at 50 levels."""
    if part.get_content_type() == "message/rfc822" or not part.is_multipart() or depth > 50:
        return [part]
    payload = part.get_payload()
    children = payload if isinstance(payload, list) else []
    return [leaf for child in children if isinstance(child, Message) for leaf in _leaves(child, depth + 1)]


def extract_parts(message: EmailMessage, attachment_limit: int) -> Parts:
    """Split the message into text, HTML and attachments, collecting the defects met on the way."""
    result = Parts()
    text_part, html_part = _chosen_body(message, "plain"), _chosen_body(message, "html")
    leaves = _leaves(message)
    for leaf in leaves:
        content_type = leaf.get_content_type()
        disposition = _disposition(leaf)
        is_body_text = leaf is text_part or (
            content_type == "text/plain" and disposition != "attachment" and not _filename(leaf)
            and leaf is not message and text_part is not None
        )
        if leaf is html_part:
            text, defects = part_text(leaf)
            result.html.append(text)
            result.defects.extend(defects)
        elif is_body_text or (leaf is message and content_type == "text/plain"):
            text, defects = part_text(leaf)
            result.text.append(text)
            result.defects.extend(defects)
        elif leaf.get_content_maintype() == "multipart":
            # A multipart whose boundary never appears: the parser left its body as one string; keep it as text.
            payload = leaf.get_payload()
            if isinstance(payload, str) and payload.strip():
                text, defects = part_text(leaf)
                result.text.append(text)
                result.defects.extend(["broken_multipart", *defects])
        else:
            result.attachments.append(_attachment(leaf, attachment_limit, result.defects))
    # Decoding registers defects (bad base64 and the like) on the parts: collect them afterwards.
    result.defects.extend(type(d).__name__ for leaf in leaves for d in getattr(leaf, "defects", ()))
    return result
