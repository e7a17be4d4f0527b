"""Step: the mailbox's incoming filter (Dynamics' "incoming email" option), applied to mail in every
synced folder, Sent included:

- "all": every mail;
- "known_records": mail of a thread the CRM knows, or with a contact, lead or account among its parties
  (other than the mailbox itself);
- "crm_replies": only mail of a thread the CRM knows (a token, In-Reply-To or References match, or a smart
  match when it is on).

Auto-replies and bulk mail pass the filter like any other mail; they only never create records
(see `may_create_records`)."""

from dataclasses import dataclass

from mailbridge.message import NormalisedMessage
from mailbridge.tracking.context import MailboxContext
from mailbridge.tracking.parties import ResolvedParties
from mailbridge.tracking.threads import ThreadLink


@dataclass(frozen=True)
class FilterDecision:
    track: bool
    reason: str | None = None  # why not: not_known_records | not_crm_reply


def incoming_filter(ctx: MailboxContext, link: ThreadLink | None, parties: ResolvedParties) -> FilterDecision:
    correlated = link is not None and link.email_id is not None
    if ctx.incoming_filter == "all" or correlated:
        return FilterDecision(True)
    if ctx.incoming_filter == "known_records":
        return FilterDecision(True) if parties.known_records else FilterDecision(False, "not_known_records")
    return FilterDecision(False, "not_crm_reply")


def may_create_records(message: NormalisedMessage) -> bool:
    """Machine mail (auto-replies, lists, bulk) never creates a contact, a lead or (later) a case."""
    return not (message.is_auto_reply or message.is_bulk)
