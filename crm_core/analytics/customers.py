"""The customer (account or contact) a row of figures belongs to, named only when the caller may read it.

Aggregates carry the customer as two columns, `account_id` and `contact_id` (one set), as the records do. A
customer the caller cannot read is left out of the report: its figures would disclose it."""

import uuid
from typing import Any

from sqlalchemy import Select, Subquery, and_, func, or_, select

from crm_core.entities import entity
from crm_core.models import Account, Contact
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege


def named(principal: Principal, rows: Subquery) -> Select[Any]:
    """SELECT rows.*, customer_name for the rows whose customer the caller may read."""
    account_ok = and_(Account.id == rows.c.account_id, access.scope(principal, entity("account"), Privilege.READ))
    contact_ok = and_(Contact.id == rows.c.contact_id, access.scope(principal, entity("contact"), Privilege.READ))
    return (
        select(rows, func.coalesce(Account.name, Contact.full_name).label("customer_name"))
        .select_from(rows)
        .outerjoin(Account, account_ok)
        .outerjoin(Contact, contact_ok)
        .where(or_(Account.id.isnot(None), Contact.id.isnot(None)))
    )


def customer_of(account_id: uuid.UUID | None, contact_id: uuid.UUID | None) -> tuple[str, uuid.UUID]:
    """(customer_type, customer_id) from the two keys of a row."""
    if account_id is not None:
        return "account", account_id
    assert contact_id is not None, "a row of figures always has its customer"
    return "contact", contact_id
