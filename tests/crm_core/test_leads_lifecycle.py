"""Leads through the API: qualify (in one transaction, once), disqualify with a reason, reactivate, and
duplicate detection on create."""

from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

L = "/api/v1/leads"


def _lead(client, user: TestUser, **fields) -> dict:
    body = {"subject": "50 bikes", "first_name": "Jane", "last_name": "Doe", "company_name": "Adventure Works",
            "email_address1": "jane@adventure-works.com", "telephone1": "+1 555 0100", "job_title": "Buyer",
            "estimated_amount": "12500.50", "ignore_duplicates": True, **fields}
    return created(client, user, "leads", body)


def _get(client, user: TestUser, collection: str, record_id: str) -> dict:
    r = client.get(f"/api/v1/{collection}/{record_id}", headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()


def _names(client, user: TestUser, collection: str, **params) -> list[str]:
    r = client.get(f"/api/v1/{collection}", params=params, headers=user.headers)
    assert r.status_code == 200, r.text
    return [i.get("name") or i.get("full_name") for i in r.json()["items"]]


# --- qualify -----------------------------------------------------------------------------------------
def test_qualify_creates_account_contact_and_opportunity_and_links_them(client, admin: TestUser) -> None:
    lead = _lead(client, admin)
    r = client.post(f"{L}/{lead['id']}/qualify", json={"create_account": True, "create_contact": True,
                                                       "currency_code": "EUR"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["created"] == ["account", "contact", "opportunity"]
    assert (out["lead"]["statecode"], out["lead"]["statuscode"], out["lead"]["state"]) == (1, 3, "Qualified")
    assert out["lead"]["parent_account_id"] == out["account_id"]
    assert out["lead"]["parent_contact_id"] == out["contact_id"]
    assert out["lead"]["qualifying_opportunity_id"] == out["opportunity_id"]

    account = _get(client, admin, "accounts", out["account_id"])
    assert (account["name"], account["email_address1"]) == ("Adventure Works", "jane@adventure-works.com")
    assert account["primary_contact_id"] == out["contact_id"]
    contact = _get(client, admin, "contacts", out["contact_id"])
    assert (contact["full_name"], contact["job_title"]) == ("Jane Doe", "Buyer")
    assert contact["parent_account_id"] == out["account_id"]
    # Each record the qualification made points back at the lead.
    assert account["originating_lead_id"] == contact["originating_lead_id"] == lead["id"]
    opp = _get(client, admin, "opportunities", out["opportunity_id"])
    assert (opp["name"], opp["customer_type"], opp["customer_id"]) == ("50 bikes", "account", out["account_id"])
    assert opp["originating_lead_id"] == lead["id"]
    assert (opp["currency_code"], float(opp["estimated_value"])) == ("EUR", 12500.5)
    assert opp["owner_id"] == str(admin.id)
    # The opportunity that came from the lead is found from it.
    found = client.get("/api/v1/opportunities", params={"originating_lead_id": lead["id"]}, headers=admin.headers)
    assert [o["id"] for o in found.json()["items"]] == [out["opportunity_id"]]
    # The qualification is in the lead's audit trail under its own name.
    trail = client.get(f"{L}/{lead['id']}/audit", headers=admin.headers).json()
    assert any(e["action"] == "qualify" and e["changes"]["statecode"] == [0, 1] for e in trail)


def test_a_lead_is_qualified_once(client, admin: TestUser) -> None:
    lead = _lead(client, admin)
    body = {"create_account": True, "currency_code": "EUR"}
    assert client.post(f"{L}/{lead['id']}/qualify", json=body, headers=admin.headers).status_code == 200
    problem(client.post(f"{L}/{lead['id']}/qualify", json=body, headers=admin.headers), 409)
    assert _names(client, admin, "accounts") == ["Adventure Works"]
    assert len(client.get("/api/v1/opportunities", headers=admin.headers).json()["items"]) == 1
    # A qualified lead is read-only until reactivated.
    problem(client.patch(f"{L}/{lead['id']}", json={"subject": "changed"}, headers=admin.headers), 409)


def test_qualify_for_an_existing_customer_creates_only_the_opportunity(client, admin: TestUser) -> None:
    contact = created(client, admin, "contacts", {"last_name": "Known"})
    lead = _lead(client, admin)
    r = client.post(f"{L}/{lead['id']}/qualify", headers=admin.headers, json={
        "customer_type": "contact", "customer_id": contact["id"], "currency_code": "USD",
        "opportunity_name": "Fleet renewal"})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["created"], out["account_id"], out["contact_id"]) == (["opportunity"], None, None)
    opp = _get(client, admin, "opportunities", out["opportunity_id"])
    assert (opp["name"], opp["customer_type"], opp["customer_id"]) == ("Fleet renewal", "contact", contact["id"])
    assert _names(client, admin, "accounts") == []


def test_qualify_uses_the_leads_parent_account_when_nothing_else_is_named(client, admin: TestUser) -> None:
    account = created(client, admin, "accounts", {"name": "Parent Co"})
    lead = _lead(client, admin, parent_account_id=account["id"])
    out = client.post(f"{L}/{lead['id']}/qualify", json={"currency_code": "EUR"}, headers=admin.headers).json()
    opp = _get(client, admin, "opportunities", out["opportunity_id"])
    assert (opp["customer_type"], opp["customer_id"]) == ("account", account["id"])


def test_qualify_refuses_what_it_cannot_build(client, admin: TestUser) -> None:
    lead = _lead(client, admin)
    # An opportunity needs a customer and a currency.
    problem(client.post(f"{L}/{lead['id']}/qualify", json={"currency_code": "EUR"}, headers=admin.headers),
            422, "customer_id")
    problem(client.post(f"{L}/{lead['id']}/qualify", json={"create_account": True}, headers=admin.headers),
            422, "currency_code")
    problem(client.post(f"{L}/{lead['id']}/qualify", json={"create_account": True, "currency_code": "eur"},
                        headers=admin.headers), 422, "currency_code")
    problem(client.post(f"{L}/{lead['id']}/qualify", json={"customer_type": "contact", "currency_code": "EUR"},
                        headers=admin.headers), 422, "customer_id")
    problem(client.post(f"{L}/{lead['id']}/qualify", json={"create_opportunity": False, "customer_type": "account",
                        "customer_id": lead["id"]}, headers=admin.headers), 422, "customer_id")
    # An account is made of the company, a contact of the person.
    no_company = _lead(client, admin, company_name=None, email_address1=None)
    problem(client.post(f"{L}/{no_company['id']}/qualify", json={"create_account": True, "create_opportunity": False},
                        headers=admin.headers), 422, "create_account")
    no_person = _lead(client, admin, first_name=None, last_name=None, email_address1=None)
    problem(client.post(f"{L}/{no_person['id']}/qualify", json={"create_contact": True, "create_opportunity": False},
                        headers=admin.headers), 422, "create_contact")
    assert _get(client, admin, "leads", lead["id"])["statecode"] == 0


def test_qualify_is_one_transaction(client, admin: TestUser) -> None:
    lead = _lead(client, admin)
    missing = "00000000-0000-4000-8000-000000000001"
    # The account is created first; the opportunity's customer then fails: nothing stays.
    r = client.post(f"{L}/{lead['id']}/qualify", headers=admin.headers, json={
        "create_account": True, "create_contact": True, "customer_type": "contact", "customer_id": missing,
        "currency_code": "EUR"})
    problem(r, 422, "customer_id")
    assert _names(client, admin, "accounts") == []
    assert _names(client, admin, "contacts") == []
    got = _get(client, admin, "leads", lead["id"])
    assert (got["statecode"], got["parent_account_id"]) == (0, None)


def test_qualify_needs_write_on_the_lead_and_create_on_the_new_records(client, org: OrgBuilder) -> None:
    alice = org.user("alice@example.com", ["Salesperson"])
    bob = org.user("bob@example.com", ["Salesperson"])
    lead = _lead(client, alice)
    # Bob reads Alice's lead (same unit) but may change only his own.
    problem(client.post(f"{L}/{lead['id']}/qualify", json={"create_account": True, "currency_code": "EUR"},
                        headers=bob.headers), 403)
    r = client.post(f"{L}/{lead['id']}/qualify", json={"create_account": True, "currency_code": "EUR"},
                    headers=alice.headers)
    assert r.status_code == 200, r.text
    assert _get(client, alice, "opportunities", r.json()["opportunity_id"])["owner_id"] == str(alice.id)


def test_set_state_cannot_qualify_a_lead(client, admin: TestUser) -> None:
    lead = _lead(client, admin)
    problem(client.post(f"{L}/{lead['id']}/set-state", json={"statecode": 1}, headers=admin.headers),
            422, "statecode")


# --- disqualify and reactivate -----------------------------------------------------------------------
def test_disqualify_with_a_reason_then_reactivate(client, admin: TestUser) -> None:
    lead = _lead(client, admin)
    for bad in (3, 8, 1):
        problem(client.post(f"{L}/{lead['id']}/disqualify", json={"statuscode": bad}, headers=admin.headers),
                422, "statuscode")
    problem(client.post(f"{L}/{lead['id']}/disqualify", json={}, headers=admin.headers), 422, "statuscode")
    r = client.post(f"{L}/{lead['id']}/disqualify", json={"statuscode": 5}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert (r.json()["statecode"], r.json()["statuscode"], r.json()["status"]) == (2, 5, "Cannot Contact")
    problem(client.post(f"{L}/{lead['id']}/disqualify", json={"statuscode": 6}, headers=admin.headers), 409)
    # A disqualified lead is read-only and is reactivated before it is qualified.
    problem(client.patch(f"{L}/{lead['id']}", json={"subject": "again"}, headers=admin.headers), 409)
    problem(client.post(f"{L}/{lead['id']}/qualify", json={"create_account": True, "currency_code": "EUR"},
                        headers=admin.headers), 409)
    r = client.post(f"{L}/{lead['id']}/reactivate", headers=admin.headers)
    assert (r.json()["statecode"], r.json()["statuscode"], r.json()["status"]) == (0, 1, "New")
    problem(client.post(f"{L}/{lead['id']}/reactivate", headers=admin.headers), 409)
    assert client.patch(f"{L}/{lead['id']}", json={"subject": "again"}, headers=admin.headers).status_code == 200
    trail = client.get(f"{L}/{lead['id']}/audit", headers=admin.headers).json()
    assert {"disqualify", "reactivate"} <= {e["action"] for e in trail}


def test_a_qualified_lead_is_reactivated_before_it_is_disqualified_or_qualified_again(client, admin: TestUser) -> None:
    lead = _lead(client, admin)
    first = client.post(f"{L}/{lead['id']}/qualify", json={"create_account": True, "currency_code": "EUR"},
                        headers=admin.headers).json()
    problem(client.post(f"{L}/{lead['id']}/disqualify", json={"statuscode": 4}, headers=admin.headers), 409)
    assert client.post(f"{L}/{lead['id']}/reactivate", headers=admin.headers).json()["state"] == "Open"
    again = client.post(f"{L}/{lead['id']}/qualify", json={"currency_code": "EUR"}, headers=admin.headers)
    assert again.status_code == 200, again.text
    # The second opportunity goes to the account the first qualification made, now the lead's parent.
    second = _get(client, admin, "opportunities", again.json()["opportunity_id"])
    assert second["customer_id"] == first["account_id"]
    assert again.json()["opportunity_id"] != first["opportunity_id"]


# --- duplicate detection -----------------------------------------------------------------------------
def test_create_answers_409_with_the_candidates_unless_told_to_ignore_them(client, admin: TestUser) -> None:
    contact = created(client, admin, "contacts", {"last_name": "Doe", "email_address2": "jane@contoso.com"})
    account = created(client, admin, "accounts", {"name": "Contoso", "email_address1": "JANE@contoso.com"})
    body = {"subject": "Bikes", "last_name": "Doe", "email_address1": "Jane@Contoso.com"}
    r = client.post(L, json=body, headers=admin.headers)
    found = problem(r, 409)["duplicates"]
    assert {(d["entity"], d["id"], tuple(d["matched_on"])) for d in found} == {
        ("contact", contact["id"], ("email",)), ("account", account["id"], ("email",))}
    assert {d["name"] for d in found} == {"Doe", "Contoso"}
    assert client.get(L, headers=admin.headers).json()["items"] == []
    lead = created(client, admin, "leads", {**body, "ignore_duplicates": True})
    # Now the lead itself is a candidate too.
    found = problem(client.post(L, json=body, headers=admin.headers), 409)["duplicates"]
    assert ("lead", lead["id"]) in {(d["entity"], d["id"]) for d in found}


def test_same_company_and_last_name_is_a_duplicate_in_any_case(client, admin: TestUser) -> None:
    lead = created(client, admin, "leads", {"subject": "A", "last_name": "Doe", "company_name": "Fabrikam"})
    found = problem(client.post(L, json={"subject": "B", "last_name": "DOE", "company_name": " fabrikam"},
                                headers=admin.headers), 409)["duplicates"]
    assert [(d["entity"], d["id"], d["matched_on"], d["state"]) for d in found] == [
        ("lead", lead["id"], ["company_name", "last_name"], "Open")]
    # Another last name at the same company is someone else.
    created(client, admin, "leads", {"subject": "C", "last_name": "Roe", "company_name": "Fabrikam"})


def test_duplicates_check_creates_nothing(client, admin: TestUser) -> None:
    lead = created(client, admin, "leads", {"subject": "A", "last_name": "Doe", "email_address1": "d@x.example"})
    r = client.post(f"{L}/duplicates", json={"subject": "B", "last_name": "Other", "email_address1": "D@X.example"},
                    headers=admin.headers)
    assert r.status_code == 200, r.text
    assert [(d["entity"], d["id"]) for d in r.json()["duplicates"]] == [("lead", lead["id"])]
    r = client.post(f"{L}/duplicates", json={"subject": "B", "last_name": "New"}, headers=admin.headers)
    assert r.json() == {"duplicates": []}
    problem(client.post(f"{L}/duplicates", json={"subject": "B", "last_name": "X", "email_address1": "nope"},
                        headers=admin.headers), 422, "email_address1")
    assert len(client.get(L, headers=admin.headers).json()["items"]) == 1


def test_duplicates_are_looked_for_among_readable_records_only(client, org: OrgBuilder) -> None:
    east, west = org.unit("East"), org.unit("West")
    eve = org.user("eve@example.com", ["Salesperson"], east)
    walt = org.user("walt@example.com", ["Salesperson"], west)
    created(client, eve, "contacts", {"last_name": "Doe", "email_address1": "jane@contoso.com"})
    # Walt cannot read East's contact: it is not disclosed, and his lead is created.
    created(client, walt, "leads", {"subject": "Bikes", "last_name": "Doe", "email_address1": "jane@contoso.com"})
    problem(client.post(L, json={"subject": "Bikes", "last_name": "Doe", "email_address1": "jane@contoso.com"},
                        headers=eve.headers), 409)
