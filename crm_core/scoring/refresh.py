"""Keeping scores current: train the predictive model on the closed leads, and (re)score the open leads with the
active scoring model and the current predictive model. The workers call these (crm.rescore_leads every few
minutes for the leads that changed, crm.retrain_lead_model nightly, followed by a full pass, since "in the last
30 days" moves with the calendar); so do `crm leads score` and POST /lead-scoring/retrain.

A lead is rescored when it has no score of a kind, or the lead, an activity about it, or the model changed
after its score was computed. Each run holds a lease, so two workers never write the same scores at once, and
commits every batch of leads, so a long run shows progress and keeps no long transaction."""

import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, false, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from crm_core.db.types import utcnow
from crm_core.errors import Conflict
from crm_core.models import Activity, ActivityParty, Lead, LeadPredictionModel, LeadScore, LeadScoringModel
from crm_core.scoring import facts as lead_facts
from crm_core.scoring import features
from crm_core.scoring.rule_scoring import RuleScorer, Scored
from crm_core.services import leases

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # scikit-learn is imported when a model is trained or used, not with the API
    from crm_core.scoring.predictive import Predictor

OPEN, QUALIFIED, DISQUALIFIED = 0, 1, 2
BATCH = 500
KEEP_MODELS = 10
LEASE_KEY = "lead-scoring"
LEASE_SECONDS = 1800.0
# The activities table itself: the mapped class would join every subtype's table (with_polymorphic "*").
_ACTIVITIES = Activity.__table__

Progress = Callable[[int, int], None]  # (leads done, leads in the run)


@dataclass(frozen=True)
class Options:
    min_per_class: int = 40  # qualified and disqualified leads each, before a model is trained
    seed: int = 0

    @classmethod
    def from_settings(cls, settings: Any) -> "Options":
        return cls(min_per_class=settings.lead_scoring_min_per_class)


@dataclass(frozen=True)
class Summary:
    leads: int  # leads scored
    rule_model_id: uuid.UUID | None
    predictive_model_id: uuid.UUID | None
    busy: bool = False  # another run held the lease: nothing done


@contextmanager
def _lease(factory: sessionmaker[Session], key: str) -> Iterator[bool]:
    owner = f"scoring-{uuid.uuid4()}"
    held = leases.acquire(factory, key, owner, LEASE_SECONDS)
    try:
        yield held
    finally:
        if held:
            leases.release(factory, key, owner)


# --- training -----------------------------------------------------------------------------------------
def history(session: Session, now: datetime) -> tuple[list[features.Row], list[bool]]:
    """The closed leads as the model learns them: inputs as of when each was closed, and whether it was won."""
    leads = list(
        session.scalars(
            select(Lead).where(Lead.statecode.in_((QUALIFIED, DISQUALIFIED))).order_by(Lead.created_on, Lead.id)
        )
    )
    rows = [features.row(f) for f in lead_facts.gather(session, leads, now)]
    return rows, [lead.statecode == QUALIFIED for lead in leads]


def retrain(factory: sessionmaker[Session], options: Options, now: datetime | None = None) -> LeadPredictionModel:
    """Trains, stores and makes current a new model version; Conflict if the history is too thin or another
    training is running."""
    now = now or utcnow()
    with _lease(factory, f"{LEASE_KEY}:train") as held:
        if not held:
            raise Conflict("the predictive model is being trained already; try again in a while")
        with factory() as session:
            rows, won = history(session, now)
            from crm_core.scoring import predictive

            trained = predictive.train(rows, won, options.min_per_class, options.seed)
            latest = (
                session.scalar(
                    select(LeadPredictionModel.version).order_by(LeadPredictionModel.version.desc()).limit(1)
                )
                or 0
            )
            session.execute(update(LeadPredictionModel).values(is_current=False))
            model = LeadPredictionModel(
                id=uuid.uuid4(),
                version=latest + 1,
                trained_on=now,
                algorithm=trained.algorithm,
                library_version=trained.library_version,
                won_count=trained.won_count,
                lost_count=trained.lost_count,
                holdout_count=trained.holdout_count,
                holdout_auc=trained.holdout_auc,
                importances=trained.importances,
                is_current=True,
                content=trained.content,
            )
            session.add(model)
            session.flush()
            _prune(session, latest + 1)
            session.commit()
            session.refresh(model)
            session.expunge(model)
            return model


def _prune(session: Session, newest: int) -> None:
    session.execute(delete(LeadPredictionModel).where(LeadPredictionModel.version <= newest - KEEP_MODELS))


# --- scoring ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Scorers:
    rule: RuleScorer | None
    rule_changed: datetime | None
    predictor: "Predictor | None"
    predictive_id: uuid.UUID | None
    predictive_changed: datetime | None


def _scorers(session: Session) -> _Scorers:
    active = session.scalars(
        select(LeadScoringModel)
        .where(LeadScoringModel.is_active.is_(True))
        .order_by(LeadScoringModel.modified_on.desc())
        .limit(1)
    ).first()
    current = session.scalars(
        select(LeadPredictionModel).where(LeadPredictionModel.is_current.is_(True)).limit(1)
    ).first()
    return _Scorers(
        RuleScorer.of(active) if active else None,
        active.modified_on if active else None,
        _predictor(current) if current else None,
        current.id if current else None,
        current.trained_on if current else None,
    )


