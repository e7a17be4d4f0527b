"""The dashboards page (/dashboards/) in headless Chromium, against the app served for real: an administrator's
token opens it, and the charts plotly.js drew hold the API's figures; a hostile campaign name stays text; a
salesperson sees his unit's pipeline only. Screenshots under var/test-artifacts/dashboards/<test>/."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.browser import Shot, chromium_tab, screenshots
from tests.crm_core.analytics_data import NOW, Seed
from tests.live_server import LiveServer
from tests.org import OrgBuilder, TestUser

WAIT_MS = 60_000
HOSTILE = "<img src=x onerror=\"document.title='pwned'\">"
TRACES = """() => Object.fromEntries([...document.querySelectorAll('.js-plotly-plot')].map(el => [el.id,
    el.data.map(t => ({type: t.type, name: t.name, x: t.x, y: t.y, labels: t.labels, values: t.values}))]))"""


@pytest.fixture
def page() -> Iterator[Any]:
    with chromium_tab({"width": 1300, "height": 1000}, WAIT_MS, csp_errors=True) as tab:
        yield tab


@pytest.fixture
def shot(page: Any, request: pytest.FixtureRequest) -> Shot:
    return screenshots(page, "dashboards", request.node.name)


def test_the_page_is_served_without_data_and_locked_to_its_own_origin(client: Any) -> None:
    redirect = client.get("/dashboards", follow_redirects=False)
    assert redirect.status_code == 308 and redirect.headers["location"] == "dashboards/"
    page = client.get("/dashboards/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy and "connect-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy  # plotly's two styles by hash only
    assert "http" not in page.text  # nothing fetched from elsewhere
    for name in ("dashboards.js", "api.js", "charts.js", "dashboards.css"):
        asset = client.get(f"/dashboards/{name}")
        assert asset.status_code == 200, name
        assert "innerHTML" not in asset.text and "insertAdjacentHTML" not in asset.text and "://" not in asset.text
    plotly = client.get("/dashboards/plotly.min.js")
    assert plotly.status_code == 200 and plotly.headers["content-type"].startswith("text/javascript")
    assert b"plotly.js" in plotly.content[:2000]
    assert client.get("/dashboards/..%2Fpage_route.py").status_code == 404


def seed_figures(seed: Seed, sam: TestUser, sue: TestUser) -> None:
    qualify, propose = seed.process("Standard", [("Qualify", 20), ("Propose", 60)])
    north = ("account", seed.account("Northwind", owner=sam))
    south = ("account", seed.account("Southwind", owner=sue))
    closes = (NOW + timedelta(days=40)).date()
    seed.opportunity(north, "1000", owner=sam, stage_id=qualify, probability=20, closes=closes)
    seed.opportunity(south, "3000", owner=sue, stage_id=propose, probability=60, closes=closes)
    seed.opportunity(north, "500", owner=sam, statecode=1, actual_value="500", closed=NOW.date())
    support, gold = seed.queue("Support"), seed.sla("Gold")
    urgent = seed.case(north, priority=1, queue_id=support, sla_id=gold, owner=sam)
    seed.kpi(urgent, gold, "first_response", 0, warning_in_h=-1, failure_in_h=1)  # nearing noncompliance
    seed.kpi(urgent, gold, "resolve", 0, warning_in_h=5, failure_in_h=8)  # in progress
    seed.case(south, priority=2, queue_id=support, owner=sue)
    seed.case(south, priority=3, owner=sue)
    campaign = seed.campaign(HOSTILE, "600")
    seed.response(campaign, north)
    seed.response(campaign, south)
    seed.lead_won(campaign, north, "2000")


def open_dashboards(page: Any, server: LiveServer, token: str) -> dict[str, Any]:
    from playwright.sync_api import expect

    page.goto(f"{server.url}/dashboards#token={token}")
    expect(page.locator("body")).to_have_attribute("data-state", "ready")
    expect(page.locator("#chart-campaign-cost .main-svg").first).to_be_visible()
    assert "token" not in page.url  # the token left the address bar
    return page.evaluate(TRACES)  # type: ignore[no-any-return]


def test_an_admin_sees_the_figures_as_charts(
    live_server: LiveServer, org: OrgBuilder, admin: TestUser, session_factory: Any, page: Any, shot: Shot
) -> None:
    sam = org.user("sam@example.com", ["Salesperson"], org.unit("North"))
    sue = org.user("sue@example.com", ["Salesperson"], org.unit("South"))
    seed_figures(Seed(session_factory, admin), sam, sue)

    charts = open_dashboards(page, live_server, admin.token)
    shot("admin")
    stage = charts["chart-pipeline-stage"]
    assert stage[0]["x"] == ["Standard: Qualify", "Standard: Propose"] and stage[0]["y"] == [1000, 3000]
    assert stage[1]["y"] == [200, 1800]  # weighted by the stage's probability
    owners = charts["chart-pipeline-owner"][0]
    assert dict(zip(owners["x"], owners["y"], strict=True)) == {"Sue": 3000, "Sam": 1000}
    forecast = charts["chart-forecast"][0]
    assert forecast["x"] == [(NOW + timedelta(days=40)).strftime("%Y-%m")] and forecast["y"] == [2000]
    assert page.locator("#win-rate").text_content() == "100 %"
    queue = charts["chart-cases-queue"][0]
    assert dict(zip(queue["x"], queue["y"], strict=True)) == {"Support": 2, "(in no queue)": 1}
    priority = charts["chart-cases-priority"][0]
    assert priority["type"] == "pie"
    assert dict(zip(priority["labels"], priority["values"], strict=True)) == {"High": 1, "Normal": 1, "Low": 1}
    assert page.locator("#open-cases").text_content() == "3"
    sla = {t["name"]: dict(zip(t["x"], t["y"], strict=True)) for t in charts["chart-cases-sla"]}
    assert sla == {
        "Nearing Noncompliance": {"first response": 1, "resolve": 0},
        "In Progress": {"first response": 0, "resolve": 1},
    }
    per_response, per_won = charts["chart-campaign-cost"]
    assert (per_response["y"], per_won["y"]) == ([300], [600])
    # The hostile campaign name is a label, shown as the text it is: no element made of it, no script run.
    assert per_response["x"] == [HOSTILE.replace("<", "&lt;")]
    assert HOSTILE in page.locator("#chart-campaign-cost").text_content()
    assert page.locator("#chart-campaign-cost img").count() == 0 and page.title() != "pwned"
    assert charts["chart-mail-tracked"] == []  # no mailbox yet: an empty chart, not an error


def test_a_salesperson_sees_his_units_pipeline(
    live_server: LiveServer, org: OrgBuilder, admin: TestUser, session_factory: Any, page: Any, shot: Shot
) -> None:
    sam = org.user("sam@example.com", ["Salesperson"], org.unit("North"))
    sue = org.user("sue@example.com", ["Salesperson"], org.unit("South"))
    seed_figures(Seed(session_factory, admin), sam, sue)

    charts = open_dashboards(page, live_server, sam.token)
    shot("salesperson")
    assert charts["chart-pipeline-stage"][0]["x"] == ["Standard: Qualify"]
    assert charts["chart-pipeline-owner"][0]["x"] == ["Sam"]
    assert charts["chart-cases-queue"][0]["y"] == [1]
