"""Accounts, contacts and leads through the API: validation as problem+json, rules, lifecycle, lists."""

import pytest

from tests.api import created, problem
from tests.org import TestUser


def test_account_with_addresses_round_trips(client, admin: TestUser) -> None:
    acc = created(client, admin, "accounts", {
        "name": "Contoso", "email_address1": "Sales@CONTOSO.com", "revenue": "1250000.50",
        "addresses": [{"address_type_code": 1, "line1": "1 Main St", "city": "Seattle"},
                      {"address_type_code": 2, "line1": "2 Dock Rd", "city": "Tacoma"}],
    })
    assert acc["email_address1"] == "sales@contoso.com"
    assert acc["state"] == "Active" and acc["statecode"] == 0 and acc["statuscode"] == 1
    assert acc["owner_id"] == str(admin.id) and acc["created_by_id"] == str(admin.id)
    assert [(a["address_number"], a["city"]) for a in acc["addresses"]] == [(1, "Seattle"), (2, "Tacoma")]
    r = client.patch(f"/api/v1/accounts/{acc['id']}", json={"addresses": [{"city": "Redmond"}]},
                     headers=admin.headers)
    assert [a["city"] for a in r.json()["addresses"]] == ["Redmond"]
    got = client.get(f"/api/v1/accounts/{acc['id']}", headers=admin.headers).json()
    assert got["revenue"] == "1250000.5000" or float(got["revenue"]) == 1250000.5
    assert client.delete(f"/api/v1/accounts/{acc['id']}", headers=admin.headers).status_code == 204
    problem(client.get(f"/api/v1/accounts/{acc['id']}", headers=admin.headers), 404)


def test_validation_errors_name_the_failing_fields(client, admin: TestUser) -> None:
    body = problem(client.post("/api/v1/accounts", json={"nam": "typo"}, headers=admin.headers), 422)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"name", "nam"}
    body = problem(client.post("/api/v1/contacts", json={"last_name": "Doe", "email_address1": "not-an-email"},
                                headers=admin.headers), 422)
    assert body["errors"][0]["field"] == "email_address1"
    body = problem(client.post("/api/v1/contacts", json={"last_name": "Doe", "birth_date": "2999-01-01"},
                                headers=admin.headers), 422)
    assert body["errors"][0]["field"] == "birth_date"
    body = problem(client.post("/api/v1/leads", json={"subject": "Interested"}, headers=admin.headers), 422)
    assert body["errors"][0]["field"] == "last_name"
    problem(client.post("/api/v1/accounts", json={"name": "x" * 161}, headers=admin.headers), 422)


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b"null", b'{"name": 12}'])
def test_malformed_bodies_are_422_not_500(client, admin: TestUser, raw: bytes) -> None:
    headers = {**admin.headers, "Content-Type": "application/json"}
    r = client.post("/api/v1/accounts", content=raw, headers=headers)
    problem(r, 422)


def test_malformed_ids_cursors_and_sorts_are_422(client, admin: TestUser) -> None:
    problem(client.get("/api/v1/accounts/not-a-uuid", headers=admin.headers), 422)
    problem(client.get("/api/v1/accounts?cursor=garbage!!", headers=admin.headers), 422)
    body = problem(client.get("/api/v1/accounts?sort=-password", headers=admin.headers), 422)
    assert body["errors"][0]["field"] == "sort"
    problem(client.get("/api/v1/accounts?limit=0", headers=admin.headers), 422)
    problem(client.get("/api/v1/accounts?created_on__gte=yesterday", headers=admin.headers), 422)


def test_idn_and_case_are_normalised(client, admin: TestUser) -> None:
    c = created(client, admin, "contacts", {"last_name": "Müller", "email_address1": "Hans@Bücher.Example"})
    assert c["email_address1"] == "hans@bücher.example"
    found = client.get("/api/v1/contacts", params={"email_address1": "hans@bücher.example"},
                       headers=admin.headers).json()["items"]
    assert [x["id"] for x in found] == [c["id"]]


def test_account_hierarchy_refuses_cycles(client, admin: TestUser) -> None:
    top = created(client, admin, "accounts", {"name": "Top"})
    mid = created(client, admin, "accounts", {"name": "Mid", "parent_account_id": top["id"]})
    low = created(client, admin, "accounts", {"name": "Low", "parent_account_id": mid["id"]})
    body = problem(client.patch(f"/api/v1/accounts/{top['id']}", json={"parent_account_id": low["id"]},
                                 headers=admin.headers), 422)
    assert body["errors"][0]["field"] == "parent_account_id"
    children = client.get("/api/v1/accounts", params={"parent_account_id": top["id"]}, headers=admin.headers)
    assert [a["name"] for a in children.json()["items"]] == ["Mid"]
    # A parent with children cannot be deleted out from under them.
    problem(client.delete(f"/api/v1/accounts/{mid['id']}", headers=admin.headers), 409)


