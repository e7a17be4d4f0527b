"""Step: the RFC 5322 message of an email activity, as its mailbox sends it.

From is the mailbox (with the user's or the queue's name), To/Cc from the recipient parties and Bcc only in
the envelope; the subject carries the tracking token once; the Message-ID is the one the CRM stored (so that
the copy in Sent and every reply find the activity); a reply names what it answers (In-Reply-To and
References); bodies are the activity's text and HTML, and its attachments go along."""

import re
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.activity_catalogue import PARTY_ROLES
from crm_core.db.types import utcnow
from crm_core.models import Email, EmailAttachment, MailBlob, Mailbox
from mailbridge.message import TrackingTokens

_METHOD = re.compile(rb"^METHOD:([A-Za-z-]+)\r?$", re.MULTILINE)
_HEADER_OF = {PARTY_ROLES["to"]: "To", PARTY_ROLES["cc"]: "Cc"}
BCC = PARTY_ROLES["bcc"]


def _mailbox_owner_name(mailbox: Mailbox) -> str:
    """The From display name on one line: a name holding a line break (CR, LF, U+2028...) is folded to spaces,
    as the subject is, rather than failing the send (docs/security.md)."""
    name = mailbox.user.full_name if mailbox.user is not None else mailbox.name
    return " ".join((name or "").split())


def compose(session: Session, email: Email, mailbox: Mailbox, tokens: TrackingTokens,
            token_number: int) -> tuple[EmailMessage, list[str]]:
    """The message and its envelope recipients (To, Cc and Bcc)."""
    message = EmailMessage()
    message["From"] = Address(_mailbox_owner_name(mailbox), addr_spec=mailbox.email_address)
    envelope: list[str] = []
    for mask, header in _HEADER_OF.items():
        addresses = [p.address_used for p in email.parties if p.participation == mask and p.address_used]
        if addresses:
            message[header] = ", ".join(addresses)
        envelope.extend(addresses)
    envelope.extend(p.address_used for p in email.parties if p.participation == BCC and p.address_used)
    message["Subject"] = tokens.append(email.subject or "", token_number)
    message["Date"] = format_datetime(email.sent_on or utcnow())
    message["Message-ID"] = f"<{email.message_id}>"
    if email.in_reply_to:
        message["In-Reply-To"] = f"<{email.in_reply_to}>"
        message["References"] = f"<{email.in_reply_to}>"
    message.set_content(email.body_text or "")
    if email.body_html:
        message.add_alternative(email.body_html, subtype="html")
    attachments = list(session.scalars(select(EmailAttachment).where(EmailAttachment.email_id == email.id,
                                                                     EmailAttachment.too_large.is_(False))))
    # iMIP (RFC 6047): an iTIP message goes as an alternative of the body, text/calendar with its METHOD as the
    # `method` parameter, which calendar programs act on (before the attachments, which make the mail mixed).
    for attachment in attachments:
        blob = session.get(MailBlob, attachment.sha256) if attachment.content_type == "text/calendar" else None
        method = _itip_method(blob.content) if blob is not None else None
        if blob is not None and method is not None:
            message.add_alternative(blob.content.decode("utf-8", errors="replace"), subtype="calendar",
                                    params={"method": method})
            attachments.remove(attachment)
            break
    for attachment in attachments:
        blob = session.get(MailBlob, attachment.sha256)
        if blob is None:
            continue
        maintype, _, subtype = (attachment.content_type or "application/octet-stream").partition("/")
        message.add_attachment(blob.content, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=attachment.filename or "attachment")
    return message, envelope


def _itip_method(content: bytes) -> str | None:
    """The METHOD of an iCalendar object (REQUEST, CANCEL...), None for a plain .ics file."""
    found = _METHOD.search(content)
    return found.group(1).decode().upper() if found else None
