"""The dashboards' figures (/api/v1/dashboards/sales, /service, /marketing) on crafted records, as an
administrator sees them and as a salesperson whose roles reach his business unit only."""

import uuid
from datetime import date, timedelta
from typing import Any

import pytest

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import CampaignResponseConversion
from tests.crm_core.analytics_data import NOW, Seed
from tests.org import OrgBuilder, TestUser


def board(client: Any, user: TestUser, name: str, **params: Any) -> dict[str, Any]:
    r = client.get(f"/api/v1/dashboards/{name}", params=params, headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def month_ahead(months: int) -> date:
    first = NOW.date().replace(day=1)
    for _ in range(months):
        first = (first + timedelta(days=32)).replace(day=1)
    return first.replace(day=15)


@pytest.fixture
def people(org: OrgBuilder) -> dict[str, TestUser]:
    north, south = org.unit("North"), org.unit("South")
    return {
        "sam": org.user("sam@example.com", ["Salesperson"], north),
        "nora": org.user("nora@example.com", ["Salesperson"], north),
        "sue": org.user("sue@example.com", ["Salesperson"], south),
    }


def test_sales_pipeline_win_rate_and_forecast(
    client: Any, admin: TestUser, people: dict[str, TestUser], session_factory: Any
) -> None:
    seed = Seed(session_factory, admin)
    sam, nora, sue = people["sam"], people["nora"], people["sue"]
    qualify, propose, close = seed.process("Standard", [("Qualify", 10), ("Propose", 50), ("Close", 90)])
    north_customer = ("account", seed.account("Northwind", owner=sam))
    south_customer = ("account", seed.account("Southwind", owner=sue))
    m1, m2 = month_ahead(1), month_ahead(2)
    seed.opportunity(north_customer, "1000", owner=sam, stage_id=qualify, probability=10, closes=m1)
    seed.opportunity(north_customer, "2000", owner=nora, stage_id=propose, probability=50, closes=m1)
    seed.opportunity(north_customer, "500", owner=sam)  # no stage, no probability, no close date
    seed.opportunity(south_customer, "4000", owner=sue, stage_id=close, probability=90, closes=m2)
    today = NOW.date()
    seed.opportunity(
        north_customer, "1500", owner=sam, statecode=1, actual_value="1500", closed=today - timedelta(days=3)
    )
    seed.opportunity(north_customer, "900", owner=nora, statecode=2, closed=today - timedelta(days=5))
    seed.opportunity(
        south_customer, "800", owner=sue, statecode=1, actual_value="800", closed=today - timedelta(days=8)
    )
    seed.opportunity(south_customer, "700", owner=sue, statecode=2, closed=today - timedelta(days=400))

    everything = board(client, admin, "sales")
    assert {r["label"]: (r["count"], r["value"], r["weighted"]) for r in everything["by_stage"]} == {
        "Standard: Qualify": (1, "1000.00", "100.00"),
        "Standard: Propose": (1, "2000.00", "1000.00"),
        "Standard: Close": (1, "4000.00", "3600.00"),
        "(no stage)": (1, "500.00", "0.00"),
    }
    assert [(r["label"], r["value"]) for r in everything["by_owner"]] == [
        ("Sue", "4000.00"),
        ("Nora", "2000.00"),
        ("Sam", "1500.00"),
    ]
    rate = everything["win_rate"]
    assert (rate["won"], rate["lost"], rate["won_value"]) == (2, 1, "2300.00")
    assert rate["rate"] == pytest.approx(2 / 3)
    assert [(r["month"], r["count"], r["value"], r["weighted"]) for r in everything["forecast"]] == [
        (m1.strftime("%Y-%m"), 2, "3000.00", "1100.00"),
        (m2.strftime("%Y-%m"), 1, "4000.00", "3600.00"),
    ]
    older = board(client, admin, "sales", **{"from": (today - timedelta(days=500)).isoformat()})["win_rate"]
    assert (older["won"], older["lost"]) == (2, 2)

    # Sam reads his business unit's opportunities (Salesperson: read at Business Unit depth), not the South's.
    his = board(client, sam, "sales")
    assert {r["label"]: r["value"] for r in his["by_stage"]} == {
        "Standard: Qualify": "1000.00",
        "Standard: Propose": "2000.00",
        "(no stage)": "500.00",
    }
    assert [(r["label"], r["value"]) for r in his["by_owner"]] == [("Nora", "2000.00"), ("Sam", "1500.00")]
    assert (his["win_rate"]["won"], his["win_rate"]["lost"], his["win_rate"]["rate"]) == (1, 1, 0.5)
    assert [r["month"] for r in his["forecast"]] == [m1.strftime("%Y-%m")]
    assert board(client, sue, "sales")["win_rate"]["won_value"] == "800.00"


def test_service_open_cases_by_queue_priority_and_sla(
    client: Any, admin: TestUser, people: dict[str, TestUser], session_factory: Any
) -> None:
    seed = Seed(session_factory, admin)
    sam, sue = people["sam"], people["sue"]
    customer = ("account", seed.account("Contoso"))
    support, billing = seed.queue("Support"), seed.queue("Billing")
    gold = seed.sla("Gold")
    first = seed.case(customer, priority=1, queue_id=support, sla_id=gold, owner=sam)
    second = seed.case(customer, priority=2, queue_id=support, sla_id=gold, owner=sam)
    seed.case(customer, priority=2, queue_id=support, owner=sue)
    seed.case(customer, priority=3, queue_id=billing, owner=sam)
    seed.case(customer, priority=2, owner=sam)  # in no queue
    seed.case(customer, priority=1, queue_id=support, statecode=1, owner=sam)  # resolved: not open
    seed.kpi(first, gold, "first_response", 0, warning_in_h=1, failure_in_h=2)  # in progress
    seed.kpi(first, gold, "resolve", 0, warning_in_h=-1, failure_in_h=1)  # past its warning: nearing
    seed.kpi(second, gold, "first_response", 4, warning_in_h=-5, failure_in_h=-4)  # succeeded
    seed.kpi(second, gold, "resolve", 5, warning_in_h=5, failure_in_h=6, created_days_ago=3)  # superseded
    seed.kpi(second, gold, "resolve", 0, warning_in_h=-2, failure_in_h=-1)  # past its failure: noncompliant

    everything = board(client, admin, "service")
    assert everything["open_cases"] == 5
    assert {r["label"]: r["count"] for r in everything["by_queue"]} == {"Support": 3, "Billing": 1, "(in no queue)": 1}
    assert everything["by_queue"][0]["label"] == "Support"  # the busiest first
    assert {r["label"]: r["count"] for r in everything["by_priority"]} == {"High": 1, "Normal": 3, "Low": 1}
    assert {(r["kpi"], r["status"]): r["count"] for r in everything["by_sla"]} == {
        ("first_response", "In Progress"): 1,
        ("first_response", "Succeeded"): 1,
        ("resolve", "Nearing Noncompliance"): 1,
        ("resolve", "Noncompliant"): 1,
    }

    his = board(client, sam, "service")  # the South's case is not his to see
    assert his["open_cases"] == 4
    assert {r["label"]: r["count"] for r in his["by_queue"]} == {"Support": 2, "Billing": 1, "(in no queue)": 1}
    assert board(client, sue, "service")["open_cases"] == 1


def test_marketing_cost_per_response_and_per_won_deal(
    client: Any, admin: TestUser, people: dict[str, TestUser], session_factory: Any
) -> None:
    seed = Seed(session_factory, admin)
    contoso, fabrikam = ("account", seed.account("Contoso")), ("account", seed.account("Fabrikam"))
    spring = seed.campaign("Spring", "900")
    seed.response(spring, contoso)
    seed.response(spring, contoso)
    seed.response(spring, fabrikam)
    seed.response(spring, fabrikam, statecode=2)  # canceled: not a response
    seed.lead_won(spring, contoso, "5000")
    converted = seed.response(spring, None)
    deal = seed.opportunity(fabrikam, "2500", statecode=1, actual_value="2500", closed=NOW.date())
    with UnitOfWork(session_factory) as uow:
        uow.session.add(CampaignResponseConversion(response_id=converted, target_type="opportunity", target_id=deal))
        uow.commit()
    seed.campaign("Quiet", "100")
    seed.campaign("Sue's", "50")
    Seed(session_factory, people["sue"]).campaign("Southern fair", "300")

    rows = {c["name"]: c for c in board(client, admin, "marketing")["campaigns"]}
    spring_row = rows["Spring"]
    assert (spring_row["cost"], spring_row["responses"], spring_row["won_deals"], spring_row["won_value"]) == (
        "900.00",
        4,
        2,
        "7500.00",
    )
    assert (spring_row["cost_per_response"], spring_row["cost_per_won_deal"]) == ("225.00", "450.00")
    assert (rows["Quiet"]["responses"], rows["Quiet"]["cost_per_response"], rows["Quiet"]["cost_per_won_deal"]) == (
        0,
        None,
        None,
    )
    assert set(rows) == {"Spring", "Quiet", "Sue's", "Southern fair"}
    assert [c["name"] for c in board(client, people["sue"], "marketing")["campaigns"]] == ["Southern fair"]
    assert uuid.UUID(spring_row["campaign_id"])
