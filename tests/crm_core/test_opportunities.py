"""Opportunities through the API: customer and estimate, win, lose and reopen with their close records, the
sales process and its stages, competitors, and the timeline."""

from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

OPP = "/api/v1/opportunities"
MISSING = "00000000-0000-4000-8000-000000000001"


def _opportunity(client, user: TestUser, customer: dict | None = None, **fields) -> dict:
    customer = customer or created(client, user, "accounts", {"name": "Contoso"})
    body = {"name": "20 laptops", "customer_type": "account", "customer_id": customer["id"],
            "currency_code": "EUR", "estimated_value": "24000.00", **fields}
    return created(client, user, "opportunities", body)


def _process(client, admin: TestUser, name: str = "B2B") -> dict:
    return created(client, admin, "sales-processes", {"name": name, "stages": [
        {"name": "Qualify", "probability": 10, "sales_stage_code": 0},
        {"name": "Develop", "probability": 40, "sales_stage_code": 1},
        {"name": "Propose", "probability": 70, "sales_stage_code": 2},
        {"name": "Close", "probability": 90, "sales_stage_code": 3},
    ]})


def _post(client, user: TestUser, path: str, body: dict | None = None):
    return client.post(path, json=body, headers=user.headers) if body is not None else \
        client.post(path, headers=user.headers)


# --- the record --------------------------------------------------------------------------------------
def test_an_opportunity_has_a_customer_an_estimate_and_a_currency(client, admin: TestUser) -> None:
    jo = created(client, admin, "contacts", {"last_name": "Jo"})
    opp = _opportunity(client, admin, jo | {}, customer_type="contact", estimated_close_date="2030-06-30",
                       close_probability=25, opportunity_rating_code=1)
    assert (opp["customer_type"], opp["customer_id"]) == ("contact", jo["id"])
    assert (opp["state"], opp["status"], opp["statecode"], opp["statuscode"]) == ("Open", "In Progress", 0, 1)
    assert (opp["currency_code"], float(opp["estimated_value"])) == ("EUR", 24000)
    assert (opp["estimated_close_date"], opp["close_probability"]) == ("2030-06-30", 25)
    account = created(client, admin, "accounts", {"name": "Fabrikam"})
    r = client.patch(f"{OPP}/{opp['id']}", json={"customer_type": "account", "customer_id": account["id"]},
                     headers=admin.headers)
    assert (r.json()["customer_type"], r.json()["customer_id"]) == ("account", account["id"])
    listed = client.get(OPP, params={"customer_id": account["id"]}, headers=admin.headers).json()["items"]
    assert [o["id"] for o in listed] == [opp["id"]]
    assert client.get(OPP, params={"customer_id": jo["id"]}, headers=admin.headers).json()["items"] == []


def test_opportunity_validation_names_the_field(client, admin: TestUser) -> None:
    account = created(client, admin, "accounts", {"name": "Contoso"})
    base = {"name": "X", "customer_type": "account", "customer_id": account["id"], "currency_code": "EUR"}
    cases = [
        ({"currency_code": "eur"}, "currency_code"), ({"currency_code": "EURO"}, "currency_code"),
        ({"close_probability": 101}, "close_probability"), ({"estimated_value": "-1"}, "estimated_value"),
        ({"customer_type": "lead"}, "customer_type"), ({"customer_id": MISSING}, "customer_id"),
        ({"opportunity_rating_code": 4}, "opportunity_rating_code"), ({"name": ""}, "name"),
        ({"sales_process_id": MISSING}, "sales_process_id"), ({"originating_lead_id": MISSING}, "originating_lead_id"),
    ]
    for change, field in cases:
        problem(client.post(OPP, json={**base, **change}, headers=admin.headers), 422, field)
    without_customer = {k: v for k, v in base.items() if k not in ("customer_type", "customer_id")}
    problem(client.post(OPP, json=without_customer, headers=admin.headers), 422, "customer_type")


def test_a_customer_the_caller_cannot_read_is_refused(client, org: OrgBuilder) -> None:
    east, west = org.unit("East"), org.unit("West")
    eve = org.user("eve@example.com", ["Salesperson"], east)
    walt = org.user("walt@example.com", ["Salesperson"], west)
    hidden = created(client, eve, "accounts", {"name": "East Co"})
    problem(client.post(OPP, json={"name": "X", "customer_type": "account", "customer_id": hidden["id"],
                                 "currency_code": "EUR"}, headers=walt.headers), 422, "customer_id")
    opp = _opportunity(client, eve, hidden)
    problem(client.get(f"{OPP}/{opp['id']}", headers=walt.headers), 404)


