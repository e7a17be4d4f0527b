"""What is known about a lead at one instant, read in bulk: its own fields, its company's (the parent account's
industry and size), and when each of its behaviour signals happened:

- activities: activities regarding the lead, or with the lead as a party (campaign responses aside);
- replies: incoming emails sent by the lead (its party as sender, or its address as the sender's);
- campaign responses: responses with the lead as a party, and the response it was made from.

An open lead is seen as of now. A closed one as of when it was closed (its last change: a closed lead is
read-only), so that the history a model learns from looks as the open leads it scores look: "replies in the
last 30 days" of a lead lost two years ago means the 30 days before it was lost."""

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session

from crm_core.activity_catalogue import CANCELED, PARTY_ROLES
from crm_core.models import Account, Activity, ActivityParty, Lead
from crm_core.scoring import vocabulary

SIGNALS = ("activities", "replies", "campaign_responses")
_LEAD_COLUMNS = (
    "subject",
    "company_name",
    "job_title",
    "email_address1",
    "website_url",
    "lead_source_code",
    "lead_quality_code",
    "estimated_amount",
)
_NO_COMPANY: tuple[int | None, int | None] = (None, None)
# The activities table itself: the mapped class would join every subtype's table (with_polymorphic "*").
_ACTIVITIES = Activity.__table__
_CHUNK = 500  # ids per IN list: well under SQLite's and PostgreSQL's parameter limits


@dataclass(frozen=True)
class LeadFacts:
    lead_id: uuid.UUID
    as_of: datetime
    fields: Mapping[str, Any]
    events: Mapping[str, tuple[datetime, ...]]

    def count(self, signal: str, days: int | None) -> int:
        """How many times the signal happened in the `days` before as_of (ever, with None)."""
        start = self.as_of - timedelta(days=days) if days is not None else None
        return sum(1 for t in self.events.get(signal, ()) if t <= self.as_of and (start is None or t >= start))


def as_of(lead: Lead, now: datetime) -> datetime:
    return now if lead.statecode == 0 else min(lead.modified_on, now)


def gather(session: Session, leads: Sequence[Lead], now: datetime) -> list[LeadFacts]:
    """The facts of each lead, in its order: a handful of queries per 500 leads."""
    out: list[LeadFacts] = []
    for start in range(0, len(leads), _CHUNK):
        out.extend(_gather_chunk(session, leads[start : start + _CHUNK], now))
    return out


def _gather_chunk(session: Session, leads: Sequence[Lead], now: datetime) -> list[LeadFacts]:
    ids = [lead.id for lead in leads]
    companies = _companies(session, {lead.parent_account_id for lead in leads if lead.parent_account_id})
    events: dict[uuid.UUID, dict[str, list[datetime]]] = defaultdict(lambda: defaultdict(list))
    for signal, rows in (
        ("activities", _activities(session, ids)),
        ("replies", _replies(session, leads)),
        ("campaign_responses", _responses(session, leads)),
    ):
        for lead_id, occurred in rows:
            events[lead_id][signal].append(occurred)
    facts = []
    for lead in leads:
        instant = as_of(lead, now)
        fields: dict[str, Any] = {c: getattr(lead, c) for c in _LEAD_COLUMNS}
        industry, size = companies.get(lead.parent_account_id, (None, None)) if lead.parent_account_id else _NO_COMPANY
        fields.update(
            industry_code=industry,
            number_of_employees=size,
            email_domain=vocabulary.email_domain(lead.email_address1),
            email_domain_kind=vocabulary.email_domain_kind(lead.email_address1),
            has_company=bool((lead.company_name or "").strip()) or lead.parent_account_id is not None,
            days_since_created=max(0, (instant - lead.created_on).days),
        )
        signals = {name: tuple(sorted(events[lead.id][name])) for name in SIGNALS}
        facts.append(LeadFacts(lead.id, instant, fields, signals))
    return facts


