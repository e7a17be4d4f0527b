"""Lead scoring for users: the scoring models administrators (and customizers) keep, the trained predictive
models, and the scores of the leads a caller can read. Scores are computed by crm_core.scoring.refresh, in the
workers; this service only reads them, and lets an administrator retrain."""

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.entities import entity
from crm_core.errors import ValidationFailed
from crm_core.models import Lead, LeadPredictionModel, LeadScore, LeadScoringModel
from crm_core.scoring import refresh
from crm_core.scoring.rule_language import parse_grades, parse_rules, to_json
from crm_core.security import access
from crm_core.security.principal import Principal
from crm_core.security.privileges import Privilege
from crm_core.services import listing
from crm_core.services.customers import LeadService
from crm_core.services.records import OwnerRef, RecordService


class LeadScoringModelService(RecordService[LeadScoringModel]):
    entity_name = "lead_scoring_model"
    sortable: ClassVar[set[str]] = {"created_on", "modified_on", "name"}

    def create(self, values: dict[str, Any], owner: OwnerRef | None = None) -> LeadScoringModel:
        values = {"grade_thresholds": None, "rules": [], **values}
        return super().create(values, owner)

    def validate(self, record: LeadScoringModel, values: dict[str, Any], creating: bool) -> None:
        record.name = (record.name or "").strip()
        if not record.name:
            raise ValidationFailed.field("name", "a scoring model needs a name")
        if "rules" in values:
            record.rules = to_json(parse_rules(values["rules"]))
        if "grade_thresholds" in values:
            record.grade_thresholds = parse_grades(values["grade_thresholds"])
        if record.is_active:
            # One active model, as the score of a lead is one number: switching is deactivate, then activate.
            other = self.session.scalars(
                select(LeadScoringModel.name).where(
                    LeadScoringModel.is_active.is_(True), LeadScoringModel.id != record.id
                )
            ).first()
            if other is not None:
                raise ValidationFailed.field(
                    "is_active",
                    f"the scoring model {other!r} is active; deactivate it "
                    "first (one model scores the leads at a time)",
                )


@dataclass(frozen=True)
class ScoreQuery:
    kind: str = "rule"
    grade: str | None = None
    min_score: int | None = None
    sort: str = "-score"
    cursor: str | None = None
    limit: int = 50


class LeadScoreService:
    def __init__(self, uow: UnitOfWork, principal: Principal) -> None:
        self.uow = uow
        self.principal = principal

    @property
    def session(self) -> Session:
        return self.uow.session

    def of_lead(self, lead_id: uuid.UUID) -> tuple[Lead, list[LeadScore]]:
        """A lead the caller can read, with its scores (rule, predictive)."""
        lead = LeadService(self.uow, self.principal).get(lead_id)
        scores = list(
            self.session.scalars(select(LeadScore).where(LeadScore.lead_id == lead_id).order_by(LeadScore.kind.desc()))
        )
        return lead, scores

    def ranked(self, query: ScoreQuery) -> listing.Page[tuple[LeadScore, Lead]]:
        """Scores of one kind, of the leads the caller can read, best first by default."""
        stmt = (
            select(LeadScore)
            .join(Lead, Lead.id == LeadScore.lead_id)
            .where(LeadScore.kind == query.kind, access.scope(self.principal, entity("lead"), Privilege.READ))
        )
        if query.grade is not None:
            stmt = stmt.where(LeadScore.grade == query.grade)
        if query.min_score is not None:
            stmt = stmt.where(LeadScore.score >= query.min_score)
        lq = listing.ListQuery(sort=query.sort, cursor=query.cursor, limit=query.limit)
        rows = list(self.session.scalars(listing.apply(stmt, LeadScore, lq, {"score", "computed_on"})))
        page = listing.page(rows, lq)
        leads = {
            lead.id: lead
            for lead in self.session.scalars(select(Lead).where(Lead.id.in_([s.lead_id for s in page.items])))
        }
        return listing.Page([(s, leads[s.lead_id]) for s in page.items], page.next_cursor)

    def predictive_models(self) -> list[LeadPredictionModel]:
        self.principal.require("lead_scoring_model", Privilege.READ)
        return list(self.session.scalars(select(LeadPredictionModel).order_by(LeadPredictionModel.version.desc())))

    def retrain(self, factory: sessionmaker[Session], options: refresh.Options) -> LeadPredictionModel:
        """A new predictive model, trained now (the workers rescore the open leads with it next)."""
        self.principal.require("lead_scoring_model", Privilege.WRITE)
        # Training reads and writes in sessions of its own: end the caller's transaction (whatever signing in
        # wrote) first, or SQLite's single writer would wait on it.
        self.uow.commit()
        return refresh.retrain(factory, options)
