"""Service contracts through the API: templates, contracts made from them with lines and totals, the
lifecycle (invoice, the daily refresh, hold, release, cancel, renew), access, the contracts a customer may
open cases under, and cases that use a line's allotment when they are resolved."""

import re
import uuid
from datetime import date, timedelta

from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Sla
from crm_core.services.contracts import refresh_contract_states
from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

T = "/api/v1/contract-templates"
K = "/api/v1/contracts"
CONTRACT_NUMBER = re.compile(r"^CNR-\d{5,}-[A-Z2-9]{6}$")
TODAY = utcnow().date()
CASES, TIME, COVERAGE = 1, 2, 3


def _template(client, admin: TestUser, allotment_type: int = CASES, **body) -> dict:
    body.setdefault("name", f"Support {uuid.uuid4().hex[:6]}")
    body.setdefault("abbreviation", uuid.uuid4().hex[:8].upper())
    return created(client, admin, "contract-templates", {"allotment_type": allotment_type, **body})


def _customer(client, user: TestUser, name: str = "Contoso") -> dict:
    return created(client, user, "accounts", {"name": name})


def _customer_ref(customer: dict) -> dict:
    return {"customer_type": "account" if "name" in customer else "contact", "customer_id": customer["id"]}


def _contract(client, user: TestUser, template: dict, customer: dict, start: date = TODAY - timedelta(days=10),
              days: int = 365, **body) -> dict:
    body = {"template_id": template["id"], "title": "Premier support", "currency_code": "EUR",
            "active_on": str(start), "expires_on": str(start + timedelta(days=days - 1)),
            **_customer_ref(customer), **body}
    return created(client, user, "contracts", body)


def _add_line(client, user: TestUser, contract: dict, **body):
    body.setdefault("title", "Support")
    return client.post(f"{K}/{contract['id']}/lines", json=body, headers=user.headers)


def _line(client, user: TestUser, contract: dict, **body) -> dict:
    r = _add_line(client, user, contract, **body)
    assert r.status_code == 201, r.text
    return r.json()


def _verb(client, user: TestUser, contract: dict, verb: str, **body):
    return client.post(f"{K}/{contract['id']}/{verb}", json=body or None, headers=user.headers)


def _active(client, user: TestUser, template: dict, customer: dict, lines: list[dict], **body) -> dict:
    """An Active contract with these lines (it started 10 days ago)."""
    contract = _contract(client, user, template, customer, **body)
    for line in lines:
        _line(client, user, contract, **line)
    r = _verb(client, user, contract, "invoice")
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "Active"
    return r.json()