def test_lookup_to_a_missing_record_is_422(client, admin: TestUser) -> None:
    body = problem(client.post("/api/v1/contacts", json={
        "last_name": "Doe", "parent_account_id": "00000000-0000-0000-0000-000000000001"}, headers=admin.headers), 422)
    assert body["errors"][0]["field"] == "parent_account_id"


def test_primary_contact_cleared_when_contact_deleted(client, admin: TestUser) -> None:
    acc = created(client, admin, "accounts", {"name": "Contoso"})
    c = created(client, admin, "contacts", {"last_name": "Doe"})
    r = client.patch(f"/api/v1/accounts/{acc['id']}", json={"primary_contact_id": c["id"]}, headers=admin.headers)
    assert r.json()["primary_contact_id"] == c["id"]
    assert client.delete(f"/api/v1/contacts/{c['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"/api/v1/accounts/{acc['id']}", headers=admin.headers).json()["primary_contact_id"] is None


def test_inactive_records_are_read_only_until_activated(client, admin: TestUser) -> None:
    acc = created(client, admin, "accounts", {"name": "Contoso"})
    url = f"/api/v1/accounts/{acc['id']}"
    r = client.post(f"{url}/deactivate", headers=admin.headers)
    assert (r.json()["state"], r.json()["statecode"], r.json()["statuscode"]) == ("Inactive", 1, 2)
    body = problem(client.patch(url, json={"name": "Renamed"}, headers=admin.headers), 409)
    assert "reactivate" in body["detail"]
    problem(client.post(f"{url}/deactivate", headers=admin.headers), 409)
    assert client.post(f"{url}/activate", headers=admin.headers).json()["state"] == "Active"
    assert client.patch(url, json={"name": "Renamed"}, headers=admin.headers).json()["name"] == "Renamed"
    inactive = client.get("/api/v1/accounts", params={"statecode": 1}, headers=admin.headers).json()["items"]
    assert inactive == []


def test_lead_states_follow_dynamics(client, admin: TestUser) -> None:
    lead = created(client, admin, "leads", {"subject": "Wants 50 bikes", "company_name": "Adventure Works"})
    url = f"/api/v1/leads/{lead['id']}/set-state"
    body = problem(client.post(url, json={"statecode": 2, "statuscode": 3}, headers=admin.headers), 422)
    assert body["errors"][0]["field"] == "statuscode"
    r = client.post(url, json={"statecode": 2, "statuscode": 6}, headers=admin.headers)
    assert (r.json()["state"], r.json()["status"]) == ("Disqualified", "No Longer Interested")
    r = client.post(url, json={"statecode": 0}, headers=admin.headers)
    assert (r.json()["state"], r.json()["status"]) == ("Open", "New")
    r = client.post(url, json={"statecode": 0, "statuscode": 2}, headers=admin.headers)  # a reason within Open
    assert (r.json()["state"], r.json()["status"]) == ("Open", "Contacted")


def test_cursor_pagination_walks_every_record_once(client, admin: TestUser) -> None:
    names = [f"Person{i:02d}" for i in range(11)]
    for n in reversed(names):
        created(client, admin, "contacts", {"last_name": n})
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 4, "sort": "full_name", **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/contacts", params=params, headers=admin.headers).json()
        seen += [c["full_name"] for c in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == names and pages == 3
    # The default sort, newest first, pages by a timestamp cursor.
    seen, cursor = [], None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/v1/contacts", params=params, headers=admin.headers).json()
        seen += [c["full_name"] for c in body["items"]]
        if (cursor := body["next_cursor"]) is None:
            break
    assert seen == names  # created in reverse order, so newest first is alphabetical


def test_contains_filter_ignores_case_and_escapes_wildcards(client, admin: TestUser) -> None:
    for name in ("Contoso Ltd", "contoso GmbH", "Fabrikam", "100% Organic"):
        created(client, admin, "accounts", {"name": name})
    got = client.get("/api/v1/accounts", params={"name__contains": "CONTOSO"}, headers=admin.headers).json()
    assert sorted(a["name"] for a in got["items"]) == ["Contoso Ltd", "contoso GmbH"]
    got = client.get("/api/v1/accounts", params={"name__contains": "%"}, headers=admin.headers).json()
    assert [a["name"] for a in got["items"]] == ["100% Organic"]
