"""Bodies of /rules: a business rule's definition, its versions and its runs."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crm_core.api.schemas.common import OwnedOut, Strict
from crm_core.automation.definitions import ACTION_TYPES, TRIGGER_TYPES

_TRIGGER = (
    f'One of {", ".join(TRIGGER_TYPES)}: {{"type": "created"}}, {{"type": "updated", "fields": [...]}}, '
    '{"type": "threshold", "field", "op", "value"} (fires when the value comes to meet it), '
    '{"type": "relative_time", "date_field", "offset": "-P1D"}, {"type": "email_tracked"} (activity), '
    '{"type": "sla_warning"} (case).'
)
_CONDITIONS = (
    '{"all": [...]} or {"any": [...]} of {"field", "op", "value"} (op: eq, ne, gt, ge, lt, le, contains, in, '
    "is_null) or of groups; null: always."
)
_ACTIONS = (
    f"In order; each one of {', '.join(ACTION_TYPES)}: set_fields {{fields}}, assign {{user_id | team_id}}, "
    "route_to_queue {queue_id}, create_task {subject, due_in, description}, follow_up {in, subject}, "
    "send_email {template_id, to: record | primary_contact}, call_webhook {webhook_id}."
)


class _RuleFields(Strict):
    description: str | None = None
    trigger: dict[str, Any] | None = Field(default=None, description=_TRIGGER)
    conditions: dict[str, Any] | None = Field(default=None, description=_CONDITIONS)
    actions: list[dict[str, Any]] | None = Field(default=None, description=_ACTIONS)


class RuleCreate(_RuleFields):
    name: str = Field(min_length=1, max_length=200)
    entity: str = Field(min_length=1, max_length=64, description="The records it watches: lead, case, activity...")
    trigger: dict[str, Any] = Field(description=_TRIGGER)
    actions: list[dict[str, Any]] = Field(min_length=1, description=_ACTIONS)
    owner_id: uuid.UUID | None = Field(default=None, description="The user it runs as; default: you.")


class RuleUpdate(_RuleFields):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    entity: str | None = Field(default=None, min_length=1, max_length=64)


class RuleOut(OwnedOut):
    name: str
    description: str | None
    entity: str
    trigger: dict[str, Any]
    conditions: dict[str, Any] | None
    actions: list[dict[str, Any]]
    is_active: bool
    activated_on: datetime | None
    version: int = Field(description="1 when created, one more at each change of the definition.")


class RuleVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    version: int
    definition: dict[str, Any] = Field(description="name, description, entity, trigger, conditions, actions")
    saved_on: datetime
    saved_by_id: uuid.UUID | None


class RuleRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    rule_version: int
    event_type: str = Field(description="record.created, record.updated, email.tracked, relative_time, sla_warning")
    event_id: uuid.UUID | None
    entity: str
    record_id: uuid.UUID | None
    outcome: str = Field(description="succeeded, failed or loop_stopped")
    actions: list[dict[str, Any]] = Field(description="What each action did (a failed run's are rolled back).")
    error: str | None
    depth: int = Field(description="Rule runs between a person's change and this one.")
    origin_run_id: uuid.UUID | None = Field(description="The run whose action caused the event.")
    started_on: datetime
    finished_on: datetime | None
