"""Correlation: the signals in order, strongest first; the first that finds a thread decides. A correlated
mail inherits the thread's regarding record (the case a reply belongs to)."""

import datetime as dt

from sqlalchemy.orm import Session

from mailbridge.message import NormalisedMessage
from mailbridge.tracking.context import MailboxContext
from mailbridge.tracking.correlate_headers import by_headers
from mailbridge.tracking.correlate_subject import by_subject
from mailbridge.tracking.correlate_token import by_token
from mailbridge.tracking.lookups import BatchLookups
from mailbridge.tracking.options import TrackingOptions
from mailbridge.tracking.threads import ThreadLink


def correlate(session: Session, message: NormalisedMessage, ctx: MailboxContext, options: TrackingOptions,
              now: dt.datetime, lookups: BatchLookups | None = None) -> ThreadLink | None:
    link = by_token(session, message, lookups) or by_headers(session, message, lookups)
    if link is None and options.smart_matching:
        link = by_subject(session, message, ctx, options.smart_matching_days, now)
    return link
