"""Running the active case creation rule of a queue on one newly tracked incoming mail of its mailbox.

In order: a mail of an active case's thread is already regarding it (added); machine mail stops here; a
reply to a resolved case reopens it when the rule says so and it was resolved recently, else the mail opens a
new case like any other; a sender who is not a customer is skipped, or becomes a contact when the rule allows
unknown senders; a customer without an active contract is skipped when the rule asks for one; the first item
whose conditions match opens the case, which the mail is then regarding; an acknowledgement follows when the
rule sends them and loop protection lets it. Every run leaves one `CaseRuleDecision`, audited with the email.

A failure of the CRM (a case it refuses) is recorded as `failed` and leaves the mail tracked: only the
rule's own changes are undone (a savepoint)."""

import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_core import case_states as cs
from crm_core.db.savepoints import savepoint
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.errors import CrmError
from crm_core.models import (
    ActivityParty,
    Case,
    CaseCreationRule,
    CaseCreationRuleItem,
    CaseRuleDecision,
    Email,
    Queue,
)
from crm_core.services.case_creation_rules import matches
from mailbridge.message import NormalisedMessage
from mailbridge.rules.acknowledge import acknowledge
from mailbridge.rules.case_actions import new_contact, open_case, queue_owner, reopen, resolved_on
from mailbridge.rules.facts import (
    Customer,
    case_title,
    customer_of,
    has_active_contract,
    mail_facts,
    sender_party,
)
from mailbridge.rules.loops import acknowledgements_since, is_own_address, machine_mail
from mailbridge.tracking.context import MailboxContext
from mailbridge.tracking.options import TrackingOptions
from mailbridge.tracking.parties import lookup
from mailbridge.tracking.persist import is_outgoing

log = logging.getLogger(__name__)


@dataclass
class Decision:
    outcome: str
    reason: str | None = None
    detail: str = ""
    case: Case | None = None
    item: CaseCreationRuleItem | None = None
    acknowledgement: str = "no_case"
    acknowledgement_id: uuid.UUID | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Run:
    uow: UnitOfWork
    ctx: MailboxContext
    rule: CaseCreationRule
    queue: Queue
    email: Email
    message: NormalisedMessage
    options: TrackingOptions
    now: dt.datetime

    @property
    def session(self) -> Session:
        return self.uow.session


def run_case_rules(uow: UnitOfWork, ctx: MailboxContext, message: NormalisedMessage, email_id: uuid.UUID,
                   options: TrackingOptions, now: dt.datetime) -> None:
    """Applies the active rule of the mailbox's queue to the new email `email_id`, if the mail came in."""
    session = uow.session
    if is_outgoing(message, ctx) or ctx.queue_id is None:
        return
    rule = session.scalars(select(CaseCreationRule).where(
        CaseCreationRule.queue_id == ctx.queue_id, CaseCreationRule.statecode == cs.RULE_ACTIVE)).first()
    if rule is None:
        return
    session.flush()  # the new email, so that it is found by id
    email = session.get(Email, email_id)
    if email is None or email.direction_outgoing:
        return
    if session.scalar(select(CaseRuleDecision.id).where(CaseRuleDecision.email_id == email_id)) is not None:
        return  # decided already
    queue = session.get(Queue, ctx.queue_id)
    assert queue is not None
    previous_action = session.info.get("audit_action")
    run = Run(uow, ctx, rule, queue, email, message, options, now)
    nested = savepoint(session)
    try:
        decision = _decide(run)
        session.flush()
    except CrmError as exc:
        nested.rollback()
        log.info("mailbox %s: rule %s could not act on %s: %s", ctx.name, rule.name, message.message_id, exc.detail)
        decision = Decision("failed", "refused", f"the CRM refused: {exc.detail}", acknowledgement="no_case")
    else:
        nested.commit()
    session.info["audit_action"] = "email_to_case"
    sender = sender_party(email)
    session.add(CaseRuleDecision(
        id=uuid.uuid4(), email_id=email.id, rule_id=rule.id, item_id=decision.item.id if decision.item else None,
        sender_address=sender.address_used if sender is not None else None, outcome=decision.outcome,
        reason=decision.reason, detail=" ".join([decision.detail, *decision.notes]).strip(),
        case_id=decision.case.id if decision.case else None, acknowledgement=decision.acknowledgement,
        acknowledgement_id=decision.acknowledgement_id, decided_on=now))
    session.flush()
    session.info["audit_action"] = previous_action


def _decide(run: Run) -> Decision:
    email, session = run.email, run.session
    thread_case = session.get(Case, email.regarding_id) if email.regarding_type == "case" else None
    if thread_case is not None and thread_case.statecode == cs.ACTIVE:
        return Decision("added", "thread_of_active_case",
                        f"the mail continues case {thread_case.case_number}, which is active", case=thread_case)
    machine = machine_mail(run.message)
    if machine is not None:
        words = "an auto-reply" if machine == "auto_reply" else "list or bulk mail"
        return Decision("skipped", machine, f"{words}: no case, no contact, no acknowledgement",
                        acknowledgement="machine_mail")
    notes: list[str] = []
    if thread_case is not None:
        reopened = _resolved_reply(run, thread_case, notes)
        if reopened is not None:
            return reopened
    return _new_case(run, notes)