def test_a_customer_with_opportunities_is_not_deleted_from_under_them(client, admin: TestUser) -> None:
    account = created(client, admin, "accounts", {"name": "Contoso"})
    opp = _opportunity(client, admin, account)
    problem(client.delete(f"/api/v1/accounts/{account['id']}", headers=admin.headers), 409)
    assert client.delete(f"{OPP}/{opp['id']}", headers=admin.headers).status_code == 204
    assert client.delete(f"/api/v1/accounts/{account['id']}", headers=admin.headers).status_code == 204


def test_opportunities_take_activities_and_have_a_timeline(client, admin: TestUser) -> None:
    opp = _opportunity(client, admin)
    call = created(client, admin, "activities", {"activity_type": "phone_call", "subject": "Budget?",
                                                 "regarding_type": "opportunity", "regarding_id": opp["id"]})
    assert call["regarding_name"] == "20 laptops"
    items = client.get(f"{OPP}/{opp['id']}/timeline", headers=admin.headers).json()["items"]
    assert [i["id"] for i in items] == [call["id"]]
    # Activities regarding an opportunity go with it.
    assert client.delete(f"{OPP}/{opp['id']}", headers=admin.headers).status_code == 204
    problem(client.get(f"/api/v1/activities/{call['id']}", headers=admin.headers), 404)


# --- win, lose, reopen -------------------------------------------------------------------------------
def test_win_closes_the_opportunity_with_a_close_record(client, admin: TestUser) -> None:
    opp = _opportunity(client, admin)
    r = _post(client, admin, f"{OPP}/{opp['id']}/win", {"actual_close_date": "2030-01-15", "description": "Signed"})
    assert r.status_code == 200, r.text
    won = r.json()
    assert (won["state"], won["status"], won["statecode"], won["statuscode"]) == ("Won", "Won", 1, 3)
    assert (float(won["actual_value"]), won["actual_close_date"]) == (24000, "2030-01-15")  # the estimate
    closes = client.get(f"{OPP}/{opp['id']}/closes", headers=admin.headers).json()
    assert len(closes) == 1
    close = closes[0]
    assert (close["statecode"], close["statuscode"], close["opportunity_statuscode"]) == (1, 2, 3)
    assert (float(close["actual_revenue"]), close["currency_code"], close["actual_end"]) == (24000, "EUR", "2030-01-15")
    assert (close["subject"], close["description"]) == ("Won: 20 laptops", "Signed")
    # Closed: read-only, and neither won nor lost again.
    problem(client.patch(f"{OPP}/{opp['id']}", json={"name": "x"}, headers=admin.headers), 409)
    problem(_post(client, admin, f"{OPP}/{opp['id']}/win", {}), 409)
    problem(_post(client, admin, f"{OPP}/{opp['id']}/lose", {}), 409)
    trail = client.get(f"{OPP}/{opp['id']}/audit", headers=admin.headers).json()
    win_entry = next(e for e in trail if e["action"] == "win")
    assert win_entry["changes"]["statecode"] == [0, 1]
    assert any(k.startswith("close.") for k in win_entry["changes"])


def test_win_takes_the_actual_revenue_given(client, admin: TestUser) -> None:
    opp = _opportunity(client, admin)
    won = _post(client, admin, f"{OPP}/{opp['id']}/win", {"actual_revenue": "23000.5"}).json()
    assert float(won["actual_value"]) == 23000.5
    assert won["actual_close_date"]  # today
    other = _opportunity(client, admin)
    problem(_post(client, admin, f"{OPP}/{other['id']}/win", {"actual_revenue": "-1"}), 422, "actual_revenue")
    problem(_post(client, admin, f"{OPP}/{other['id']}/win", {"description": "nul\x00"}), 422, "description")
    assert client.get(f"{OPP}/{other['id']}", headers=admin.headers).json()["state"] == "Open"