def _predictor(model: LeadPredictionModel) -> "Predictor | None":
    """The stored model, loaded; None (its scores left as they are) when it cannot be, such as after an upgrade
    of scikit-learn that its pickle does not survive: the nightly retraining mends that."""
    from crm_core.scoring.predictive import Predictor

    try:
        return Predictor(model.content)
    except Exception as exc:  # whatever unpickling raises: the rule scores must go on
        log.warning(
            "predictive model version %s (scikit-learn %s) cannot be loaded: %s; retrain it",
            model.version,
            model.library_version,
            exc,
        )
        return None


def _stale(kind: str, model_id: uuid.UUID, changed: datetime) -> Any:
    """Open leads whose `kind` score is missing, from another model, or older than the lead, the model or an
    activity about the lead."""
    score = LeadScore.__table__.alias(f"score_{kind}")
    # Correlated by hand: a subquery two levels down does not see the leads of the outermost query by itself.
    touched = or_(
        select(_ACTIVITIES.c.id)
        .where(
            _ACTIVITIES.c.regarding_type == "lead",
            _ACTIVITIES.c.regarding_id == Lead.id,
            _ACTIVITIES.c.modified_on > score.c.computed_on,
        )
        .correlate(Lead, score)
        .exists(),
        select(ActivityParty.id)
        .join(_ACTIVITIES, _ACTIVITIES.c.id == ActivityParty.activity_id)
        .where(
            ActivityParty.party_type == "lead",
            ActivityParty.party_id == Lead.id,
            _ACTIVITIES.c.modified_on > score.c.computed_on,
        )
        .correlate(Lead, score)
        .exists(),
    )
    fresh = (
        select(score.c.id)
        .where(
            score.c.lead_id == Lead.id,
            score.c.kind == kind,
            score.c.model_id == model_id,
            score.c.computed_on >= Lead.modified_on,
            score.c.computed_on >= changed,
            ~touched,
        )
        .correlate(Lead)
        .exists()
    )
    return ~fresh


def rescore(
    factory: sessionmaker[Session],
    changed_only: bool = True,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> Summary:
    """Scores the open leads (those that changed since their scores, with changed_only) by both kinds."""
    with _lease(factory, LEASE_KEY) as held:
        if not held:
            return Summary(0, None, None, busy=True)
        with factory() as session:
            scorers = _scorers(session)
            _drop_orphans(session, scorers)
            session.commit()
            if scorers.rule is None and scorers.predictor is None:
                return Summary(0, None, None)
            condition: Any = Lead.statecode == OPEN
            if changed_only:
                stale = [
                    _stale("rule", scorers.rule.model_id, scorers.rule_changed)
                    if scorers.rule and scorers.rule_changed
                    else None,
                    _stale("predictive", scorers.predictive_id, scorers.predictive_changed)
                    if scorers.predictor and scorers.predictive_id and scorers.predictive_changed
                    else None,
                ]
                wanted = [s for s in stale if s is not None]
                condition = and_(condition, or_(*wanted) if wanted else false())
            ids = list(session.scalars(select(Lead.id).where(condition).order_by(Lead.id)))
            done = 0
            if progress:
                progress(0, len(ids))
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                _score_batch(session, scorers, chunk, now or utcnow())
                session.commit()
                done += len(chunk)
                if progress:
                    progress(done, len(ids))
            rule_id = scorers.rule.model_id if scorers.rule else None
            return Summary(len(ids), rule_id, scorers.predictive_id if scorers.predictor else None)


def _drop_orphans(session: Session, scorers: _Scorers) -> None:
    """Without an active scoring model (or a predictive one), open leads keep no score of that kind: a score
    from a model switched off would mislead."""
    open_leads = select(Lead.id).where(Lead.statecode == OPEN)
    for kind, active in (("rule", scorers.rule), ("predictive", scorers.predictive_id)):
        if active is None:
            session.execute(delete(LeadScore).where(LeadScore.kind == kind, LeadScore.lead_id.in_(open_leads)))


def _score_batch(session: Session, scorers: _Scorers, ids: list[uuid.UUID], now: datetime) -> None:
    leads = list(session.scalars(select(Lead).where(Lead.id.in_(ids)).order_by(Lead.id)))
    facts = lead_facts.gather(session, leads, now)
    results: dict[str, list[Scored]] = {}
    model_ids: dict[str, uuid.UUID | None] = {}
    if scorers.rule is not None:
        results["rule"] = [scorers.rule.score(f) for f in facts]
        model_ids["rule"] = scorers.rule.model_id
    if scorers.predictor is not None:
        results["predictive"] = scorers.predictor.score([features.row(f) for f in facts])
        model_ids["predictive"] = scorers.predictive_id
    existing = {(s.lead_id, s.kind): s for s in session.scalars(select(LeadScore).where(LeadScore.lead_id.in_(ids)))}
    for kind, scored in results.items():
        for lead, result in zip(leads, scored, strict=True):
            row = existing.get((lead.id, kind))
            if row is None:
                row = LeadScore(id=uuid.uuid4(), lead_id=lead.id, kind=kind)
                session.add(row)
            row.model_id, row.score, row.grade = model_ids[kind], result.score, result.grade
            row.factors, row.computed_on = result.factors, now
    session.flush()
