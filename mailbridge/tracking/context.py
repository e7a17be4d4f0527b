"""What the pipeline needs to know of a mailbox, read once per run as plain values: whose it is (and so who
owns the activities), its own addresses (which tell an outgoing mail from an incoming one) and its options."""

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from crm_core.errors import NotFound
from crm_core.models import Mailbox
from crm_core.services.records import OwnerRef


@dataclass(frozen=True)
class MailboxContext:
    mailbox_id: uuid.UUID
    name: str
    email_address: str
    own_addresses: frozenset[str]
    owner: OwnerRef  # the mailbox's user, or the owner (user or team) of the queue
    business_unit_id: uuid.UUID  # the owner's business unit, which owns the activities
    incoming_filter: str  # all | known_records | crm_replies
    keep_content: str  # metadata | subject | everything
    unknown_senders: str  # keep_address | create_contact | create_lead
    folders: tuple[str, ...]
    queue_id: uuid.UUID | None = None  # a queue's mailbox: email-to-case rules may apply

    @property
    def owner_user_id(self) -> uuid.UUID | None:
        return self.owner.id if self.owner.type == "user" else None

    @property
    def owner_team_id(self) -> uuid.UUID | None:
        return self.owner.id if self.owner.type == "team" else None


def load_mailbox(session: Session, mailbox_id: uuid.UUID) -> Mailbox:
    mailbox = session.get(Mailbox, mailbox_id)
    if mailbox is None:
        raise NotFound(f"no mailbox with id {mailbox_id}")
    return mailbox


def mailbox_context(mailbox: Mailbox) -> MailboxContext:
    own = {mailbox.email_address.lower()}
    if mailbox.user is not None:
        own.add(mailbox.user.email.lower())
        owner, unit = OwnerRef("user", mailbox.user.id), mailbox.user.business_unit_id
    else:
        queue = mailbox.queue
        if queue is None:
            raise NotFound(f"the mailbox {mailbox.name!r} has neither a user nor a queue")
        if queue.email_address:
            own.add(queue.email_address.lower())
        owner = OwnerRef("user", queue.owning_user_id) if queue.owning_user_id else OwnerRef(
            "team", queue.owning_team_id)  # type: ignore[arg-type]
        unit = queue.owning_business_unit_id
    return MailboxContext(
        mailbox_id=mailbox.id, name=mailbox.name, email_address=mailbox.email_address, own_addresses=frozenset(own),
        owner=owner, business_unit_id=unit, incoming_filter=mailbox.incoming_filter,
        keep_content=mailbox.keep_content, unknown_senders=mailbox.unknown_senders, folders=tuple(mailbox.folders),
        queue_id=mailbox.queue_id,
    )
