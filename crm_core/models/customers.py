"""Accounts, contacts and their addresses."""

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.db.base import Base, OwnedMixin, RecordMixin, StateMixin, owner_check, prefix_index


class Account(RecordMixin, OwnedMixin, StateMixin, Base):
    __tablename__ = "accounts"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(160), index=True)
    account_number: Mapped[str | None] = mapped_column(String(20))
    parent_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    primary_contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", use_alter=True, ondelete="SET NULL")
    )
    email_address1: Mapped[str | None] = mapped_column(String(320), index=True)
    email_address2: Mapped[str | None] = mapped_column(String(320), index=True)
    email_address3: Mapped[str | None] = mapped_column(String(320), index=True)
    telephone1: Mapped[str | None] = mapped_column(String(50))
    website_url: Mapped[str | None] = mapped_column(String(200))
    industry_code: Mapped[int | None] = mapped_column(SmallInteger)
    customer_type_code: Mapped[int | None] = mapped_column(SmallInteger)
    revenue: Mapped[Decimal | None]
    number_of_employees: Mapped[int | None]
    description: Mapped[str | None] = mapped_column(Text)
    do_not_email: Mapped[bool] = mapped_column(Boolean, default=False)
    # The lead whose qualification created it (originatingleadid).
    originating_lead_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("leads.id", use_alter=True, ondelete="SET NULL"), index=True
    )

    # The add-in's record picker finds accounts by the start of their name or address (addin_manifest/search.py).
    __table_args__ = (owner_check(), prefix_index("accounts", "name", name),
                      prefix_index("accounts", "email_address1", email_address1))

    addresses: Mapped[list["Address"]] = relationship(
        foreign_keys="Address.account_id", cascade="all, delete-orphan", lazy="selectin",
        order_by="Address.address_number",
    )


class Contact(RecordMixin, OwnedMixin, StateMixin, Base):
    __tablename__ = "contacts"
    __audited__ = True

    first_name: Mapped[str | None] = mapped_column(String(50))
    last_name: Mapped[str] = mapped_column(String(50))
    full_name: Mapped[str] = mapped_column(String(160), index=True)
    job_title: Mapped[str | None] = mapped_column(String(100))
    parent_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    email_address1: Mapped[str | None] = mapped_column(String(320), index=True)
    email_address2: Mapped[str | None] = mapped_column(String(320), index=True)
    email_address3: Mapped[str | None] = mapped_column(String(320), index=True)
    telephone1: Mapped[str | None] = mapped_column(String(50))
    mobile_phone: Mapped[str | None] = mapped_column(String(50))
    birth_date: Mapped[date | None]
    preferred_contact_method_code: Mapped[int] = mapped_column(SmallInteger, default=1)
    description: Mapped[str | None] = mapped_column(Text)
    do_not_email: Mapped[bool] = mapped_column(Boolean, default=False)
    originating_lead_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("leads.id", use_alter=True, ondelete="SET NULL"), index=True
    )

    # The add-in's record picker finds contacts by the start of their name or address (addin_manifest/search.py).
    __table_args__ = (owner_check(), prefix_index("contacts", "full_name", full_name),
                      prefix_index("contacts", "email_address1", email_address1))

    addresses: Mapped[list["Address"]] = relationship(
        foreign_keys="Address.contact_id", cascade="all, delete-orphan", lazy="selectin",
        order_by="Address.address_number",
    )


class Address(Base):
    """Dynamics' customeraddress: one of several addresses of an account or a contact."""

    __tablename__ = "addresses"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    address_number: Mapped[int] = mapped_column(SmallInteger)
    address_type_code: Mapped[int | None] = mapped_column(SmallInteger)  # 1 Bill To, 2 Ship To, 3 Primary, 4 Other
    name: Mapped[str | None] = mapped_column(String(200))
    line1: Mapped[str | None] = mapped_column(String(250))
    line2: Mapped[str | None] = mapped_column(String(250))
    line3: Mapped[str | None] = mapped_column(String(250))
    city: Mapped[str | None] = mapped_column(String(80), index=True)
    state_or_province: Mapped[str | None] = mapped_column(String(50))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    country: Mapped[str | None] = mapped_column(String(80))
    telephone: Mapped[str | None] = mapped_column(String(50))

    __table_args__ = (
        CheckConstraint("(account_id IS NULL) <> (contact_id IS NULL)", name="one_parent"),
        Index("ix_addresses_account", "account_id"),
        Index("ix_addresses_contact", "contact_id"),
    )

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        if self.account_id is not None:
            return "account", self.account_id, f"address{self.address_number}"
        if self.contact_id is not None:
            return "contact", self.contact_id, f"address{self.address_number}"
        return None


class Lead(RecordMixin, OwnedMixin, StateMixin, Base):
    __tablename__ = "leads"
    __audited__ = True

    subject: Mapped[str] = mapped_column(String(300))
    first_name: Mapped[str | None] = mapped_column(String(50))
    last_name: Mapped[str | None] = mapped_column(String(50), index=True)
    full_name: Mapped[str | None] = mapped_column(String(160))
    company_name: Mapped[str | None] = mapped_column(String(100), index=True)
    job_title: Mapped[str | None] = mapped_column(String(100))
    email_address1: Mapped[str | None] = mapped_column(String(320), index=True)
    telephone1: Mapped[str | None] = mapped_column(String(50))
    website_url: Mapped[str | None] = mapped_column(String(200))
    lead_source_code: Mapped[int | None] = mapped_column(SmallInteger)
    lead_quality_code: Mapped[int | None] = mapped_column(SmallInteger)  # 1 Hot, 2 Warm, 3 Cold
    estimated_amount: Mapped[Decimal | None]
    description: Mapped[str | None] = mapped_column(Text)
    parent_account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"), index=True)
    parent_contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    # What became of it and where it came from: the opportunity its qualification created
    # (qualifyingopportunityid), and the campaign and campaign response it was made from (campaignid,
    # relatedobjectid).
    qualifying_opportunity_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("opportunities.id", use_alter=True, ondelete="SET NULL"), index=True
    )
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"), index=True)
    campaign_response_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("activities.id", ondelete="SET NULL"), index=True
    )

    # The add-in's record picker finds leads by the start of their name, topic or address (addin_manifest/search.py).
    __table_args__ = (owner_check(), prefix_index("leads", "full_name", full_name),
                      prefix_index("leads", "subject", subject),
                      prefix_index("leads", "email_address1", email_address1))