def test_lose_as_out_sold_to_a_competitor(client, admin: TestUser) -> None:
    rival = created(client, admin, "competitors", {"name": "Northwind", "strengths": "Price"})
    opp = _opportunity(client, admin)
    problem(_post(client, admin, f"{OPP}/{opp['id']}/lose", {"statuscode": 3}), 422, "statuscode")
    problem(_post(client, admin, f"{OPP}/{opp['id']}/lose", {"statuscode": 5, "competitor_id": MISSING}),
            422, "competitor_id")
    r = _post(client, admin, f"{OPP}/{opp['id']}/lose", {"statuscode": 5, "competitor_id": rival["id"],
                                                      "description": "Cheaper"})
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["status"], r.json()["statuscode"]) == ("Lost", "Out-Sold", 5)
    close = client.get(f"{OPP}/{opp['id']}/closes", headers=admin.headers).json()[0]
    assert (close["opportunity_statuscode"], close["competitor_id"], close["description"]) == \
        (5, rival["id"], "Cheaper")
    # Without a body it is Canceled (4).
    other = _opportunity(client, admin)
    assert _post(client, admin, f"{OPP}/{other['id']}/lose").json()["status"] == "Canceled"


def test_won_and_lost_are_reached_only_through_win_and_lose(client, admin: TestUser) -> None:
    opp = _opportunity(client, admin)
    for statecode in (1, 2):
        problem(client.post(f"{OPP}/{opp['id']}/set-state", json={"statecode": statecode}, headers=admin.headers),
                422, "statecode")
    r = client.post(f"{OPP}/{opp['id']}/set-state", json={"statecode": 0, "statuscode": 2}, headers=admin.headers)
    assert r.json()["status"] == "On Hold"


def test_reopen_makes_it_editable_and_cancels_the_close(client, admin: TestUser) -> None:
    opp = _opportunity(client, admin)
    problem(_post(client, admin, f"{OPP}/{opp['id']}/reopen"), 409)
    _post(client, admin, f"{OPP}/{opp['id']}/win", {})
    r = _post(client, admin, f"{OPP}/{opp['id']}/reopen")
    assert r.status_code == 200, r.text
    assert (r.json()["state"], r.json()["status"], r.json()["actual_value"]) == ("Open", "In Progress", None)
    close = client.get(f"{OPP}/{opp['id']}/closes", headers=admin.headers).json()[0]
    assert (close["statecode"], close["statuscode"]) == (2, 3)  # Canceled
    assert client.patch(f"{OPP}/{opp['id']}", json={"name": "30 laptops"}, headers=admin.headers).status_code == 200
    # Lost after all: a second close record, the current one.
    _post(client, admin, f"{OPP}/{opp['id']}/lose", {"statuscode": 4})
    closes = client.get(f"{OPP}/{opp['id']}/closes", headers=admin.headers).json()
    assert [(c["opportunity_statuscode"], c["statecode"]) for c in closes] == [(3, 2), (4, 1)]


def test_only_the_owner_side_may_close_an_opportunity(client, org: OrgBuilder) -> None:
    alice = org.user("alice@example.com", ["Salesperson"])
    bob = org.user("bob@example.com", ["Salesperson"])
    opp = _opportunity(client, alice)
    problem(_post(client, bob, f"{OPP}/{opp['id']}/win", {}), 403)
    assert _post(client, alice, f"{OPP}/{opp['id']}/win", {}).status_code == 200


# --- sales processes ---------------------------------------------------------------------------------
def test_admins_define_sales_processes_and_everyone_reads_them(client, org: OrgBuilder) -> None:
    admin = org.admin()
    sam = org.user("sam@example.com", ["Salesperson"])
    process = _process(client, admin)
    assert [(s["position"], s["name"], s["probability"]) for s in process["stages"]] == [
        (1, "Qualify", 10), (2, "Develop", 40), (3, "Propose", 70), (4, "Close", 90)]
    assert client.get(f"/api/v1/sales-processes/{process['id']}", headers=sam.headers).status_code == 200
    problem(client.post("/api/v1/sales-processes", json={"name": "Mine", "stages": [{"name": "A", "probability": 1}]},
                        headers=sam.headers), 403)
    problem(client.patch(f"/api/v1/sales-processes/{process['id']}", json={"name": "x"}, headers=sam.headers), 403)
    problem(client.post("/api/v1/sales-processes", json={"name": "b2b", "stages": [{"name": "A", "probability": 1}]},
                        headers=admin.headers), 409)


