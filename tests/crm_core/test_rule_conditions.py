"""A rule's conditions and offsets mean what they say: values compared as the column's type (money as numbers,
dates as dates, text ignoring case), empty fields handled, and a definition's mistakes named at save."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from crm_core.automation import conditions as cond
from crm_core.automation.durations import parse_duration
from crm_core.errors import ValidationFailed
from crm_core.models import Lead, Opportunity

LEAD = cond.columns(Lead)
OPPORTUNITY = cond.columns(Opportunity)


def _lead(**values: object) -> SimpleNamespace:
    return SimpleNamespace(**{name: values.get(name) for name in LEAD})


def test_values_are_compared_as_the_columns_type() -> None:
    tree = cond.check(
        {
            "all": [
                {"field": "estimated_amount", "op": "ge", "value": "10000"},
                {"field": "company_name", "op": "contains", "value": "CORP"},
                {"field": "lead_quality_code", "op": "in", "value": [1, "2"]},
            ]
        },
        LEAD,
    )
    assert tree["all"][0]["value"] == "10000"  # stored as JSON of a Decimal
    assert cond.evaluate(
        tree, LEAD, _lead(estimated_amount=Decimal("25000.50"), company_name="Mega Corp", lead_quality_code=2)
    )
    assert not cond.evaluate(
        tree, LEAD, _lead(estimated_amount=Decimal("9999.99"), company_name="Mega Corp", lead_quality_code=1)
    )
    assert not cond.evaluate(tree, LEAD, _lead(estimated_amount=None, company_name="Mega Corp", lead_quality_code=1))


def test_dates_empty_fields_and_any() -> None:
    tree = cond.check(
        {
            "any": [
                {"field": "estimated_close_date", "op": "lt", "value": "2026-12-01"},
                {"field": "estimated_value", "op": "is_null", "value": True},
            ]
        },
        OPPORTUNITY,
    )
    row = {name: None for name in OPPORTUNITY}
    assert cond.evaluate(tree, OPPORTUNITY, SimpleNamespace(**row))  # no value: is_null holds
    row.update(estimated_value=Decimal(1), estimated_close_date=date(2026, 11, 30))
    assert cond.evaluate(tree, OPPORTUNITY, SimpleNamespace(**row))
    row.update(estimated_close_date=date(2027, 1, 1))
    assert not cond.evaluate(tree, OPPORTUNITY, SimpleNamespace(**row))
    created = {"field": "created_on", "op": "ge", "value": "2026-11-24T10:00:00Z"}
    assert cond.holds(cond.check(created, LEAD), LEAD["created_on"], datetime(2026, 11, 24, 11, tzinfo=UTC))
    assert cond.holds(cond.check(created, LEAD), LEAD["created_on"], "2026-11-24T12:00:00+00:00")  # as audited


@pytest.mark.parametrize(
    ("tree", "field"),
    [
        ({"field": "nope", "op": "eq", "value": 1}, "conditions.field"),
        ({"field": "subject", "op": "like", "value": "x"}, "conditions.op"),
        ({"field": "estimated_amount", "op": "gt", "value": "lots"}, "conditions.value"),
        ({"field": "estimated_amount", "op": "contains", "value": "1"}, "conditions.op"),
        ({"field": "parent_account_id", "op": "gt", "value": "00000000-0000-0000-0000-000000000000"}, "conditions.op"),
        ({"all": []}, "conditions.all"),
        ({"all": [{"field": "subject", "op": "eq"}]}, "conditions.all[0].value"),
    ],
)
def test_mistakes_are_named(tree: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        cond.check(tree, LEAD)
    assert caught.value.extra["errors"][0]["field"] == field


def test_offsets_are_iso_8601_durations_without_months() -> None:
    assert parse_duration("-P1D") == timedelta(days=-1)
    assert parse_duration("P1W") == timedelta(weeks=1)
    assert parse_duration("p2dt30m") == timedelta(days=2, minutes=30)
    for wrong in ("P", "PT", "P1M", "P1Y", "1 day", "P1DT", None):
        with pytest.raises(ValueError):
            parse_duration(wrong)
