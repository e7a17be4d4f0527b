"""Bodies of lead scoring: scoring models (weighted rules), trained predictive models and the scores of leads."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from crm_core.api.schemas.common import RecordOut, Strict

_RULES = (
    'Each {"name", "points" (-100..100), "condition"}; a condition is {"field", "op", "value"} on the lead '
    "(lead_source_code, lead_quality_code, industry_code, number_of_employees, email_domain_kind...) or "
    '{"field": "activities" | "replies" | "campaign_responses", "days": N, "op", "value"} on its behaviour. '
    "See docs/lead-scoring.md."
)
_GRADES = 'The lowest score of grades A, B and C, such as {"A": 70, "B": 40, "C": 20} (the default); below C: D.'


class LeadScoringModelCreate(Strict):
    name: str = Field(min_length=1, max_length=200)
    description: str | None = None
    rules: list[Any] = Field(default_factory=list, description=_RULES)
    grade_thresholds: dict[str, Any] | None = Field(default=None, description=_GRADES)
    is_active: bool = Field(default=False, description="The model that scores the leads; one at a time.")


class LeadScoringModelUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    rules: list[Any] | None = Field(default=None, description=_RULES)
    grade_thresholds: dict[str, Any] | None = Field(default=None, description=_GRADES)
    is_active: bool | None = None


class LeadScoringModelOut(RecordOut):
    name: str
    description: str | None
    rules: list[dict[str, Any]]
    grade_thresholds: dict[str, int]
    is_active: bool


class FactorOut(BaseModel):
    label: str = Field(description='What counted, as a person reads it: "Lead source: Web".')
    points: int = Field(
        description="Points it gave (or took): for the predictive score, how far it alone moves "
        "the average lead's score."
    )
    feature: str | None = Field(default=None, description="The predictive model's input (predictive scores).")


class ScoreOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str = Field(description="rule or predictive")
    score: int = Field(description="0..100")
    grade: str | None = Field(description="A, B, C or D")
    factors: list[FactorOut]
    model_id: uuid.UUID | None = Field(description="The scoring model, or the predictive model version, used.")
    computed_on: datetime


class LeadScoresOut(BaseModel):
    lead_id: uuid.UUID
    rule: ScoreOut | None = Field(description="By the active scoring model; null until the workers score it.")
    predictive: ScoreOut | None = Field(description="By the current predictive model; null before one is trained.")


class LeadScoreItemOut(ScoreOut):
    lead_id: uuid.UUID
    lead_name: str | None
    subject: str
    company_name: str | None


class PredictionModelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: int
    trained_on: datetime
    algorithm: str
    library_version: str = Field(description="The scikit-learn version it was trained with.")
    won_count: int = Field(description="Qualified leads it learned from.")
    lost_count: int = Field(description="Disqualified leads it learned from.")
    holdout_count: int = Field(description="Leads held out to measure it.")
    holdout_auc: float = Field(description="ROC AUC on the held-out leads: 0.5 is chance, 1.0 a perfect ranking.")
    importances: list[dict[str, Any]] = Field(description="Inputs by their weight in the model, largest first.")
    is_current: bool
