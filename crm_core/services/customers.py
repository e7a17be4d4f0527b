"""Accounts, contacts and leads: their own rules on top of the generic record service."""

import uuid
from datetime import date
from typing import Any, ClassVar

from sqlalchemy import func, select

from crm_core.db import column_limits
from crm_core.email_addresses import normalize_field
from crm_core.errors import Conflict, ValidationFailed
from crm_core.models import Account, Address, Contact, Lead
from crm_core.services.records import RecordService

ADDRESS_FIELDS = (
    "address_type_code", "name", "line1", "line2", "line3", "city", "state_or_province", "postal_code",
    "country", "telephone",
)


def _normalize_emails(record: Any, values: dict[str, Any], columns: tuple[str, ...]) -> None:
    for column in columns:
        if column in values:
            setattr(record, column, normalize_field(column, values[column]))


def _full_name(first: str | None, last: str | None) -> str:
    return " ".join(p for p in (first, last) if p)


class _WithAddresses:
    """Addresses arrive as a list and replace the record's list, numbered 1..n in the given order."""

    parent_column: ClassVar[str]

    def apply(self, record: Any, values: dict[str, Any], creating: bool) -> None:
        values = dict(values)
        addresses = values.pop("addresses", None)
        super().apply(record, values, creating)  # type: ignore[misc]  (the RecordService after us in the MRO)
        if addresses is not None:
            self.set_addresses(record, addresses)

    def set_addresses(self, record: Any, addresses: list[dict[str, Any]]) -> None:
        record.addresses.clear()
        for number, data in enumerate(addresses, start=1):
            unknown = set(data) - set(ADDRESS_FIELDS)
            if unknown:
                raise ValidationFailed.field(f"addresses[{number - 1}]", f"unknown fields {sorted(unknown)}")
            column_limits.check_values(Address, data, prefix=f"addresses[{number - 1}].")
            address = Address(id=uuid.uuid4(), address_number=number, **data)
            setattr(address, self.parent_column, record.id)
            record.addresses.append(address)


class AccountService(_WithAddresses, RecordService[Account]):
    entity_name = "account"
    links: ClassVar[dict[str, str]] = {"parent_account_id": "account", "primary_contact_id": "contact"}
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}
    parent_column = "account_id"

    def validate(self, record: Account, values: dict[str, Any], creating: bool) -> None:
        if not (record.name or "").strip():
            raise ValidationFailed.field("name", "an account needs a name")
        _normalize_emails(record, values, ("email_address1", "email_address2", "email_address3"))
        if values.get("parent_account_id") is not None:
            self._refuse_cycle(record.id, record.parent_account_id)

    def _refuse_cycle(self, record_id: uuid.UUID, parent_id: uuid.UUID | None) -> None:
        seen: set[uuid.UUID] = set()
        while parent_id is not None:
            if parent_id == record_id:
                raise ValidationFailed.field("parent_account_id", "an account cannot be its own ancestor")
            if parent_id in seen:
                break
            seen.add(parent_id)
            parent_id = self.session.scalar(select(Account.parent_account_id).where(Account.id == parent_id))

    def before_delete(self, record: Account) -> None:
        children = self.session.scalar(
            select(func.count()).select_from(Account).where(Account.parent_account_id == record.id)
        )
        contacts = self.session.scalar(
            select(func.count()).select_from(Contact).where(Contact.parent_account_id == record.id)
        )
        if children or contacts:
            raise Conflict(
                f"this account has {children} child accounts and {contacts} contacts; "
                "move or delete them first, or deactivate the account instead"
            )


class ContactService(_WithAddresses, RecordService[Contact]):
    entity_name = "contact"
    links: ClassVar[dict[str, str]] = {"parent_account_id": "account"}
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "full_name", "last_name"}
    parent_column = "contact_id"

    def validate(self, record: Contact, values: dict[str, Any], creating: bool) -> None:
        if not (record.last_name or "").strip():
            raise ValidationFailed.field("last_name", "a contact needs a last name")
        record.full_name = _full_name(record.first_name, record.last_name)
        _normalize_emails(record, values, ("email_address1", "email_address2", "email_address3"))
        if record.birth_date is not None and record.birth_date > date.today():
            raise ValidationFailed.field("birth_date", "a birth date cannot be in the future")

    def before_delete(self, record: Contact) -> None:
        # Accounts naming it as primary contact lose the link (ON DELETE SET NULL), audited as such.
        for account in self.session.scalars(select(Account).where(Account.primary_contact_id == record.id)):
            account.primary_contact_id = None


class LeadService(RecordService[Lead]):
    entity_name = "lead"
    links: ClassVar[dict[str, str]] = {"parent_account_id": "account", "parent_contact_id": "contact",
                                       "campaign_id": "campaign"}
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "subject"}

    def validate(self, record: Lead, values: dict[str, Any], creating: bool) -> None:
        if not (record.subject or "").strip():
            raise ValidationFailed.field("subject", "a lead needs a topic (subject)")
        if not (record.last_name or record.company_name):
            raise ValidationFailed.field("last_name", "a lead needs a last name or a company name")
        record.full_name = _full_name(record.first_name, record.last_name) or None
        _normalize_emails(record, values, ("email_address1",))
        if record.estimated_amount is not None and record.estimated_amount < 0:
            raise ValidationFailed.field("estimated_amount", "cannot be negative")
