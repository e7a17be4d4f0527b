"""Quotes, orders and invoices through the API: lines priced from price lists, totals to the last decimal,
each lifecycle rule, numbers (also under concurrency), locked prices, access and audit."""

import re
import threading
from decimal import Decimal
from typing import Any

import pytest

from crm_core.db.unit_of_work import UnitOfWork
from crm_core.security.principal import load_principal
from crm_core.services.quotes import QuoteService
from tests.api import created, problem
from tests.conftest import BACKEND
from tests.crm_core.test_catalog import item, price_list, product, unit_group, unit_id
from tests.org import TestUser

NUMBER = re.compile(r"^(QUO|ORD|INV)-\d{5}-[A-Z0-9]{6}$")


def shop(client: Any, admin: TestUser) -> dict[str, Any]:
    """A catalogue: widgets (Each 19.99; Dozen at 90 % of a 10.00 list, rounded up to 0.50; two
    decimals allowed), bolts (Each 0.35, whole units only), a draft gadget, and a customer."""
    group = unit_group(client, admin, units={"Dozen": "12"})
    widget = product(client, admin, group, number="W-1", list_price="10.00", quantity_decimal=2)
    bolt = product(client, admin, group, number="B-1", list_price="0.50")
    gadget = product(client, admin, group, number="G-1", publish=False)
    retail = price_list(client, admin)
    item(client, admin, retail, widget, amount="19.99")
    item(client, admin, retail, widget, unit_id=unit_id(group, "Dozen"), pricing_method_code=2, percentage="90",
         rounding_policy_code=2, rounding_option_code=2, rounding_option_amount="0.50")
    item(client, admin, retail, bolt, amount="0.35", quantity_selling_code=2)
    item(client, admin, retail, gadget, amount="1")
    account = created(client, admin, "accounts", {"name": "Contoso"})
    return {"group": group, "widget": widget, "bolt": bolt, "gadget": gadget, "retail": retail,
            "account": account, "each": unit_id(group, "Each"), "dozen": unit_id(group, "Dozen")}


def quote(client: Any, user: TestUser, s: dict[str, Any], **body: Any) -> dict[str, Any]:
    return created(client, user, "quotes", {"name": "Widgets for Contoso", "customer_type": "account",
                                            "customer_id": s["account"]["id"], "price_list_id": s["retail"]["id"],
                                            **body})


def add_line(client: Any, user: TestUser, doc: str, body: dict[str, Any]) -> dict[str, Any]:
    return created(client, user, f"{doc}/lines", body)


