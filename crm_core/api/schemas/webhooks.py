"""Bodies of /webhooks: the subscription, its deliveries and their attempts."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from crm_core.api.schemas.common import RecordOut, Strict
from crm_core.webhook_events import EVENT_TYPES

_EVENTS = ", ".join(EVENT_TYPES)


class _WebhookFields(Strict):
    description: str | None = None
    entities: list[str] | None = Field(
        default=None, description="Only events of these entities (account, case, activity...); empty: every entity."
    )
    is_enabled: bool | None = None
    secret: SecretStr | None = Field(
        default=None,
        description="The signing secret (16 characters or more); "
        "made for you when a webhook is created without one. Never shown again.",
    )


class WebhookCreate(_WebhookFields):
    name: str = Field(min_length=1, max_length=200)
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="http(s) URL on a public address (or in CRM_OUTBOUND_ALLOW); redirects are not followed.",
    )
    events: list[str] = Field(min_length=1, description=f"Any of: {_EVENTS}.")
    is_enabled: bool = True


class WebhookUpdate(_WebhookFields):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    events: list[str] | None = Field(default=None, min_length=1)


class WebhookOut(RecordOut):
    name: str
    description: str | None
    url: str
    events: list[str]
    entities: list[str]
    is_enabled: bool
    secret: str | None = Field(default=None, description="The signing secret: only in the answer that set it.")


class WebhookAttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    attempted_on: datetime
    status_code: int | None = Field(description="None: no HTTP answer (see error).")
    duration_ms: int
    error: str | None
    response_excerpt: str | None = Field(description="The first 1000 bytes of the answer.")
    next_attempt_at: datetime | None = Field(description="When the next attempt was planned; None: no retry.")


class WebhookDeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    entity: str | None
    record_id: uuid.UUID | None
    status: str = Field(description="pending, delivered or failed")
    attempt_count: int
    next_attempt_at: datetime | None
    created_on: datetime
    completed_on: datetime | None
    last_error: str | None
    payload: dict[str, Any] = Field(description="The JSON body sent.")
    attempts: list[WebhookAttemptOut]
