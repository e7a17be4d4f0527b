"""No loops and no junk: machine mail (RFC 3834 auto-replies, list and bulk mail) never opens a case, creates a
contact or gets an acknowledgement; our own addresses (any mailbox's, queue's or user's) never get one; and a
sender gets at most the rule's number of acknowledgements in 24 hours, whatever rule made them."""

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm_core.models import CaseRuleDecision, Mailbox, Queue, User
from mailbridge.message import NormalisedMessage

WINDOW = dt.timedelta(days=1)


def machine_mail(message: NormalisedMessage) -> str | None:
    """"auto_reply" or "bulk" when a machine wrote the mail, else None."""
    if message.is_auto_reply:
        return "auto_reply"
    if message.is_bulk:
        return "bulk"
    return None


def is_own_address(session: Session, address: str) -> bool:
    """Whether the address is one of ours: acknowledging it would start two robots talking. Addresses are
    stored normalised (lower case), as the pipeline's are."""
    for column in (Mailbox.email_address, Queue.email_address, User.email):
        if session.scalar(select(column).where(column == address).limit(1)) is not None:
            return True
    return False


def acknowledgements_since(session: Session, address: str, now: dt.datetime) -> int:
    """Acknowledgements queued for `address` in the last 24 hours (this batch's included: they are flushed)."""
    stmt = select(func.count()).select_from(CaseRuleDecision).where(
        CaseRuleDecision.sender_address == address, CaseRuleDecision.acknowledgement == "queued",
        CaseRuleDecision.decided_on >= now - WINDOW)
    return int(session.scalar(stmt) or 0)
