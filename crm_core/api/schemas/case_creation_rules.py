"""Bodies of /api/v1/case-creation-rules: email-to-case rules on queue mailboxes, and their decisions."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_core.api.schemas.common import RecordOut, Strict
from crm_core.models.case_creation_rules import DEFAULT_ACK_BODY, DEFAULT_ACK_SUBJECT

_CONDITIONS = ('{"all": [...]}, {"any": [...]}, {"not": ...} or {"field", "op", "value"} on the mail; none matches '
               "every mail. See docs/email-to-case.md.")


class CaseCreationRuleItemIn(Strict):
    name: str | None = Field(default=None, max_length=160)
    conditions: dict[str, Any] | None = Field(
        default=None, description=_CONDITIONS,
        examples=[{"all": [{"field": "sender_domain", "op": "ends_with", "value": "contoso.com"},
                           {"field": "subject", "op": "contains", "value": "urgent"}]}])
    priority_code: int | None = Field(default=None, description="1 High, 2 Normal (default), 3 Low")
    case_type_code: int | None = Field(default=None, description="1 Question, 2 Problem, 3 Request")
    subject_id: uuid.UUID | None = None
    assign_to_type: Literal["user", "team"] | None = Field(default=None, description="None: the queue's owner.")
    assign_to_id: uuid.UUID | None = None


class _RuleFields(Strict):
    description: str | None = None
    allow_unknown_sender: bool | None = Field(
        default=None, description="Mail from an address the CRM does not know creates a contact (else it is "
        "skipped).")
    check_active_contract: bool | None = Field(
        default=None, description="Only customers with an active contract covering today get a case.")
    send_acknowledgement: bool | None = None
    acknowledgement_subject: str | None = Field(default=None, max_length=400,
                                                description="Placeholders: {case_number}, {title}, {customer_name}.")
    acknowledgement_body: str | None = Field(default=None, max_length=20000)
    acknowledgement_limit: int | None = Field(default=None, ge=0, le=100,
                                              description="Acknowledgements per sender in 24 hours.")
    reply_to_resolved: Literal["reopen", "new_case"] | None = Field(
        default=None, description="A reply to a resolved case within resolved_since_days reopens it (reopen), "
        "or always opens a new case (new_case).")
    resolved_since_days: int | None = Field(default=None, ge=0, le=3650)


class CaseCreationRuleCreate(_RuleFields):
    name: str = Field(min_length=1, max_length=160)
    queue_id: uuid.UUID = Field(description="The source queue: mail its mailbox tracks runs this rule.")
    allow_unknown_sender: bool = False
    check_active_contract: bool = False
    send_acknowledgement: bool = False
    acknowledgement_subject: str = Field(default=DEFAULT_ACK_SUBJECT, max_length=400)
    acknowledgement_body: str = Field(default=DEFAULT_ACK_BODY, max_length=20000)
    acknowledgement_limit: int = Field(default=3, ge=0, le=100)
    reply_to_resolved: Literal["reopen", "new_case"] = "reopen"
    resolved_since_days: int = Field(default=7, ge=0, le=3650)
    items: list[CaseCreationRuleItemIn] = Field(default_factory=list, description="In the order they are tried.")


class CaseCreationRuleUpdate(_RuleFields):
    name: str | None = Field(default=None, min_length=1, max_length=160)
    queue_id: uuid.UUID | None = None
    items: list[CaseCreationRuleItemIn] | None = Field(default=None, description="Replaces the items.")


class CaseCreationRuleItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sequence_number: int
    name: str | None
    conditions: dict[str, Any]
    priority_code: int | None
    case_type_code: int | None
    subject_id: uuid.UUID | None
    assign_to_type: Literal["user", "team"] | None
    assign_to_id: uuid.UUID | None


class CaseCreationRuleOut(RecordOut):
    name: str
    description: str | None
    queue_id: uuid.UUID
    allow_unknown_sender: bool
    check_active_contract: bool
    send_acknowledgement: bool
    acknowledgement_subject: str
    acknowledgement_body: str
    acknowledgement_limit: int
    reply_to_resolved: str
    resolved_since_days: int
    statecode: int
    statuscode: int
    state: str = ""
    status: str = ""
    items: list[CaseCreationRuleItemOut]


class CaseRuleDecisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email_id: uuid.UUID
    rule_id: uuid.UUID | None
    item_id: uuid.UUID | None
    sender_address: str | None
    outcome: str = Field(description="created, added, reopened, skipped or failed")
    reason: str | None = Field(description="Why: no_item_matched, unknown_sender, auto_reply, bulk...")
    detail: str
    case_id: uuid.UUID | None
    acknowledgement: str = Field(description="queued, or why none: off, no_case, machine_mail, own_address, "
                                 "limit_reached, no_address")
    acknowledgement_id: uuid.UUID | None
    decided_on: datetime
