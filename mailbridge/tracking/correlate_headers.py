"""Correlation, second and third signals: In-Reply-To, then References (newest first), matched against the
Message-IDs of every email the CRM knows (tracked ones and those it sent itself)."""

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.models import Email
from mailbridge.message import NormalisedMessage
from mailbridge.tracking.threads import ThreadLink, link_to

if TYPE_CHECKING:  # the lookups prefetch what this step asks, so they import it
    from mailbridge.tracking.lookups import BatchLookups, EmailLike

IN_REPLY_TO, REFERENCES = 0.95, 0.9
MAX_REFERENCES = 50  # a References header can be long; the newest ids are the ones that matter


def _latest(session: Session, message_ids: list[str], lookups: "BatchLookups | None") -> dict[str, "EmailLike"]:
    if lookups is not None:
        return lookups.latest_with_message_ids(message_ids)
    found: dict[str, EmailLike] = {}
    rows = session.scalars(select(Email).where(Email.message_id.in_(message_ids)).order_by(Email.occurred_on))
    for email in rows:
        if email.message_id is not None:
            found[email.message_id] = email  # the latest of a reused Message-ID wins
    return found


def by_headers(session: Session, message: NormalisedMessage,
               lookups: "BatchLookups | None" = None) -> ThreadLink | None:
    own = message.message_id
    if message.in_reply_to and message.in_reply_to != own:
        email = _latest(session, [message.in_reply_to], lookups).get(message.in_reply_to)
        if email is not None:
            return link_to(email, "in_reply_to", IN_REPLY_TO)
    references = [r for r in message.references[-MAX_REFERENCES:] if r != own]
    if not references:
        return None
    found = _latest(session, references, lookups)
    for reference in reversed(references):
        if reference in found:
            return link_to(found[reference], "references", REFERENCES)
    return None
