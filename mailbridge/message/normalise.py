"""normalise(raw) -> NormalisedMessage: the one door every connector's bytes go through.

Steps, each in its own module: size limits, parse (the stdlib's tree, split fast for ordinary mail: mime_split;
policy=default remembering parsed headers: mime_policy; plain headers read without the registry: plain_headers),
identifiers and date, addresses, subject and tracking token, bodies and attachments, HTML sanitising,
machine-mail detection, fingerprint. A message that cannot be read at all raises `Unreadable` with a reason
from QUARANTINE_REASONS; everything short of that is repaired and noted in `defects`."""

import hashlib
from email.message import EmailMessage

from crm_core.html_sanitising import sanitise_html
from mailbridge.errors import Unreadable
from mailbridge.message import addresses, automation, identifiers
from mailbridge.message.charsets import repair_header_text
from mailbridge.message.mime_policy import parsing_policy
from mailbridge.message.mime_split import parse_bytes
from mailbridge.message.model import Address, NormalisedMessage, NormaliseOptions, UnparseableAddress
from mailbridge.message.parts import extract_parts
from mailbridge.message.plain_headers import NOT_PLAIN, PLAIN, plain_header
from mailbridge.message.subjects import thread_subject

QUARANTINE_REASONS = {
    "empty": "no bytes at all",
    "too_large": "the message is over the configured size limit",
    "headers_too_large": "the header section is over the configured limit",
    "no_headers": "no RFC 5322 header could be read (not a mail message)",
    "parse_failed": "the MIME structure made the parser fail",
}


def _header_block_size(raw: bytes) -> int:
    for separator in (b"\r\n\r\n", b"\n\n"):
        end = raw.find(separator)
        if end != -1:
            return end
    return len(raw)


def _parse(raw: bytes, options: NormaliseOptions) -> EmailMessage:
    if not raw.strip():
        raise Unreadable("the message is empty", reason="empty")
    if len(raw) > options.max_message_bytes:
        raise Unreadable(f"{len(raw)} bytes, over the limit of {options.max_message_bytes}", reason="too_large")
    if _header_block_size(raw) > options.max_header_bytes:
        raise Unreadable(f"headers over {options.max_header_bytes} bytes", reason="headers_too_large")
    try:
        message = parse_bytes(raw, parsing_policy)
    except Exception as exc:
        raise Unreadable(f"parser failed: {type(exc).__name__}", reason="parse_failed") from exc
    if not isinstance(message, EmailMessage) or not message.keys():
        raise Unreadable("no header could be read", reason="no_headers")
    return message


def _header(message: EmailMessage, name: str, defects: list[str]) -> str | None:
    plain = plain_header(message, name) if name.lower() in PLAIN else NOT_PLAIN
    if plain is NOT_PLAIN:
        return _registry_header(message, name, defects)
    return repair_header_text(plain) if isinstance(plain, str) else None


def _registry_header(message: EmailMessage, name: str, defects: list[str]) -> str | None:
    try:
        value = message.get(name)
    except Exception:
        defects.append(f"unreadable_header:{name}")
        raw = next((v for k, v in message.raw_items() if k.lower() == name.lower()), None)
        return None if raw is None else repair_header_text(" ".join(str(raw).split()))
    if value is None:
        return None
    if "\ufffd" in str(value):
        # Raw 8-bit bytes in a header: the policy decoded them as UTF-8 with replacement; a mixed
        # UTF-8/Windows-1252 reading of the raw value loses less.
        raw = next((v for k, v in message.raw_items() if k.lower() == name.lower()), None)
        if raw is not None and any("\udc80" <= ch <= "\udcff" for ch in str(raw)):
            return repair_header_text(" ".join(str(raw).split()))
    return repair_header_text(str(value))


def _body_sha256(text: str | None, html: str | None, attachment_hashes: list[str]) -> str:
    """A hash of what the mail says, stable under line-ending and trailing-space rewriting by relays."""
    body = text if text is not None else (html or "")
    lines = "\n".join(line.rstrip() for line in body.replace("\r\n", "\n").split("\n")).strip()
    digest = hashlib.sha256(lines.encode("utf-8", "surrogatepass"))
    for h in sorted(attachment_hashes):
        digest.update(b"\0" + h.encode())
    return digest.hexdigest()


def fingerprint(sent_at: str, sender: str, body_sha256: str) -> str:
    """sha256 over date, sender and body hash: the same mail seen twice, whatever its Message-ID says."""
    return hashlib.sha256(f"{sent_at}\n{sender}\n{body_sha256}".encode()).hexdigest()


def normalise(raw: bytes, options: NormaliseOptions | None = None) -> NormalisedMessage:
    """Normalise one raw message, or raise `Unreadable` (reason in QUARANTINE_REASONS)."""
    options = options or NormaliseOptions()
    message = _parse(raw, options)
    try:
        return _build(raw, message, options)
    except Unreadable:
        raise
    except Exception as exc:
        raise Unreadable(f"normalisation failed: {type(exc).__name__}: {exc}"[:300], reason="parse_failed") from exc


def _build(raw: bytes, message: EmailMessage, options: NormaliseOptions) -> NormalisedMessage:
    defects: list[str] = [type(d).__name__ for d in message.defects]
    found: dict[str, list[Address]] = {}
    unparseable: list[UnparseableAddress] = []
    for name in addresses.ADDRESS_HEADERS:
        good, bad = addresses.read_addresses(message, name)
        found[name] = good
        unparseable.extend(bad)
    subject = " ".join((_header(message, "Subject", defects) or "").split())
    date_value = _header(message, "Date", defects)
    sent_at = identifiers.parse_date(date_value)
    if date_value and sent_at is None:
        defects.append("unreadable_date")
    parts = extract_parts(message, options.max_attachment_bytes)
    defects.extend(parts.defects)
    text = "\n".join(parts.text) if parts.text else None
    raw_html = "\n".join(parts.html) if parts.html else None
    html = sanitise_html(raw_html, allow_remote_images=options.allow_remote_images) if raw_html else None
    body_sha256 = _body_sha256(text, raw_html, [a.sha256 for a in parts.attachments])
    sender_list = found["sender"]
    from_list = found["from"]
    origin = from_list[0] if from_list else (sender_list[0] if sender_list else None)
    return NormalisedMessage(
        message_id=identifiers.normalise_message_id(_header(message, "Message-ID", defects)),
        in_reply_to=next(iter(identifiers.message_ids(_header(message, "In-Reply-To", defects))), None),
        references=identifiers.message_ids(_header(message, "References", defects)),
        subject=subject,
        thread_subject=thread_subject(subject, options.tokens),
        tracking_token=options.tokens.find(subject),
        sent_at=sent_at,
        from_=tuple(from_list),
        sender=sender_list[0] if sender_list else None,
        to=tuple(found["to"]),
        cc=tuple(found["cc"]),
        bcc=tuple(found["bcc"]),
        reply_to=tuple(found["reply-to"]),
        unparseable_addresses=tuple(unparseable),
        text_body=text,
        html_body=html,
        raw_html=raw_html,
        attachments=tuple(parts.attachments),
        is_auto_reply=automation.is_auto_reply(message),
        is_bulk=automation.is_bulk(message),
        body_sha256=body_sha256,
        fingerprint=fingerprint(sent_at.isoformat() if sent_at else "", origin.address if origin else "", body_sha256),
        raw_size=len(raw),
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        raw=raw,
        defects=tuple(dict.fromkeys(defects)),
    )
