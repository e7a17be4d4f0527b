"""Campaigns, their lists, the distribution of campaign activities, campaign responses and their conversion,
and quick campaigns, through the API as a marketer uses them."""

import pytest

from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

C, L, R, Q = "/api/v1/campaigns", "/api/v1/marketing-lists", "/api/v1/campaign-responses", "/api/v1/quick-campaigns"


def campaign(client, user: TestUser, **body) -> dict:
    return created(client, user, "campaigns", {"name": "Spring launch", **body})


def contact(client, user: TestUser, last_name: str, **body) -> dict:
    return created(client, user, "contacts", {"last_name": last_name, **body})


def static_list(client, user: TestUser, ids: list[str], member_type: str = "contact", **body) -> dict:
    lst = created(client, user, "marketing-lists", {"name": "List", "member_type": member_type, **body})
    if ids:
        r = client.post(f"{L}/{lst['id']}/members", json={"ids": ids}, headers=user.headers)
        assert r.status_code == 200, r.text
    return lst


def attach(client, user: TestUser, campaign_id: str, list_id: str) -> None:
    r = client.post(f"{C}/{campaign_id}/lists", json={"list_id": list_id}, headers=user.headers)
    assert r.status_code == 201, r.text


def campaign_activity(client, user: TestUser, campaign_id: str, channel: int | None, **body) -> dict:
    return created(client, user, "activities", {
        "activity_type": "campaign_activity", "subject": "Spring offer", "description": "Ten percent off",
        "regarding_type": "campaign", "regarding_id": campaign_id, "channel_type_code": channel, **body})


def distribute(client, user: TestUser, campaign_id: str, activity_id: str):
    return client.post(f"{C}/{campaign_id}/activities/{activity_id}/distribute", headers=user.headers)


def activities_regarding(client, user: TestUser, entity: str, record_id: str, activity_type: str) -> list[dict]:
    r = client.get("/api/v1/activities", params={"regarding_type": entity, "regarding_id": record_id,
                                                 "activity_type": activity_type, "limit": 500},
                   headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def member_of(activity: dict) -> str:
    return next(p["party_id"] for p in activity["parties"] if p["role"] in ("to", "required_attendee"))


# --- campaigns -----------------------------------------------------------------------------------------
def test_campaign_fields_and_their_rules(client, admin: TestUser) -> None:
    c = campaign(client, admin, type_code=2, budgeted_cost="1000.50", actual_cost="250", expected_revenue="9000",
                 expected_response=12, currency_code="EUR", proposed_start="2025-03-01", proposed_end="2025-04-30",
                 channels=["email", "phone", "email"], code_name="CMP-SPRING", objective="Grow")
    assert c["state"] == "Active" and c["status"] == "Proposed" and c["statuscode"] == 0
    assert c["channels"] == ["email", "phone"]
    assert c["budgeted_cost"] in ("1000.5", "1000.50", "1000.5000") and c["currency_code"] == "EUR"
    bad = [({"type_code": 9}, "type_code"), ({"expected_response": 150}, "expected_response"),
           ({"budgeted_cost": "-1", "currency_code": "EUR"}, "budgeted_cost"),
           ({"budgeted_cost": "10"}, "currency_code"), ({"budgeted_cost": "10", "currency_code": "eur"},
                                                        "currency_code"),
           ({"channels": ["pigeon"]}, "channels[0]"),
           ({"proposed_start": "2025-05-01", "proposed_end": "2025-04-01"}, "proposed_end"),
           ({"actual_start": "2025-05-01", "actual_end": "2025-04-01"}, "actual_end")]
    for body, field in bad:
        problem(client.post(C, json={"name": "Bad", **body}, headers=admin.headers), 422, field)
    r = client.patch(f"{C}/{c['id']}", json={"expected_response": 101}, headers=admin.headers)
    problem(r, 422, "expected_response")


def test_campaign_status_reasons_and_inactive_is_read_only(client, admin: TestUser) -> None:
    c = campaign(client, admin)
    for verb, status in (("launch", "Launched"), ("suspend", "Suspended"), ("complete", "Completed"),
                         ("cancel", "Canceled")):
        r = client.post(f"{C}/{c['id']}/{verb}", headers=admin.headers)
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["status"]) == ("Active", status)
    problem(client.post(f"{C}/{c['id']}/cancel", headers=admin.headers), 409)  # already Canceled
    r = client.post(f"{C}/{c['id']}/set-state", json={"statecode": 0, "statuscode": 1}, headers=admin.headers)
    assert r.json()["status"] == "Ready To Launch"
    r = client.post(f"{C}/{c['id']}/deactivate", headers=admin.headers)
    assert (r.json()["state"], r.json()["status"], r.json()["statuscode"]) == ("Inactive", "Inactive", 6)
    problem(client.patch(f"{C}/{c['id']}", json={"name": "x"}, headers=admin.headers), 409)
    lst = static_list(client, admin, [])
    problem(client.post(f"{C}/{c['id']}/lists", json={"list_id": lst["id"]}, headers=admin.headers), 409)
    problem(client.post(f"{C}/{c['id']}/set-state", json={"statecode": 1, "statuscode": 2},
                        headers=admin.headers), 422, "statuscode")
    r = client.post(f"{C}/{c['id']}/activate", headers=admin.headers)
    assert (r.json()["state"], r.json()["status"]) == ("Active", "Proposed")


