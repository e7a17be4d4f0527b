"""The product catalogue through the API: unit groups and units, products and their lifecycle, price lists
and their items, and who may change them."""

from typing import Any

from tests.api import created, problem
from tests.org import TestUser


# --- builders shared with the quote/order/invoice tests -----------------------------------------------
def unit_group(client: Any, admin: TestUser, name: str = "Count", base: str = "Each",
               units: dict[str, str] | None = None) -> dict[str, Any]:
    group = created(client, admin, "unit-groups", {"name": name, "base_unit_name": base})
    for unit_name, quantity in (units or {}).items():
        created(client, admin, f"unit-groups/{group['id']}/units", {"name": unit_name, "quantity": quantity})
    return client.get(f"/api/v1/unit-groups/{group['id']}", headers=admin.headers).json()  # type: ignore[no-any-return]


def unit_id(group: dict[str, Any], name: str) -> str:
    return next(u["id"] for u in group["units"] if u["name"] == name)


def product(client: Any, admin: TestUser, group: dict[str, Any], number: str = "P-100",
            publish: bool = True, **extra: Any) -> dict[str, Any]:
    body = {"product_number": number, "name": f"Product {number}", "unit_group_id": group["id"],
            "default_unit_id": unit_id(group, group["units"][0]["name"]), "currency_code": "EUR",
            "list_price": "10.00", **extra}
    made = created(client, admin, "products", body)
    if publish:
        r = client.post(f"/api/v1/products/{made['id']}/publish", headers=admin.headers)
        assert r.status_code == 200, r.text
        made = r.json()
    return made


def price_list(client: Any, admin: TestUser, name: str = "Retail", currency: str = "EUR") -> dict[str, Any]:
    return created(client, admin, "price-lists", {"name": name, "currency_code": currency})


def item(client: Any, admin: TestUser, plist: dict[str, Any], prod: dict[str, Any], **body: Any) -> dict[str, Any]:
    return created(client, admin, f"price-lists/{plist['id']}/items", {"product_id": prod["id"], **body})


# --- unit groups -------------------------------------------------------------------------------------
def test_a_unit_group_starts_with_its_base_unit_and_counts_others_in_it(client, admin: TestUser) -> None:
    group = unit_group(client, admin, units={"Dozen": "12", "Case": "144"})
    assert group["state"] == "Active"
    assert [(u["name"], u["quantity"], u["is_base"]) for u in group["units"]] == [
        ("Each", "1.0000", True), ("Dozen", "12.0000", False), ("Case", "144.0000", False)]
    base, dozen = unit_id(group, "Each"), unit_id(group, "Dozen")
    r = client.patch(f"/api/v1/unit-groups/{group['id']}/units/{dozen}", json={"quantity": "10"},
                     headers=admin.headers)
    assert r.status_code == 200 and r.json()["quantity"] == "10.0000"
    problem(client.patch(f"/api/v1/unit-groups/{group['id']}/units/{base}", json={"quantity": "2"},
                         headers=admin.headers), 422, "quantity")
    problem(client.delete(f"/api/v1/unit-groups/{group['id']}/units/{base}", headers=admin.headers), 409)
    assert client.delete(f"/api/v1/unit-groups/{group['id']}/units/{dozen}", headers=admin.headers).status_code == 204


def test_unit_rules(client, admin: TestUser) -> None:
    group = unit_group(client, admin)
    units = f"unit-groups/{group['id']}/units"
    problem(client.post(f"/api/v1/{units}", json={"name": "Each", "quantity": "2"}, headers=admin.headers), 409)
    problem(client.post(f"/api/v1/{units}", json={"name": "None", "quantity": "0"}, headers=admin.headers),
            422, "quantity")
    problem(client.post("/api/v1/unit-groups", json={"name": "Count", "base_unit_name": "x"},
                        headers=admin.headers), 409)
    problem(client.post("/api/v1/unit-groups", json={"name": "No base"}, headers=admin.headers),
            422, "base_unit_name")
    missing = "00000000-0000-0000-0000-000000000001"
    problem(client.delete(f"/api/v1/{units}/{missing}", headers=admin.headers), 404)


