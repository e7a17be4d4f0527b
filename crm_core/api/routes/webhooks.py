"""/webhooks: outbound webhooks (administrators and customizers), their deliveries and a test event.

Written by hand rather than by build_router: the service needs the outbound policy from the settings (which
networks the URL may reach), and the answer that sets a secret shows it once."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from crm_core.api.deps import CallerDep
from crm_core.api.schemas.common import AuditOut, Page
from crm_core.api.schemas.webhooks import WebhookCreate, WebhookDeliveryOut, WebhookOut, WebhookUpdate
from crm_core.models import Webhook
from crm_core.services import audit_trail, listing
from crm_core.services.webhook_delivery import Policy, deliver_one
from crm_core.services.webhooks import WebhookService

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def _service(caller: CallerDep) -> WebhookService:
    return WebhookService(caller.uow, caller.principal, Policy.from_settings(caller.context.settings))


def _out(record: Webhook, secret: str | None = None) -> WebhookOut:
    out = WebhookOut.model_validate(record, from_attributes=True)
    out.secret = secret
    return out


@router.get("", response_model=Page[WebhookOut], summary="List webhooks")
def list_webhooks(
    caller: CallerDep,
    name__contains: Annotated[str | None, Query(alias="name__contains")] = None,
    is_enabled: bool | None = None,
    sort: Annotated[str, Query(description="created_on, modified_on or name; - for descending.")] = "-created_on",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    filters = [
        f
        for f in (
            listing.Filter("name", listing.Op.CONTAINS, name__contains) if name__contains else None,
            listing.Filter("is_enabled", listing.Op.EQ, is_enabled) if is_enabled is not None else None,
        )
        if f is not None
    ]
    page = _service(caller).list(listing.ListQuery(filters=filters, sort=sort, cursor=cursor, limit=limit))
    return {"items": [_out(r) for r in page.items], "next_cursor": page.next_cursor}


@router.post(
    "",
    response_model=WebhookOut,
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a URL to events (the answer shows the signing secret, once)",
)
def create_webhook(caller: CallerDep, body: WebhookCreate) -> Any:
    service = _service(caller)
    record = service.create(body.model_dump(exclude_unset=True))
    return _out(record, service.new_secret)


@router.get("/{record_id}", response_model=WebhookOut, summary="Read a webhook")
def read_webhook(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return _out(_service(caller).get(record_id))


@router.patch("/{record_id}", response_model=WebhookOut, summary="Change a webhook")
def update_webhook(caller: CallerDep, record_id: uuid.UUID, body: WebhookUpdate) -> Any:
    service = _service(caller)
    record = service.update(record_id, body.model_dump(exclude_unset=True))
    return _out(record, service.new_secret)


@router.delete("/{record_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Delete a webhook, with its deliveries")
def delete_webhook(caller: CallerDep, record_id: uuid.UUID) -> Response:
    _service(caller).delete(record_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{record_id}/rotate-secret",
    response_model=WebhookOut,
    summary="A new signing secret (shown once); the old one stops signing at once",
)
def rotate_secret(caller: CallerDep, record_id: uuid.UUID) -> Any:
    service = _service(caller)
    return _out(service.rotate_secret(record_id), service.new_secret)


@router.get(
    "/{record_id}/deliveries",
    response_model=list[WebhookDeliveryOut],
    summary="The webhook's deliveries, newest first, with every attempt",
)
def list_deliveries(
    caller: CallerDep,
    record_id: uuid.UUID,
    delivery_status: Annotated[Literal["pending", "delivered", "failed"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    return [
        WebhookDeliveryOut.model_validate(d) for d in _service(caller).deliveries(record_id, delivery_status, limit)
    ]


@router.post(
    "/{record_id}/test",
    response_model=WebhookDeliveryOut,
    summary="Send a webhook.test event now; the answer shows the attempt (retries as any delivery)",
)
def send_test(caller: CallerDep, record_id: uuid.UUID) -> Any:
    service = _service(caller)
    delivery_id = service.queue_test(record_id)
    deliver_one(caller.context.session_factory, caller.context.settings, delivery_id)
    return WebhookDeliveryOut.model_validate(service.delivery(record_id, delivery_id))


@router.get("/{record_id}/audit", response_model=list[AuditOut], summary="Audit trail of a webhook")
def audit(caller: CallerDep, record_id: uuid.UUID) -> Any:
    return [AuditOut.model_validate(e, from_attributes=True) for e in audit_trail.trail(_service(caller), record_id)]