def test_attach_and_detach_lists(client, org: OrgBuilder, admin: TestUser) -> None:
    c = campaign(client, admin)
    a, b = static_list(client, admin, [], name="A"), static_list(client, admin, [], name="B")
    attach(client, admin, c["id"], b["id"])
    attach(client, admin, c["id"], a["id"])
    assert [x["name"] for x in client.get(f"{C}/{c['id']}/lists", headers=admin.headers).json()] == ["A", "B"]
    problem(client.post(f"{C}/{c['id']}/lists", json={"list_id": a["id"]}, headers=admin.headers), 409)
    r = client.delete(f"{C}/{c['id']}/lists/{a['id']}", headers=admin.headers)
    assert r.status_code == 204
    assert [x["name"] for x in client.get(f"{C}/{c['id']}/lists", headers=admin.headers).json()] == ["B"]
    problem(client.delete(f"{C}/{c['id']}/lists/{a['id']}", headers=admin.headers), 404)

    client.post(f"{L}/{a['id']}/deactivate", headers=admin.headers)
    problem(client.post(f"{C}/{c['id']}/lists", json={"list_id": a["id"]}, headers=admin.headers), 422, "list_id")
    unit_b = org.unit("B")
    bob = org.user("bob@b.example", ["Salesperson"], unit_b)
    his = static_list(client, bob, [], name="Bob's")
    mine = campaign(client, bob, name="Bob's campaign")
    problem(client.post(f"{C}/{mine['id']}/lists", json={"list_id": b["id"]}, headers=bob.headers), 422,
            "list_id")  # a list beyond his reach is as good as missing
    attach(client, bob, mine["id"], his["id"])
    # Deleting a list detaches it.
    assert client.delete(f"{L}/{b['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"{C}/{c['id']}/lists", headers=admin.headers).json() == []
    trail = client.get(f"{C}/{c['id']}/audit", headers=admin.headers).json()
    assert {"attach_list", "detach_list"} <= {e["action"] for e in trail}


# --- distribution ------------------------------------------------------------------------------------
def test_email_distribution_creates_one_pending_send_email_per_member(client, admin: TestUser) -> None:
    ann = contact(client, admin, "Ann", email_address1="ann@example.com")
    ben = contact(client, admin, "Ben", email_address1="ben@example.com")
    quiet = contact(client, admin, "Quiet", email_address1="quiet@example.com", do_not_email=True)
    contact(client, admin, "Nomail")
    lead = created(client, admin, "leads", {"subject": "Lead", "last_name": "Lee", "email_address1": "lee@x.org"})
    c = campaign(client, admin)
    attach(client, admin, c["id"], static_list(client, admin, [ann["id"], ben["id"], quiet["id"]])["id"])
    dynamic = created(client, admin, "marketing-lists", {
        "name": "Ann and Nomail", "member_type": "contact", "is_dynamic": True,
        "criteria": {"field": "last_name", "op": "in", "value": ["ann", "nomail"]}})
    attach(client, admin, c["id"], dynamic["id"])  # Ann is in both lists: she gets one email
    attach(client, admin, c["id"], static_list(client, admin, [lead["id"]], member_type="lead")["id"])
    ca = campaign_activity(client, admin, c["id"], 7)

    r = distribute(client, admin, c["id"], ca["id"])
    assert r.status_code == 200, r.text
    assert r.json() == {"activity_type": "email", "created": 3, "skipped_unreadable": 0, "skipped_do_not_email": 1,
                        "skipped_no_email_address": 1, "failed": 0, "failures": []}
    emails = activities_regarding(client, admin, "campaign", c["id"], "email")
    assert sorted(member_of(e) for e in emails) == sorted([ann["id"], ben["id"], lead["id"]])
    for e in emails:
        assert (e["statecode"], e["statuscode"], e["status"]) == (1, 6, "Pending Send")
        assert e["direction_outgoing"] is True
        assert e["subject"] == "Spring offer" and e["body_text"] == "Ten percent off"
        assert e["owner_id"] == str(admin.id)
        roles = {p["role"]: p for p in e["parties"]}
        assert roles["sender"]["party_id"] == str(admin.id)
    to_ann = next(e for e in emails if member_of(e) == ann["id"])
    assert next(p for p in to_ann["parties"] if p["role"] == "to")["address"] == "ann@example.com"

    after = client.get(f"/api/v1/activities/{ca['id']}", headers=admin.headers).json()
    assert (after["state"], after["status"]) == ("Open", "Completed")
    problem(distribute(client, admin, c["id"], ca["id"]), 409)  # once only
    lists = client.get(f"{C}/{c['id']}/lists", headers=admin.headers).json()
    assert all(x["last_used_on"] for x in lists)
    # Campaigns take activities: the campaign activity and the emails are on its timeline.
    timeline = client.get(f"{C}/{c['id']}/timeline", headers=admin.headers).json()["items"]
    assert {t["activity_type"] for t in timeline} == {"campaign_activity", "email"} and len(timeline) == 4


@pytest.mark.parametrize(("channel", "activity_type", "role"), [
    (1, "phone_call", "to"), (2, "appointment", "required_attendee"), (3, "letter", "to"), (6, "fax", "to")])
def test_each_channel_creates_its_activity_type(client, admin: TestUser, channel: int, activity_type: str,
                                                role: str) -> None:
    ann = contact(client, admin, "Ann", telephone1="+1 555 0100")
    c = campaign(client, admin)
    attach(client, admin, c["id"], static_list(client, admin, [ann["id"]])["id"])
    ca = campaign_activity(client, admin, c["id"], channel, scheduled_start="2025-05-01T09:00:00Z",
                           scheduled_end="2025-05-01T10:00:00Z")
    r = distribute(client, admin, c["id"], ca["id"])
    assert r.json()["created"] == 1 and r.json()["activity_type"] == activity_type
    (made,) = activities_regarding(client, admin, "campaign", c["id"], activity_type)
    assert [(p["role"], p["party_id"]) for p in made["parties"]] == [(role, ann["id"])]
    assert made["statecode"] in (0, 3)  # open (or, for a meeting, scheduled): someone still has to do it
    if activity_type == "phone_call":
        assert made["phone_number"] == "+1 555 0100" and made["direction_outgoing"] is True
    if activity_type == "appointment":
        assert made["scheduled_start"].startswith("2025-05-01T09:00")


def test_distribution_skips_and_counts_members_the_distributor_cannot_read(client, org: OrgBuilder) -> None:
    unit_a, unit_b = org.unit("A"), org.unit("B")
    manager = org.user("manager@example.com", ["Sales Manager"])
    alice = org.user("alice@a.example", ["Salesperson"], unit_a)
    bob = org.user("bob@b.example", ["Salesperson"], unit_b)
    in_a = contact(client, alice, "In A")
    in_b = contact(client, bob, "In B")
    lst = static_list(client, manager, [in_a["id"], in_b["id"]])
    c = campaign(client, alice)
    client.post(f"{L}/{lst['id']}/share", json={"principal_type": "user", "principal_id": str(alice.id),
                                                "rights": ["read", "append_to"]}, headers=manager.headers)
    attach(client, alice, c["id"], lst["id"])
    ca = campaign_activity(client, alice, c["id"], 1)
    r = distribute(client, alice, c["id"], ca["id"])
    assert r.status_code == 200, r.text
    assert (r.json()["created"], r.json()["skipped_unreadable"]) == (1, 1)
    (call,) = activities_regarding(client, manager, "campaign", c["id"], "phone_call")
    assert member_of(call) == in_a["id"]
    assert in_b["id"] not in r.text


def test_distribution_refusals(client, org: OrgBuilder, admin: TestUser) -> None:
    c, other = campaign(client, admin), campaign(client, admin, name="Other")
    ca = campaign_activity(client, admin, c["id"], 9)
    problem(distribute(client, admin, c["id"], ca["id"]), 422, "channel_type_code")  # "Other" has no type
    problem(distribute(client, admin, other["id"], ca["id"]), 404)  # not this campaign's activity
    task = created(client, admin, "activities", {"activity_type": "task", "subject": "t", "regarding_type":
                                                 "campaign", "regarding_id": c["id"]})
    problem(distribute(client, admin, c["id"], task["id"]), 404)
    phone = campaign_activity(client, admin, c["id"], 1)
    client.post(f"/api/v1/activities/{phone['id']}/cancel", headers=admin.headers)
    problem(distribute(client, admin, c["id"], phone["id"]), 409)
    fresh = campaign_activity(client, admin, c["id"], 1)
    client.post(f"{C}/{c['id']}/deactivate", headers=admin.headers)
    problem(distribute(client, admin, c["id"], fresh["id"]), 409)
    reader = org.user("reader@example.com", ["Salesperson"])
    problem(distribute(client, reader, c["id"], fresh["id"]), 403)  # reads it, may not change its activity


# --- campaign responses --------------------------------------------------------------------------------
def response(client, user: TestUser, campaign_id: str, **body) -> dict:
    return created(client, user, "campaign-responses", {"campaign_id": campaign_id, "subject": "Interested",
                                                        "response_code": 1, "channel_type_code": 1, **body})


def test_responses_are_activities_regarding_a_campaign(client, admin: TestUser) -> None:
    c, other = campaign(client, admin), campaign(client, admin, name="Other")
    r1 = response(client, admin, c["id"], company_name="Fabrikam", email_address="Jo@Fabrikam.COM")
    response(client, admin, other["id"], response_code=2)
    assert r1["activity_type"] == "campaign_response" and r1["campaign_id"] == c["id"]
    assert r1["regarding_type"] == "campaign" and r1["converted_to"] is None
    assert r1["email_address"] == "jo@fabrikam.com"
    listed = client.get(R, params={"campaign_id": c["id"]}, headers=admin.headers).json()["items"]
    assert [x["id"] for x in listed] == [r1["id"]]
    assert len(client.get(R, headers=admin.headers).json()["items"]) == 2
    assert len(client.get(R, params={"response_code": 2}, headers=admin.headers).json()["items"]) == 1
    # The same record through the activity API.
    assert client.get(f"/api/v1/activities/{r1['id']}", headers=admin.headers).json()["id"] == r1["id"]
    problem(client.post(R, json={"subject": "x", "campaign_id": other["id"] + "0"}, headers=admin.headers), 422)
    problem(client.post(R, json={"subject": "x", "campaign_id": "00000000-0000-0000-0000-000000000001"},
                        headers=admin.headers), 422, "campaign_id")
    r = client.patch(f"{R}/{r1['id']}", json={"response_code": 4}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["response_code"] == 4
    task = created(client, admin, "activities", {"activity_type": "task", "subject": "t"})
    problem(client.get(f"{R}/{task['id']}", headers=admin.headers), 404)


def test_convert_a_response_to_a_lead_closes_it(client, admin: TestUser) -> None:
    c = campaign(client, admin)
    jo = contact(client, admin, "Jones", first_name="Jo", email_address1="jo@fabrikam.com")
    resp = response(client, admin, c["id"], company_name="Fabrikam",
                    parties=[{"role": "customer", "party_type": "contact", "party_id": jo["id"]}])
    r = client.post(f"{R}/{resp['id']}/convert", json={"to": "lead"}, headers=admin.headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["created"]["type"] == "lead"
    assert (body["response"]["state"], body["response"]["status"]) == ("Closed", "Closed")
    assert body["response"]["converted_to"] == body["created"]
    lead = client.get(f"/api/v1/leads/{body['created']['id']}", headers=admin.headers).json()
    assert (lead["subject"], lead["company_name"], lead["email_address1"]) == ("Interested", "Fabrikam",
                                                                               "jo@fabrikam.com")
    assert (lead["first_name"], lead["last_name"]) == ("Jo", "Jones")
    # The lead names where it came from: the campaign, and the response it was converted from.
    assert (lead["campaign_id"], lead["campaign_response_id"]) == (c["id"], resp["id"])
    assert client.get("/api/v1/leads", params={"campaign_id": c["id"]}, headers=admin.headers).json()["items"][0][
        "id"] == lead["id"]
    problem(client.post(f"{R}/{resp['id']}/convert", json={"to": "lead"}, headers=admin.headers), 409)
    assert client.get(f"{R}/{resp['id']}", headers=admin.headers).json()["converted_to"] == body["created"]

    bare = response(client, admin, c["id"])  # no name, no company: the body must give one
    problem(client.post(f"{R}/{bare['id']}/convert", json={"to": "lead"}, headers=admin.headers), 422, "last_name")
    assert client.get(f"{R}/{bare['id']}", headers=admin.headers).json()["state"] == "Open"  # nothing happened
    r = client.post(f"{R}/{bare['id']}/convert", json={"to": "lead", "last_name": "Smith"}, headers=admin.headers)
    assert r.status_code == 200, r.text


def test_convert_a_response_to_an_opportunity_for_an_existing_customer(client, admin: TestUser) -> None:
    c = campaign(client, admin, currency_code="EUR")
    account = created(client, admin, "accounts", {"name": "Contoso"})
    resp = response(client, admin, c["id"])
    problem(client.post(f"{R}/{resp['id']}/convert", json={"to": "opportunity"}, headers=admin.headers), 422,
            "customer_id")
    r = client.post(f"{R}/{resp['id']}/convert", json={"to": "opportunity", "customer_type": "account",
                                                       "customer_id": account["id"]}, headers=admin.headers)
    assert r.status_code == 200, r.text
    opp = client.get(f"/api/v1/opportunities/{r.json()['created']['id']}", headers=admin.headers).json()
    assert (opp["name"], opp["customer_id"], opp["currency_code"]) == ("Interested", account["id"], "EUR")
    assert r.json()["response"]["status"] == "Closed"


def test_convert_a_response_to_a_case(client, admin: TestUser) -> None:
    c = campaign(client, admin)
    account = created(client, admin, "accounts", {"name": "Contoso"})
    resp = response(client, admin, c["id"], subject="Broken gadget")
    r = client.post(f"{R}/{resp['id']}/convert", json={"to": "case", "customer_type": "account",
                                                       "customer_id": account["id"]}, headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["created"]["type"] == "case" and r.json()["response"]["status"] == "Closed"
    case = client.get(f"/api/v1/cases/{r.json()['created']['id']}", headers=admin.headers).json()
    assert (case["title"], case["customer_id"], case["origin_code"]) == ("Broken gadget", account["id"], 2)
    assert case["case_number"].startswith("CAS-")
    problem(client.post(f"{R}/{response(client, admin, c['id'])['id']}/convert", json={"to": "case"},
                        headers=admin.headers), 422, "customer_id")


# --- quick campaigns -------------------------------------------------------------------------------------
def test_quick_campaign_creates_one_activity_per_member_and_counts(client, admin: TestUser) -> None:
    ann = contact(client, admin, "Ann", first_name="Ann", email_address1="ann@example.com")
    quiet = contact(client, admin, "Quiet", email_address1="q@example.com", do_not_email=True)
    nomail = contact(client, admin, "Nomail")
    lst = static_list(client, admin, [ann["id"], quiet["id"], nomail["id"]])
    r = client.post(Q, json={"name": "Spring mailing", "list_id": lst["id"], "activity_type": "email",
                             "subject": "Hello {first_name} {last_name}", "description": "Dear {name},\n{{hi}}"},
                    headers=admin.headers)
    assert r.status_code == 201, r.text
    qc = r.json()
    assert (qc["state"], qc["status"]) == ("Closed", "Completed")
    assert (qc["target_count"], qc["success_count"], qc["failure_count"]) == (3, 1, 2)
    assert qc["member_type"] == "contact" and qc["started_on"] and qc["completed_on"]
    assert {(f["member_id"], f["reason"]) for f in qc["failures"]} == {
        (quiet["id"], "the member does not want email (do_not_email)"),
        (nomail["id"], "the member has no email address")}
    (email,) = activities_regarding(client, admin, "quick_campaign", qc["id"], "email")
    assert email["subject"] == "Hello Ann Ann" and email["description"] == "Dear Ann Ann,\n{hi}"
    assert (email["statecode"], email["statuscode"]) == (1, 6) and email["direction_outgoing"] is True
    assert member_of(email) == ann["id"]
    assert client.get(f"{Q}/{qc['id']}", headers=admin.headers).json()["failure_count"] == 2
    problem(client.patch(f"{Q}/{qc['id']}", json={"name": "x"}, headers=admin.headers), 409)
    problem(client.post(f"{Q}/{qc['id']}/set-state", json={"statecode": 0}, headers=admin.headers), 409)


def test_quick_campaign_phone_calls_and_aborted_when_all_fail(client, admin: TestUser) -> None:
    people = [contact(client, admin, f"P{i}") for i in range(3)]
    lst = static_list(client, admin, [p["id"] for p in people])
    qc = created(client, admin, "quick-campaigns", {"name": "Calls", "list_id": lst["id"],
                                                    "activity_type": "phone_call", "subject": "Call {name}"})
    assert (qc["success_count"], qc["status"]) == (3, "Completed")
    calls = activities_regarding(client, admin, "quick_campaign", qc["id"], "phone_call")
    assert sorted(c["subject"] for c in calls) == ["Call P0", "Call P1", "Call P2"]
    failing = created(client, admin, "quick-campaigns", {"name": "Mail", "list_id": lst["id"],
                                                         "activity_type": "email", "subject": "Hi"})
    assert (failing["target_count"], failing["failure_count"], failing["status"]) == (3, 3, "Aborted")
    empty = created(client, admin, "quick-campaigns", {"name": "None", "activity_type": "letter", "subject": "x",
                                                       "list_id": static_list(client, admin, [])["id"]})
    assert (empty["target_count"], empty["status"]) == (0, "Completed")


def test_quick_campaign_refusals(client, admin: TestUser) -> None:
    lst = static_list(client, admin, [])
    base = {"name": "Q", "list_id": lst["id"], "activity_type": "email", "subject": "Hi"}
    problem(client.post(Q, json={**base, "subject": "Hi {password}"}, headers=admin.headers), 422, "subject")
    problem(client.post(Q, json={**base, "description": "{name.__class__}"}, headers=admin.headers), 422,
            "description")
    problem(client.post(Q, json={**base, "description": "oops {"}, headers=admin.headers), 422, "description")
    problem(client.post(Q, json={**base, "activity_type": "task"}, headers=admin.headers), 422, "activity_type")
    problem(client.post(Q, json={**base, "list_id": "00000000-0000-0000-0000-000000000001"},
                        headers=admin.headers), 422, "list_id")
    client.post(f"{L}/{lst['id']}/deactivate", headers=admin.headers)
    problem(client.post(Q, json=base, headers=admin.headers), 422, "list_id")


def test_quick_campaign_members_the_caller_cannot_read_fail_without_their_id(client, org: OrgBuilder) -> None:
    unit_a, unit_b = org.unit("A"), org.unit("B")
    manager = org.user("manager@example.com", ["Sales Manager"])
    alice = org.user("alice@a.example", ["Salesperson"], unit_a)
    bob = org.user("bob@b.example", ["Salesperson"], unit_b)
    in_a, in_b = contact(client, alice, "In A"), contact(client, bob, "In B")
    lst = static_list(client, manager, [in_a["id"], in_b["id"]])
    client.post(f"{L}/{lst['id']}/share", json={"principal_type": "user", "principal_id": str(alice.id),
                                                "rights": ["read"]}, headers=manager.headers)
    r = client.post(Q, json={"name": "Calls", "list_id": lst["id"], "activity_type": "letter", "subject": "Hi"},
                    headers=alice.headers)
    assert r.status_code == 201, r.text
    qc = r.json()
    assert (qc["target_count"], qc["success_count"], qc["failure_count"]) == (2, 1, 1)
    assert qc["failures"] == [{"member_id": None, "reason": "you cannot read this member"}]
    assert in_b["id"] not in r.text


def test_quick_campaign_a_member_whose_activity_breaks_a_rule_fails_alone(client, admin: TestUser) -> None:
    short, long_ = contact(client, admin, "Al"), contact(client, admin, "L" * 50)
    lst = static_list(client, admin, [short["id"], long_["id"]])
    qc = created(client, admin, "quick-campaigns", {"name": "Long", "list_id": lst["id"], "activity_type": "fax",
                                                    "subject": "x" * 380 + " {name}"})
    assert (qc["target_count"], qc["success_count"], qc["failure_count"], qc["status"]) == (2, 1, 1, "Completed")
    assert qc["failures"] == [{"member_id": long_["id"], "reason": "subject: at most 400 characters"}]
    (fax,) = activities_regarding(client, admin, "quick_campaign", qc["id"], "fax")
    assert member_of(fax) == short["id"]