def _get(client, user: TestUser, contract: dict) -> dict:
    r = client.get(f"{K}/{contract['id']}", headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()


def _case(client, user: TestUser, customer: dict, **body):
    body = {"title": "Printer on fire", **_customer_ref(customer), **body}
    return client.post("/api/v1/cases", json=body, headers=user.headers)


def _resolve(client, user: TestUser, case: dict, minutes: int = 0):
    return client.post(f"/api/v1/cases/{case['id']}/resolve", json={"subject": "Fixed", "time_spent_minutes": minutes},
                       headers=user.headers)


def _refresh(session_factory, day: date) -> int:
    with UnitOfWork(session_factory) as uow:
        changed = refresh_contract_states(uow.session, day)
        uow.commit()
        return changed


# --- templates ---------------------------------------------------------------------------------------
def test_templates_have_unique_abbreviations_and_only_admins_change_them(client, org: OrgBuilder,
                                                                         admin: TestUser) -> None:
    gold = _template(client, admin, TIME, name="Gold", abbreviation="GLD", billing_frequency=3, service_level=1)
    assert (gold["allotment_type"], gold["billing_frequency"], gold["service_level"], gold["state"]) == (2, 3, 1,
                                                                                                      "Active")
    assert _template(client, admin, abbreviation="BRZ")["billing_frequency"] == 1  # Monthly by default
    body = problem(client.post(T, json={"name": "Other", "abbreviation": "gld", "allotment_type": 1},
                               headers=admin.headers), 409)
    assert "'Gold'" in body["detail"]
    problem(client.patch(f"{T}/{gold['id']}", json={"abbreviation": "BRZ"}, headers=admin.headers), 409)
    for field, value in (("allotment_type", 4), ("billing_frequency", 6), ("service_level", 9)):
        r = client.post(T, json={"name": "x", "abbreviation": "X1", "allotment_type": 1, field: value},
                        headers=admin.headers)
        problem(r, 422, field)

    csr = org.user("csr@example.com", ["Customer Service Representative"])
    assert client.get(f"{T}/{gold['id']}", headers=csr.headers).json()["name"] == "Gold"
    problem(client.post(T, json={"name": "Mine", "abbreviation": "MINE", "allotment_type": 1},
                        headers=csr.headers), 403)
    problem(client.post(f"{T}/{gold['id']}/deactivate", headers=csr.headers), 403)

    r = client.post(f"{T}/{gold['id']}/deactivate", headers=admin.headers)
    assert r.json()["state"] == "Inactive"
    problem(client.patch(f"{T}/{gold['id']}", json={"name": "Platinum"}, headers=admin.headers), 409)
    assert client.post(f"{T}/{gold['id']}/activate", headers=admin.headers).json()["state"] == "Active"
    r = client.patch(f"{T}/{gold['id']}", json={"name": "Platinum"}, headers=admin.headers)
    assert r.json()["name"] == "Platinum"


# --- contracts and lines -----------------------------------------------------------------------------
def test_a_contract_copies_its_active_template(client, admin: TestUser, session_factory) -> None:
    template = _template(client, admin, TIME, billing_frequency=5, service_level=2)
    customer = _customer(client, admin)
    contract = _contract(client, admin, template, customer)
    assert CONTRACT_NUMBER.match(contract["contract_number"]), contract["contract_number"]
    assert (contract["state"], contract["status"]) == ("Draft", "Draft")
    assert (contract["allotment_type"], contract["billing_frequency"], contract["service_level"]) == (2, 5, 2)
    assert (contract["total_price"], contract["net_price"], contract["lines"]) == ("0.0000", "0.0000", [])
    assert (contract["customer_type"], contract["customer_id"]) == ("account", customer["id"])
    assert _contract(client, admin, template, customer)["contract_number"] != contract["contract_number"]

    with UnitOfWork(session_factory) as uow:
        sla = Sla(id=uuid.uuid4(), name="Gold hours", statecode=1, statuscode=2)
        uow.session.add(sla)
        uow.commit()
    assert _contract(client, admin, template, customer, sla_id=str(sla.id))["sla_id"] == str(sla.id)

    base = {"template_id": template["id"], "title": "x", "currency_code": "EUR", "active_on": str(TODAY),
            "expires_on": str(TODAY + timedelta(days=30)), **_customer_ref(customer)}
    problem(client.post(K, json={**base, "sla_id": str(uuid.uuid4())}, headers=admin.headers), 422, "sla_id")
    problem(client.post(K, json={**base, "expires_on": str(TODAY - timedelta(days=1))}, headers=admin.headers),
            422, "expires_on")
    problem(client.post(K, json={**base, "customer_id": str(uuid.uuid4())}, headers=admin.headers), 422,
            "customer_id")
    problem(client.post(K, json={**base, "contract_number": "CNR-1"}, headers=admin.headers), 422,
            "contract_number")
    client.post(f"{T}/{template['id']}/deactivate", headers=admin.headers)
    body = problem(client.post(K, json=base, headers=admin.headers), 422, "template_id")
    assert "Inactive" in body["detail"]


def test_lines_give_the_totals_and_keep_within_the_contract(client, admin: TestUser) -> None:
    contract = _contract(client, admin, _template(client, admin, CASES), _customer(client, admin), start=TODAY)
    first = _line(client, admin, contract, title="Support", total_allotments=5, price="1000", discount="100")
    assert (first["line_number"], first["net"], first["allotments_remaining"]) == (1, "900.0000", 5)
    assert (first["active_on"], first["expires_on"]) == (contract["active_on"], contract["expires_on"])
    second = _line(client, admin, contract, title="Extra", total_allotments=2, price="250.5",
                   expires_on=str(TODAY + timedelta(days=90)))
    third = _line(client, admin, contract, title="Weekend", total_allotments=1)
    assert [second["line_number"], third["line_number"]] == [2, 3]
    totals = _get(client, admin, contract)
    assert (totals["total_price"], totals["total_discount"], totals["net_price"]) == ("1250.5000", "100.0000",
                                                                                   "1150.5000")

    problem(_add_line(client, admin, contract, total_allotments=1, price="10", discount="11"), 422, "discount")
    problem(_add_line(client, admin, contract), 422, "total_allotments")
    problem(_add_line(client, admin, contract, total_allotments=0), 422, "total_allotments")
    problem(_add_line(client, admin, contract, total_allotments=1, active_on=str(TODAY - timedelta(days=1))), 422,
            "active_on")
    problem(_add_line(client, admin, contract, total_allotments=1, expires_on=str(TODAY + timedelta(days=400))),
            422, "expires_on")
    problem(_add_line(client, admin, contract, total_allotments=1, product_id=str(uuid.uuid4())), 422, "product_id")

    r = client.patch(f"{K}/{contract['id']}/lines/{first['id']}", json={"discount": "0"}, headers=admin.headers)
    assert r.json()["net"] == "1000.0000"
    assert client.delete(f"{K}/{contract['id']}/lines/{third['id']}", headers=admin.headers).status_code == 204
    after = _get(client, admin, contract)
    assert (after["total_price"], after["total_discount"], after["net_price"]) == ("1250.5000", "0.0000",
                                                                                "1250.5000")
    assert [x["line_number"] for x in after["lines"]] == [1, 2]
    # The contract's dates cannot leave a line out; the line's changes are in the contract's audit trail.
    r = client.patch(f"{K}/{contract['id']}", json={"expires_on": str(TODAY + timedelta(days=30))},
                     headers=admin.headers)
    assert "line 1 'Support'" in problem(r, 422, "expires_on")["detail"]
    trail = client.get(f"{K}/{contract['id']}/audit", headers=admin.headers).json()
    assert any(key == f"line.{first['id']}.discount" for entry in trail for key in entry["changes"])

    coverage = _contract(client, admin, _template(client, admin, COVERAGE), _customer(client, admin, "Fabrikam"))
    problem(_add_line(client, admin, coverage, total_allotments=3), 422, "total_allotments")
    assert _line(client, admin, coverage, price="99")["total_allotments"] is None


def test_only_a_draft_changes_and_invoicing_activates_when_the_day_has_come(client, admin: TestUser,
                                                                           session_factory) -> None:
    template, customer = _template(client, admin), _customer(client, admin)
    contract = _contract(client, admin, template, customer, start=TODAY)
    body = problem(_verb(client, admin, contract, "invoice"), 409)
    assert "no lines" in body["detail"]
    line = _line(client, admin, contract, total_allotments=3)
    active = _verb(client, admin, contract, "invoice").json()
    assert (active["state"], active["status"]) == ("Active", "Active")
    for r in (_add_line(client, admin, contract, total_allotments=1),
              client.patch(f"{K}/{contract['id']}/lines/{line['id']}", json={"price": "1"}, headers=admin.headers),
              client.delete(f"{K}/{contract['id']}/lines/{line['id']}", headers=admin.headers),
              client.patch(f"{K}/{contract['id']}", json={"title": "New"}, headers=admin.headers)):
        assert "Active and read-only" in problem(r, 409)["detail"]
    problem(_verb(client, admin, contract, "invoice"), 409)
    problem(client.post(f"{K}/{contract['id']}/set-state", json={"statecode": 5}, headers=admin.headers), 409)

    later = _contract(client, admin, template, customer, start=TODAY + timedelta(days=5), days=10)
    _line(client, admin, later, total_allotments=1, expires_on=str(TODAY + timedelta(days=8)))
    assert _verb(client, admin, later, "invoice").json()["state"] == "Invoiced"
    problem(client.post(f"{K}/{later['id']}/set-state", json={"statecode": 2}, headers=admin.headers), 409)
    assert _refresh(session_factory, TODAY + timedelta(days=4)) == 0
    assert _refresh(session_factory, TODAY + timedelta(days=5)) == 1
    assert _get(client, admin, later)["state"] == "Active"
    assert _refresh(session_factory, TODAY + timedelta(days=9)) == 1  # its line ran out first
    got = _get(client, admin, later)
    assert (got["state"], got["lines"][0]["state"]) == ("Active", "Expired")
    assert _refresh(session_factory, TODAY + timedelta(days=15)) == 1
    assert _refresh(session_factory, TODAY + timedelta(days=15)) == 0  # nothing is done twice
    assert _get(client, admin, later)["state"] == "Expired"
    assert _get(client, admin, contract)["state"] == "Active"  # a year long: not yet


def test_hold_release_cancel_and_renew(client, admin: TestUser) -> None:
    template, customer = _template(client, admin), _customer(client, admin)
    start = TODAY - timedelta(days=10)
    contract = _active(client, admin, template, customer, start=start, days=30,
                       lines=[{"title": "Support", "total_allotments": 5, "price": "100",
                               "active_on": str(start + timedelta(days=2))},
                              {"title": "Spare", "total_allotments": 1}])
    assert _verb(client, admin, contract, "hold").json()["state"] == "On Hold"
    assert "cannot hold" in problem(_verb(client, admin, contract, "hold"), 409)["detail"]
    assert _verb(client, admin, contract, "release").json()["state"] == "Active"
    problem(_verb(client, admin, contract, "release"), 409)

    r = _verb(client, admin, contract, "renew")
    assert r.status_code == 201, r.text
    renewal = r.json()
    assert (renewal["state"], renewal["originating_contract_id"]) == ("Draft", contract["id"])
    assert renewal["contract_number"] != contract["contract_number"]
    assert renewal["active_on"] == str(start + timedelta(days=30))
    assert renewal["expires_on"] == str(start + timedelta(days=59))
    copied = renewal["lines"][0]
    assert (copied["title"], copied["total_allotments"], copied["allotments_used"], copied["state"]) == (
        "Support", 5, 0, "Existing")
    assert copied["active_on"] == str(start + timedelta(days=32))
    assert renewal["total_price"] == "100.0000"
    assert "renewed already" in problem(_verb(client, admin, contract, "renew"), 409)["detail"]
    problem(_verb(client, admin, renewal, "renew"), 409)  # a draft is not renewed
    problem(_verb(client, admin, renewal, "cancel"), 409)  # nor canceled: delete it

    canceled = _verb(client, admin, contract, "cancel", canceled_on=str(TODAY - timedelta(days=1))).json()
    assert (canceled["state"], canceled["canceled_on"]) == ("Canceled", str(TODAY - timedelta(days=1)))
    assert {x["state"] for x in canceled["lines"]} == {"Canceled"}
    problem(_verb(client, admin, contract, "cancel"), 409)
    problem(_verb(client, admin, contract, "renew"), 409)
    other = _active(client, admin, template, customer, lines=[{"total_allotments": 1}])
    assert _verb(client, admin, other, "cancel").json()["canceled_on"] == str(TODAY)


def test_contracts_are_owned_like_cases(client, org: OrgBuilder, admin: TestUser) -> None:
    template = _template(client, admin)
    east, west = org.unit("East"), org.unit("West")
    seller_east = org.user("east@example.com", ["Salesperson"], east)
    seller_west = org.user("west@example.com", ["Salesperson"], west)
    csr = org.user("csr@example.com", ["Customer Service Representative"], west)
    mine = _contract(client, csr, template, _customer(client, csr))
    assert mine["owner_id"] == str(csr.id)
    assert _line(client, csr, mine, total_allotments=2)["line_number"] == 1
    assert client.get(f"{K}/{mine['id']}", headers=seller_west.headers).status_code == 200
    problem(client.get(f"{K}/{mine['id']}", headers=seller_east.headers), 404)
    problem(client.get(f"{K}/{mine['id']}/lines", headers=seller_east.headers), 404)
    assert client.get(K, headers=seller_east.headers).json()["items"] == []
    # A colleague of the unit reads it but does not change it.
    problem(client.patch(f"{K}/{mine['id']}", json={"title": "Mine now"}, headers=seller_west.headers), 403)
    problem(_add_line(client, seller_west, mine, total_allotments=1), 403)
    # A line of a contract he cannot read is no line to him: it gives his case no contract.
    line = _get(client, csr, mine)["lines"][0]
    r = _case(client, seller_east, _customer(client, seller_east), contract_line_id=line["id"])
    assert "no contract line" in problem(r, 422, "contract_line_id")["detail"]


def test_available_contracts_for_an_account_and_a_contact_under_it(client, admin: TestUser) -> None:
    cases, coverage = _template(client, admin, CASES), _template(client, admin, COVERAGE)
    account = _customer(client, admin)
    contact = created(client, admin, "contacts", {"last_name": "Doe", "parent_account_id": account["id"]})
    stranger = _customer(client, admin, "Fabrikam")
    support = _active(client, admin, cases, account, lines=[
        {"title": "Support", "total_allotments": 5},
        {"title": "Old", "total_allotments": 5, "expires_on": str(TODAY - timedelta(days=1))},
        {"title": "Next month", "total_allotments": 5, "active_on": str(TODAY + timedelta(days=30))}])
    contact_cover = _contract(client, admin, coverage, contact)
    _line(client, admin, contact_cover, title="Hardware")
    _verb(client, admin, contact_cover, "invoice")
    _contract(client, admin, cases, account)  # a draft: not offered
    _active(client, admin, cases, stranger, lines=[{"total_allotments": 1}])
    held = _active(client, admin, cases, account, lines=[{"total_allotments": 1}])
    _verb(client, admin, held, "hold")

    def offered(customer: dict, **params) -> list[dict]:
        r = client.get(f"{K}/available", params={**_customer_ref(customer), **params}, headers=admin.headers)
        assert r.status_code == 200, r.text
        return r.json()

    for_account = offered(account)
    assert [c["contract_id"] for c in for_account] == [support["id"]]
    assert [x["title"] for x in for_account[0]["lines"]] == ["Support"]
    assert for_account[0]["line_required"] is True
    for_contact = offered(contact)
    assert {c["contract_id"] for c in for_contact} == {support["id"], contact_cover["id"]}
    cover = next(c for c in for_contact if c["contract_id"] == contact_cover["id"])
    assert (cover["line_required"], [x["title"] for x in cover["lines"]]) == (False, ["Hardware"])
    later = offered(account, on=str(TODAY + timedelta(days=40)))
    assert [x["title"] for x in later[0]["lines"]] == ["Support", "Next month"]
    assert offered(account, on=str(TODAY + timedelta(days=400))) == []
    problem(client.get(f"{K}/available", params={"customer_type": "account", "customer_id": contact["id"]},
                       headers=admin.headers), 422, "customer_id")


# --- cases under contracts ---------------------------------------------------------------------------
def test_resolving_cases_uses_up_a_line_and_reactivating_gives_it_back(client, admin: TestUser) -> None:
    customer = _customer(client, admin)
    contract = _active(client, admin, _template(client, admin, CASES), customer,
                       lines=[{"title": "Support", "total_allotments": 2}])
    line = contract["lines"][0]
    first = _case(client, admin, customer, contract_line_id=line["id"]).json()
    assert (first["contract_id"], first["contract_line_id"]) == (contract["id"], line["id"])
    second = _case(client, admin, customer, contract_id=contract["id"], contract_line_id=line["id"]).json()
    third = _case(client, admin, customer, contract_line_id=line["id"]).json()
    assert _resolve(client, admin, first, minutes=90).status_code == 200
    assert _get(client, admin, contract)["lines"][0]["allotments_used"] == 1
    assert _resolve(client, admin, second).status_code == 200
    used = _get(client, admin, contract)["lines"][0]
    assert (used["allotments_used"], used["allotments_remaining"]) == (2, 0)

    body = problem(_case(client, admin, customer, contract_line_id=line["id"]), 422, "contract_line_id")
    assert "contract line 1 'Support' is exhausted: 2 of 2 cases used" in body["detail"]
    # The case opened before the last allotment went cannot be resolved under it.
    body = problem(_resolve(client, admin, third), 409)
    assert "exhausted: 2 of 2 cases used" in body["detail"]
    assert client.get(f"/api/v1/cases/{third['id']}", headers=admin.headers).json()["state"] == "Active"

    r = client.post(f"/api/v1/cases/{second['id']}/reactivate", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert _get(client, admin, contract)["lines"][0]["allotments_used"] == 1
    assert _resolve(client, admin, third).status_code == 200
    assert _get(client, admin, contract)["lines"][0]["allotments_used"] == 2


def test_time_lines_use_the_minutes_spent_and_record_overage(client, admin: TestUser) -> None:
    customer = _customer(client, admin)
    contract = _active(client, admin, _template(client, admin, TIME), customer,
                       lines=[{"title": "Support hours", "total_allotments": 60}])
    line = contract["lines"][0]
    first = _case(client, admin, customer, contract_line_id=line["id"]).json()
    second = _case(client, admin, customer, contract_line_id=line["id"]).json()
    _resolve(client, admin, first, minutes=45)
    assert _get(client, admin, contract)["lines"][0]["allotments_remaining"] == 15
    _resolve(client, admin, second, minutes=30)
    used = _get(client, admin, contract)["lines"][0]
    assert (used["allotments_used"], used["allotments_remaining"], used["allotments_overage"]) == (75, 0, 15)
    body = problem(_case(client, admin, customer, contract_line_id=line["id"]), 422, "contract_line_id")
    assert "75 of 60 minutes used" in body["detail"]
    client.post(f"/api/v1/cases/{second['id']}/reactivate", headers=admin.headers)
    back = _get(client, admin, contract)["lines"][0]
    assert (back["allotments_used"], back["allotments_overage"]) == (45, 0)


def test_a_case_needs_a_usable_contract_of_its_customer(client, admin: TestUser) -> None:
    cases, coverage = _template(client, admin, CASES), _template(client, admin, COVERAGE)
    customer, stranger = _customer(client, admin), _customer(client, admin, "Fabrikam")
    contact = created(client, admin, "contacts", {"last_name": "Doe", "parent_account_id": customer["id"]})
    contract = _active(client, admin, cases, customer, lines=[
        {"title": "Support", "total_allotments": 3},
        {"title": "Support hours", "total_allotments": 3, "expires_on": str(TODAY - timedelta(days=1))}])
    current, expired = contract["lines"]
    theirs = _active(client, admin, cases, stranger, lines=[{"title": "Theirs", "total_allotments": 3}])

    body = problem(_case(client, admin, customer, contract_id=theirs["id"], contract_line_id=theirs["lines"][0]["id"]),
                   422, "contract_id")
    assert "not a contract of the case's customer" in body["detail"]
    body = problem(_case(client, admin, customer, contract_line_id=expired["id"]), 422, "contract_line_id")
    assert f"contract line 2 'Support hours' expired on {TODAY - timedelta(days=1)}" in body["detail"]
    problem(_case(client, admin, customer, contract_id=contract["id"]), 422, "contract_line_id")  # needs a line
    problem(_case(client, admin, customer, contract_id=theirs["id"], contract_line_id=current["id"]), 422,
            "contract_line_id")
    problem(_case(client, admin, customer, contract_line_id=str(uuid.uuid4())), 422, "contract_line_id")
    # A contact's case may use his parent account's contract.
    case = _case(client, admin, contact, contract_line_id=current["id"]).json()
    assert case["contract_id"] == contract["id"]
    # Changing the customer re-checks the contract; removing the contract removes the line.
    r = client.patch(f"/api/v1/cases/{case['id']}", json={"customer_type": "account", "customer_id": stranger["id"]},
                     headers=admin.headers)
    problem(r, 422, "contract_id")
    r = client.patch(f"/api/v1/cases/{case['id']}", json={"contract_id": None}, headers=admin.headers)
    assert (r.json()["contract_id"], r.json()["contract_line_id"]) == (None, None)

    _verb(client, admin, contract, "hold")
    body = problem(_case(client, admin, customer, contract_line_id=current["id"]), 422, "contract_id")
    assert f"contract {contract['contract_number']} is On Hold" in body["detail"]
    # A Coverage Dates contract needs no line and counts nothing.
    covered = _active(client, admin, coverage, customer, lines=[{"title": "Hardware"}])
    case = _case(client, admin, customer, contract_id=covered["id"]).json()
    assert _resolve(client, admin, case, minutes=30).status_code == 200
    assert _get(client, admin, covered)["lines"][0]["allotments_used"] == 0


def test_delete_rules(client, admin: TestUser) -> None:
    template, customer = _template(client, admin, name="Basic"), _customer(client, admin)
    draft = _contract(client, admin, template, customer)
    _line(client, admin, draft, total_allotments=1)
    assert client.delete(f"{K}/{draft['id']}", headers=admin.headers).status_code == 204
    problem(client.get(f"{K}/{draft['id']}", headers=admin.headers), 404)

    active = _active(client, admin, template, customer, lines=[{"total_allotments": 1}])
    body = problem(client.delete(f"{K}/{active['id']}", headers=admin.headers), 409)
    assert "is Active" in body["detail"]
    case = _case(client, admin, customer, contract_line_id=active["lines"][0]["id"]).json()
    _verb(client, admin, active, "cancel")
    body = problem(client.delete(f"{K}/{active['id']}", headers=admin.headers), 409)
    assert case["case_number"] in body["detail"]
    unused = _active(client, admin, template, customer, lines=[{"total_allotments": 1}])
    _verb(client, admin, unused, "cancel")
    assert client.delete(f"{K}/{unused['id']}", headers=admin.headers).status_code == 204

    body = problem(client.delete(f"{T}/{template['id']}", headers=admin.headers), 409)
    assert active["contract_number"] in body["detail"] and "'Basic'" in body["detail"]
    spare = _template(client, admin)
    assert client.delete(f"{T}/{spare['id']}", headers=admin.headers).status_code == 204
