"""The acknowledgement: an outgoing email regarding the new case, To the sender, From the queue, its subject
and body from the rule's templates, In-Reply-To the customer's mail, owned by the queue's owner and left
Completed / Pending Send (6) for the sender (mailbridge.outgoing), which adds the tracking token to the
subject when it sends it: the customer's reply then correlates to the case by token.

Made through ActivityService as the organisation; its state is set directly rather than through the
activity lifecycle, which would count a sent email regarding a case as the case's first response: a robot's
acknowledgement is no response from a person, and must not stop the first-response SLA clock."""

from typing import Any

from crm_core.activity_catalogue import PARTY_ROLES
from crm_core.db.unit_of_work import SharedWork, UnitOfWork
from crm_core.marketing_states import EMAIL_PENDING_SEND
from crm_core.models import ActivityParty, Case, CaseCreationRule, Email, Queue
from crm_core.security.principal import Principal
from crm_core.services.activities import ActivityService
from crm_core.services.case_creation_rules import render
from mailbridge.rules.case_actions import queue_owner
from mailbridge.rules.facts import Customer
from mailbridge.tracking.persist import clean

SUBJECT_LENGTH = 400


def acknowledge(uow: UnitOfWork, rule: CaseCreationRule, queue: Queue, queue_address: str, case: Case,
                customer: Customer, sender: ActivityParty, in_reply_to: str | None) -> Email:
    values = {"case_number": case.case_number, "title": case.title, "customer_name": customer.name}
    to: dict[str, Any] = {"role": "to", "address": sender.address_used}
    if sender.party_type in ("contact", "account") and sender.party_id is not None:
        to.update(party_type=sender.party_type, party_id=sender.party_id)
    body: dict[str, Any] = {
        "activity_type": "email", "direction_outgoing": True,
        "subject": " ".join(render(rule.acknowledgement_subject, values).split())[:SUBJECT_LENGTH],
        "body_text": clean(render(rule.acknowledgement_body, values)),
        "regarding_type": "case", "regarding_id": case.id, "parties": [to],
    }
    if in_reply_to:
        body["in_reply_to"] = in_reply_to
    uow.set_action("acknowledge")
    email = ActivityService(SharedWork(uow), Principal.system()).create(body, queue_owner(queue))
    assert isinstance(email, Email)
    email.parties.append(ActivityParty(participation=PARTY_ROLES["sender"], party_type="queue", party_id=queue.id,
                                       address_used=queue_address))
    email.statecode, email.statuscode = EMAIL_PENDING_SEND
    uow.session.flush()
    return email
