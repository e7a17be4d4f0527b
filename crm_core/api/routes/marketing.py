"""/marketing-lists, /campaigns, /campaign-responses and /quick-campaigns.

Lists, campaigns and quick campaigns come from Resource declarations; `router` adds list members, preview
counts, copy to static, a campaign's lists and the distribution of its campaign activities, and the campaign
response collection (a thin view of the activities of type campaign_response, see services/campaign_responses)."""

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from crm_core.api.deps import CallerDep
from crm_core.api.resource import OWNED_FILTERS, FilterField, Resource, Verb, render_record
from crm_core.api.schemas.common import Page
from crm_core.api.schemas.marketing import (
    CampaignCreate,
    CampaignOut,
    CampaignResponseCreate,
    CampaignResponseOut,
    CampaignResponseUpdate,
    CampaignUpdate,
    ConversionOut,
    ConvertIn,
    CopyToStaticIn,
    CountOut,
    DistributionOut,
    ListLinkIn,
    MarketingListCreate,
    MarketingListOut,
    MarketingListUpdate,
    MemberIdsIn,
    MemberOut,
    MembersAddedOut,
    QuickCampaignCreate,
    QuickCampaignOut,
    QuickCampaignUpdate,
    response_out,
)
from crm_core.marketing_states import (
    CAMPAIGN_CANCELED,
    CAMPAIGN_COMPLETED,
    CAMPAIGN_INACTIVE,
    CAMPAIGN_LAUNCHED,
    CAMPAIGN_PROPOSED,
    CAMPAIGN_SUSPENDED,
)
from crm_core.services.campaign_distribution import CampaignDistributionService, Member
from crm_core.services.campaign_responses import CampaignResponseService, ResponseQuery
from crm_core.services.campaigns import CampaignService
from crm_core.services.listing import Op
from crm_core.services.marketing_lists import MarketingListService
from crm_core.services.quick_campaigns import QuickCampaignService
from crm_core.services.records import OwnerRef

RESOURCES = [
    Resource(
        "marketing_list", MarketingListService, MarketingListCreate, MarketingListUpdate, MarketingListOut,
        tag="marketing-lists",
        verbs=[Verb("activate", 0, "Activate (statecode 0, Active)"),
               Verb("deactivate", 1, "Deactivate (statecode 1, Inactive): read-only until activated")],
        filters=[*OWNED_FILTERS, FilterField("name", str, (Op.EQ, Op.CONTAINS)), FilterField("member_type", str),
                 FilterField("is_dynamic", bool), FilterField("locked", bool)],
    ),
    Resource(
        "campaign", CampaignService, CampaignCreate, CampaignUpdate, CampaignOut, tag="campaigns",
        verbs=[Verb("launch", 0, "Launched (status 2)", CAMPAIGN_LAUNCHED),
               Verb("complete", 0, "Completed (status 3)", CAMPAIGN_COMPLETED),
               Verb("cancel", 0, "Canceled (status 4)", CAMPAIGN_CANCELED),
               Verb("suspend", 0, "Suspended (status 5)", CAMPAIGN_SUSPENDED),
               Verb("deactivate", 1, "Inactive (statecode 1, status 6): read-only until activated",
                    CAMPAIGN_INACTIVE),
               Verb("activate", 0, "Active again, as Proposed (status 0)", CAMPAIGN_PROPOSED)],
        filters=[*OWNED_FILTERS, FilterField("name", str, (Op.EQ, Op.CONTAINS)), FilterField("type_code", int),
                 FilterField("code_name", str), FilterField("proposed_start", date, (Op.GTE, Op.LTE)),
                 FilterField("actual_start", date, (Op.GTE, Op.LTE))],
    ),
    Resource(
        "quick_campaign", QuickCampaignService, QuickCampaignCreate, QuickCampaignUpdate, QuickCampaignOut,
        tag="quick-campaigns",
        filters=[*OWNED_FILTERS, FilterField("list_id", uuid.UUID), FilterField("activity_type", str),
                 FilterField("name", str, (Op.EQ, Op.CONTAINS))],
    ),
]

