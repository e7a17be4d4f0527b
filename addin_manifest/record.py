"""One CRM record as the task pane opens it (Dynamics' App for Outlook opens a record inside the pane): its main
fields, its open cases and opportunities when it is a customer, and its recent activities, all read with the
caller's privileges. A record he may not read is "not found", exactly like one that does not exist, so the pane
cannot be used to probe for ids."""

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from addin_manifest.context import (
    OpenItem,
    RecentActivity,
    RecordRef,
    name_references,
    open_items,
    readable_scope,
    recent,
)
from crm_core.entities import entity
from crm_core.errors import NotFound, ValidationFailed
from crm_core.security.principal import Principal
from crm_core.services.activity_display import record_names

# The fields the pane shows per kind, in order: (label, attribute). References to other records are named
# through record_names (only those the caller may read get a name).
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "contact": (("Job title", "job_title"), ("Email", "email_address1"), ("Phone", "telephone1"),
                ("Mobile", "mobile_phone"), ("Account", "parent_account_id")),
    "account": (("Account number", "account_number"), ("Email", "email_address1"), ("Phone", "telephone1"),
                ("Website", "website_url")),
    "lead": (("Topic", "subject"), ("Company", "company_name"), ("Job title", "job_title"),
             ("Email", "email_address1"), ("Phone", "telephone1")),
    "opportunity": (("Customer", "customer"), ("Estimated value", "estimated_value"),
                    ("Estimated close date", "estimated_close_date"), ("Probability (%)", "close_probability")),
    "case": (("Case number", "case_number"), ("Customer", "customer"), ("Priority", "priority_code")),
}
KINDS = tuple(FIELDS)
PRIORITIES = {1: "High", 2: "Normal", 3: "Low"}
CUSTOMERS = ("account", "contact")  # kinds whose cases and opportunities are shown with them


@dataclass(frozen=True)
class Field:
    label: str
    value: str
    record: RecordRef | None = None  # when the value names another record


@dataclass
class RecordView:
    type: str
    id: uuid.UUID
    name: str
    state: str | None
    fields: list[Field]
    open_cases: list[OpenItem]
    open_opportunities: list[OpenItem]
    recent_activities: list[RecentActivity]


def _text(value: Any) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def _reference(attribute: str, record: Any) -> RecordRef | None:
    if attribute == "parent_account_id":
        return RecordRef("account", record.parent_account_id, "") if record.parent_account_id else None
    if record.customer_account_id is not None:
        return RecordRef("account", record.customer_account_id, "")
    return RecordRef("contact", record.customer_contact_id, "") if record.customer_contact_id else None


def read_record(session: Session, principal: Principal, kind: str, record_id: uuid.UUID) -> RecordView:
    if kind not in FIELDS:
        raise ValidationFailed.field("type", f"one of {', '.join(KINDS)}")
    spec = entity(kind)
    scope = readable_scope(principal, kind)
    record = None if scope is None else session.scalars(
        select(spec.model).where(spec.model.id == record_id, scope)).one_or_none()
    if record is None:
        raise NotFound(f"no {kind} {record_id} that you may read")
    fields: list[tuple[str, Any, RecordRef | None]] = []
    for label, attribute in FIELDS[kind]:
        if attribute in ("parent_account_id", "customer"):
            fields.append((label, None, _reference(attribute, record)))
        elif attribute == "priority_code":
            fields.append((label, PRIORITIES.get(record.priority_code), None))
        else:
            fields.append((label, getattr(record, attribute), None))
    refs = [ref for _, _, ref in fields if ref is not None]
    names = record_names(session, principal, {(r.type, r.id) for r in refs})
    shown: list[Field] = []
    for label, value, ref in fields:
        if ref is not None:
            ref.name = names.get((ref.type, ref.id), "")
            if ref.name:  # a record the caller may not read is left out, name and all
                shown.append(Field(label, ref.name, ref))
        elif value not in (None, ""):
            shown.append(Field(label, _text(value)))
    found = {(kind, record_id)}
    cases, opportunities = open_items(session, principal, found) if kind in CUSTOMERS else ([], [])
    activities = recent(session, principal, found)
    name_references(session, principal, cases + opportunities, activities)
    state = spec.states.state(record.statecode).name if spec.states is not None else None
    name = getattr(record, "full_name" if kind in ("contact", "lead") else spec.display_column) or ""
    return RecordView(kind, record.id, name, state, shown, cases, opportunities, activities)

