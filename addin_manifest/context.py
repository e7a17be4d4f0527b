"""What the task pane shows for the mail or meeting in view, in one call: the CRM records behind its sender and
recipients (contacts, leads, accounts, and the account of each contact), their open cases and opportunities,
their recent activities, and whether this very mail is tracked and regarding what.

Everything is read with the caller's privileges (crm_core.security.access): a record he may not read is not
shown, not even its name. A handful of queries whatever the number of addresses, each on an indexed column
(email columns, customer and party keys, Message-ID), so the pane answers in one round trip."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parseaddr
from typing import Any

from sqlalchemy import and_, literal, or_, select, tuple_, union
from sqlalchemy.orm import Session

from crm_core.email_addresses import normalize
from crm_core.entities import entity
from crm_core.errors import CrmError
from crm_core.message_ids import normalise_message_id
from crm_core.models import Activity, ActivityParty, Case, Contact, Opportunity, TrackedMessage
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services.activity_display import record_names

PEOPLE_KINDS = ("contact", "lead", "account")
LIMIT = 10
Ref = tuple[str, uuid.UUID]


@dataclass
class RecordRef:
    type: str
    id: uuid.UUID
    name: str


@dataclass
class Person:
    address: str
    role: str  # from, to, cc
    records: list[RecordRef] = field(default_factory=list)


@dataclass(frozen=True)
class OpenItem:
    type: str  # case, opportunity
    id: uuid.UUID
    title: str
    customer: RecordRef | None
    number: str | None
    modified_on: datetime


@dataclass(frozen=True)
class RecentActivity:
    id: uuid.UUID
    activity_type: str
    subject: str
    occurred_on: datetime
    statecode: int
    regarding: RecordRef | None


@dataclass(frozen=True)
class Tracked:
    email_id: uuid.UUID
    regarding: RecordRef | None


@dataclass
class ItemContext:
    people: list[Person]
    open_cases: list[OpenItem]
    open_opportunities: list[OpenItem]
    recent_activities: list[RecentActivity]
    tracked: Tracked | None


def _address(value: str) -> str | None:
    """The normalised address of "jane@x.example" or "Jane Doe <jane@x.example>"; None when there is none."""
    try:
        return normalize(parseaddr(value)[1] or value)
    except ValueError:
        return None


def readable_scope(principal: Principal, kind: str) -> Any:
    try:
        return access.scope(principal, entity(kind), Privilege.READ)
    except CrmError:  # no read privilege at all on this kind
        return None


def item_context(session: Session, principal: Principal, *, sender: str | None, recipients: list[tuple[str, str]],
                 internet_message_id: str | None = None) -> ItemContext:
    """`recipients`: (role, address) pairs, role "to" or "cc" (an appointment's attendees: "to")."""
    wanted = [("from", sender)] if sender else []
    wanted += recipients
    people: list[Person] = []
    seen: set[str] = set()
    for role, raw in wanted:
        address = _address(raw)
        if address and address not in seen:
            seen.add(address)
            people.append(Person(address, role))
    matches = _records_by_address(session, principal, {p.address for p in people})
    for person in people:
        person.records = matches.get(person.address, [])
    found: set[Ref] = {(r.type, r.id) for p in people for r in p.records}
    # A contact's account counts too: its cases and opportunities are the contact's business.
    contact_ids = [i for t, i in found if t == "contact"]
    if contact_ids:
        for account_id in session.scalars(select(Contact.parent_account_id).where(
                Contact.id.in_(contact_ids), Contact.parent_account_id.is_not(None))):
            found.add(("account", account_id))
    cases, opportunities = open_items(session, principal, found)
    activities = recent(session, principal, found)
    tracked = _tracked(session, principal, internet_message_id)
    name_references(session, principal, cases + opportunities, activities, tracked)
    return ItemContext(people, cases, opportunities, activities, tracked)


def _records_by_address(session: Session, principal: Principal, addresses: set[str]) -> dict[str, list[RecordRef]]:
    out: dict[str, list[RecordRef]] = {}
    if not addresses:
        return out
    for kind in PEOPLE_KINDS:
        readable = readable_scope(principal, kind)
        if readable is None:
            continue
        spec = entity(kind)
        columns = [getattr(spec.model, c) for c in spec.email_columns]
        # People by their names (a lead's own display is its topic): the pane lists who wrote, not about what.
        name = getattr(spec.model, "full_name" if kind in ("contact", "lead") else spec.display_column)
        rows = session.execute(select(spec.model.id, name, *columns).where(
            or_(*(c.in_(sorted(addresses)) for c in columns)), readable).order_by(name).limit(50))
        for record_id, display, *emails in rows:
            for value in set(emails) & addresses:
                out.setdefault(value, []).append(RecordRef(kind, record_id, display or ""))
    return out


def open_items(session: Session, principal: Principal, found: set[Ref]) -> tuple[list[OpenItem], list[OpenItem]]:
    accounts = [i for t, i in found if t == "account"]
    contacts = [i for t, i in found if t == "contact"]
    if not accounts and not contacts:
        return [], []
    lists: list[list[OpenItem]] = []
    for kind, model, title, number in (("case", Case, Case.title, Case.case_number),
                                       ("opportunity", Opportunity, Opportunity.name, None)):
        readable = readable_scope(principal, kind)
        if readable is None:
            lists.append([])
            continue
        customer = or_(model.customer_account_id.in_(accounts), model.customer_contact_id.in_(contacts))
        rows = session.execute(select(model.id, title, number if number is not None else literal(None),
                                      model.customer_account_id, model.customer_contact_id, model.modified_on)
                               .where(customer, model.statecode == 0, readable)
                               .order_by(model.modified_on.desc()).limit(LIMIT))
        lists.append([OpenItem(kind, r[0], r[1], _customer(r[3], r[4]), r[2], r[5]) for r in rows])
    return lists[0], lists[1]


def _customer(account_id: uuid.UUID | None, contact_id: uuid.UUID | None) -> RecordRef | None:
    if account_id is not None:
        return RecordRef("account", account_id, "")
    return RecordRef("contact", contact_id, "") if contact_id is not None else None


def recent(session: Session, principal: Principal, found: set[Ref]) -> list[RecentActivity]:
    readable = readable_scope(principal, "activity")
    if not found or readable is None:
        return []
    refs = sorted(found)
    as_party = select(ActivityParty.activity_id).where(
        tuple_(ActivityParty.party_type, ActivityParty.party_id).in_(refs))
    table = Activity.__table__.c
    regarding = select(table.id).where(tuple_(table.regarding_type, table.regarding_id).in_(refs))
    # One list of ids from two index lookups: with an OR of the two, PostgreSQL walks every activity by date.
    rows = session.execute(select(Activity.id, Activity.activity_type, Activity.subject, Activity.occurred_on,
                                  Activity.statecode, Activity.regarding_type, Activity.regarding_id)
                           .where(Activity.id.in_(union(regarding, as_party)), readable)
                           .order_by(Activity.occurred_on.desc(), Activity.id).limit(LIMIT))
    return [RecentActivity(r[0], r[1], r[2], r[3], r[4], RecordRef(r[5], r[6], "") if r[5] and r[6] else None)
            for r in rows]


def _tracked(session: Session, principal: Principal, internet_message_id: str | None) -> Tracked | None:
    message_id = normalise_message_id(internet_message_id) if internet_message_id else None
    readable = readable_scope(principal, "activity")
    if not message_id or readable is None:
        return None
    row = session.execute(select(Activity.id, Activity.regarding_type, Activity.regarding_id)
                          .join(TrackedMessage, and_(TrackedMessage.email_id == Activity.id))
                          .where(TrackedMessage.message_id == message_id, readable).limit(1)).first()
    if row is None:
        return None
    return Tracked(row[0], RecordRef(row[1], row[2], "") if row[1] and row[2] else None)


def name_references(session: Session, principal: Principal, items: list[OpenItem], activities: list[RecentActivity],
                    tracked: Tracked | None = None) -> None:
    """Fills in the names of the records referred to, those the caller may read (the others stay nameless)."""
    refs: list[RecordRef] = [i.customer for i in items if i.customer is not None]
    refs += [a.regarding for a in activities if a.regarding is not None]
    if tracked is not None and tracked.regarding is not None:
        refs.append(tracked.regarding)
    names = record_names(session, principal, {(r.type, r.id) for r in refs})
    for ref in refs:
        ref.name = names.get((ref.type, ref.id), "")
