"""Marketing: lists of accounts, contacts or leads (static or dynamic), their members, campaigns, the lists
attached to a campaign, and quick campaigns with the failures of their run (DOMAIN.md §7)."""

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm_core.db.base import Base, OwnedMixin, RecordMixin, StateMixin, owner_check
from crm_core.db.types import JsonDoc, utcnow

_MEMBER_TYPE_CHECK = "member_type IN ('account', 'contact', 'lead')"


class MarketingList(RecordMixin, OwnedMixin, StateMixin, Base):
    """Dynamics' list: one member type; static (members stored) or dynamic (members = criteria, at use time)."""

    __tablename__ = "marketing_lists"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(128), index=True)
    member_type: Mapped[str] = mapped_column(String(16))  # createdfromcode: account, contact or lead
    is_dynamic: Mapped[bool] = mapped_column(Boolean, default=False)
    # A dynamic list's criteria, as list_criteria normalises them (Dynamics keeps FetchXML in `query`).
    criteria: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)  # lockstatus
    purpose: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str | None] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[Decimal | None]
    currency_code: Mapped[str | None] = mapped_column(String(3))
    last_used_on: Mapped[datetime | None]

    __table_args__ = (owner_check(), CheckConstraint(_MEMBER_TYPE_CHECK, name="member_type"))


class MarketingListMember(Base):
    """Dynamics' listmember of a static list. The member's entity is the list's member type."""

    __tablename__ = "marketing_list_members"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("marketing_lists.id", ondelete="CASCADE"))
    member_id: Mapped[uuid.UUID] = mapped_column(index=True)
    added_on: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("list_id", "member_id", name="uq_marketing_list_members_member"),)

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return "marketing_list", self.list_id, f"member.{self.member_id}"


class Campaign(RecordMixin, OwnedMixin, StateMixin, Base):
    __tablename__ = "campaigns"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(128), index=True)
    code_name: Mapped[str | None] = mapped_column(String(32))
    type_code: Mapped[int | None] = mapped_column(SmallInteger)  # 1 Advertisement ... 5 Other
    description: Mapped[str | None] = mapped_column(Text)
    objective: Mapped[str | None] = mapped_column(Text)
    channels: Mapped[list[str]] = mapped_column(JsonDoc, default=list)
    proposed_start: Mapped[date | None]
    proposed_end: Mapped[date | None]
    actual_start: Mapped[date | None]
    actual_end: Mapped[date | None]
    budgeted_cost: Mapped[Decimal | None]
    actual_cost: Mapped[Decimal | None]
    expected_revenue: Mapped[Decimal | None]
    expected_response: Mapped[int | None] = mapped_column(SmallInteger)  # percent of the targets
    currency_code: Mapped[str | None] = mapped_column(String(3))


class CampaignList(Base):
    """Dynamics' campaignitem for a list: a marketing list attached to a campaign."""

    __tablename__ = "campaign_lists"

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"),
                                                   primary_key=True)
    list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("marketing_lists.id", ondelete="CASCADE"),
                                               primary_key=True, index=True)
    attached_on: Mapped[datetime] = mapped_column(default=utcnow)

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return "campaign", self.campaign_id, f"list.{self.list_id}"


class QuickCampaign(RecordMixin, OwnedMixin, StateMixin, Base):
    """Dynamics' bulkoperation of type Quick Campaign (7): one activity per member of one list."""

    __tablename__ = "quick_campaigns"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(200))
    list_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("marketing_lists.id", ondelete="SET NULL"),
                                                      index=True)
    member_type: Mapped[str] = mapped_column(String(16))  # targetedrecordtypecode
    activity_type: Mapped[str] = mapped_column(String(50))  # createdrecordtypecode
    subject: Mapped[str] = mapped_column(String(400))  # a template: {name}, {first_name}...
    description: Mapped[str | None] = mapped_column(Text)
    target_count: Mapped[int] = mapped_column(Integer, default=0)
    success_count: Mapped[int] = mapped_column(Integer, default=0)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    started_on: Mapped[datetime | None]
    completed_on: Mapped[datetime | None]

    failures: Mapped[list["QuickCampaignFailure"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="QuickCampaignFailure.position",
    )

    __table_args__ = (owner_check(), CheckConstraint(_MEMBER_TYPE_CHECK, name="member_type"))


class QuickCampaignFailure(Base):
    """Dynamics' bulkoperationlog: a member for whom no activity was created, and why. member_id is empty
    for a member the caller may not read (his id is not disclosed)."""

    __tablename__ = "quick_campaign_failures"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    quick_campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("quick_campaigns.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[uuid.UUID | None]
    reason: Mapped[str] = mapped_column(String(400))


class CampaignResponseConversion(Base):
    """What a campaign response was converted into (Dynamics points back from the lead's relatedobjectid):
    one lead, opportunity or case per response. Audited on the response."""

    __tablename__ = "campaign_response_conversions"

    response_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("activities.id", ondelete="CASCADE"),
                                                   primary_key=True)
    target_type: Mapped[str] = mapped_column(String(32))  # lead, opportunity or case
    target_id: Mapped[uuid.UUID] = mapped_column(index=True)
    converted_on: Mapped[datetime] = mapped_column(default=utcnow)

    def audit_target(self) -> tuple[str, uuid.UUID, str] | None:
        return "activity", self.response_id, "conversion"