def test_units_and_groups_in_use_cannot_be_deleted(client, admin: TestUser) -> None:
    group = unit_group(client, admin, units={"Box": "10"})
    product(client, admin, group, default_unit_id=unit_id(group, "Box"))
    problem(client.delete(f"/api/v1/unit-groups/{group['id']}/units/{unit_id(group, 'Box')}",
                          headers=admin.headers), 409)
    problem(client.delete(f"/api/v1/unit-groups/{group['id']}", headers=admin.headers), 409)
    empty = unit_group(client, admin, name="Unused")
    assert client.delete(f"/api/v1/unit-groups/{empty['id']}", headers=admin.headers).status_code == 204


def test_an_inactive_unit_group_is_read_only_and_offered_to_no_new_product(client, admin: TestUser) -> None:
    group = unit_group(client, admin)
    assert client.post(f"/api/v1/unit-groups/{group['id']}/deactivate", headers=admin.headers).json()["state"] \
        == "Inactive"
    problem(client.post(f"/api/v1/unit-groups/{group['id']}/units", json={"name": "Pair", "quantity": "2"},
                        headers=admin.headers), 409)
    problem(client.post("/api/v1/products", json={
        "product_number": "X", "name": "X", "unit_group_id": group["id"],
        "default_unit_id": unit_id(group, "Each"), "currency_code": "EUR"}, headers=admin.headers),
        422, "unit_group_id")


# --- products ----------------------------------------------------------------------------------------
def test_product_lifecycle_draft_publish_revise_retire(client, admin: TestUser) -> None:
    group = unit_group(client, admin)
    prod = product(client, admin, group, publish=False)
    assert (prod["state"], prod["statecode"], prod["statuscode"]) == ("Draft", 2, 0)
    url = f"/api/v1/products/{prod['id']}"
    assert client.patch(url, json={"list_price": "12.50"}, headers=admin.headers).json()["list_price"] == "12.5000"
    problem(client.post(f"{url}/revise", headers=admin.headers), 409)  # a draft is not revised, it is edited
    assert client.post(f"{url}/publish", headers=admin.headers).json()["state"] == "Active"
    body = problem(client.patch(url, json={"list_price": "13"}, headers=admin.headers), 409)
    assert "revise" in body["detail"]
    assert client.post(f"{url}/revise", headers=admin.headers).json()["state"] == "Under Revision"
    assert client.patch(url, json={"list_price": "13"}, headers=admin.headers).json()["list_price"] == "13.0000"
    assert client.post(f"{url}/publish", headers=admin.headers).json()["state"] == "Active"
    assert client.post(f"{url}/retire", headers=admin.headers).json()["state"] == "Retired"
    problem(client.patch(url, json={"name": "New name"}, headers=admin.headers), 409)
    problem(client.post(f"{url}/revise", headers=admin.headers), 409)
    assert client.post(f"{url}/publish", headers=admin.headers).json()["state"] == "Active"
    trail = client.get(f"{url}/audit", headers=admin.headers).json()
    assert {"create", "publish", "revise", "retire"} <= {a["action"] for a in trail}


def test_product_rules(client, admin: TestUser) -> None:
    group = unit_group(client, admin)
    other = unit_group(client, admin, name="Weight", base="kg")
    product(client, admin, group, number="P-1")
    base = {"name": "P", "unit_group_id": group["id"], "default_unit_id": unit_id(group, "Each"),
            "currency_code": "EUR"}
    body = problem(client.post("/api/v1/products", json={**base, "product_number": "P-1"}, headers=admin.headers),
                   409)
    assert "P-1" in body["detail"]
    problem(client.post("/api/v1/products", json={**base, "product_number": "P-2",
                                                  "default_unit_id": unit_id(other, "kg")},
                        headers=admin.headers), 422, "default_unit_id")
    problem(client.post("/api/v1/products", json={**base, "product_number": "P-2", "currency_code": "eur"},
                        headers=admin.headers), 422, "currency_code")
    problem(client.post("/api/v1/products", json={**base, "product_number": "P-2", "list_price": "-1"},
                        headers=admin.headers), 422, "list_price")
    problem(client.post("/api/v1/products", json={**base, "product_number": "P-2", "list_price": "1.00001"},
                        headers=admin.headers), 422, "list_price")
    problem(client.post("/api/v1/products", json={**base, "product_number": "P-2", "quantity_decimal": 5},
                        headers=admin.headers), 422, "quantity_decimal")
    missing = "00000000-0000-0000-0000-000000000001"
    problem(client.post("/api/v1/products", json={**base, "product_number": "P-2", "unit_group_id": missing},
                        headers=admin.headers), 422, "unit_group_id")
    draft = product(client, admin, group, number="P-3", publish=False, quantity_decimal=2, product_type_code=3)
    r = client.patch(f"/api/v1/products/{draft['id']}", json={"quantity_decimal": None, "product_type_code": None},
                     headers=admin.headers)
    assert (r.json()["quantity_decimal"], r.json()["product_type_code"]) == (0, 1)  # null: back to the defaults
    found = client.get("/api/v1/products", params={"product_number": "P-1"}, headers=admin.headers).json()
    assert [p["product_number"] for p in found["items"]] == ["P-1"]