def test_sales_process_stages_are_checked(client, admin: TestUser) -> None:
    path = "/api/v1/sales-processes"
    problem(client.post(path, json={"name": "P", "stages": []}, headers=admin.headers), 422, "stages")
    problem(client.post(path, json={"name": "P", "stages": [{"name": "A", "probability": 101}]},
                        headers=admin.headers), 422, "stages.0.probability")
    problem(client.post(path, json={"name": "P", "stages": [{"name": "A", "probability": 1},
                                                            {"name": "a", "probability": 2}]},
                        headers=admin.headers), 422, "stages[1].name")


def test_an_opportunity_follows_its_process_stage_by_stage(client, admin: TestUser) -> None:
    process = _process(client, admin)
    qualify, develop, propose, _close = (s["id"] for s in process["stages"])
    opp = _opportunity(client, admin, sales_process_id=process["id"])
    assert (opp["stage_id"], opp["stage_name"], opp["close_probability"]) == (qualify, "Qualify", 10)
    r = _post(client, admin, f"{OPP}/{opp['id']}/set-stage", {"stage_id": propose})
    assert r.status_code == 200, r.text
    assert (r.json()["stage_name"], r.json()["close_probability"]) == ("Propose", 70)
    back = _post(client, admin, f"{OPP}/{opp['id']}/set-stage", {"stage_id": develop}).json()
    assert (back["stage_name"], back["close_probability"]) == ("Develop", 40)
    problem(_post(client, admin, f"{OPP}/{opp['id']}/set-stage", {"stage_id": develop}), 409)
    # Only a stage of its own process.
    other = _process(client, admin, "Retail")
    problem(_post(client, admin, f"{OPP}/{opp['id']}/set-stage", {"stage_id": other["stages"][1]["id"]}),
            422, "stage_id")
    # Every move is in the audit trail.
    trail = client.get(f"{OPP}/{opp['id']}/audit", headers=admin.headers).json()
    moves = [e["changes"]["stage_id"] for e in trail if e["action"] == "set_stage"]
    assert sorted(map(tuple, moves)) == sorted([(qualify, propose), (propose, develop)])
    # A closed opportunity stays where it is.
    _post(client, admin, f"{OPP}/{opp['id']}/win", {})
    problem(_post(client, admin, f"{OPP}/{opp['id']}/set-stage", {"stage_id": propose}), 409)


def test_set_stage_needs_a_process_and_changing_process_restarts_it(client, admin: TestUser) -> None:
    process, other = _process(client, admin), _process(client, admin, "Retail")
    opp = _opportunity(client, admin)
    problem(_post(client, admin, f"{OPP}/{opp['id']}/set-stage", {"stage_id": process["stages"][0]["id"]}), 409)
    r = client.patch(f"{OPP}/{opp['id']}", json={"sales_process_id": process["id"], "close_probability": 5},
                     headers=admin.headers)
    assert (r.json()["stage_name"], r.json()["close_probability"]) == ("Qualify", 5)  # the probability given
    r = client.patch(f"{OPP}/{opp['id']}", json={"sales_process_id": other["id"]}, headers=admin.headers)
    assert (r.json()["stage_id"], r.json()["close_probability"]) == (other["stages"][0]["id"], 10)
    r = client.patch(f"{OPP}/{opp['id']}", json={"sales_process_id": None}, headers=admin.headers)
    assert (r.json()["sales_process_id"], r.json()["stage_id"]) == (None, None)


def test_stages_in_use_stay_and_processes_in_use_stay(client, admin: TestUser) -> None:
    process = _process(client, admin)
    stages = process["stages"]
    opp = _opportunity(client, admin, sales_process_id=process["id"])
    _post(client, admin, f"{OPP}/{opp['id']}/set-stage", {"stage_id": stages[1]["id"]})
    path = f"/api/v1/sales-processes/{process['id']}"
    # Reordered and re-weighted, Develop keeps its id and its opportunity.
    r = client.patch(path, headers=admin.headers, json={"stages": [
        {"id": stages[1]["id"], "name": "Develop", "probability": 50}, {"name": "Won", "probability": 100}]})
    assert r.status_code == 200, r.text
    assert [(s["position"], s["name"]) for s in r.json()["stages"]] == [(1, "Develop"), (2, "Won")]
    assert r.json()["stages"][0]["id"] == stages[1]["id"]
    assert client.get(f"{OPP}/{opp['id']}", headers=admin.headers).json()["stage_name"] == "Develop"
    problem(client.patch(path, json={"stages": [{"name": "Other", "probability": 5}]}, headers=admin.headers), 409)
    problem(client.patch(path, json={"stages": [{"id": MISSING, "name": "X", "probability": 5}]},
                         headers=admin.headers), 422)
    problem(client.delete(path, headers=admin.headers), 409)
    client.patch(f"{OPP}/{opp['id']}", json={"sales_process_id": None}, headers=admin.headers)
    assert client.delete(path, headers=admin.headers).status_code == 204


