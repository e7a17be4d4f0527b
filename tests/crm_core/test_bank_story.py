"""The demo's bank story, end to end through the API, as the people of the organisation live it.

Marketing runs a campaign; Woodgrove Bank's head of procurement answers it. The response becomes a lead,
sales qualifies it into an account, a contact and an opportunity, which is won through a quote; the order
is fulfilled and invoiced, and the invoice paid. The bank buys a support contract. Months later its contact
raises a case: the routing rule sends it to the support queue, its SLA clocks start in business hours, an
agent picks it, answers in time and resolves it against the contract line, whose allotment goes down."""

from typing import Any

from tests.api import created
from tests.org import OrgBuilder, TestUser

API = "/api/v1"


def post(client: Any, user: TestUser, path: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
    r = client.post(f"{API}/{path}", json=body, headers=user.headers)
    assert r.status_code == status, r.text
    return r.json() if r.content else None


def get(client: Any, user: TestUser, path: str, **params: Any) -> Any:
    r = client.get(f"{API}/{path}", params=params, headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()


def _catalogue(client: Any, admin: TestUser) -> tuple[dict[str, Any], dict[str, Any]]:
    """Sales operations' set-up: a product on a published price list."""
    group = created(client, admin, "unit-groups", {"name": "Licences", "base_unit_name": "Seat"})
    product = created(client, admin, "products", {
        "name": "Mailbox CRM seat", "product_number": "CRM-SEAT", "unit_group_id": group["id"],
        "default_unit_id": group["units"][0]["id"], "currency_code": "USD", "list_price": "40.00",
    })
    post(client, admin, f"products/{product['id']}/publish")
    prices = created(client, admin, "price-lists", {"name": "2026 list", "currency_code": "USD"})
    created(client, admin, f"price-lists/{prices['id']}/items", {
        "product_id": product["id"], "unit_id": group["units"][0]["id"], "amount": "36.00"})
    return product, prices


def _service_setup(client: Any, admin: TestUser) -> dict[str, Any]:
    """Customer service's set-up: a queue, a routing rule, business hours open every day, and a default SLA."""
    queue = created(client, admin, "queues", {"name": "Banking support", "email_address": "banks@contoso.example"})
    rule = created(client, admin, "routing-rules", {"name": "Service routing", "items": [{
        "name": "Banks to banking support", "queue_id": queue["id"],
        "conditions": {"field": "title", "op": "contains", "value": "statement"}}]})
    post(client, admin, f"routing-rules/{rule['id']}/activate")
    # Open every hour of every day, so that the due times are exact whatever day the test runs on.
    hours = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]
    calendar = created(client, admin, "business-calendars", {"name": "Always open", "time_zone": "UTC",
                                                             "hours": hours})
    sla = created(client, admin, "slas", {
        "name": "Standard support", "business_calendar_id": calendar["id"], "is_default": True,
        "items": [{"name": "Answer within 4 hours", "kpi": "first_response", "warn_after_minutes": 180,
                   "failure_after_minutes": 240},
                  {"name": "Resolve within 2 days", "kpi": "resolve", "warn_after_minutes": 2400,
                   "failure_after_minutes": 2880}]})
    post(client, admin, f"slas/{sla['id']}/activate")
    return {"queue": queue, "sla": sla}


def test_the_bank_from_campaign_response_to_a_case_resolved_under_contract(client, org: OrgBuilder) -> None:
    admin = org.admin()
    marketer = org.user("mia@contoso.example", ["Salesperson"])
    rep = org.user("sam@contoso.example", ["Sales Manager"])
    agent = org.user("ada@contoso.example", ["Customer Service Representative"])
    product, prices = _catalogue(client, admin)
    service = _service_setup(client, admin)

    # Marketing: a campaign, and the bank's answer to it.
    campaign = created(client, marketer, "campaigns", {"name": "Banking 2026", "currency_code": "USD"})
    response = created(client, marketer, "campaign-responses", {
        "campaign_id": campaign["id"], "subject": "Wants a demo for 300 advisers", "response_code": 1,
        "channel_type_code": 1, "company_name": "Woodgrove Bank", "email_address": "lena.keller@woodgrovebank.com"})
    converted = post(client, marketer, f"campaign-responses/{response['id']}/convert",
                     {"to": "lead", "first_name": "Lena", "last_name": "Keller"})
    lead_id = converted["created"]["id"]
    lead = get(client, marketer, f"leads/{lead_id}")
    assert (lead["campaign_id"], lead["campaign_response_id"]) == (campaign["id"], response["id"])

    # Sales: the sales manager of the unit qualifies the marketer's lead.
    qualified = post(client, rep, f"leads/{lead_id}/qualify", {
        "create_account": True, "create_contact": True, "currency_code": "USD",
        "opportunity_name": "300 seats for Woodgrove"})
    account_id, contact_id, opportunity_id = (qualified["account_id"], qualified["contact_id"],
                                              qualified["opportunity_id"])
    assert get(client, rep, f"accounts/{account_id}")["originating_lead_id"] == lead_id
    assert get(client, rep, f"leads/{lead_id}")["qualifying_opportunity_id"] == opportunity_id

    # A quote for 300 seats, activated and won: the order follows, is fulfilled, invoiced and paid.
    quote = created(client, rep, "quotes", {"name": "Woodgrove seats", "customer_type": "account",
                                            "customer_id": account_id, "price_list_id": prices["id"],
                                            "opportunity_id": opportunity_id})
    created(client, rep, f"quotes/{quote['id']}/lines", {"product_id": product["id"], "quantity": "300"})
    post(client, rep, f"quotes/{quote['id']}/activate")
    won = post(client, rep, f"quotes/{quote['id']}/win")
    order = won["order"]
    assert order["total_amount"] == "10800.0000"  # 300 x 36.00, priced by the server from the list
    fulfilled = post(client, rep, f"orders/{order['id']}/fulfill")
    assert fulfilled["state"] == "Fulfilled"
    invoice = post(client, rep, f"orders/{order['id']}/invoice")["invoice"]
    assert invoice["total_amount"] == order["total_amount"]
    assert post(client, rep, f"invoices/{invoice['id']}/paid")["state"] == "Paid"
    opportunity = post(client, rep, f"opportunities/{opportunity_id}/win", {"actual_revenue": "10800"})
    assert opportunity["state"] == "Won"

    # The bank buys support: ten cases a year.
    template = created(client, admin, "contract-templates", {"name": "Support by case", "abbreviation": "SBC",
                                                             "allotment_type": 1})
    today = _today(client, admin)
    contract = created(client, agent, "contracts", {
        "title": "Woodgrove support 2026", "template_id": template["id"], "customer_type": "account",
        "customer_id": account_id, "active_on": today, "expires_on": f"{int(today[:4]) + 1}{today[4:]}",
        "currency_code": "USD"})
    line = created(client, agent, f"contracts/{contract['id']}/lines", {"title": "Ten cases", "total_allotments": 10,
                                                                       "price": "5000"})
    assert post(client, agent, f"contracts/{contract['id']}/invoice")["state"] == "Active"

    # Later: the contact writes in. The case form offers the bank's contract; the case is routed and timed.
    offered = get(client, agent, "contracts/available", customer_type="contact", customer_id=contact_id)
    assert [(c["contract_id"], [ln["id"] for ln in c["lines"]]) for c in offered] == [(contract["id"], [line["id"]])]
    case = created(client, agent, "cases", {
        "title": "Wrong statement totals for March", "customer_type": "contact", "customer_id": contact_id,
        "origin_code": 2, "contract_id": contract["id"], "contract_line_id": line["id"]})
    assert case["queue_id"] == service["queue"]["id"]
    assert case["sla_id"] == service["sla"]["id"]
    kpis = {k["kpi"]: k for k in get(client, agent, f"cases/{case['id']}/sla-kpis")}
    assert {k: v["status"] for k, v in kpis.items()} == {"first_response": "In Progress", "resolve": "In Progress"}

    # An agent picks it from the queue and answers by email: the first response KPI succeeds.
    item = get(client, agent, f"queues/{service['queue']['id']}/items")["items"][0]
    post(client, agent, f"queue-items/{item['id']}/pick")
    email = created(client, agent, "activities", {
        "activity_type": "email", "subject": "Re: Wrong statement totals", "direction_outgoing": True,
        "regarding_type": "case", "regarding_id": case["id"],
        "parties": [{"role": "to", "party_type": "contact", "party_id": contact_id}]})
    post(client, agent, f"activities/{email['id']}/complete")
    case = get(client, agent, f"cases/{case['id']}")
    assert case["first_response_sent"] is True
    assert case["first_response_sla_status"] == "Succeeded"

    # Resolved against the contract line: one case of ten used, the resolve KPI met, the queue empty.
    resolved = post(client, agent, f"cases/{case['id']}/resolve", {"subject": "Statement regenerated",
                                                                   "time_spent_minutes": 45})
    assert (resolved["state"], resolved["resolve_by_sla_status"]) == ("Resolved", "Succeeded")
    line = get(client, agent, f"contracts/{contract['id']}/lines")[0]
    assert (line["allotments_used"], line["allotments_remaining"]) == (1, 9)
    assert get(client, agent, f"queues/{service['queue']['id']}/items")["items"] == []
    # The case's trail tells the story: created, routed, timed, answered, resolved.
    actions = {e["action"] for e in get(client, admin, f"cases/{case['id']}/audit")}
    assert {"create", "route", "resolve"} <= actions
    # And the bank's contact has its case, its email and the resolution to show.
    assert [c["id"] for c in get(client, agent, "cases", customer_id=contact_id)["items"]] == [case["id"]]
    assert get(client, agent, f"cases/{case['id']}/resolutions")[0]["allotments_consumed"] == 1


def _today(client: Any, admin: TestUser) -> str:
    """Today's date as the server sees it (UTC), from a record it just stamped."""
    stamp = created(client, admin, "subjects", {"title": "Clock"})["created_on"]
    return str(stamp[:10])
