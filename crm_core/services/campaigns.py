"""Campaigns (DOMAIN.md §7): type, budget, costs, expected revenue and response, proposed and actual dates,
channels, the status reasons of an active campaign, and the marketing lists attached to it (campaignitem).

Choices where Dynamics leaves room:
- Amounts need the campaign's currency_code (ISO 4217); none may be negative; expected_response is a
  percentage (0 to 100); an end date may not precede its start date.
- `channels` names the channels the campaign uses: phone, appointment, letter, fax, email, other.
- Attaching a list needs write on the campaign and append on campaigns, read and append-to on the list; only
  an active list can be attached, and only once. An inactive campaign is read-only, its lists included."""

import uuid
from typing import Any, ClassVar

from sqlalchemy import select

from crm_core.entities import entity
from crm_core.errors import Conflict, NotFound, ValidationFailed
from crm_core.marketing_states import CAMPAIGN_CHANNELS, CAMPAIGN_TYPES
from crm_core.models import Campaign, CampaignList, MarketingList
from crm_core.security import access
from crm_core.security.privileges import Privilege
from crm_core.services.pricing import check_currency
from crm_core.services.records import RecordService

_AMOUNTS = ("budgeted_cost", "actual_cost", "expected_revenue")


class CampaignService(RecordService[Campaign]):
    entity_name = "campaign"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name", "proposed_start", "actual_start"}

    def validate(self, record: Campaign, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a campaign needs a name")
        if record.type_code is not None and record.type_code not in CAMPAIGN_TYPES:
            allowed = ", ".join(f"{k} {v}" for k, v in CAMPAIGN_TYPES.items())
            raise ValidationFailed.field("type_code", f"one of {allowed}")
        record.channels = self._channels(record.channels)
        for name in _AMOUNTS:
            amount = getattr(record, name)
            if amount is not None and amount < 0:
                raise ValidationFailed.field(name, "cannot be negative")
        if any(getattr(record, n) is not None for n in _AMOUNTS) or record.currency_code is not None:
            record.currency_code = check_currency(record.currency_code)
        if record.expected_response is not None and not 0 <= record.expected_response <= 100:
            raise ValidationFailed.field("expected_response", "a percentage from 0 to 100")
        for start, end in (("proposed_start", "proposed_end"), ("actual_start", "actual_end")):
            first, last = getattr(record, start), getattr(record, end)
            if first is not None and last is not None and last < first:
                raise ValidationFailed.field(end, f"cannot be before {start}")

    @staticmethod
    def _channels(channels: Any) -> list[str]:
        if channels is None:
            return []
        out: list[str] = []
        for i, channel in enumerate(channels):
            if channel not in CAMPAIGN_CHANNELS:
                raise ValidationFailed.field(f"channels[{i}]", f"one of {', '.join(CAMPAIGN_CHANNELS)}")
            if channel not in out:
                out.append(channel)
        return out

    # --- lists -------------------------------------------------------------------------------------
    def lists(self, campaign_id: uuid.UUID) -> list[MarketingList]:
        """The attached lists the caller can read, by name."""
        self.get(campaign_id)
        return self.attached_lists(campaign_id)

    def attached_lists(self, campaign_id: uuid.UUID, active_only: bool = False) -> list[MarketingList]:
        spec = entity("marketing_list")
        stmt = (select(MarketingList)
                .join(CampaignList, CampaignList.list_id == MarketingList.id)
                .where(CampaignList.campaign_id == campaign_id,
                       access.scope(self.principal, spec, Privilege.READ))
                .order_by(MarketingList.name, MarketingList.id))
        if active_only:
            stmt = stmt.where(MarketingList.statecode == 0)
        return list(self.session.scalars(stmt))

    def attach_list(self, campaign_id: uuid.UUID, list_id: uuid.UUID) -> MarketingList:
        campaign = self.get(campaign_id, Privilege.WRITE)
        self.ensure_editable(campaign)
        lst: MarketingList = self.check_link("marketing_list", list_id, "list_id")
        if lst.statecode != 0:
            raise ValidationFailed.field("list_id", "this marketing list is inactive; activate it first")
        if self.session.get(CampaignList, (campaign_id, list_id)) is not None:
            raise Conflict("this marketing list is attached to the campaign already")
        self.uow.set_action("attach_list")
        self.session.add(CampaignList(campaign_id=campaign_id, list_id=list_id))
        self.session.flush()
        self.uow.commit()
        return lst

    def detach_list(self, campaign_id: uuid.UUID, list_id: uuid.UUID) -> None:
        campaign = self.get(campaign_id, Privilege.WRITE)
        self.ensure_editable(campaign)
        link = self.session.get(CampaignList, (campaign_id, list_id))
        if link is None:
            raise NotFound(f"marketing list {list_id} is not attached to this campaign")
        self.uow.set_action("detach_list")
        self.session.delete(link)
        self.session.flush()
        self.uow.commit()
