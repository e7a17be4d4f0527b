"""Lead scoring (issue 11), as Dynamics 365 Sales and Salesforce Einstein do it: an administrator's weighted rules
(a scoring model), a predictive model trained on the organisation's own qualified and disqualified leads, and
the score each gave each lead.

Scores live in their own table rather than in columns of the lead: a rescoring run rewrites thousands of them,
and the lead's audit trail and modified_on must not move each time (a score is derived, never entered)."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm_core.db.base import Base, RecordMixin
from crm_core.db.types import JsonDoc, utcnow

SCORE_KINDS = ("rule", "predictive")


class LeadScoringModel(RecordMixin, Base):
    """An administrator's weighted rules, each a condition on the lead or its recent behaviour with its points,
    and the thresholds of grades A, B and C (below C: D). One model is active at a time; the rules are checked
    by crm_core.scoring.rule_language when saved."""

    __tablename__ = "lead_scoring_models"
    __audited__ = True

    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    grade_thresholds: Mapped[dict[str, int]] = mapped_column(JsonDoc, default=dict)  # {"A": 70, "B": 40, "C": 20}
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, index=True)


class LeadPredictionModel(Base):
    """One training of the predictive score: the fitted scikit-learn pipeline (joblib bytes), what it was
    trained on and how well it ranked the held-out leads. The newest is current; older ones stay for comparison
    until pruned."""

    __tablename__ = "lead_prediction_models"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    trained_on: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    algorithm: Mapped[str] = mapped_column(String(100))
    library_version: Mapped[str] = mapped_column(String(40))  # scikit-learn's: a pickle loads only in its own
    won_count: Mapped[int] = mapped_column(Integer)
    lost_count: Mapped[int] = mapped_column(Integer)
    holdout_count: Mapped[int] = mapped_column(Integer)
    holdout_auc: Mapped[float] = mapped_column(Float)
    # The features by their weight over the training leads: [{"feature", "label", "weight"}], largest first.
    importances: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    is_current: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class LeadScore(Base):
    """A lead's latest score of one kind: 0..100, its grade, and the factors that made it, such as
    [{"label": "Lead source: Web", "points": 12}]."""

    __tablename__ = "lead_scores"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # The scoring model or the prediction model that gave it (no foreign key: it is one table or the other).
    model_id: Mapped[uuid.UUID | None]
    score: Mapped[int] = mapped_column(Integer)
    grade: Mapped[str | None] = mapped_column(String(1))
    factors: Mapped[list[dict[str, Any]]] = mapped_column(JsonDoc, default=list)
    computed_on: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("lead_id", "kind", name="uq_lead_scores_lead_kind"),
        CheckConstraint("kind IN ('rule', 'predictive')", name="kind"),
        CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
        Index("ix_lead_scores_kind_score", "kind", "score"),
    )
