"""/case-creation-rules (email-to-case rules on queue mailboxes, administrators only) and what they decided
about each tracked mail (/case-creation-rules/decisions)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from crm_core.api.deps import CallerDep
from crm_core.api.resource import FilterField, Resource, Verb, build_router
from crm_core.api.schemas.case_creation_rules import (
    CaseCreationRuleCreate,
    CaseCreationRuleOut,
    CaseCreationRuleUpdate,
    CaseRuleDecisionOut,
)
from crm_core.services.case_creation_rules import CaseCreationRuleService
from crm_core.services.listing import Op

RESOURCES = [
    Resource(
        "case_creation_rule", CaseCreationRuleService, CaseCreationRuleCreate, CaseCreationRuleUpdate,
        CaseCreationRuleOut, tag="case-creation-rules",
        verbs=[Verb("activate", 1, "Activate this rule for its queue (the queue's active rule goes back to Draft)"),
               Verb("deactivate", 0, "Back to Draft, to change it")],
        filters=[FilterField("statecode", int), FilterField("queue_id", uuid.UUID),
                 FilterField("name", str, (Op.EQ, Op.CONTAINS))],
    ),
]

# The whole collection in one router: /decisions first, so that it is not read as a rule id.
router = APIRouter()


@router.get("/case-creation-rules/decisions", response_model=list[CaseRuleDecisionOut],
            tags=["case-creation-rules"], summary="What the rules decided about tracked mail, newest first")
def list_decisions(
    caller: CallerDep,
    email_id: uuid.UUID | None = None,
    rule_id: uuid.UUID | None = None,
    case_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    rows = CaseCreationRuleService(caller.uow, caller.principal).decisions(email_id, rule_id, case_id, limit)
    return [CaseRuleDecisionOut.model_validate(r) for r in rows]


for _resource in RESOURCES:
    router.include_router(build_router(_resource))
