"""/sites, /resources, /resource-groups, /services and /knowledge-articles.

The five collections come from Resource declarations. `search_router` holds GET /knowledge-articles/search
and must be included before the collections (their /{record_id} route would take "search" for an id);
`router` adds publishing, new versions, the links to cases and the text to insert into an email, and a
resource's calendar exceptions (time off, extra working time)."""

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime

from crm_core.api.deps import CallerDep
from crm_core.api.resource import FilterField, Resource, Verb, render_record
from crm_core.api.schemas.service_catalog import (
    CalendarExceptionIn,
    CalendarExceptionOut,
    EmailInsertOut,
    KnowledgeArticleCreate,
    KnowledgeArticleOut,
    KnowledgeArticleUpdate,
    LinkedCaseOut,
    NewVersionIn,
    PublishIn,
    ResourceCreate,
    ResourceGroupCreate,
    ResourceGroupOut,
    ResourceGroupUpdate,
    ResourceOut,
    ResourceUpdate,
    SearchHit,
    SearchResult,
    ServiceCreate,
    ServiceOut,
    ServiceUpdate,
    SiteCreate,
    SiteOut,
    SiteUpdate,
)
from crm_core.knowledge_states import APPROVED, ARCHIVED, DISCARDED, DRAFT, DRAFT_STATUS, EXPIRED, IN_REVIEW_STATUS
from crm_core.services.knowledge import KnowledgeArticleService
from crm_core.services.listing import Op
from crm_core.services.resource_calendars import ResourceCalendarService
from crm_core.services.scheduling_records import ResourceGroupService, ResourceService, ServiceService, SiteService

_NAME = FilterField("name", str, (Op.EQ, Op.CONTAINS))
_CHANGED = FilterField("modified_on", datetime, (Op.GTE, Op.LTE))

RESOURCES = [
    Resource("site", SiteService, SiteCreate, SiteUpdate, SiteOut, tag="sites",
             filters=[_NAME, FilterField("city", str), FilterField("time_zone", str), _CHANGED]),
    Resource("resource", ResourceService, ResourceCreate, ResourceUpdate, ResourceOut, tag="resources",
             filters=[_NAME, FilterField("kind", str, (Op.EQ, Op.IN)), FilterField("site_id", uuid.UUID),
                      FilterField("user_id", uuid.UUID), FilterField("business_unit_id", uuid.UUID), _CHANGED]),
    Resource("resource_group", ResourceGroupService, ResourceGroupCreate, ResourceGroupUpdate, ResourceGroupOut,
             tag="resource-groups", filters=[_NAME, FilterField("business_unit_id", uuid.UUID), _CHANGED]),
    Resource("service", ServiceService, ServiceCreate, ServiceUpdate, ServiceOut, tag="services",
             filters=[_NAME, FilterField("is_schedulable", bool), _CHANGED]),
    Resource(
        "knowledge_article", KnowledgeArticleService, KnowledgeArticleCreate, KnowledgeArticleUpdate,
        KnowledgeArticleOut, tag="knowledge-articles",
        verbs=[
            Verb("review", DRAFT, "Submit a draft for review (Draft, In review)", IN_REVIEW_STATUS),
            Verb("reject", DRAFT, "Send an article in review or approved back to its author (Draft)", DRAFT_STATUS),
            Verb("approve", APPROVED, "Approve a draft (Approved); it can then be published"),
            Verb("expire", EXPIRED, "Expire a published article (Expired)"),
            Verb("archive", ARCHIVED, "Archive a published or expired article (Archived, final)"),
            Verb("discard", DISCARDED, "Discard a draft or approved article (Discarded, final)"),
        ],
        filters=[
            FilterField("title", str, (Op.EQ, Op.CONTAINS)), FilterField("statecode", int, (Op.EQ, Op.IN)),
            FilterField("statuscode", int), FilterField("subject_id", uuid.UUID), FilterField("language_code", str),
            FilterField("article_public_number", str), FilterField("root_article_id", uuid.UUID),
            FilterField("is_latest_version", bool), FilterField("owning_user_id", uuid.UUID),
            FilterField("owning_team_id", uuid.UUID), FilterField("owning_business_unit_id", uuid.UUID),
            _CHANGED,
        ],
    ),
]

_TAG = ["knowledge-articles"]
search_router = APIRouter()
router = APIRouter()


def _article(record: Any) -> KnowledgeArticleOut:
    return render_record(KnowledgeArticleOut, record)  # type: ignore[return-value]


@search_router.get("/knowledge-articles/search", response_model=SearchResult, tags=_TAG,
                   summary="Full-text search over title, keywords and content, best first")
