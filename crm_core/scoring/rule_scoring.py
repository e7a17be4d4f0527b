"""A lead's rule score: the points of the active scoring model's rules that hold for it, within 0..100, its
grade, and the rules that gave (or took) points, largest first, as its factors."""

from dataclasses import dataclass, field
from typing import Any

from crm_core.models import LeadScoringModel
from crm_core.scoring.facts import LeadFacts
from crm_core.scoring.rule_language import Rule, grade_of, holds, parse_rules


@dataclass(frozen=True)
class Scored:
    score: int
    grade: str | None
    factors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class RuleScorer:
    model_id: Any
    rules: tuple[Rule, ...]
    thresholds: dict[str, int]

    @classmethod
    def of(cls, model: LeadScoringModel) -> "RuleScorer":
        # Stored rules were checked when saved; parsing again gives the typed values back.
        return cls(model.id, tuple(parse_rules(model.rules)), dict(model.grade_thresholds or {}))

    def score(self, facts: LeadFacts) -> Scored:
        matched = [rule for rule in self.rules if holds(rule.condition, facts)]
        total = max(0, min(100, sum(rule.points for rule in matched)))
        factors = [
            {"label": rule.name, "points": rule.points} for rule in sorted(matched, key=lambda r: -abs(r.points))
        ]
        return Scored(total, grade_of(total, self.thresholds), factors)
