"""Step: an unknown sender of a mail becomes a contact or a lead when the mailbox says so ("create_contact",
"create_lead"; the default "keep_address" keeps the bare address). Never for machine mail, never for the
mailbox's own address. The record is made through the CRM's own services (validation, audit), acting as the
organisation, owned by the mailbox's owner; if it cannot be made, the address stays bare."""

import logging

from crm_core.activity_catalogue import PARTY_ROLES
from crm_core.db.unit_of_work import SharedWork, UnitOfWork
from crm_core.errors import CrmError
from crm_core.security.principal import Principal
from crm_core.services.activity_parties import PartyKey
from crm_core.services.customers import ContactService
from crm_core.services.leads import LeadService
from mailbridge.message import Address, NormalisedMessage
from mailbridge.tracking.context import MailboxContext

log = logging.getLogger(__name__)


def _names(sender: Address) -> tuple[str | None, str]:
    """(first name, last name) from the display name, else the address's local part."""
    words = " ".join(sender.display_name.replace('"', " ").split()).split(" ") if sender.display_name else []
    words = [w for w in words if w and "@" not in w]
    if not words:
        return None, sender.address.partition("@")[0][:50] or sender.address[:50]
    if len(words) == 1:
        return None, words[0][:50]
    return " ".join(words[:-1])[:50], words[-1][:50]


def _create(uow: UnitOfWork, ctx: MailboxContext, message: NormalisedMessage, sender: Address) -> PartyKey:
    first, last = _names(sender)
    shared = SharedWork(uow)
    if ctx.unknown_senders == "create_contact":
        contact = ContactService(shared, Principal.system()).create(
            {"first_name": first, "last_name": last, "email_address1": sender.address}, ctx.owner)
        return PartyKey(PARTY_ROLES["sender"], "contact", contact.id, sender.address)
    subject = (message.subject or f"Email from {sender.display_name or sender.address}")[:300]
    lead = LeadService(shared, Principal.system()).create(
        {"subject": subject, "first_name": first, "last_name": last, "email_address1": sender.address,
         "ignore_duplicates": True}, ctx.owner)
    return PartyKey(PARTY_ROLES["sender"], "lead", lead.id, sender.address)


def create_sender_record(uow: UnitOfWork, ctx: MailboxContext, message: NormalisedMessage,
                         sender: Address) -> PartyKey | None:
    """The sender's new contact or lead as a party, or None to keep the bare address."""
    if ctx.unknown_senders == "keep_address":
        return None
    savepoint = uow.session.begin_nested()  # a record that cannot be made leaves nothing half-written
    try:
        key = _create(uow, ctx, message, sender)
    except CrmError as exc:
        savepoint.rollback()
        log.info("mailbox %s: kept %s as an address (%s)", ctx.name, sender.address, exc.detail)
        return None
    savepoint.commit()
    return key