def _resolved_reply(run: Run, case: Case, notes: list[str]) -> Decision | None:
    """Reopens the thread's resolved case when the rule says so and it was resolved within the window; else
    None, with a note of why a new case is opened."""
    rule = run.rule
    if case.statecode == cs.RESOLVED and rule.reply_to_resolved == "reopen":
        when = resolved_on(run.session, case)
        if when is not None and run.now - when <= dt.timedelta(days=rule.resolved_since_days):
            reopen(run.uow, case)
            return Decision("reopened", "reply_to_resolved",
                            f"a reply to case {case.case_number}, resolved {when:%Y-%m-%d}: reopened", case=case)
        notes.append(f"(a reply to case {case.case_number}, resolved more than {rule.resolved_since_days} days ago)")
    elif case.statecode == cs.RESOLVED:
        notes.append(f"(a reply to resolved case {case.case_number}; the rule opens a new case)")
    else:
        notes.append(f"(a reply to canceled case {case.case_number})")
    return None


def _new_case(run: Run, notes: list[str]) -> Decision:
    session, rule, email = run.session, run.rule, run.email
    sender = sender_party(email)
    if sender is None or not sender.address_used:
        return Decision("skipped", "no_sender", "the mail has no sender address", notes=notes)
    address = sender.address_used
    customer = customer_of(session, sender)
    if customer is None:
        refusal = _not_a_customer(run, sender.party_type, address)
        if refusal is not None:
            refusal.notes = notes
            return refusal
    contract = has_active_contract(session, customer) if customer is not None else False
    if rule.check_active_contract and not contract:
        who = customer.name if customer is not None else address
        return Decision("skipped", "no_active_contract", f"{who} has no active contract covering today",
                        notes=notes)
    facts = mail_facts(run.message, address, _queue_addresses(run), customer, contract)
    item = next((i for i in rule.items if matches(i.conditions, facts)), None)
    if item is None:
        return Decision("skipped", "no_item_matched", f"no item of rule {rule.name!r} matched the mail",
                        notes=notes)
    if customer is None:
        contact_id = new_contact(run.uow, run.ctx, run.message, sender, queue_owner(run.queue))
        if contact_id is None:
            return Decision("failed", "contact_refused", f"no contact could be made for {address}", notes=notes)
        customer = customer_of(session, sender)
        assert customer is not None
        notes.append(f"(a new contact for {address})")
    subject = run.message.subject if run.ctx.keep_content != "metadata" else ""
    description = run.message.text_body[:4000] if run.ctx.keep_content == "everything" and run.message.text_body \
        else None
    case = open_case(run.uow, item, run.queue, customer, case_title(subject, run.options.tokens, address),
                     description)
    email.regarding_type, email.regarding_id = "case", case.id
    session.flush()
    label = f"item {item.sequence_number}" + (f" ({item.name})" if item.name else "")
    decision = Decision("created", None, f"{label} of rule {rule.name!r} opened case {case.case_number} for "
                        f"{customer.name}", case=case, item=item, notes=notes)
    _acknowledge(run, decision, customer, sender)
    return decision


def _not_a_customer(run: Run, party_type: str | None, address: str) -> Decision | None:
    """Why a sender who is not a customer gets no case, or None when a contact may be made for him."""
    if party_type in ("user", "queue") or is_own_address(run.session, address):
        return Decision("skipped", "internal_sender", f"{address} is one of ours ({party_type})")
    if party_type is None and lookup(run.session, {address}).get(address):
        return Decision("skipped", "ambiguous_sender", f"several records have the address {address}: the link "
                        "waits for review")
    if not run.rule.allow_unknown_sender:
        what = "a lead" if party_type == "lead" else "not a contact or account"
        return Decision("skipped", "unknown_sender", f"{address} is {what}, and the rule allows no unknown senders")
    return None


def _queue_addresses(run: Run) -> frozenset[str]:
    own = {run.ctx.email_address.lower()}
    if run.queue.email_address:
        own.add(run.queue.email_address.lower())
    return frozenset(own)


def _acknowledge(run: Run, decision: Decision, customer: Customer, sender: ActivityParty) -> None:
    rule = run.rule
    address = sender.address_used
    if not rule.send_acknowledgement:
        decision.acknowledgement = "off"
    elif not address:
        decision.acknowledgement = "no_address"
    elif is_own_address(run.session, address):
        decision.acknowledgement = "own_address"
    elif acknowledgements_since(run.session, address, run.now) >= rule.acknowledgement_limit:
        decision.acknowledgement = "limit_reached"
        decision.notes.append(f"(no acknowledgement: {address} had {rule.acknowledgement_limit} in 24 hours)")
    else:
        assert decision.case is not None
        ack = acknowledge(run.uow, rule, run.queue, run.ctx.email_address, decision.case, customer,
                          sender, run.message.message_id)
        decision.acknowledgement, decision.acknowledgement_id = "queued", ack.id
