"""Correlation, first signal: the tracking token in the subject ("CRM:0001234", configurable prefix). It
survives clients that drop In-Reply-To and relays that rewrite Message-IDs, so it is trusted most. The
latest email carrying the token decides the thread's regarding record (a person may have re-linked it)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.models import Email
from mailbridge.message import NormalisedMessage
from mailbridge.tracking.lookups import BatchLookups
from mailbridge.tracking.threads import ThreadLink, link_to

CONFIDENCE = 1.0


def by_token(session: Session, message: NormalisedMessage, lookups: BatchLookups | None = None) -> ThreadLink | None:
    if not message.tracking_token:
        return None
    if lookups is not None:
        email = lookups.latest_with_token(message.tracking_token)
        return link_to(email, "token", CONFIDENCE) if email is not None else None
    email = session.scalar(
        select(Email).where(Email.tracking_token == message.tracking_token)
        .order_by(Email.occurred_on.desc(), Email.id).limit(1))
    return link_to(email, "token", CONFIDENCE) if email is not None else None