def get(client: Any, user: TestUser, url: str) -> dict[str, Any]:
    r = client.get(f"/api/v1/{url}", headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def post(client: Any, user: TestUser, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    r = client.post(f"/api/v1/{url}", json=body, headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


# --- lines and totals --------------------------------------------------------------------------------
def test_lines_are_priced_from_the_price_list_and_totals_computed_exactly(client, admin: TestUser) -> None:
    s = shop(client, admin)
    q = quote(client, admin, s)
    assert q["currency_code"] == "EUR"  # from the price list
    doc = f"quotes/{q['id']}"
    each = add_line(client, admin, doc, {"product_id": s["widget"]["id"], "quantity": "3",
                                         "manual_discount_amount": "5", "tax": "10.99"})
    assert each["unit_id"] == s["each"]  # the product's default unit
    assert (each["price_per_unit"], each["base_amount"], each["extended_amount"]) == ("19.9900", "59.9700", "65.9600")
    assert each["is_price_overridden"] is False and each["is_product_overridden"] is False
    dozen = add_line(client, admin, doc, {"product_id": s["widget"]["id"], "unit_id": s["dozen"], "quantity": "2"})
    assert dozen["price_per_unit"] == "108.0000"  # 10.00 x 12 x 90 % = 108.00, already a multiple of 0.50
    write_in = add_line(client, admin, doc, {"product_description": "Installation", "price_per_unit": "150.25",
                                             "quantity": "1", "tax": "30.05"})
    assert write_in["is_product_overridden"] is True and write_in["unit_id"] is None
    assert [line["line_number"] for line in (each, dozen, write_in)] == [1, 2, 3]

    r = client.patch(f"/api/v1/{doc}", json={"discount_percentage": "2.5", "discount_amount": "10",
                                              "freight_amount": "12.40"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    q = r.json()
    # lines: (59.97 - 5) + 216.00 + 150.25 = 421.22; discounts 5; tax 10.99 + 30.05 = 41.04
    assert q["total_line_item_amount"] == "421.2200"
    assert q["total_line_item_discount_amount"] == "5.0000"
    assert q["total_discount_amount"] == "20.5305"  # 10 + 2.5 % of 421.22 (10.5305)
    assert q["total_amount_less_freight"] == "400.6895"
    assert q["total_tax"] == "41.0400"
    assert q["total_amount"] == "454.1295"  # 400.6895 + 12.40 + 41.04
    assert [line["line_number"] for line in q["lines"]] == [1, 2, 3]

    # Every line change recomputes the header.
    r = client.patch(f"/api/v1/{doc}/lines/{each['id']}", json={"quantity": "4"}, headers=admin.headers)
    assert r.json()["base_amount"] == "79.9600"
    assert get(client, admin, doc)["total_line_item_amount"] == "441.2100"
    assert client.delete(f"/api/v1/{doc}/lines/{write_in['id']}", headers=admin.headers).status_code == 204
    q = get(client, admin, doc)
    assert (q["total_line_item_amount"], q["total_tax"]) == ("290.9600", "10.9900")
    assert [line["id"] for line in get(client, admin, f"{doc}/lines")] == [each["id"], dozen["id"]]


def test_half_cents_round_half_up_once_per_amount(client, admin: TestUser) -> None:
    s = shop(client, admin)
    q = quote(client, admin, s, discount_percentage="33.3333")
    doc = f"quotes/{q['id']}"
    line = add_line(client, admin, doc, {"product_id": s["widget"]["id"], "quantity": "0.01"})
    assert line["base_amount"] == "0.1999"  # 19.99 x 0.01 exactly
    line = add_line(client, admin, doc, {"product_description": "Odd", "price_per_unit": "0.0003", "quantity": "0.5"})
    assert line["base_amount"] == "0.0002"  # 0.00015 -> 0.0002 (half up)
    q = get(client, admin, doc)
    assert q["total_line_item_amount"] == "0.2001"
    assert q["total_discount_amount"] == "0.0667"  # 33.3333 % of 0.2001 = 0.06669996... -> 0.0667
    assert q["total_amount"] == "0.1334"


def test_line_rules_name_the_failing_field(client, admin: TestUser) -> None:
    s = shop(client, admin)
    other = unit_group(client, admin, name="Weight", base="kg")
    q = quote(client, admin, s)
    lines = f"/api/v1/quotes/{q['id']}/lines"
    cases = [
        ({"product_id": s["gadget"]["id"], "quantity": "1"}, "product_id"),  # a draft product is not sold
        ({"product_id": s["bolt"]["id"], "unit_id": s["dozen"], "quantity": "1"}, "product_id"),  # not listed
        ({"product_id": s["bolt"]["id"], "unit_id": unit_id(other, "kg"), "quantity": "1"}, "unit_id"),
        ({"product_id": s["bolt"]["id"], "quantity": "1.5"}, "quantity"),  # whole units only
        ({"product_id": s["widget"]["id"], "quantity": "1.005"}, "quantity"),  # two decimals at most
        ({"product_id": s["widget"]["id"], "quantity": "0"}, "quantity"),
        ({"product_id": s["widget"]["id"], "quantity": "1", "manual_discount_amount": "20"},
         "manual_discount_amount"),
        ({"product_id": s["widget"]["id"], "quantity": "1", "product_description": "x"}, "product_description"),
        ({"product_description": "Service", "quantity": "1"}, "price_per_unit"),
        ({"price_per_unit": "5", "quantity": "1"}, "product_description"),
        ({"product_description": "Service", "price_per_unit": "5", "quantity": "1", "unit_id": s["each"]},
         "unit_id"),
        ({"product_description": "Service", "price_per_unit": "5.00001", "quantity": "1"}, "price_per_unit"),
        ({"product_description": "Service", "price_per_unit": "-1", "quantity": "1"}, "price_per_unit"),
    ]
    for body, field in cases:
        problem(client.post(lines, json=body, headers=admin.headers), 422, field)
    assert get(client, admin, f"quotes/{q['id']}")["lines"] == []
    # Inline lines name their place in the list.
    body = problem(client.post("/api/v1/quotes", json={
        "name": "Q", "customer_type": "account", "customer_id": s["account"]["id"],
        "price_list_id": s["retail"]["id"],
        "lines": [{"product_id": s["widget"]["id"], "quantity": "1"}, {"product_id": s["bolt"]["id"],
                                                                        "quantity": "2.5"}]},
        headers=admin.headers), 422, "lines[1].quantity")
    assert body["detail"].startswith("lines[1].")


def test_overridden_prices_and_documents_without_a_price_list(client, admin: TestUser) -> None:
    s = shop(client, admin)
    q = created(client, admin, "quotes", {"name": "No list", "customer_type": "account",
                                          "customer_id": s["account"]["id"], "currency_code": "EUR"})
    lines = f"/api/v1/quotes/{q['id']}/lines"
    body = problem(client.post(lines, json={"product_id": s["widget"]["id"], "quantity": "1"}, headers=admin.headers),
                   422, "product_id")
    assert "price list" in body["detail"]
    line = add_line(client, admin, f"quotes/{q['id']}", {"product_id": s["widget"]["id"], "quantity": "2",
                                                          "price_per_unit": "17.50"})
    assert (line["is_price_overridden"], line["base_amount"]) == (True, "35.0000")
    # Back to the list price once the quote has a price list.
    client.patch(f"/api/v1/quotes/{q['id']}", json={"price_list_id": s["retail"]["id"]}, headers=admin.headers)
    r = client.patch(f"{lines}/{line['id']}", json={"is_price_overridden": False}, headers=admin.headers)
    assert (r.json()["price_per_unit"], r.json()["base_amount"]) == ("19.9900", "39.9800")


def test_header_rules(client, admin: TestUser) -> None:
    s = shop(client, admin)
    base = {"name": "Q", "customer_type": "account", "customer_id": s["account"]["id"]}
    problem(client.post("/api/v1/quotes", json={"name": "Q", "currency_code": "EUR"}, headers=admin.headers),
            422, "customer_type")
    problem(client.post("/api/v1/quotes", json={**base, "customer_type": "lead", "currency_code": "EUR"},
                        headers=admin.headers), 422, "customer_type")
    problem(client.post("/api/v1/quotes", json={**base, "customer_type": "contact", "currency_code": "EUR"},
                        headers=admin.headers), 422, "customer_id")  # no such contact
    problem(client.post("/api/v1/quotes", json=base, headers=admin.headers), 422, "currency_code")
    problem(client.post("/api/v1/quotes", json={**base, "currency_code": "eur"}, headers=admin.headers),
            422, "currency_code")
    problem(client.post("/api/v1/quotes", json={**base, "currency_code": "USD", "price_list_id": s["retail"]["id"]},
                        headers=admin.headers), 422, "price_list_id")
    problem(client.post("/api/v1/quotes", json={**base, "currency_code": "EUR", "discount_amount": "1"},
                        headers=admin.headers), 422, "discount_amount")  # more than its (no) lines
    problem(client.post("/api/v1/quotes", json={**base, "currency_code": "EUR", "discount_percentage": "101"},
                        headers=admin.headers), 422, "discount_percentage")
    problem(client.post("/api/v1/quotes", json={**base, "currency_code": "EUR", "effective_from": "2025-02-01",
                                                "effective_to": "2025-01-01"}, headers=admin.headers),
            422, "effective_to")
    problem(client.post("/api/v1/quotes", json={**base, "total_amount": "1", "currency_code": "EUR"},
                        headers=admin.headers), 422, "total_amount")  # totals are computed, never given
    old = price_list(client, admin, name="Old")
    client.post(f"/api/v1/price-lists/{old['id']}/deactivate", headers=admin.headers)
    problem(client.post("/api/v1/quotes", json={**base, "price_list_id": old["id"]}, headers=admin.headers),
            422, "price_list_id")

    contact = created(client, admin, "contacts", {"last_name": "Doe"})
    q = quote(client, admin, s, customer_type="contact", customer_id=contact["id"])
    assert (q["customer_type"], q["customer_id"]) == ("contact", contact["id"])
    add_line(client, admin, f"quotes/{q['id']}", {"product_id": s["widget"]["id"], "quantity": "1"})
    problem(client.patch(f"/api/v1/quotes/{q['id']}", json={"currency_code": "USD"}, headers=admin.headers), 409)
    r = client.patch(f"/api/v1/quotes/{q['id']}", json={"customer_type": "account", "customer_id": s["account"]["id"]},
                     headers=admin.headers)
    assert (r.json()["customer_type"], r.json()["customer_id"]) == ("account", s["account"]["id"])
    found = client.get("/api/v1/quotes", params={"customer_id": s["account"]["id"]}, headers=admin.headers).json()
    assert [x["id"] for x in found["items"]] == [q["id"]]
    # A customer with documents cannot be deleted from under them, and the refusal names them.
    body = problem(client.delete(f"/api/v1/accounts/{s['account']['id']}", headers=admin.headers), 409)
    assert {"collection": "quotes", "count": 1, "examples": [q["quote_number"]]} in body["used_by"]


def test_a_new_price_list_reprices_the_lines_that_follow_it(client, admin: TestUser) -> None:
    s = shop(client, admin)
    q = quote(client, admin, s)
    doc = f"quotes/{q['id']}"
    listed = add_line(client, admin, doc, {"product_id": s["widget"]["id"], "quantity": "2"})
    fixed = add_line(client, admin, doc, {"product_id": s["widget"]["id"], "quantity": "1", "price_per_unit": "15"})
    sale = price_list(client, admin, name="Sale")
    item(client, admin, sale, s["widget"], amount="12.00")
    q = client.patch(f"/api/v1/{doc}", json={"price_list_id": sale["id"]}, headers=admin.headers).json()
    prices = {line["id"]: line["price_per_unit"] for line in q["lines"]}
    assert prices == {listed["id"]: "12.0000", fixed["id"]: "15.0000"}
    assert q["total_line_item_amount"] == "39.0000"
    # A price list missing one of the products is refused as a whole.
    bare = price_list(client, admin, name="Bare")
    body = problem(client.patch(f"/api/v1/{doc}", json={"price_list_id": bare["id"]}, headers=admin.headers),
                   422, "price_list_id")
    assert "line 1" in body["detail"]
    assert get(client, admin, doc)["price_list_id"] == sale["id"]


# --- numbers -----------------------------------------------------------------------------------------
def test_numbers_are_unique_and_human_friendly(client, admin: TestUser) -> None:
    s = shop(client, admin)
    first, second = quote(client, admin, s), quote(client, admin, s)
    for q in (first, second):
        assert NUMBER.match(q["quote_number"]), q["quote_number"]
        assert q["revision_number"] == 0
    assert int(second["quote_number"][4:9]) == int(first["quote_number"][4:9]) + 1
    problem(client.patch(f"/api/v1/quotes/{first['id']}", json={"quote_number": "QUO-1"}, headers=admin.headers),
            422, "quote_number")


@pytest.mark.skipif(BACKEND != "postgresql", reason="row locks under real concurrency: PostgreSQL")
def test_concurrent_quotes_get_distinct_numbers(client, admin: TestUser, session_factory) -> None:
    """Threads creating quotes at the same moment, the very first ones included (the counter row does not
    exist yet), each get their own number."""
    s = shop(client, admin)
    values = {"name": "Race", "customer_type": "account", "customer_id": s["account"]["id"], "currency_code": "EUR"}
    threads, per_thread = 4, 5
    start = threading.Barrier(threads)
    numbers: list[str] = []
    errors: list[BaseException] = []

    def create_quotes() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                with UnitOfWork(session_factory, admin.id) as uow:
                    service = QuoteService(uow, load_principal(uow.session, admin.id))
                    numbers.append(service.create(values).quote_number)
        except BaseException as exc:  # collected: an assertion in a thread would be lost
            errors.append(exc)

    workers = [threading.Thread(target=create_quotes) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=60)
    assert not errors, errors
    assert len(numbers) == threads * per_thread
    sequences = sorted(int(n[4:9]) for n in numbers)
    assert sequences == list(range(1001, 1001 + threads * per_thread))


# --- quote lifecycle ---------------------------------------------------------------------------------
def test_quote_lifecycle_activate_revise_win(client, admin: TestUser) -> None:
    s = shop(client, admin)
    q = quote(client, admin, s, discount_amount="0")
    doc = f"quotes/{q['id']}"
    line = add_line(client, admin, doc, {"product_id": s["widget"]["id"], "quantity": "2", "tax": "3"})
    assert (q["state"], q["status"]) == ("Draft", "In Progress")
    problem(client.post(f"/api/v1/{doc}/win", headers=admin.headers), 409)  # a draft is not won
    problem(client.post(f"/api/v1/{doc}/revise", headers=admin.headers), 409)
    active = post(client, admin, f"{doc}/activate")
    assert (active["state"], active["statecode"], active["statuscode"]) == ("Active", 1, 2)
    problem(client.post(f"/api/v1/{doc}/activate", headers=admin.headers), 409)

    # Active: the quote and its lines are read-only.
    body = problem(client.patch(f"/api/v1/{doc}", json={"name": "Changed"}, headers=admin.headers), 409)
    assert "revise" in body["detail"]
    problem(client.post(f"/api/v1/{doc}/lines", json={"product_id": s["widget"]["id"], "quantity": "1"},
                        headers=admin.headers), 409)
    problem(client.patch(f"/api/v1/{doc}/lines/{line['id']}", json={"quantity": "3"}, headers=admin.headers), 409)
    problem(client.delete(f"/api/v1/{doc}/lines/{line['id']}", headers=admin.headers), 409)
    # set-state changes the status reason only; states move through the verbs.
    problem(client.post(f"/api/v1/{doc}/set-state", json={"statecode": 2}, headers=admin.headers), 409)
    assert post(client, admin, f"{doc}/set-state", {"statecode": 1, "statuscode": 3})["status"] == "Open"

    draft = post(client, admin, f"{doc}/revise")
    old = get(client, admin, doc)
    assert (old["state"], old["status"], old["statuscode"]) == ("Closed", "Revised", 7)
    assert old["closed_on"] is not None
    assert draft["id"] != q["id"] and draft["state"] == "Draft"
    assert (draft["quote_number"], draft["revision_number"]) == (q["quote_number"], 1)
    assert [(x["product_id"], x["quantity"], x["price_per_unit"]) for x in draft["lines"]] == [
        (s["widget"]["id"], "2.0000", "19.9900")]
    assert draft["lines"][0]["id"] != line["id"]
    assert draft["total_amount"] == old["total_amount"] == "42.9800"
    problem(client.post(f"/api/v1/{doc}/revise", headers=admin.headers), 409)  # closed: revised once
    problem(client.patch(f"/api/v1/{doc}", json={"name": "Changed"}, headers=admin.headers), 409)
    revisions = client.get("/api/v1/quotes", params={"quote_number": q["quote_number"]}, headers=admin.headers)
    assert sorted(x["revision_number"] for x in revisions.json()["items"]) == [0, 1]

    new_doc = f"quotes/{draft['id']}"
    add_line(client, admin, new_doc, {"product_description": "Delivery", "price_per_unit": "25", "quantity": "1"})
    post(client, admin, f"{new_doc}/activate")
    won = post(client, admin, f"{new_doc}/win", {"closed_on": "2025-03-01"})
    assert (won["quote"]["state"], won["quote"]["statuscode"], won["quote"]["closed_on"]) == ("Won", 4, "2025-03-01")
    order = won["order"]
    assert NUMBER.match(order["order_number"]) and order["order_number"].startswith("ORD-")
    assert (order["quote_id"], order["is_price_locked"], order["state"]) == (draft["id"], True, "Active")
    assert order["owner_id"] == str(admin.id)
    assert (order["customer_type"], order["customer_id"], order["price_list_id"]) == (
        "account", s["account"]["id"], s["retail"]["id"])
    assert [(x["line_number"], x["product_description"], x["extended_amount"]) for x in order["lines"]] == [
        (1, None, "42.9800"), (2, "Delivery", "25.0000")]
    assert order["total_amount"] == won["quote"]["total_amount"] == "67.9800"
    assert get(client, admin, f"orders/{order['id']}")["lines"] == order["lines"]
    problem(client.post(f"/api/v1/{new_doc}/win", headers=admin.headers), 409)
    problem(client.post(f"/api/v1/{new_doc}/close", json={"statuscode": 5}, headers=admin.headers), 409)
    problem(client.delete(f"/api/v1/{new_doc}", headers=admin.headers), 409)  # an order came from it


def test_closing_a_quote(client, admin: TestUser) -> None:
    s = shop(client, admin)
    lost, canceled, draft = quote(client, admin, s), quote(client, admin, s), quote(client, admin, s)
    for q in (lost, canceled):
        post(client, admin, f"quotes/{q['id']}/activate")
    problem(client.post(f"/api/v1/quotes/{lost['id']}/close", json={"statuscode": 7}, headers=admin.headers),
            422, "statuscode")
    problem(client.post(f"/api/v1/quotes/{lost['id']}/close", json={}, headers=admin.headers), 422, "statuscode")
    closed = post(client, admin, f"quotes/{lost['id']}/close", {"statuscode": 5})
    assert (closed["state"], closed["status"]) == ("Closed", "Lost")
    closed = post(client, admin, f"quotes/{canceled['id']}/close", {"statuscode": 6, "closed_on": "2025-01-31"})
    assert (closed["status"], closed["closed_on"]) == ("Canceled", "2025-01-31")
    problem(client.post(f"/api/v1/quotes/{draft['id']}/close", json={"statuscode": 5}, headers=admin.headers), 409)
    problem(client.post(f"/api/v1/quotes/{lost['id']}/activate", headers=admin.headers), 409)
    trail = client.get(f"/api/v1/quotes/{lost['id']}/audit", headers=admin.headers).json()
    assert [a["action"] for a in trail][:2] == ["close", "activate"]


# --- orders ------------------------------------------------------------------------------------------
def test_orders_by_hand_fulfil_and_invoice(client, admin: TestUser) -> None:
    s = shop(client, admin)
    order = created(client, admin, "orders", {
        "name": "Bolts", "customer_type": "account", "customer_id": s["account"]["id"],
        "price_list_id": s["retail"]["id"], "freight_amount": "4.99",
        "lines": [{"product_id": s["bolt"]["id"], "quantity": "100"},
                  {"product_description": "Packing", "price_per_unit": "2.50", "quantity": "1", "tax": "0.50"}]})
    assert NUMBER.match(order["order_number"]) and order["quote_id"] is None and order["is_price_locked"] is False
    assert (order["state"], order["status"]) == ("Active", "New")
    assert order["total_amount"] == "42.9900"  # 35.00 + 2.50 + 4.99 freight + 0.50 tax
    doc = f"orders/{order['id']}"
    add_line(client, admin, doc, {"product_id": s["widget"]["id"], "quantity": "1"})  # an open order is editable
    assert post(client, admin, f"{doc}/submit")["state"] == "Submitted"
    problem(client.post(f"/api/v1/{doc}/fulfill", json={"statuscode": 4}, headers=admin.headers), 422, "statuscode")
    fulfilled = post(client, admin, f"{doc}/fulfill", {"statuscode": 100002})
    assert (fulfilled["state"], fulfilled["status"]) == ("Fulfilled", "Partial")
    assert fulfilled["date_fulfilled"] is not None
    problem(client.patch(f"/api/v1/{doc}", json={"name": "Changed"}, headers=admin.headers), 409)
    problem(client.post(f"/api/v1/{doc}/lines", json={"product_id": s["bolt"]["id"], "quantity": "1"},
                        headers=admin.headers), 409)
    problem(client.post(f"/api/v1/{doc}/cancel", headers=admin.headers), 409)

    result = post(client, admin, f"{doc}/invoice")
    assert (result["order"]["state"], result["order"]["statuscode"]) == ("Invoiced", 100003)
    invoice = result["invoice"]
    assert NUMBER.match(invoice["invoice_number"]) and invoice["invoice_number"].startswith("INV-")
    assert (invoice["order_id"], invoice["is_price_locked"], invoice["state"]) == (order["id"], True, "Active")
    assert [x["extended_amount"] for x in invoice["lines"]] == ["35.0000", "3.0000", "19.9900"]
    assert invoice["total_amount"] == result["order"]["total_amount"] == "62.9800"
    problem(client.post(f"/api/v1/{doc}/invoice", headers=admin.headers), 409)  # invoiced once
    problem(client.delete(f"/api/v1/{doc}", headers=admin.headers), 409)  # an invoice came from it
    found = client.get("/api/v1/invoices", params={"order_id": order["id"]}, headers=admin.headers).json()
    assert [x["id"] for x in found["items"]] == [invoice["id"]]


def test_a_canceled_order_is_neither_fulfilled_nor_invoiced(client, admin: TestUser) -> None:
    s = shop(client, admin)
    order = created(client, admin, "orders", {"name": "O", "customer_type": "account",
                                              "customer_id": s["account"]["id"], "currency_code": "EUR"})
    doc = f"orders/{order['id']}"
    canceled = post(client, admin, f"{doc}/cancel")
    assert (canceled["state"], canceled["status"]) == ("Canceled", "No Money")
    for verb in ("fulfill", "invoice", "submit", "cancel"):
        problem(client.post(f"/api/v1/{doc}/{verb}", headers=admin.headers), 409)
    problem(client.post(f"/api/v1/{doc}/set-state", json={"statecode": 0}, headers=admin.headers), 409)


def test_locked_prices_stay_when_the_price_list_changes(client, admin: TestUser) -> None:
    s = shop(client, admin)
    q = quote(client, admin, s)
    add_line(client, admin, f"quotes/{q['id']}", {"product_id": s["widget"]["id"], "quantity": "1"})
    post(client, admin, f"quotes/{q['id']}/activate")
    locked = post(client, admin, f"quotes/{q['id']}/win")["order"]
    unlocked = created(client, admin, "orders", {
        "name": "By hand", "customer_type": "account", "customer_id": s["account"]["id"],
        "price_list_id": s["retail"]["id"], "lines": [{"product_id": s["widget"]["id"], "quantity": "1"}]})
    sale = price_list(client, admin, name="Sale")
    item(client, admin, sale, s["widget"], amount="12.00")
    for order, expected in ((locked, "19.9900"), (unlocked, "12.0000")):
        r = client.patch(f"/api/v1/orders/{order['id']}", json={"price_list_id": sale["id"]}, headers=admin.headers)
        assert r.status_code == 200, r.text
        assert r.json()["lines"][0]["price_per_unit"] == expected
        assert r.json()["price_list_id"] == sale["id"]


# --- invoices ----------------------------------------------------------------------------------------
def test_invoices_paid_or_canceled(client, admin: TestUser) -> None:
    s = shop(client, admin)
    body = {"name": "Invoice", "customer_type": "account", "customer_id": s["account"]["id"],
            "price_list_id": s["retail"]["id"], "due_date": "2025-04-30",
            "lines": [{"product_id": s["widget"]["id"], "quantity": "2"}]}
    paid, canceled = created(client, admin, "invoices", body), created(client, admin, "invoices", body)
    assert (paid["state"], paid["status"], paid["due_date"]) == ("Active", "New", "2025-04-30")
    assert paid["invoice_number"] != canceled["invoice_number"]
    problem(client.post(f"/api/v1/invoices/{paid['id']}/paid", json={"statuscode": 3}, headers=admin.headers),
            422, "statuscode")
    done = post(client, admin, f"invoices/{paid['id']}/paid", {"statuscode": 100002, "date_paid": "2025-04-02"})
    assert (done["state"], done["status"], done["date_paid"]) == ("Paid", "Partial", "2025-04-02")
    problem(client.post(f"/api/v1/invoices/{paid['id']}/cancel", headers=admin.headers), 409)
    problem(client.patch(f"/api/v1/invoices/{paid['id']}", json={"name": "X"}, headers=admin.headers), 409)
    problem(client.delete(f"/api/v1/invoices/{paid['id']}/lines/{paid['lines'][0]['id']}", headers=admin.headers),
            409)
    gone = post(client, admin, f"invoices/{canceled['id']}/cancel")
    assert (gone["state"], gone["statuscode"]) == ("Canceled", 100003)
    problem(client.post(f"/api/v1/invoices/{canceled['id']}/paid", headers=admin.headers), 409)
    assert post(client, admin, f"invoices/{created(client, admin, 'invoices', body)['id']}/paid")["status"] \
        == "Complete"


# --- owners, access, audit, activities, opportunities --------------------------------------------------
def test_documents_are_user_owned(client, org, admin: TestUser) -> None:
    s = shop(client, admin)
    east, west = org.unit("East"), org.unit("West")
    seller = org.user("seller@example.com", ["Salesperson"], east)
    peer = org.user("peer@example.com", ["Salesperson"], east)
    stranger = org.user("stranger@example.com", ["Salesperson"], west)
    account = created(client, seller, "accounts", {"name": "Fabrikam"})
    q = created(client, seller, "quotes", {"name": "Mine", "customer_type": "account", "customer_id": account["id"],
                                           "price_list_id": s["retail"]["id"],
                                           "lines": [{"product_id": s["widget"]["id"], "quantity": "1"}]})
    assert q["owner_id"] == str(seller.id) and q["total_amount"] == "19.9900"
    assert client.get(f"/api/v1/quotes/{q['id']}", headers=peer.headers).status_code == 200  # same unit reads
    problem(client.patch(f"/api/v1/quotes/{q['id']}", json={"name": "Theirs"}, headers=peer.headers), 403)
    problem(client.post(f"/api/v1/quotes/{q['id']}/lines", json={"product_id": s["widget"]["id"], "quantity": "1"},
                        headers=peer.headers), 403)
    problem(client.post(f"/api/v1/quotes/{q['id']}/activate", headers=peer.headers), 403)
    problem(client.get(f"/api/v1/quotes/{q['id']}", headers=stranger.headers), 404)
    problem(client.get(f"/api/v1/quotes/{q['id']}/lines", headers=stranger.headers), 404)
    assert client.get("/api/v1/quotes", headers=stranger.headers).json()["items"] == []
    # A customer out of reach cannot be put on a quote.
    problem(client.post("/api/v1/quotes", json={"name": "Q", "customer_type": "account",
                                                "customer_id": account["id"], "currency_code": "EUR"},
                        headers=stranger.headers), 422, "customer_id")
    post(client, seller, f"quotes/{q['id']}/activate")
    order = post(client, seller, f"quotes/{q['id']}/win")["order"]
    assert order["owner_id"] == str(seller.id)
    given = post(client, admin, f"orders/{order['id']}/assign", {"owner_type": "user", "owner_id": str(peer.id)})
    assert given["owner_id"] == str(peer.id)
    problem(client.patch(f"/api/v1/orders/{order['id']}", json={"name": "Mine again"}, headers=seller.headers), 403)


def test_line_changes_are_audited_on_the_document(client, admin: TestUser) -> None:
    s = shop(client, admin)
    q = quote(client, admin, s)
    line = add_line(client, admin, f"quotes/{q['id']}", {"product_id": s["widget"]["id"], "quantity": "1"})
    client.patch(f"/api/v1/quotes/{q['id']}/lines/{line['id']}", json={"quantity": "5"}, headers=admin.headers)
    trail = client.get(f"/api/v1/quotes/{q['id']}/audit", headers=admin.headers).json()
    latest = trail[0]["changes"]
    assert latest["lines.1.quantity"] == ["1.0000", "5.0000"]
    assert latest["total_amount"] == ["19.9900", "99.9500"]


def test_activities_regard_documents_and_show_on_their_timeline(client, admin: TestUser) -> None:
    s = shop(client, admin)
    q = quote(client, admin, s)
    order = created(client, admin, "orders", {"name": "O", "customer_type": "account",
                                              "customer_id": s["account"]["id"], "currency_code": "EUR"})
    for collection, record in (("quotes", q), ("orders", order)):
        task = created(client, admin, "activities", {"activity_type": "task", "subject": f"Follow up {collection}",
                                                     "regarding_type": collection[:-1], "regarding_id": record["id"]})
        timeline = get(client, admin, f"{collection}/{record['id']}/timeline")
        assert [a["id"] for a in timeline["items"]] == [task["id"]]


def test_a_quote_for_an_opportunity_takes_its_customer_and_currency(client, admin: TestUser) -> None:
    s = shop(client, admin)
    opportunity = created(client, admin, "opportunities", {
        "name": "Big deal", "customer_type": "account", "customer_id": s["account"]["id"], "currency_code": "EUR"})
    q = created(client, admin, "quotes", {"name": "For the deal", "opportunity_id": opportunity["id"]})
    assert (q["opportunity_id"], q["customer_type"], q["customer_id"], q["currency_code"]) == (
        opportunity["id"], "account", s["account"]["id"], "EUR")
    found = client.get("/api/v1/quotes", params={"opportunity_id": opportunity["id"]}, headers=admin.headers)
    assert [x["id"] for x in found.json()["items"]] == [q["id"]]
    missing = "00000000-0000-0000-0000-000000000001"
    problem(client.post("/api/v1/quotes", json={"name": "X", "opportunity_id": missing}, headers=admin.headers),
            422, "opportunity_id")
    post(client, admin, f"quotes/{q['id']}/activate")
    order = post(client, admin, f"quotes/{q['id']}/win")["order"]
    assert order["opportunity_id"] == opportunity["id"]


def test_money_is_returned_as_exact_decimal_strings(client, admin: TestUser) -> None:
    s = shop(client, admin)
    q = quote(client, admin, s)
    add_line(client, admin, f"quotes/{q['id']}", {"product_description": "Tenths", "price_per_unit": "0.1",
                                                   "quantity": "3"})
    total = get(client, admin, f"quotes/{q['id']}")["total_amount"]
    assert total == "0.3000" and Decimal(total) == Decimal("0.3")


def test_amounts_too_large_to_store_and_nulls_are_clear_answers(client, admin: TestUser) -> None:
    s = shop(client, admin)
    q = quote(client, admin, s)
    lines = f"/api/v1/quotes/{q['id']}/lines"
    huge = {"product_description": "Huge", "price_per_unit": "999999999999999", "quantity": "999999999"}
    problem(client.post(lines, json=huge, headers=admin.headers), 422, "quantity")
    for bad in ("NaN", "Infinity", "1e30"):
        problem(client.post(lines, json={**huge, "price_per_unit": bad, "quantity": "1"}, headers=admin.headers),
                422, "price_per_unit")
    add_line(client, admin, f"quotes/{q['id']}", {"product_description": "Fine", "price_per_unit": "10",
                                                   "quantity": "1"})
    client.patch(f"/api/v1/quotes/{q['id']}", json={"discount_amount": "2", "freight_amount": "1"},
                 headers=admin.headers)
    r = client.patch(f"/api/v1/quotes/{q['id']}", json={"discount_amount": None, "freight_amount": None,
                                                         "discount_percentage": None}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["discount_amount"], r.json()["total_amount"]) == ("0.0000", "10.0000")
    problem(client.patch(f"/api/v1/quotes/{q['id']}", json={"customer_id": None}, headers=admin.headers),
            422, "customer_type")
    problem(client.patch(f"/api/v1/quotes/{q['id']}", json={"name": None}, headers=admin.headers), 422, "name")
