"""Sending an email from the CRM (Dynamics' SendEmail): the user asks, the mail workers deliver.

`POST /activities/{id}/send` checks what can be checked at once (a draft, recipients with addresses, a
mailbox that may send) and moves the email to Completed / Pending Send (6). The sender of mailbridge
(mailbridge.outgoing) then claims it (Sending 7), submits it through the mailbox's SMTP server with our
Message-ID and the tracking token, and records Sent (3), or back to Pending Send for a temporary failure, or
Open / Failed (8) with the reason. Campaign emails reach Pending Send the same way (campaign_distribution).

The mailbox is the sender party's (a user's or a queue's) or, without one, the owner's; the sender party is
set to it, so that the From of the mail and the activity agree."""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core.activity_catalogue import COMPLETED, OPEN, PARTY_ROLES
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.entities import entity
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import ActivityParty, Email, Mailbox
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services.activities import ActivityService

DRAFT, FAILED = 1, 8
SENT, PENDING_SEND, SENDING = 3, 6, 7
RECIPIENT_ROLES = (PARTY_ROLES["to"], PARTY_ROLES["cc"], PARTY_ROLES["bcc"])
SENDER = PARTY_ROLES["sender"]


def sending_mailbox(session: Session, email: Email) -> Mailbox | None:
    """The mailbox the email goes out through: its sender party's (user or queue), else its owner's."""
    sender = next((p for p in email.parties if p.participation == SENDER and p.party_id is not None), None)
    if sender is not None and sender.party_type in ("user", "queue"):
        column = Mailbox.user_id if sender.party_type == "user" else Mailbox.queue_id
        return session.scalar(select(Mailbox).where(column == sender.party_id))
    if email.owning_user_id is not None:
        return session.scalar(select(Mailbox).where(Mailbox.user_id == email.owning_user_id))
    return None


def recipients(email: Email) -> list[ActivityParty]:
    return [p for p in email.parties if p.participation in RECIPIENT_ROLES]


def party_address(session: Session, party: ActivityParty) -> str | None:
    """The address a party is written to: the one it was given, else its record's first email address."""
    if party.address_used:
        return party.address_used
    if party.party_type is None or party.party_id is None:
        return None
    spec = entity(party.party_type)
    record = session.get(spec.model, party.party_id)
    return next((getattr(record, c) for c in spec.email_columns if getattr(record, c, None)), None)


def request_send(uow: UnitOfWork, principal: Principal, email_id: uuid.UUID) -> Email:
    """Checks the email can go and queues it (Completed / Pending Send); the workers send it."""
    service = ActivityService(uow, principal)
    email = service.get(email_id, Privilege.WRITE)
    if not isinstance(email, Email):
        raise ValidationFailed.field("activity_type", "only an email is sent")
    if email.statecode != OPEN:
        state, status = service.spec.states.label(email.statecode, email.statuscode)  # type: ignore[union-attr]
        raise Conflict(f"this email is {state} ({status}); only a draft or a failed email is sent")
    to = recipients(email)
    if not to:
        raise ValidationFailed.field("parties", "the email has no recipient (to, cc or bcc)")
    for i, party in enumerate(to):
        address = party_address(uow.session, party)
        if not address:
            raise ValidationFailed.field(f"parties[{i}]", "this recipient has no email address")
        party.address_used = address  # what it is sent to, kept on the activity
    mailbox = sending_mailbox(uow.session, email)
    if mailbox is None:
        raise Conflict("no mailbox to send from: the sender (or the owner) has no mailbox in the CRM")
    permission = mailbox.may_sync("outgoing")
    if not permission:
        raise Conflict(f"the mailbox {mailbox.name!r} cannot send: {permission.reason}")
    if not any(p.participation == SENDER for p in email.parties):
        kind = "user" if mailbox.user_id is not None else "queue"
        email.parties.append(ActivityParty(id=uuid.uuid4(), participation=SENDER, party_type=kind,
                                           party_id=mailbox.user_id or mailbox.queue_id,
                                           address_used=mailbox.email_address))
    email.direction_outgoing = True
    email.sending_mailbox_id = mailbox.id
    email.send_error = None
    uow.session.flush()
    return service.set_state(email.id, COMPLETED, PENDING_SEND, action="send")  # type: ignore[return-value]
