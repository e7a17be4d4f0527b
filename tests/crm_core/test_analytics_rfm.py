"""RFM segments: five customers crafted so that each dimension ranks them apart, scored by quintile and named;
canceled invoices, invoiced orders and old purchases left out; a segment made into a static marketing list."""

from typing import Any

import pytest

from crm_core.analytics.rfm import quintile_scores, segment_of
from tests.api import problem
from tests.crm_core.analytics_data import Seed
from tests.org import OrgBuilder, TestUser


@pytest.fixture
def shop(org: OrgBuilder, admin: TestUser, session_factory: Any) -> dict[str, Any]:
    seed = Seed(session_factory, admin)
    ace, newbie = ("account", seed.account("Ace Corp")), ("account", seed.account("Newbie Ltd"))
    steady, slipping = ("account", seed.account("Steady Inc")), ("account", seed.account("Slipping plc"))
    gone = ("contact", seed.contact("Gina Gone"))
    for days in (1, 30, 60, 90, 120):  # 5 purchases, 5000 before tax
        seed.invoice(ace, "1000", days, statecode=2 if days > 1 else 0, tax="200")
    seed.invoice(newbie, "3000", 10, statecode=2)  # one large purchase, recently
    for days in (40, 80, 120, 160):
        seed.invoice(steady, "500", days)
    seed.invoice(slipping, "500", 150)
    seed.order(slipping, "500", 200, statecode=1)  # submitted, not invoiced yet: a purchase
    seed.invoice(slipping, "500", 250, statecode=2)
    seed.invoice(slipping, "9999", 160, statecode=3)  # canceled: not a purchase
    seed.order(slipping, "9999", 170, statecode=4)  # invoiced: counted through its invoice only
    seed.order(slipping, "9999", 175, statecode=2)  # canceled
    seed.invoice(slipping, "9999", 400)  # outside the window
    seed.invoice(gone, "100", 300)
    seed.invoice(gone, "100", 320)
    return {"ace": ace, "newbie": newbie, "steady": steady, "slipping": slipping, "gone": gone}


def rfm(client: Any, user: TestUser, **params: Any) -> dict[str, Any]:
    r = client.get("/api/v1/analytics/rfm", params=params, headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_quintiles_and_segment_rules() -> None:
    assert quintile_scores([40, 10, 30, 20, 50]) == [4, 1, 3, 2, 5]
    assert quintile_scores([10, 10, 20, 30, 40]) == [1, 1, 3, 4, 5]  # equal values share the lower score
    assert quintile_scores(list(range(10))) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quintile_scores([7]) == [1]
    assert [
        segment_of(*s) for s in ((5, 5, 5), (4, 1, 5), (3, 3, 3), (3, 1, 2), (1, 5, 5), (2, 4, 3), (2, 1, 2), (1, 2, 1))
    ] == ["champions", "new", "loyal", "potential-loyalists", "cannot-lose-them", "at-risk", "hibernating", "lost"]


def test_customers_scored_by_quintile_and_named(client: Any, admin: TestUser, shop: dict[str, Any]) -> None:
    body = rfm(client, admin, window_days=365)
    rows = {c["customer_name"]: c for c in body["customers"]}
    assert set(rows) == {"Ace Corp", "Newbie Ltd", "Steady Inc", "Slipping plc", "Gina Gone"}
    got = {
        name: (c["recency_days"], c["frequency"], c["monetary"], c["r"], c["f"], c["m"], c["segment"])
        for name, c in rows.items()
    }
    assert got == {
        "Ace Corp": (1, 5, "5000.00", 5, 5, 5, "champions"),
        "Newbie Ltd": (10, 1, "3000.00", 4, 1, 4, "new"),
        "Steady Inc": (40, 4, "2000.00", 3, 4, 3, "loyal"),
        "Slipping plc": (150, 3, "1500.00", 2, 3, 2, "at-risk"),
        "Gina Gone": (300, 2, "200.00", 1, 2, 1, "lost"),
    }
    assert rows["Gina Gone"]["customer_type"] == "contact"
    assert rows["Ace Corp"]["customer_id"] == str(shop["ace"][1])
    assert body["customers"][0]["customer_name"] == "Ace Corp"  # best first
    sizes = {s["name"]: s["customers"] for s in body["segments"]}
    assert sizes == {
        "champions": 1,
        "new": 1,
        "loyal": 1,
        "potential-loyalists": 0,
        "cannot-lose-them": 0,
        "at-risk": 1,
        "hibernating": 0,
        "lost": 1,
    }

    recent = {c["customer_name"]: c["frequency"] for c in rfm(client, admin, window_days=100)["customers"]}
    assert recent == {"Ace Corp": 4, "Newbie Ltd": 1, "Steady Inc": 2}
    problem(client.get("/api/v1/analytics/rfm", params={"window_days": 0}, headers=admin.headers), 422)


def test_segment_becomes_a_static_marketing_list(client: Any, admin: TestUser, shop: dict[str, Any]) -> None:
    r = client.post(
        "/api/v1/analytics/rfm/segments/champions/marketing-list",
        json={"member_type": "account"},
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["member_type"], made["members"]) == ("account", 1)
    assert made["name"].startswith("RFM Champions (accounts")
    members = client.get(f"/api/v1/marketing-lists/{made['list_id']}/members", headers=admin.headers).json()
    assert [m["name"] for m in members["items"]] == ["Ace Corp"]
    lst = client.get(f"/api/v1/marketing-lists/{made['list_id']}", headers=admin.headers).json()
    assert lst["is_dynamic"] is False

    r = client.post(
        "/api/v1/analytics/rfm/segments/lost/marketing-list",
        json={"member_type": "contact", "name": "Win back"},
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    assert (r.json()["name"], r.json()["members"]) == ("Win back", 1)
    problem(
        client.post(
            "/api/v1/analytics/rfm/segments/new/marketing-list", json={"member_type": "contact"}, headers=admin.headers
        ),
        422,
        "member_type",
    )
    problem(client.post("/api/v1/analytics/rfm/segments/whales/marketing-list", headers=admin.headers), 404)


def test_only_what_the_caller_may_read(
    client: Any, org: OrgBuilder, admin: TestUser, shop: dict[str, Any], session_factory: Any
) -> None:
    elsewhere = org.user("sam@example.com", ["Salesperson"], org.unit("Far away"))
    assert rfm(client, elsewhere)["customers"] == []
    seed = Seed(session_factory, elsewhere)
    mine = ("account", seed.account("Sam's customer"))
    seed.invoice(mine, "50", 3)
    assert [c["customer_name"] for c in rfm(client, elsewhere)["customers"]] == ["Sam's customer"]
    assert len(rfm(client, admin)["customers"]) == 6
