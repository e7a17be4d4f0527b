"""Recency, frequency and monetary (RFM) segments of customers, from what they bought.

A purchase is an invoice that is Active or Paid (a canceled one is not), or an order Submitted or Fulfilled
that has not been invoiced yet (an invoiced order is counted through its invoice, never twice). Its date is
the record's creation; its amount is the total before tax. Only purchases within the window count.

For each customer (account or contact) with a purchase in the window: recency = whole days since the last one,
frequency = how many, monetary = their sum. Each is scored 1-5 by quintile among those customers (5 best: the
most recent, the most frequent, the largest); equal values share the lower score. With FM = the mean of F and
M rounded half up, the first rule that holds names the segment:

    champions           R >= 4 and FM >= 4
    new                 R >= 4 and F == 1   (one recent purchase, however large)
    loyal               R >= 3 and FM >= 3
    potential-loyalists R >= 3
    cannot-lose-them    R == 1 and FM == 5
    at-risk             R <= 2 and FM >= 3
    hibernating         R == 2
    lost                R == 1

The purchases are aggregated by the database per customer, within the caller's read scope of invoices and
orders; only the customers he may read are listed."""

import uuid
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, literal_column, select, union_all
from sqlalchemy.orm import Session

from crm_core.analytics.customers import customer_of, named
from crm_core.entities import entity
from crm_core.models import Invoice, Order
from crm_core.sales_document_states import INVOICE_ACTIVE, INVOICE_PAID, ORDER_FULFILLED, ORDER_SUBMITTED
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege

SEGMENTS = ("champions", "new", "loyal", "potential-loyalists", "cannot-lose-them", "at-risk", "hibernating", "lost")
SEGMENT_LABELS = {
    "champions": "Champions",
    "loyal": "Loyal",
    "new": "New customers",
    "potential-loyalists": "Potential loyalists",
    "cannot-lose-them": "Cannot lose them",
    "at-risk": "At risk",
    "hibernating": "Hibernating",
    "lost": "Lost",
}
MAX_WINDOW_DAYS = 3660


@dataclass(frozen=True)
class RfmRow:
    customer_type: str
    customer_id: uuid.UUID
    customer_name: str
    last_purchase_on: datetime
    recency_days: int
    frequency: int
    monetary: Decimal
    r: int
    f: int
    m: int
    segment: str


def segment_of(r: int, f: int, m: int) -> str:
    fm = (f + m + 1) // 2
    if r >= 4 and fm >= 4:
        return "champions"
    if r >= 4 and f == 1:
        return "new"
    if r >= 3 and fm >= 3:
        return "loyal"
    if r >= 3:
        return "potential-loyalists"
    if r == 1 and fm == 5:
        return "cannot-lose-them"
    if fm >= 3:
        return "at-risk"
    return "hibernating" if r == 2 else "lost"


def quintile_scores(values: Sequence[Any]) -> list[int]:
    """1-5 per value by its rank among all (higher value, higher score); equal values share the lower score."""
    ordered = sorted(values)
    n = len(ordered)
    return [1 + (5 * bisect_left(ordered, v)) // n for v in values]


def _purchases(principal: Principal, since: datetime) -> Any:
    pre_tax = Invoice.total_amount - Invoice.total_tax
    invoices = select(
        Invoice.customer_account_id.label("account_id"),
        Invoice.customer_contact_id.label("contact_id"),
        Invoice.created_on.label("bought_on"),
        pre_tax.label("amount"),
    ).where(
        Invoice.statecode.in_((INVOICE_ACTIVE, INVOICE_PAID)),
        Invoice.created_on >= since,
        access.scope(principal, entity("invoice"), Privilege.READ),
    )
    orders = select(
        Order.customer_account_id, Order.customer_contact_id, Order.created_on, Order.total_amount - Order.total_tax
    ).where(
        Order.statecode.in_((ORDER_SUBMITTED, ORDER_FULFILLED)),
        Order.created_on >= since,
        access.scope(principal, entity("order"), Privilege.READ),
    )
    return union_all(invoices, orders).subquery("purchases")


def rfm(session: Session, principal: Principal, window_days: int, now: datetime) -> list[RfmRow]:
    """Every customer with a purchase in the `window_days` up to `now`, scored and named, best first."""
    bought = _purchases(principal, now - timedelta(days=window_days))
    per_customer = (
        select(
            bought.c.account_id,
            bought.c.contact_id,
            func.max(bought.c.bought_on).label("last_on"),
            func.count().label("frequency"),
            func.sum(bought.c.amount).label("monetary"),
        )
        .group_by(bought.c.account_id, bought.c.contact_id)
        .subquery("per_customer")
    )
    rows = session.execute(named(principal, per_customer).order_by(literal_column("last_on").desc())).all()
    if not rows:
        return []
    recency = [max(0, (now - r.last_on).days) for r in rows]
    r_scores = quintile_scores([-d for d in recency])  # fewer days since, the better
    f_scores = quintile_scores([r.frequency for r in rows])
    m_scores = quintile_scores([Decimal(str(r.monetary or 0)) for r in rows])
    out = []
    for row, days, r, f, m in zip(rows, recency, r_scores, f_scores, m_scores, strict=True):
        customer_type, customer_id = customer_of(row.account_id, row.contact_id)
        out.append(
            RfmRow(
                customer_type,
                customer_id,
                row.customer_name,
                row.last_on,
                days,
                row.frequency,
                Decimal(str(row.monetary or 0)).quantize(Decimal("0.01")),
                r,
                f,
                m,
                segment_of(r, f, m),
            )
        )
    out.sort(key=lambda x: (-(x.r + x.f + x.m), x.recency_days, x.customer_name))
    return out