# --- competitors -------------------------------------------------------------------------------------
def test_competitors_are_kept_by_admins_and_read_by_everyone(client, org: OrgBuilder) -> None:
    admin = org.admin()
    sam = org.user("sam@example.com", ["Salesperson"])
    rival = created(client, admin, "competitors", {"name": "Northwind", "website_url": "https://northwind.example",
                                                  "strengths": "Price", "weaknesses": "Support"})
    assert (rival["strengths"], rival["weaknesses"]) == ("Price", "Support")
    listed = client.get("/api/v1/competitors", params={"name__contains": "north"}, headers=sam.headers)
    assert [c["id"] for c in listed.json()["items"]] == [rival["id"]]
    problem(client.post("/api/v1/competitors", json={"name": "Mine"}, headers=sam.headers), 403)
    problem(client.post("/api/v1/competitors", json={"name": " "}, headers=admin.headers), 422, "name")


def test_link_and_unlink_competitors(client, org: OrgBuilder) -> None:
    admin = org.admin()
    sam = org.user("sam@example.com", ["Salesperson"])
    northwind = created(client, admin, "competitors", {"name": "Northwind"})
    fabrikam = created(client, admin, "competitors", {"name": "Fabrikam"})
    opp = _opportunity(client, sam)
    path = f"{OPP}/{opp['id']}/competitors"
    for rival in (northwind, fabrikam):
        assert client.post(f"{path}/{rival['id']}", headers=sam.headers).status_code == 204
    problem(client.post(f"{path}/{northwind['id']}", headers=sam.headers), 409)
    problem(client.post(f"{path}/{MISSING}", headers=sam.headers), 404)
    assert [c["name"] for c in client.get(path, headers=sam.headers).json()] == ["Fabrikam", "Northwind"]
    assert client.delete(f"{path}/{fabrikam['id']}", headers=sam.headers).status_code == 204
    problem(client.delete(f"{path}/{fabrikam['id']}", headers=sam.headers), 404)
    assert [c["name"] for c in client.get(path, headers=sam.headers).json()] == ["Northwind"]
    trail = client.get(f"{OPP}/{opp['id']}/audit", headers=admin.headers).json()
    assert {"link_competitor", "unlink_competitor"} <= {e["action"] for e in trail}
    # A closed opportunity's competitors are read-only; a deleted competitor leaves the list.
    _post(client, sam, f"{OPP}/{opp['id']}/lose", {"statuscode": 5, "competitor_id": northwind["id"]})
    problem(client.post(f"{path}/{fabrikam['id']}", headers=sam.headers), 409)
    assert client.delete(f"/api/v1/competitors/{northwind['id']}", headers=admin.headers).status_code == 204
    assert client.get(path, headers=sam.headers).json() == []
    assert client.get(f"{OPP}/{opp['id']}/closes", headers=sam.headers).json()[0]["competitor_id"] is None


def test_competitors_of_an_opportunity_out_of_reach_cannot_be_linked(client, org: OrgBuilder) -> None:
    admin = org.admin()
    east, west = org.unit("East"), org.unit("West")
    eve = org.user("eve@example.com", ["Salesperson"], east)
    walt = org.user("walt@example.com", ["Salesperson"], west)
    rival = created(client, admin, "competitors", {"name": "Northwind"})
    opp = _opportunity(client, eve)
    problem(client.post(f"{OPP}/{opp['id']}/competitors/{rival['id']}", headers=walt.headers), 404)
    assert client.post(f"{OPP}/{opp['id']}/competitors/{rival['id']}", headers=eve.headers).status_code == 204