def _companies(session: Session, account_ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[int | None, int | None]]:
    if not account_ids:
        return {}
    rows = session.execute(
        select(Account.id, Account.industry_code, Account.number_of_employees).where(Account.id.in_(account_ids))
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def _distinct(rows: Iterable[Any]) -> list[tuple[uuid.UUID, datetime]]:
    """(lead, time) once per (lead, activity): an activity both regarding the lead and naming it is one."""
    seen: dict[tuple[uuid.UUID, uuid.UUID], datetime] = {}
    for lead_id, activity_id, occurred in rows:
        seen[(lead_id, activity_id)] = occurred
    return [(lead_id, occurred) for (lead_id, _), occurred in seen.items()]


def _activities(session: Session, ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, datetime]]:
    live = and_(_ACTIVITIES.c.activity_type != "campaign_response", _ACTIVITIES.c.statecode != CANCELED)
    regarding = session.execute(
        select(_ACTIVITIES.c.regarding_id, _ACTIVITIES.c.id, _ACTIVITIES.c.occurred_on).where(
            _ACTIVITIES.c.regarding_type == "lead", _ACTIVITIES.c.regarding_id.in_(ids), live
        )
    )
    as_party = session.execute(
        select(ActivityParty.party_id, _ACTIVITIES.c.id, _ACTIVITIES.c.occurred_on)
        .join(_ACTIVITIES, _ACTIVITIES.c.id == ActivityParty.activity_id)
        .where(ActivityParty.party_type == "lead", ActivityParty.party_id.in_(ids), live)
    )
    return _distinct([*regarding, *as_party])


def _replies(session: Session, leads: Sequence[Lead]) -> list[tuple[uuid.UUID, datetime]]:
    by_address: dict[str, list[uuid.UUID]] = defaultdict(list)
    for lead in leads:
        if lead.email_address1:
            by_address[lead.email_address1.strip().lower()].append(lead.id)
    ids = [lead.id for lead in leads]
    sender = or_(
        and_(ActivityParty.party_type == "lead", ActivityParty.party_id.in_(ids)),
        # Parties' addresses are stored normalised (crm_core.email_addresses: lower case), so the index serves.
        ActivityParty.address_used.in_(list(by_address)) if by_address else false(),
    )
    rows = session.execute(
        select(
            ActivityParty.party_type,
            ActivityParty.party_id,
            ActivityParty.address_used,
            _ACTIVITIES.c.id,
            _ACTIVITIES.c.occurred_on,
        )
        .join(_ACTIVITIES, _ACTIVITIES.c.id == ActivityParty.activity_id)
        .where(
            _ACTIVITIES.c.activity_type == "email",
            _ACTIVITIES.c.direction_outgoing.is_(False),
            _ACTIVITIES.c.statecode != CANCELED,
            ActivityParty.participation == PARTY_ROLES["sender"],
            sender,
        )
    )
    found = []
    known = set(ids)
    for party_type, party_id, address, activity_id, occurred in rows:
        if party_type == "lead" and party_id in known:
            found.append((party_id, activity_id, occurred))
        for lead_id in by_address.get((address or "").strip().lower(), ()):
            found.append((lead_id, activity_id, occurred))
    return _distinct(found)


def _responses(session: Session, leads: Sequence[Lead]) -> list[tuple[uuid.UUID, datetime]]:
    ids = [lead.id for lead in leads]
    live = and_(_ACTIVITIES.c.activity_type == "campaign_response", _ACTIVITIES.c.statecode != CANCELED)
    as_party = session.execute(
        select(ActivityParty.party_id, _ACTIVITIES.c.id, _ACTIVITIES.c.occurred_on)
        .join(_ACTIVITIES, _ACTIVITIES.c.id == ActivityParty.activity_id)
        .where(ActivityParty.party_type == "lead", ActivityParty.party_id.in_(ids), live)
    )
    origin = {lead.campaign_response_id: lead.id for lead in leads if lead.campaign_response_id}
    made_from: list[tuple[uuid.UUID, uuid.UUID, datetime]] = []
    if origin:
        rows = session.execute(
            select(_ACTIVITIES.c.id, _ACTIVITIES.c.occurred_on).where(_ACTIVITIES.c.id.in_(list(origin)), live)
        )
        made_from = [(origin[response_id], response_id, occurred) for response_id, occurred in rows]
    return _distinct([*as_party, *made_from])
