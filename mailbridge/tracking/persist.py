"""Step: write a new tracked mail: the email activity (direction, subject and bodies as the mailbox's keep
option allows, dates, identifiers, token, owner, regarding), its parties, its attachments and raw bytes (in
the blob store), and its tracked-message row. The caller adds the sighting and commits with the checkpoint.

Written as the organisation (no acting user), audited by the session's hook like any other write.

Keep: "metadata" stores who, when and the identifiers (no subject, no body, no attachment, no raw bytes);
"subject" adds the subject; "everything" adds the bodies (sanitised HTML), attachments and the raw bytes."""

import datetime as dt
import uuid
from typing import Any

from crm_core.activity_catalogue import BUILTIN, COMPLETED
from crm_core.db.types import utcnow
from crm_core.models import ActivityParty, Email, EmailAttachment, TrackedMessage
from crm_core.services.activity_parties import PartyKey
from mailbridge.message import NormalisedMessage
from mailbridge.tracking.blobs import store_blob
from mailbridge.tracking.context import MailboxContext
from mailbridge.tracking.correlate_subject import thread_key
from mailbridge.tracking.explanation import Explanation
from mailbridge.tracking.lookups import BatchLookups
from mailbridge.tracking.results import SourceItem
from mailbridge.tracking.threads import ThreadLink

SENT, RECEIVED = 3, 4  # the email's Completed status reasons


def clean(text: str | None, limit: int | None = None) -> str | None:
    """Text PostgreSQL accepts (no NUL), cut to the column's length."""
    if text is None:
        return None
    text = text.replace("\x00", "")
    return text[:limit] if limit is not None else text


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def is_outgoing(message: NormalisedMessage, ctx: MailboxContext) -> bool:
    sender = message.from_address
    return sender is not None and sender.address in ctx.own_addresses


def new_email(ctx: MailboxContext, item: SourceItem, message: NormalisedMessage, link: ThreadLink | None,
              explanation: Explanation) -> Email:
    outgoing = is_outgoing(message, ctx)
    statecode, statuscode = BUILTIN["email"].states.resolve(COMPLETED, SENT if outgoing else RECEIVED)
    sent_on = _aware(message.sent_at) or _aware(item.internal_date) or utcnow()
    keep = ctx.keep_content
    linked = link is not None and not link.needs_review
    return Email(
        id=uuid.uuid4(), activity_type="email", custom_fields={}, created_on=utcnow(),
        subject=clean(message.subject, 400) if keep != "metadata" else "",
        body_text=clean(message.text_body) if keep == "everything" else None,
        body_html=clean(message.html_body) if keep == "everything" else None,
        direction_outgoing=outgoing, sent_on=sent_on, occurred_on=sent_on, actual_end=sent_on,
        message_id=clean(message.message_id, 998), in_reply_to=clean(message.in_reply_to, 998),
        tracking_token=message.tracking_token or (link.token if linked and link else None),
        statecode=statecode, statuscode=statuscode, priority_code=1, instance_type_code=0,
        owning_user_id=ctx.owner_user_id, owning_team_id=ctx.owner_team_id,
        owning_business_unit_id=ctx.business_unit_id,
        regarding_type=link.regarding[0] if linked and link and link.regarding else None,
        regarding_id=link.regarding[1] if linked and link and link.regarding else None,
    )


def add_parties(email: Email, keys: tuple[PartyKey, ...] | list[PartyKey]) -> int:
    """Adds the parties `email` lacks (a second mailbox's view merges into the first's); how many were new.
    A party is had when the same role names the same record, or the same bare address."""
    records = {(p.participation, p.party_type, p.party_id) for p in email.parties if p.party_id is not None}
    bare = {(p.participation, p.address_used) for p in email.parties if p.party_id is None}
    added = 0
    for key in keys:
        if key.party_id is not None:
            if (key.participation, key.party_type, key.party_id) in records:
                continue
            records.add((key.participation, key.party_type, key.party_id))
        else:
            if (key.participation, key.address) in bare:
                continue
            bare.add((key.participation, key.address))
        email.parties.append(ActivityParty(id=uuid.uuid4(), participation=key.participation,
                                           party_type=key.party_type, party_id=key.party_id,
                                           address_used=key.address))
        added += 1
    return added


def attachments(session: Any, email: Email, message: NormalisedMessage, lookups: BatchLookups | None = None) -> None:
    for a in message.attachments:
        if a.content is not None and not a.too_large:
            store_blob(session, a.content, a.sha256, lookups)
        session.add(EmailAttachment(
            id=uuid.uuid4(), email_id=email.id, filename=clean(a.filename, 400),
            content_type=clean(a.content_type, 200) or "application/octet-stream", size=a.size,
            content_id=clean(a.content_id, 400), sha256=a.sha256, too_large=a.too_large, inline=a.inline,
            is_tnef=a.is_tnef))


def persist(session: Any, ctx: MailboxContext, item: SourceItem, message: NormalisedMessage,
            link: ThreadLink | None, parties: tuple[PartyKey, ...], explanation: Explanation,
            lookups: BatchLookups | None = None) -> TrackedMessage:
    email = new_email(ctx, item, message, link, explanation)
    add_parties(email, parties)
    session.add(email)
    keep_all = ctx.keep_content == "everything"
    if keep_all:
        attachments(session, email, message, lookups)
    tracked = TrackedMessage(
        id=uuid.uuid4(), email_id=email.id, message_id=clean(message.message_id, 998),
        fingerprint=message.fingerprint, thread_key=thread_key(message), signal=explanation.signal,
        confidence=explanation.confidence, link_status=explanation.link_status,
        candidates=list(explanation.candidates), correlated_email_id=link.email_id if link else None,
        raw_sha256=store_blob(session, message.raw, message.raw_sha256, lookups) if keep_all else None,
        raw_size=message.raw_size,
        defects=list(message.defects), is_auto_reply=message.is_auto_reply, is_bulk=message.is_bulk,
    )
    session.add(tracked)
    if lookups is not None:
        lookups.add_email(email)
        lookups.add_tracked(tracked)
    return tracked
