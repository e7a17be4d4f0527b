"""What the rules know of a tracked mail: its sender party, the customer behind it (the sender's contact and
its parent account, or an account), whether that customer has an active contract, the facts the conditions
see, and the title of the case the mail would open."""

import re
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from crm_core.activity_catalogue import PARTY_ROLES
from crm_core.models import Account, ActivityParty, Contact, Email
from crm_core.security.principal import Principal
from crm_core.services.case_creation_rules import MailFacts
from crm_core.services.contract_lines import today
from crm_core.services.contract_usage import available
from mailbridge.message import NormalisedMessage, TrackingTokens

TITLE_LENGTH = 200  # the case's title column
# Reply and forward prefixes as mail clients send them (mailbridge.message.subjects strips the same), repeated.
_PREFIXES = re.compile(
    r"^\s*(?:(?:re|fwd?|aw|wg|sv|vs|antw|doorst|tr|rv|res|ref)\s*(?:\[\d+\]|\(\d+\))?\s*[:\uff1a]\s*)+",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Customer:
    """Whom a case is for: an account (the sender's parent account, or an account's own address) or a contact;
    `contact_id` is the contact who wrote (the case's primary contact), `name` greets him."""

    type: str
    id: uuid.UUID
    name: str
    contact_id: uuid.UUID | None


def sender_party(email: Email) -> ActivityParty | None:
    mask = PARTY_ROLES["sender"]
    return next((p for p in email.parties if p.participation == mask), None)


def customer_of(session: Session, party: ActivityParty) -> Customer | None:
    """The customer behind a sender resolved to a contact or an account; None for anyone else (a lead, a user,
    a queue, a bare address)."""
    if party.party_type == "contact" and party.party_id is not None:
        contact = session.get(Contact, party.party_id)
        if contact is None:
            return None
        account = session.get(Account, contact.parent_account_id) if contact.parent_account_id else None
        if account is not None:
            return Customer("account", account.id, contact.full_name, contact.id)
        return Customer("contact", contact.id, contact.full_name, contact.id)
    if party.party_type == "account" and party.party_id is not None:
        account = session.get(Account, party.party_id)
        return Customer("account", account.id, account.name, None) if account is not None else None
    return None


def has_active_contract(session: Session, customer: Customer) -> bool:
    """An Active contract covers the customer today (contract_usage: a contact's own or his account's)."""
    kind, record_id = ("contact", customer.contact_id) if customer.contact_id else (customer.type, customer.id)
    assert record_id is not None
    return bool(available(session, Principal.system(), kind, record_id, today()))


def mail_facts(message: NormalisedMessage, sender: str, queue_addresses: frozenset[str],
               customer: Customer | None, contract: bool) -> MailFacts:
    return MailFacts(sender=sender, subject=message.subject or "", to=tuple(a.address for a in message.to),
                     cc=tuple(a.address for a in message.cc), queue_addresses=queue_addresses,
                     known_customer=customer is not None, has_active_contract=contract)


def case_title(subject: str | None, tokens: TrackingTokens, sender: str) -> str:
    """The subject without the tracking token and Re:/Fwd: prefixes; "Email from ..." when nothing is left."""
    text = " ".join(_PREFIXES.sub("", tokens.remove(subject or "")).split())
    return (text or f"Email from {sender}")[:TITLE_LENGTH]
