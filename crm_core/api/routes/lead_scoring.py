"""Lead scoring: /lead-scoring-models (administrators' and customizers' weighted rules; everyone reads them),
/lead-scoring/predictive-models and /lead-scoring/retrain (the model trained on the organisation's history),
/lead-scores (the leads a caller can read, best first) and /leads/{id}/score. The workers compute the scores."""

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, status

from crm_core.api.deps import CallerDep
from crm_core.api.resource import CHANGED_FILTERS, FilterField, Resource, build_router
from crm_core.api.schemas.common import Page
from crm_core.api.schemas.lead_scoring import (
    LeadScoreItemOut,
    LeadScoresOut,
    LeadScoringModelCreate,
    LeadScoringModelOut,
    LeadScoringModelUpdate,
    PredictionModelOut,
    ScoreOut,
)
from crm_core.scoring.refresh import Options
from crm_core.services.lead_scoring import LeadScoreService, LeadScoringModelService, ScoreQuery
from crm_core.services.listing import Op

_TAG = ["lead scoring"]
RESOURCES = [
    Resource(
        "lead_scoring_model",
        LeadScoringModelService,
        LeadScoringModelCreate,
        LeadScoringModelUpdate,
        LeadScoringModelOut,
        tag="lead scoring",
        filters=[FilterField("name", str, (Op.EQ, Op.CONTAINS)), FilterField("is_active", bool), *CHANGED_FILTERS],
    ),
]

router = APIRouter()
for _resource in RESOURCES:
    router.include_router(build_router(_resource))


@router.get(
    "/lead-scoring/predictive-models",
    response_model=list[PredictionModelOut],
    tags=_TAG,
    summary="The trained predictive models, newest first, with their held-out AUC and importances",
)
def predictive_models(caller: CallerDep) -> Any:
    return [
        PredictionModelOut.model_validate(m) for m in LeadScoreService(caller.uow, caller.principal).predictive_models()
    ]


@router.post(
    "/lead-scoring/retrain",
    response_model=PredictionModelOut,
    status_code=status.HTTP_201_CREATED,
    tags=_TAG,
    summary="Train the predictive score now on the qualified and disqualified leads (409 if too few)",
)
def retrain(caller: CallerDep) -> Any:
    service = LeadScoreService(caller.uow, caller.principal)
    model = service.retrain(caller.context.session_factory, Options.from_settings(caller.context.settings))
    return PredictionModelOut.model_validate(model)


@router.get(
    "/lead-scores",
    response_model=Page[LeadScoreItemOut],
    tags=_TAG,
    summary="Scores of the leads you can read, of one kind, best first",
)
def list_scores(
    caller: CallerDep,
    kind: Literal["rule", "predictive"] = "rule",
    grade: Literal["A", "B", "C", "D"] | None = None,
    min_score: Annotated[int | None, Query(ge=0, le=100)] = None,
    sort: Annotated[str, Query(description="score or computed_on; - for descending.")] = "-score",
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    query = ScoreQuery(kind=kind, grade=grade, min_score=min_score, sort=sort, cursor=cursor, limit=limit)
    page = LeadScoreService(caller.uow, caller.principal).ranked(query)
    items = [
        LeadScoreItemOut(
            **ScoreOut.model_validate(score).model_dump(),
            lead_id=lead.id,
            lead_name=lead.full_name,
            subject=lead.subject,
            company_name=lead.company_name,
        )
        for score, lead in page.items
    ]
    return {"items": items, "next_cursor": page.next_cursor}


@router.get(
    "/leads/{record_id}/score",
    response_model=LeadScoresOut,
    tags=["leads", *_TAG],
    summary="The lead's rule and predictive scores, with the factors behind each",
)
def lead_score(caller: CallerDep, record_id: uuid.UUID) -> Any:
    lead, scores = LeadScoreService(caller.uow, caller.principal).of_lead(record_id)
    by_kind = {s.kind: ScoreOut.model_validate(s) for s in scores}
    return LeadScoresOut(lead_id=lead.id, rule=by_kind.get("rule"), predictive=by_kind.get("predictive"))