def test_a_priced_product_keeps_its_unit_group(client, admin: TestUser) -> None:
    group = unit_group(client, admin)
    other = unit_group(client, admin, name="Weight", base="kg")
    prod = product(client, admin, group, publish=False)
    item(client, admin, price_list(client, admin), prod, amount="5")
    problem(client.patch(f"/api/v1/products/{prod['id']}", json={
        "unit_group_id": other["id"], "default_unit_id": unit_id(other, "kg")}, headers=admin.headers), 409)


# --- price lists -------------------------------------------------------------------------------------
def test_price_list_rules(client, admin: TestUser) -> None:
    plist = price_list(client, admin)
    assert (plist["state"], plist["statuscode"]) == ("Active", 100001)
    problem(client.post("/api/v1/price-lists", json={"name": "X", "currency_code": "EURO"}, headers=admin.headers),
            422, "currency_code")
    problem(client.post("/api/v1/price-lists", json={"name": "X", "currency_code": "EUR", "begin_date": "2025-02-01",
                                                     "end_date": "2025-01-01"}, headers=admin.headers),
            422, "end_date")
    group = unit_group(client, admin)
    item(client, admin, plist, product(client, admin, group), amount="5")
    problem(client.patch(f"/api/v1/price-lists/{plist['id']}", json={"currency_code": "USD"},
                         headers=admin.headers), 409)
    r = client.patch(f"/api/v1/price-lists/{plist['id']}", json={"name": "Retail 2025"}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["name"] == "Retail 2025"


def test_price_list_items(client, admin: TestUser) -> None:
    group = unit_group(client, admin, units={"Dozen": "12"})
    other = unit_group(client, admin, name="Weight", base="kg")
    prod = product(client, admin, group)
    plist = price_list(client, admin)
    each = item(client, admin, plist, prod, amount="1.99")
    assert (each["unit_id"], each["pricing_method_code"], each["currency_code"]) == (
        unit_id(group, "Each"), 1, "EUR")
    dozen = item(client, admin, plist, prod, unit_id=unit_id(group, "Dozen"), pricing_method_code=2,
                 percentage="90", rounding_policy_code=2, rounding_option_code=2, rounding_option_amount="0.50")
    assert dozen["percentage"] == "90.0000"
    items = f"/api/v1/price-lists/{plist['id']}/items"
    problem(client.post(items, json={"product_id": prod["id"], "amount": "2"}, headers=admin.headers), 409)
    problem(client.post(items, json={"product_id": prod["id"], "unit_id": unit_id(other, "kg"), "amount": "2"},
                        headers=admin.headers), 422, "unit_id")
    body = problem(client.patch(f"{items}/{each['id']}", json={"pricing_method_code": 3, "percentage": "20"},
                                headers=admin.headers), 422, "pricing_method_code")
    assert "not supported" in body["detail"]
    problem(client.patch(f"{items}/{each['id']}", json={"amount": None}, headers=admin.headers), 422, "amount")
    problem(client.patch(f"{items}/{each['id']}", json={"rounding_policy_code": 2}, headers=admin.headers),
            422, "rounding_option_code")
    problem(client.patch(f"{items}/{each['id']}", json={"unit_id": unit_id(group, "Dozen")}, headers=admin.headers),
            409)
    problem(client.patch(f"{items}/{dozen['id']}", json={"percentage": "999999999999999"}, headers=admin.headers),
            422, "percentage")  # 10.00 x 12 x that: more than an amount can hold
    r = client.patch(f"{items}/{each['id']}", json={"amount": "2.25", "quantity_selling_code": None},
                     headers=admin.headers)
    assert r.json()["quantity_selling_code"] == 1
    assert r.status_code == 200 and r.json()["amount"] == "2.2500"
    listed = client.get(items, headers=admin.headers).json()
    assert {i["id"] for i in listed} == {each["id"], dozen["id"]}
    trail = client.get(f"/api/v1/price-lists/{plist['id']}/audit", headers=admin.headers).json()
    assert any(f"items.{each['id']}.amount" in a["changes"] for a in trail)
    assert client.delete(f"{items}/{dozen['id']}", headers=admin.headers).status_code == 204
    problem(client.get(f"{items}/{dozen['id']}", headers=admin.headers), 404)


def test_percent_of_list_needs_a_list_price_in_the_price_lists_currency(client, admin: TestUser) -> None:
    group = unit_group(client, admin)
    no_price = product(client, admin, group, number="NP", list_price=None)
    dollars = product(client, admin, group, number="USD-1", currency_code="USD")
    plist = price_list(client, admin)
    items = f"/api/v1/price-lists/{plist['id']}/items"
    problem(client.post(items, json={"product_id": no_price["id"], "pricing_method_code": 2, "percentage": "50"},
                        headers=admin.headers), 422, "pricing_method_code")
    body = problem(client.post(items, json={"product_id": dollars["id"], "pricing_method_code": 2,
                                            "percentage": "50"}, headers=admin.headers), 422, "pricing_method_code")
    assert "USD" in body["detail"]
    item(client, admin, plist, dollars, amount="3")  # a currency amount is in the list's currency: fine


def test_an_inactive_price_list_is_read_only_and_deleting_a_product_removes_its_items(client, admin: TestUser
                                                                                      ) -> None:
    group = unit_group(client, admin)
    prod = product(client, admin, group, publish=False)
    plist = price_list(client, admin)
    item(client, admin, plist, prod, amount="5")
    assert client.delete(f"/api/v1/products/{prod['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"/api/v1/price-lists/{plist['id']}/items", headers=admin.headers).json() == []
    client.post(f"/api/v1/price-lists/{plist['id']}/deactivate", headers=admin.headers)
    other = product(client, admin, group, number="P-2")
    problem(client.post(f"/api/v1/price-lists/{plist['id']}/items", json={"product_id": other["id"], "amount": "1"},
                        headers=admin.headers), 409)
    problem(client.patch(f"/api/v1/price-lists/{plist['id']}", json={"name": "Old"}, headers=admin.headers), 409)


# --- who may change the catalogue --------------------------------------------------------------------
def test_everyone_reads_the_catalogue_only_administrators_change_it(client, org, admin: TestUser) -> None:
    seller = org.user("seller@example.com", ["Salesperson"])
    group = unit_group(client, admin)
    prod = product(client, admin, group)
    plist = price_list(client, admin)
    item(client, admin, plist, prod, amount="5")
    for url in ("unit-groups", "products", "price-lists", f"price-lists/{plist['id']}/items",
                f"products/{prod['id']}"):
        assert client.get(f"/api/v1/{url}", headers=seller.headers).status_code == 200, url
    problem(client.post("/api/v1/products", json={
        "product_number": "S-1", "name": "S", "unit_group_id": group["id"],
        "default_unit_id": unit_id(group, "Each"), "currency_code": "EUR"}, headers=seller.headers), 403)
    problem(client.post(f"/api/v1/products/{prod['id']}/retire", headers=seller.headers), 403)
    problem(client.post(f"/api/v1/price-lists/{plist['id']}/items", json={"product_id": prod["id"], "amount": "1"},
                        headers=seller.headers), 403)
    problem(client.post(f"/api/v1/unit-groups/{group['id']}/units", json={"name": "Pair", "quantity": "2"},
                        headers=seller.headers), 403)
