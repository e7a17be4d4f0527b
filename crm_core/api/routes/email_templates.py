"""/email-templates: user-owned templates everyone reads; render one for a record, or insert it into a draft
email regarding the record (Dynamics' "Insert template")."""

import uuid
from typing import Any

from fastapi import APIRouter, status

from crm_core.api.deps import CallerDep
from crm_core.api.resource import CHANGED_FILTERS, FilterField, Resource, build_router
from crm_core.api.schemas.activities import ActivityOut, activity_out
from crm_core.api.schemas.email_templates import (
    EmailTemplateCreate,
    EmailTemplateOut,
    EmailTemplateUpdate,
    RecordRefIn,
    RenderedOut,
)
from crm_core.services.email_templates import EmailTemplateService
from crm_core.services.listing import Op

_TAG = ["email-templates"]
RESOURCES = [
    Resource(
        "email_template",
        EmailTemplateService,
        EmailTemplateCreate,
        EmailTemplateUpdate,
        EmailTemplateOut,
        tag="email-templates",
        filters=[
            FilterField("name", str, (Op.EQ, Op.CONTAINS)),
            FilterField("target_entity", str),
            FilterField("language_code", str),
            FilterField("owning_user_id", uuid.UUID),
            *CHANGED_FILTERS,
        ],
    ),
]

router = APIRouter()
for _resource in RESOURCES:
    router.include_router(build_router(_resource))


@router.post(
    "/email-templates/{record_id}/render",
    response_model=RenderedOut,
    tags=_TAG,
    summary="The template filled from a record you can read",
)
def render_template(caller: CallerDep, record_id: uuid.UUID, body: RecordRefIn) -> Any:
    done = EmailTemplateService(caller.uow, caller.principal).render(record_id, body.record_type, body.record_id)
    return RenderedOut(
        template_id=record_id,
        record_type=done.record_type,
        record_id=done.record_id,
        subject=done.rendered.subject,
        body_text=done.rendered.body_text,
        body_html=done.rendered.body_html,
    )


@router.post(
    "/email-templates/{record_id}/instantiate",
    response_model=ActivityOut,
    tags=_TAG,
    status_code=status.HTTP_201_CREATED,
    summary="A draft email regarding the record, with the rendered template (send it with POST /activities/{id}/send)",
)
def instantiate_template(caller: CallerDep, record_id: uuid.UUID, body: RecordRefIn) -> Any:
    service = EmailTemplateService(caller.uow, caller.principal)
    return activity_out(service.instantiate(record_id, body.record_type, body.record_id))
