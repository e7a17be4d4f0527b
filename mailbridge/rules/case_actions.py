"""What a rule does to cases, through the CRM's own services acting as the organisation (validation, case
numbers, routing, SLAs and audit as for a person): open a case for a mail, reopen a resolved one, and make a
contact for an unknown sender. Nothing here commits: the pipeline's batch does."""

import dataclasses
import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core import case_states as cs
from crm_core.db.unit_of_work import SharedWork, UnitOfWork
from crm_core.models import ActivityParty, Case, CaseCreationRuleItem, CaseResolution, Queue, QueueItem
from crm_core.security.principal import Principal
from crm_core.services.cases import CaseService
from crm_core.services.queues import place
from crm_core.services.records import OwnerRef
from mailbridge.message import Address, NormalisedMessage
from mailbridge.rules.facts import Customer
from mailbridge.tracking.context import MailboxContext
from mailbridge.tracking.unknown_senders import create_sender_record

EMAIL_ORIGIN = 2
MAX_DESCRIPTION = 4000


def queue_owner(queue: Queue) -> OwnerRef:
    if queue.owning_user_id is not None:
        return OwnerRef("user", queue.owning_user_id)
    assert queue.owning_team_id is not None
    return OwnerRef("team", queue.owning_team_id)


def case_owner(item: CaseCreationRuleItem, queue: Queue) -> OwnerRef:
    if item.assign_user_id is not None:
        return OwnerRef("user", item.assign_user_id)
    if item.assign_team_id is not None:
        return OwnerRef("team", item.assign_team_id)
    return queue_owner(queue)


def open_case(uow: UnitOfWork, item: CaseCreationRuleItem, queue: Queue, customer: Customer, title: str,
              description: str | None) -> Case:
    """A new case from the item (origin Email), routed by the active routing rule; a case routing left in no
    queue waits in the rule's queue, where the mail arrived."""
    values: dict[str, Any] = {
        "title": title, "customer_type": customer.type, "customer_id": customer.id, "origin_code": EMAIL_ORIGIN,
        "description": description,
    }
    if customer.type == "account" and customer.contact_id is not None:
        values["primary_contact_id"] = customer.contact_id
    for name in ("priority_code", "case_type_code", "subject_id"):
        if getattr(item, name) is not None:
            values[name] = getattr(item, name)
    uow.set_action("email_to_case")
    case = CaseService(SharedWork(uow), Principal.system()).create(values, case_owner(item, queue))
    session = uow.session
    in_queue = session.scalar(select(QueueItem.id).where(QueueItem.case_id == case.id))
    if in_queue is None and queue.statecode == 0:
        place(session, queue, case)
        session.flush()
    return case


def resolved_on(session: Session, case: Case) -> dt.datetime | None:
    """When the resolution in force was made."""
    return session.scalar(
        select(CaseResolution.resolved_on).where(CaseResolution.case_id == case.id,
                                                 CaseResolution.statecode == cs.RESOLUTION_COMPLETED[0])
        .order_by(CaseResolution.resolved_on.desc()).limit(1))


def reopen(uow: UnitOfWork, case: Case) -> None:
    """Reactivate (In Progress), as a person would: the resolution is canceled and its allotment given back."""
    CaseService(SharedWork(uow), Principal.system()).set_state(case.id, cs.ACTIVE, None, action="reactivate")


def new_contact(uow: UnitOfWork, ctx: MailboxContext, message: NormalisedMessage, party: ActivityParty,
                owner: OwnerRef) -> uuid.UUID | None:
    """A contact for the unknown sender (named from the display name, owned by the queue's owner), made the
    email's sender party; None if the CRM refused it (the address stays bare)."""
    sender = message.from_address or Address(party.address_used or "")
    as_contact = dataclasses.replace(ctx, unknown_senders="create_contact", owner=owner)
    key = create_sender_record(uow, as_contact, message, sender)
    if key is None or key.party_id is None:
        return None
    party.party_type, party.party_id = "contact", key.party_id
    uow.session.flush()
    return key.party_id
