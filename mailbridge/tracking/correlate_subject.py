"""Correlation, last and optional signal ("smart matching", off by default): the same normalised thread
subject (prefixes, list tags and the token removed) within a window, with at least one participant in common
other than the mailbox itself. One thread found links the mail; threads regarding different records are
ambiguous: the mail goes to review with them as candidates instead of a guess."""

import datetime as dt
import hashlib
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.models import ActivityParty, Email, TrackedMessage
from mailbridge.message import NormalisedMessage
from mailbridge.tracking.context import MailboxContext
from mailbridge.tracking.threads import Ref, ThreadLink, link_to

CONFIDENCE, AMBIGUOUS = 0.6, 0.3
MAX_CANDIDATES = 50
MIN_SUBJECT = 4  # "hi", "re:", "?" say nothing about a thread


def thread_key(message: NormalisedMessage) -> str | None:
    """The stored matching key: a hash of the thread subject, None when it is too short to mean anything."""
    subject = message.thread_subject
    return hashlib.sha256(subject.encode("utf-8")).hexdigest() if len(subject) >= MIN_SUBJECT else None


def by_subject(session: Session, message: NormalisedMessage, ctx: MailboxContext, days: int,
               now: dt.datetime) -> ThreadLink | None:
    key = thread_key(message)
    if key is None:
        return None
    since = (message.sent_at or now) - dt.timedelta(days=days)
    emails = list(session.scalars(
        select(Email).join(TrackedMessage, TrackedMessage.email_id == Email.id)
        .where(TrackedMessage.thread_key == key, Email.occurred_on >= since)
        .order_by(Email.occurred_on.desc()).limit(MAX_CANDIDATES)))
    if not emails:
        return None
    addresses = {a.address for a in message.participants()} - ctx.own_addresses
    sharing: set[uuid.UUID] = set(session.scalars(
        select(ActivityParty.activity_id).where(ActivityParty.activity_id.in_([e.id for e in emails]),
                                                ActivityParty.address_used.in_(addresses))))
    threads = [e for e in emails if e.id in sharing]
    if not threads:
        return None
    by_regarding: dict[Ref | None, Email] = {}
    for email in threads:  # newest first: the first email per regarding record represents it
        ref = (email.regarding_type, email.regarding_id) if email.regarding_id else None
        by_regarding.setdefault(ref, email)  # type: ignore[arg-type]
    if len(by_regarding) == 1:
        return link_to(threads[0], "smart_match", CONFIDENCE)
    candidates = tuple(
        {"type": ref[0] if ref else "activity", "id": str(ref[1] if ref else email.id), "signal": "smart_match",
         "email_id": str(email.id), "why": f"same thread subject as {email.subject!r}"}
        for ref, email in by_regarding.items())
    return ThreadLink("smart_match", AMBIGUOUS, None, None, None, candidates, needs_review=True)