router = APIRouter()
_LISTS, _CAMPAIGNS, _RESPONSES = ["marketing-lists"], ["campaigns"], ["campaign-responses"]
Cursor = Annotated[str | None, Query(description="From next_cursor of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=500)]


def _list_out(record: Any) -> Any:
    return render_record(MarketingListOut, record)


def _member_out(member_type: str, record: Any) -> MemberOut:
    member = Member(member_type, record)
    return MemberOut(id=record.id, member_type=member_type, name=member.name, email_address=member.email,
                     do_not_email=bool(getattr(record, "do_not_email", False)), statecode=record.statecode)


# --- marketing lists ---------------------------------------------------------------------------------
@router.get("/marketing-lists/{record_id}/members", response_model=Page[MemberOut], tags=_LISTS,
            summary="The list's current members that you can read")
def list_members(caller: CallerDep, record_id: uuid.UUID, cursor: Cursor = None, limit: Limit = 50) -> Any:
    """A dynamic list's members are computed now from its criteria. Records you cannot read never appear."""
    svc = MarketingListService(caller.uow, caller.principal)
    member_type = svc.get(record_id).member_type
    page = svc.members(record_id, cursor, limit)
    return {"items": [_member_out(member_type, r) for r in page.items], "next_cursor": page.next_cursor}


@router.post("/marketing-lists/{record_id}/members", response_model=MembersAddedOut, tags=_LISTS,
             summary="Add members to a static list")
def add_members(caller: CallerDep, record_id: uuid.UUID, body: MemberIdsIn) -> Any:
    """Each id must be a record of the list's type that you can read; ids already in the list are reported
    in `already_members` and not added again."""
    added, present = MarketingListService(caller.uow, caller.principal).add_members(record_id, body.ids)
    return MembersAddedOut(added=added, already_members=present)


@router.delete("/marketing-lists/{record_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT,
               tags=_LISTS, summary="Remove a member from a static list")
def remove_member(caller: CallerDep, record_id: uuid.UUID, member_id: uuid.UUID) -> Response:
    MarketingListService(caller.uow, caller.principal).remove_member(record_id, member_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/marketing-lists/{record_id}/preview-count", response_model=CountOut, tags=_LISTS,
            summary="How many members you can read the list has now")
def preview_count(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return CountOut(count=MarketingListService(caller.uow, caller.principal).count(record_id))


@router.post("/marketing-lists/{record_id}/copy-to-static", response_model=MarketingListOut,
             status_code=status.HTTP_201_CREATED, tags=_LISTS,
             summary="Snapshot a dynamic list into a new static list")
def copy_to_static(caller: CallerDep, record_id: uuid.UUID, body: CopyToStaticIn | None = None) -> Any:
    copy = MarketingListService(caller.uow, caller.principal).copy_to_static(record_id, body.name if body else None)
    return _list_out(copy)


# --- campaigns -----------------------------------------------------------------------------------
@router.get("/campaigns/{record_id}/lists", response_model=list[MarketingListOut], tags=_CAMPAIGNS,
            summary="The marketing lists attached to a campaign (those you can read)")
def campaign_lists(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return [_list_out(lst) for lst in CampaignService(caller.uow, caller.principal).lists(record_id)]


@router.post("/campaigns/{record_id}/lists", response_model=MarketingListOut, status_code=status.HTTP_201_CREATED,
             tags=_CAMPAIGNS, summary="Attach a marketing list to a campaign")
def attach_list(caller: CallerDep, record_id: uuid.UUID, body: ListLinkIn) -> Any:
    return _list_out(CampaignService(caller.uow, caller.principal).attach_list(record_id, body.list_id))


@router.delete("/campaigns/{record_id}/lists/{list_id}", status_code=status.HTTP_204_NO_CONTENT,
               tags=_CAMPAIGNS, summary="Detach a marketing list from a campaign")
def detach_list(caller: CallerDep, record_id: uuid.UUID, list_id: uuid.UUID) -> Response:
    CampaignService(caller.uow, caller.principal).detach_list(record_id, list_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/campaigns/{record_id}/activities/{activity_id}/distribute", response_model=DistributionOut,
             tags=_CAMPAIGNS, summary="Create one activity per member of the campaign's lists")
def distribute(caller: CallerDep, record_id: uuid.UUID, activity_id: uuid.UUID) -> Any:
    """The campaign activity's channel decides the type (phone call, appointment, letter, fax, email). Each
    member of the campaign's active lists gets one, regarding the campaign, owned by you; emails are outgoing
    and Pending Send. Members you cannot read, and for email those with do_not_email or no address, are
    skipped and counted. The campaign activity becomes Completed (status 6); a second distribution is 409."""
    result = CampaignDistributionService(caller.uow, caller.principal).distribute(record_id, activity_id)
    return DistributionOut(**vars(result))


# --- campaign responses ------------------------------------------------------------------------------
@router.get("/campaign-responses", response_model=Page[CampaignResponseOut], tags=_RESPONSES,
            summary="List campaign responses")
def list_responses(
    caller: CallerDep,
    campaign_id: uuid.UUID | None = None,
    response_code: int | None = None,
    channel_type_code: int | None = None,
    statecode: int | None = None,
    sort: Annotated[str, Query(description="created_on, modified_on, occurred_on or received_on; "
                                           "prefix - for descending.")] = "-created_on",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Any:
    query = ResponseQuery(campaign_id=campaign_id, response_code=response_code,
                          channel_type_code=channel_type_code, statecode=statecode, sort=sort, cursor=cursor,
                          limit=limit)
    page = CampaignResponseService(caller.uow, caller.principal).list(query)
    return {"items": [response_out(r) for r in page.items], "next_cursor": page.next_cursor}


@router.post("/campaign-responses", response_model=CampaignResponseOut, status_code=status.HTTP_201_CREATED,
             tags=_RESPONSES, summary="Record a campaign response")
def create_response(caller: CallerDep, body: CampaignResponseCreate) -> Any:
    values = body.model_dump(exclude_unset=True)
    owner_type, owner_id = values.pop("owner_type", "user"), values.pop("owner_id", None)
    owner = OwnerRef(owner_type, owner_id) if owner_id is not None else None
    return response_out(CampaignResponseService(caller.uow, caller.principal).create(values, owner))


@router.get("/campaign-responses/{record_id}", response_model=CampaignResponseOut, tags=_RESPONSES,
            summary="Read a campaign response")
def read_response(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return response_out(CampaignResponseService(caller.uow, caller.principal).get(record_id))


@router.patch("/campaign-responses/{record_id}", response_model=CampaignResponseOut, tags=_RESPONSES,
              summary="Update an open campaign response")
def update_response(caller: CallerDep, record_id: uuid.UUID, body: CampaignResponseUpdate) -> Any:
    values = body.model_dump(exclude_unset=True)
    return response_out(CampaignResponseService(caller.uow, caller.principal).update(record_id, values))


@router.post("/campaign-responses/{record_id}/convert", response_model=ConversionOut, tags=_RESPONSES,
             summary="Convert a response into a lead, an opportunity or a case, and close it")
def convert_response(caller: CallerDep, record_id: uuid.UUID, body: ConvertIn) -> Any:
    """`{"to": "lead"}` makes a lead from the response (company, email, the respondent's names; the body may
    give first_name, last_name, company_name, email_address1, subject); `{"to": "opportunity", "customer_type",
    "customer_id", "currency_code"?}` an opportunity for an existing customer; `{"to": "case", "customer_type",
    "customer_id"}` a case. The response becomes Closed."""
    options = body.model_dump(exclude_unset=True, exclude={"to"})
    done = CampaignResponseService(caller.uow, caller.principal).convert(record_id, body.to, options)
    return {"response": response_out(done.response), "created": {"type": done.target_type, "id": done.target_id}}
