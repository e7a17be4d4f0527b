"""A synthetic but plausible sales history for the predictive lead score, made with a fixed seed: closed leads
whose odds of being qualified the generator shifts by three things only (the lead source, the company's
industry and the replies received in the month before closing), and noise everywhere else (rating, kind of
address, outgoing calls, age), written straight into the database as years of use would leave it."""

import math
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Account, ActivityParty, Email, Lead, PhoneCall

# The generator's truth: log-odds added by each value (others add nothing).
SOURCE_EFFECT = {2: 1.6, 4: 0.9, 8: 0.0, 7: -0.3, 1: -1.4}  # Employee Referral, Partner, Web, Trade Show, Ad.
INDUSTRY_EFFECT = {16: 1.2, 7: 0.3, 33: 0.0, 2: -1.2}  # Financial, Consulting, Wholesale, Agriculture
REPLY_EFFECT = 0.9  # per reply in the 30 days before closing
INTERCEPT = -0.9
DECISIVE = {"lead_source", "industry", "replies_30d"}


@dataclass(frozen=True)
class History:
    won: int
    lost: int


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def build(
    factory: sessionmaker[Session],
    owner_id: uuid.UUID,
    unit_id: uuid.UUID,
    count: int = 400,
    seed: int = 7,
    now: datetime | None = None,
) -> History:
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    owner = {"owning_user_id": owner_id, "owning_business_unit_id": unit_id}
    won = lost = 0
    with UnitOfWork(factory, owner_id) as uow:
        session = uow.session
        accounts = {}
        for industry in INDUSTRY_EFFECT:
            account = Account(id=uuid.uuid4(), name=f"Company {industry}", industry_code=industry, **owner)
            session.add(account)
            accounts[industry] = account.id
        session.flush()
        for i in range(count):
            source = rng.choice(list(SOURCE_EFFECT))
            industry = rng.choice(list(INDUSTRY_EFFECT))
            replies = min(rng.choice([0, 0, 0, 1, 1, 2, 3]), 4)
            created = now - timedelta(days=rng.randint(60, 700), seconds=i)  # no ties: a stable order
            closed = created + timedelta(days=rng.randint(10, 50))
            odds = INTERCEPT + SOURCE_EFFECT[source] + INDUSTRY_EFFECT[industry] + REPLY_EFFECT * replies
            qualified = rng.random() < _sigmoid(odds)
            won, lost = won + qualified, lost + (not qualified)
            domain = rng.choice(["gmail.com", f"firm{i}.example"])
            lead = Lead(
                id=uuid.uuid4(),
                subject=f"Deal {i}",
                last_name=f"Buyer{i}",
                company_name=f"Firm {i}",
                email_address1=f"buyer{i}@{domain}",
                lead_source_code=source,
                lead_quality_code=rng.choice([1, 2, 3]),
                parent_account_id=accounts[industry],
                statecode=1 if qualified else 2,
                statuscode=3 if qualified else 4,
                created_on=created,
                modified_on=closed,
                **owner,
            )
            session.add(lead)
            for _ in range(replies):
                sent = closed - timedelta(days=rng.randint(0, 25), hours=rng.randint(0, 20))
                _email(session, lead, sent, owner)
            for _ in range(rng.randint(0, 3)):  # calls made, whatever came of them
                call_on = closed - timedelta(days=rng.randint(0, 60))
                session.add(
                    PhoneCall(
                        id=uuid.uuid4(),
                        activity_type="phone_call",
                        subject="Call",
                        regarding_type="lead",
                        regarding_id=lead.id,
                        direction_outgoing=True,
                        occurred_on=call_on,
                        created_on=call_on,
                        modified_on=call_on,
                        statecode=1,
                        statuscode=2,
                        **owner,
                    )
                )
        uow.commit()
    return History(won, lost)


def _email(session: Session, lead: Lead, sent: datetime, owner: dict[str, uuid.UUID]) -> None:
    email = Email(
        id=uuid.uuid4(),
        activity_type="email",
        subject=f"Re: {lead.subject}",
        direction_outgoing=False,
        sent_on=sent,
        occurred_on=sent,
        created_on=sent,
        modified_on=sent,
        statecode=1,
        statuscode=4,
        **owner,
    )
    email.parties = [
        ActivityParty(
            id=uuid.uuid4(), participation=1, party_type="lead", party_id=lead.id, address_used=lead.email_address1
        )
    ]
    session.add(email)
