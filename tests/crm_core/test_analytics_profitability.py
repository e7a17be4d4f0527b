"""Profitability per customer on a crafted month: revenue from invoices, the cost of the time spent on the
customer's cases and service activities at each resource's hourly rate, and campaign costs shared among the
customers each campaign reached."""

from datetime import timedelta
from decimal import Decimal
from typing import Any

from tests.api import problem
from tests.crm_core.analytics_data import NOW, Seed
from tests.org import OrgBuilder, TestUser


def profit(client: Any, user: TestUser, **params: Any) -> dict[str, dict[str, Any]]:
    r = client.get("/api/v1/analytics/profitability", params=params, headers=user.headers)
    assert r.status_code == 200, r.text
    return {c["customer_name"]: c for c in r.json()["customers"]}


def test_revenue_less_service_and_campaign_costs(
    client: Any, org: OrgBuilder, admin: TestUser, session_factory: Any
) -> None:
    seed = Seed(session_factory, admin)
    alice = org.user("alice@example.com", ["Customer Service Representative"])
    bob = org.user("bob@example.com", ["Customer Service Representative"])
    carl = org.user("carl@example.com", ["Customer Service Representative"])  # no resource: not costed
    seed.resource(alice, "60")
    bobs = seed.resource(bob, "0")
    r = client.patch(f"/api/v1/resources/{bobs}", json={"hourly_cost_rate": "90"}, headers=admin.headers)
    assert r.status_code == 200 and Decimal(r.json()["hourly_cost_rate"]) == 90, r.text
    problem(client.patch(f"/api/v1/resources/{bobs}", json={"hourly_cost_rate": "-1"}, headers=admin.headers), 422)
    contoso, fabrikam = ("account", seed.account("Contoso")), ("account", seed.account("Fabrikam"))
    dana = ("contact", seed.contact("Dana Buyer"))

    seed.invoice(contoso, "10000", 5, tax="1900")  # revenue is before tax
    seed.invoice(contoso, "2000", 20, statecode=2)
    seed.invoice(contoso, "5000", 6, statecode=3)  # canceled
    seed.invoice(contoso, "7000", 45)  # before the period

    case = ("case", seed.case(contoso))
    seed.work(case, 90, 3, owner=alice)  # 1.5 h x 60 = 90
    seed.work(case, 40, 4, owner=bob)  # 40 min x 90/h = 60
    seed.work(case, 60, 4, owner=carl)  # no rate: 0
    seed.work(case, 600, 4, owner=alice, statecode=2)  # canceled: not work done
    seed.work(case, 600, 4, owner=alice, statecode=0)  # still open
    seed.work(case, 600, 50, owner=alice)  # before the period
    seed.work(contoso, 30, 2, owner=alice, service_activity=True)  # on site for the customer himself: 30

    spring = seed.campaign("Spring", "900", ended=(NOW - timedelta(days=7)).date())
    seed.response(spring, contoso)
    seed.response(spring, contoso)  # reached twice: one share
    seed.response(spring, fabrikam)
    seed.response(spring, ("account", seed.account("Nobody")), statecode=2)  # canceled response
    seed.lead_won(spring, dana, "400")  # bought from the campaign
    old = seed.campaign("Old", "5000", ended=(NOW - timedelta(days=90)).date())
    seed.response(old, contoso)

    start = (NOW - timedelta(days=29)).date().isoformat()
    got = profit(client, admin, **{"from": start, "to": NOW.date().isoformat()})
    figures = {name: (c["revenue"], c["service_cost"], c["campaign_cost"], c["margin"]) for name, c in got.items()}
    assert figures == {
        "Contoso": ("12000.00", "180.00", "300.00", "11520.00"),
        "Fabrikam": ("0.00", "0.00", "300.00", "-300.00"),
        "Dana Buyer": ("0.00", "0.00", "300.00", "-300.00"),
    }
    assert next(iter(got)) == "Contoso"  # the most profitable first
    assert got["Dana Buyer"]["customer_type"] == "contact"

    # The default period is the last 365 days: the older invoice, work and campaign count too.
    year = profit(client, admin)["Contoso"]
    assert (year["revenue"], year["service_cost"], year["campaign_cost"]) == ("19000.00", "780.00", "5300.00")
    problem(
        client.get(
            "/api/v1/analytics/profitability", params={"from": "2026-02-01", "to": "2026-01-01"}, headers=admin.headers
        ),
        422,
        "from",
    )


def test_a_salesperson_sees_his_units_customers_only(
    client: Any, org: OrgBuilder, admin: TestUser, session_factory: Any
) -> None:
    seed = Seed(session_factory, admin)
    north = org.unit("North")
    sam = org.user("sam@example.com", ["Salesperson"], north)
    seed.invoice(("account", seed.account("Head office customer")), "100", 2)
    mine = ("account", seed.account("North customer", owner=sam))
    seed.invoice(mine, "250", 2, owner=sam)
    assert {n: c["revenue"] for n, c in profit(client, sam).items()} == {"North customer": "250.00"}
    assert set(profit(client, admin)) == {"Head office customer", "North customer"}