def search(
    caller: CallerDep,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="Words; each must begin a word.")],
    statecode: Annotated[int | None, Query(description="Default 3 (Published); others among those you may "
                                           "change.")] = None,
    language_code: Annotated[str | None, Query(max_length=35)] = None,
    subject_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Any:
    """Published articles you may read (or, with `statecode`, articles in that state you may change),
    ranked: a word in the title counts most, then keywords, then content."""
    hits = KnowledgeArticleService(caller.uow, caller.principal).search(
        q, statecode=statecode, language_code=language_code, subject_id=subject_id, limit=limit)
    return SearchResult(items=[SearchHit(**_article(h.article).model_dump(), rank=h.rank) for h in hits])


@router.post("/knowledge-articles/{record_id}/publish", response_model=KnowledgeArticleOut, tags=_TAG,
             summary="Publish an approved article now, or schedule it for publish_on")
def publish(caller: CallerDep, record_id: uuid.UUID, body: PublishIn | None = None) -> Any:
    svc = KnowledgeArticleService(caller.uow, caller.principal)
    return _article(svc.publish(record_id, body.publish_on if body else None))


@router.post("/knowledge-articles/{record_id}/new-version", response_model=KnowledgeArticleOut,
             status_code=status.HTTP_201_CREATED, tags=_TAG,
             summary="Make a new draft version of a published, expired or archived article")
def new_version(caller: CallerDep, record_id: uuid.UUID, body: NewVersionIn | None = None) -> Any:
    svc = KnowledgeArticleService(caller.uow, caller.principal)
    return _article(svc.new_version(record_id, major=body.major if body else False))


@router.get("/knowledge-articles/{record_id}/as-email", response_model=EmailInsertOut, tags=_TAG,
            summary="A published article as a subject and a plain-text body to insert into an email")
def as_email(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return KnowledgeArticleService(caller.uow, caller.principal).as_email(record_id)


@router.get("/knowledge-articles/{record_id}/cases", response_model=list[LinkedCaseOut], tags=_TAG,
            summary="The cases linked to an article (those you may read)")
def linked_cases(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return KnowledgeArticleService(caller.uow, caller.principal).linked_cases(record_id)


@router.post("/knowledge-articles/{record_id}/cases/{case_id}", status_code=status.HTTP_204_NO_CONTENT,
             tags=_TAG, summary="Link a published article to a case")
def link_case(caller: CallerDep, record_id: uuid.UUID, case_id: uuid.UUID) -> Response:
    KnowledgeArticleService(caller.uow, caller.principal).link_case(record_id, case_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/knowledge-articles/{record_id}/cases/{case_id}", status_code=status.HTTP_204_NO_CONTENT,
               tags=_TAG, summary="Unlink an article from a case")
def unlink_case(caller: CallerDep, record_id: uuid.UUID, case_id: uuid.UUID) -> Response:
    KnowledgeArticleService(caller.uow, caller.principal).unlink_case(record_id, case_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/cases/{case_id}/knowledge-articles", response_model=list[KnowledgeArticleOut], tags=_TAG,
            summary="The articles linked to a case (those you may see)")
def case_articles(caller: CallerDep, case_id: uuid.UUID) -> Any:
    return [_article(a) for a in KnowledgeArticleService(caller.uow, caller.principal).articles_of_case(case_id)]


# --- a resource's calendar exceptions ----------------------------------------------------------------

_RESOURCE_TAG = ["resources"]


@router.get("/resources/{record_id}/calendar-exceptions", response_model=list[CalendarExceptionOut],
            tags=_RESOURCE_TAG, summary="A resource's time off and extra working time, by start")
def calendar_exceptions(
    caller: CallerDep,
    record_id: uuid.UUID,
    start: Annotated[AwareDatetime | None, Query(alias="from", description="Only those ending after this.")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to", description="Only those starting before this.")] = None,
) -> Any:
    """Needs read on the resource. With `from` and `to`: the exceptions overlapping that window."""
    rows = ResourceCalendarService(caller.uow, caller.principal).exceptions(record_id, start, end)
    return [CalendarExceptionOut.model_validate(r) for r in rows]


@router.post("/resources/{record_id}/calendar-exceptions", response_model=CalendarExceptionOut,
             status_code=status.HTTP_201_CREATED, tags=_RESOURCE_TAG,
             summary="Add time off (a day off, a vacation) or extra working time to a resource")
def add_calendar_exception(caller: CallerDep, record_id: uuid.UUID, body: CalendarExceptionIn) -> Any:
    """Needs write on the resource; audited on it."""
    row = ResourceCalendarService(caller.uow, caller.principal).add(record_id, body.model_dump())
    return CalendarExceptionOut.model_validate(row)


@router.delete("/resources/{record_id}/calendar-exceptions/{exception_id}", status_code=status.HTTP_204_NO_CONTENT,
               tags=_RESOURCE_TAG, summary="Remove a calendar exception of a resource")
def remove_calendar_exception(caller: CallerDep, record_id: uuid.UUID, exception_id: uuid.UUID) -> Response:
    ResourceCalendarService(caller.uow, caller.principal).remove(record_id, exception_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
