"""The predictive model's inputs, made from a lead's facts: a few categories (source, industry, rating, kind of
email address) and counts (recent activities, replies, campaign responses, company size). Counts enter as
log(1 + n), since the tenth reply says less than the first; the raw values are kept to explain a score.

The lead's age is left out on purpose: the history is seen as of each lead's closing, when it was weeks old,
while the leads scored are mostly days old, so the model would extrapolate on it (rules may still use it)."""

import math
from dataclasses import dataclass
from typing import Any

from crm_core.scoring import vocabulary
from crm_core.scoring.facts import LeadFacts

CATEGORIES = ("lead_source", "industry", "rating", "email_kind")
COUNTS = (
    "has_company",
    "activities_30d",
    "replies_30d",
    "campaign_responses_90d",
    "company_size",
)
COLUMNS = (*CATEGORIES, *COUNTS)

LABELS = {
    "lead_source": "Lead source",
    "industry": "Industry",
    "rating": "Rating",
    "email_kind": "Email address",
    "has_company": "Company named",
    "activities_30d": "Activities in the last 30 days",
    "replies_30d": "Email replies in the last 30 days",
    "campaign_responses_90d": "Campaign responses in the last 90 days",
    "company_size": "Company size (employees)",
}
UNKNOWN = "(none)"


@dataclass(frozen=True)
class Row:
    """One lead's inputs: `values` in COLUMNS order as the model takes them, `shown` as people read them."""

    values: tuple[Any, ...]
    shown: dict[str, str]


def row(facts: LeadFacts) -> Row:
    f = facts.fields
    categories = {
        "lead_source": _option("lead_source_code", f.get("lead_source_code")),
        "industry": _option("industry_code", f.get("industry_code")),
        "rating": _option("lead_quality_code", f.get("lead_quality_code")),
        "email_kind": str(f.get("email_domain_kind") or "none"),
    }
    counts = {
        "has_company": int(bool(f.get("has_company"))),
        "activities_30d": facts.count("activities", 30),
        "replies_30d": facts.count("replies", 30),
        "campaign_responses_90d": facts.count("campaign_responses", 90),
        "company_size": int(f.get("number_of_employees") or 0),
    }
    values = (*(categories[c] for c in CATEGORIES), *(math.log1p(max(0, counts[c])) for c in COUNTS))
    shown = {
        **categories,
        **{c: ("yes" if counts[c] else "no") if c == "has_company" else str(counts[c]) for c in COUNTS},
    }
    return Row(values, shown)


def _option(field: str, value: Any) -> str:
    return UNKNOWN if value is None else vocabulary.option_label(field, value)


def factor_label(feature: str, shown: str) -> str:
    return f"{LABELS.get(feature, feature)}: {shown}"
