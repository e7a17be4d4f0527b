"""Queues, queue items and routing rules through the API: one queue per record, pick and release, private
queues, closing a case empties its queue item, and which queue (or owner) a new case is routed to."""

import pytest

from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

Q, R, C = "/api/v1/queues", "/api/v1/routing-rules", "/api/v1/cases"


def _queue(client, user: TestUser, name: str = "Support", **body) -> dict:
    return created(client, user, "queues", {"name": name, **body})


def _case(client, user: TestUser, **body) -> dict:
    account = created(client, user, "accounts", {"name": "Contoso"})
    body.setdefault("title", "Printer on fire")
    return created(client, user, "cases", {"customer_type": "account", "customer_id": account["id"], **body})


def _add(client, user: TestUser, queue: dict, record: dict, object_type: str = "case"):
    return client.post(f"{Q}/{queue['id']}/items", json={"object_type": object_type, "object_id": record["id"]},
                       headers=user.headers)


def _items(client, user: TestUser, queue: dict, **params) -> list[dict]:
    r = client.get(f"{Q}/{queue['id']}/items", params=params, headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]  # type: ignore[no-any-return]


def _rule(client, admin: TestUser, items: list[dict], activate: bool = True, name: str = "Service routing") -> dict:
    rule = created(client, admin, "routing-rules", {"name": name, "items": items})
    if activate:
        r = client.post(f"{R}/{rule['id']}/activate", headers=admin.headers)
        assert r.status_code == 200, r.text
        rule = r.json()
    return rule


# --- queues and their items --------------------------------------------------------------------------
def test_queue_email_is_normalised_and_unique(client, admin: TestUser) -> None:
    queue = _queue(client, admin, email_address="Support@Contoso.COM")
    assert queue["email_address"] == "support@contoso.com"
    assert (queue["queue_view_type"], queue["state"]) == (0, "Active")
    problem(client.post(Q, json={"name": "Other", "email_address": "support@contoso.com"}, headers=admin.headers),
            409)
    problem(client.post(Q, json={"name": "Odd", "queue_view_type": 2}, headers=admin.headers), 422,
            "queue_view_type")


def test_a_record_is_in_one_queue_at_a_time(client, admin: TestUser) -> None:
    support, billing = _queue(client, admin, "Support"), _queue(client, admin, "Billing")
    case = _case(client, admin)
    r = _add(client, admin, support, case)
    assert r.status_code == 201, r.text
    item = r.json()
    assert (item["object_type"], item["object_id"], item["title"]) == ("case", case["id"], "Printer on fire")
    assert client.get(f"{C}/{case['id']}", headers=admin.headers).json()["queue_id"] == support["id"]
    assert _add(client, admin, support, case).status_code == 200  # already there: nothing changes

    moved = _add(client, admin, billing, case)
    assert moved.status_code == 201
    assert moved.json()["id"] == item["id"]
    client.patch(f"{C}/{case['id']}", json={"title": "Printer still on fire"}, headers=admin.headers)
    assert _items(client, admin, support) == []
    assert [(i["object_id"], i["title"]) for i in _items(client, admin, billing)] == [
        (case["id"], "Printer still on fire")]
    assert client.get(f"{C}/{case['id']}", headers=admin.headers).json()["queue_id"] == billing["id"]


def test_activities_queue_too_but_closed_records_do_not(client, admin: TestUser) -> None:
    queue = _queue(client, admin)
    task = created(client, admin, "activities", {"activity_type": "task", "subject": "Call the customer"})
    assert _add(client, admin, queue, task, "activity").status_code == 201
    assert [(i["object_type"], i["title"]) for i in _items(client, admin, queue)] == [("activity", "Call the customer")]
    assert [i["object_type"] for i in _items(client, admin, queue, object_type="case")] == []
    done = created(client, admin, "activities", {"activity_type": "task", "subject": "Done"})
    client.post(f"/api/v1/activities/{done['id']}/complete", headers=admin.headers)
    problem(_add(client, admin, queue, done, "activity"), 409)
    case = _case(client, admin)
    client.post(f"{C}/{case['id']}/cancel", headers=admin.headers)
    problem(_add(client, admin, queue, case), 409)
    # Deleting the activity takes its item away.
    assert client.delete(f"/api/v1/activities/{task['id']}", headers=admin.headers).status_code == 204
    assert _items(client, admin, queue) == []


def test_completing_or_canceling_an_activity_takes_it_out_of_its_queue(client, admin: TestUser) -> None:
    queue = _queue(client, admin)
    for verb in ("complete", "cancel"):
        task = created(client, admin, "activities", {"activity_type": "task", "subject": f"To {verb}"})
        assert _add(client, admin, queue, task, "activity").status_code == 201
        assert client.post(f"/api/v1/activities/{task['id']}/{verb}", headers=admin.headers).status_code == 200
        assert _items(client, admin, queue) == []


def test_an_inactive_queue_takes_no_items(client, admin: TestUser) -> None:
    queue = _queue(client, admin)
    client.post(f"{Q}/{queue['id']}/deactivate", headers=admin.headers)
    problem(_add(client, admin, queue, _case(client, admin)), 409)


def test_pick_and_release(client, org: OrgBuilder, admin: TestUser) -> None:
    alice = org.user("alice@example.com", ["Customer Service Representative"])
    bob = org.user("bob@example.com", ["Customer Service Representative"])
    queue = _queue(client, admin)
    case = _case(client, admin)
    item = _add(client, admin, queue, case).json()
    assert item["worker_id"] is None

    r = client.post(f"/api/v1/queue-items/{item['id']}/pick", headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["worker_id"] == str(alice.id)
    assert r.json()["worked_on"] is not None
    assert [i["id"] for i in _items(client, bob, queue, worked="false")] == []
    assert [i["id"] for i in _items(client, bob, queue, worker_id=str(alice.id))] == [item["id"]]
    body = problem(client.post(f"/api/v1/queue-items/{item['id']}/pick", headers=bob.headers), 409)
    assert "released" in body["detail"]
    # Bob neither works it nor may change the queue; nor may he hand it to someone else.
    problem(client.post(f"/api/v1/queue-items/{item['id']}/release", headers=bob.headers), 403)
    r = client.post(f"/api/v1/queue-items/{item['id']}/pick", json={"worker_id": str(alice.id)},
                    headers=bob.headers)
    problem(r, 403)

    r = client.post(f"/api/v1/queue-items/{item['id']}/release", headers=alice.headers)
    assert r.json()["worker_id"] is None
    problem(client.post(f"/api/v1/queue-items/{item['id']}/release", headers=alice.headers), 409)
    # The queue's owner hands it to Bob.
    r = client.post(f"/api/v1/queue-items/{item['id']}/pick", json={"worker_id": str(bob.id)},
                    headers=admin.headers)
    assert r.json()["worker_id"] == str(bob.id)
    trail = client.get(f"{C}/{case['id']}/audit", headers=admin.headers).json()
    assert {"queue", "pick", "release"} <= {t["action"] for t in trail}


def test_pick_can_remove_and_remove_takes_the_item_out(client, admin: TestUser) -> None:
    queue = _queue(client, admin)
    first, second = _case(client, admin), _case(client, admin, title="Second")
    one, two = _add(client, admin, queue, first).json(), _add(client, admin, queue, second).json()
    r = client.post(f"/api/v1/queue-items/{one['id']}/pick", json={"remove": True}, headers=admin.headers)
    assert r.json()["worker_id"] == str(admin.id)
    assert r.status_code == 200
    assert client.get(f"{C}/{first['id']}", headers=admin.headers).json()["queue_id"] is None
    assert client.post(f"/api/v1/queue-items/{two['id']}/remove", headers=admin.headers).status_code == 204
    problem(client.get(f"/api/v1/queue-items/{two['id']}", headers=admin.headers), 404)
    assert _items(client, admin, queue) == []


def test_private_queue_items_are_for_its_members_only(client, org: OrgBuilder, admin: TestUser) -> None:
    alice = org.user("alice@example.com", ["Customer Service Representative"])
    bob = org.user("bob@example.com", ["Customer Service Representative"])
    other_admin = org.admin("admin2@example.com")
    vip = _queue(client, admin, "VIP", queue_view_type=1, member_ids=[str(alice.id), str(admin.id)])
    assert sorted(vip["member_ids"]) == sorted([str(alice.id), str(admin.id)])
    item = _add(client, admin, vip, _case(client, admin)).json()

    assert [i["id"] for i in _items(client, alice, vip)] == [item["id"]]
    problem(client.get(f"{Q}/{vip['id']}/items", headers=bob.headers), 403)
    problem(client.get(f"{Q}/{vip['id']}/items", headers=other_admin.headers), 403)  # not a member either
    problem(client.get(f"/api/v1/queue-items/{item['id']}", headers=bob.headers), 404)
    problem(client.post(f"/api/v1/queue-items/{item['id']}/pick", headers=bob.headers), 404)
    # Nobody outside the queue can be made its worker.
    r = client.post(f"/api/v1/queue-items/{item['id']}/pick", json={"worker_id": str(bob.id)}, headers=admin.headers)
    problem(r, 422, "worker_id")

    r = client.put(f"{Q}/{vip['id']}/members", json={"user_ids": [str(alice.id), str(bob.id)]},
                   headers=admin.headers)
    assert sorted(r.json()["member_ids"]) == sorted([str(alice.id), str(bob.id)])
    assert [i["id"] for i in _items(client, bob, vip)] == [item["id"]]
    # A queue is read by all; its public items are seen by all who read the records.
    public = _queue(client, admin, "Public")
    _add(client, admin, public, _case(client, admin))
    assert len(_items(client, bob, public)) == 1


def test_items_of_records_beyond_reach_are_not_listed(client, org: OrgBuilder, admin: TestUser) -> None:
    west = org.unit("West")
    walt = org.user("walt@example.com", ["Customer Service Representative"], west)
    queue = _queue(client, admin)
    _add(client, admin, queue, _case(client, admin))
    assert _items(client, walt, queue) == []


def test_closing_a_case_removes_its_queue_item(client, admin: TestUser) -> None:
    queue = _queue(client, admin)
    resolved, canceled, merged, master = (_case(client, admin, title=t) for t in ("R", "C", "M", "Master"))
    for case in (resolved, canceled, merged, master):
        _add(client, admin, queue, case)
    client.post(f"{C}/{resolved['id']}/resolve", json={"subject": "Fixed"}, headers=admin.headers)
    client.post(f"{C}/{canceled['id']}/cancel", headers=admin.headers)
    client.post(f"{C}/{merged['id']}/merge", json={"master_id": master["id"]}, headers=admin.headers)
    assert [i["title"] for i in _items(client, admin, queue)] == ["Master"]
    assert client.get(f"{C}/{resolved['id']}", headers=admin.headers).json()["queue_id"] is None


def test_a_queue_in_use_cannot_be_deleted(client, admin: TestUser) -> None:
    queue = _queue(client, admin)
    item = _add(client, admin, queue, _case(client, admin)).json()
    problem(client.delete(f"{Q}/{queue['id']}", headers=admin.headers), 409)
    client.post(f"/api/v1/queue-items/{item['id']}/remove", headers=admin.headers)
    _rule(client, admin, [{"queue_id": queue["id"]}], activate=False)
    body = problem(client.delete(f"{Q}/{queue['id']}", headers=admin.headers), 409)
    assert "routing rule" in body["detail"]


# --- routing rules -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("conditions", "field"), [
    ({"field": "colour", "op": "eq", "value": "red"}, "items[0].conditions.field"),
    ({"field": "priority_code", "op": "contains", "value": 1}, "items[0].conditions.op"),
    ({"field": "priority_code", "op": "eq", "value": 7}, "items[0].conditions.value"),
    ({"field": "origin_code", "op": "in", "value": []}, "items[0].conditions.value"),
    ({"all": [{"field": "title", "op": "contains", "value": ""}]}, "items[0].conditions.all[0].value"),
    ({"any": [{"not": {"field": "subject_id", "op": "under", "value": "nope"}}]},
     "items[0].conditions.any[0].not.value"),
    ({"field": "subject_id", "op": "eq", "value": "00000000-0000-4000-8000-000000000001"},
     "items[0].conditions.value"),
    ({"field": "title", "op": "is_null", "value": "x"}, "items[0].conditions.value"),
    ({"all": {"field": "title"}}, "items[0].conditions.all"),
    ({"field": "title", "op": "eq", "value": "x", "extra": 1}, "items[0].conditions"),
])
def test_invalid_conditions_are_refused_when_the_rule_is_saved(client, admin: TestUser, conditions: dict,
                                                              field: str) -> None:
    queue = _queue(client, admin)
    r = client.post(R, json={"name": "Bad", "items": [{"conditions": conditions, "queue_id": queue["id"]}]},
                    headers=admin.headers)
    problem(r, 422, field)


def test_an_item_has_exactly_one_existing_target(client, admin: TestUser) -> None:
    queue = _queue(client, admin)
    missing = "00000000-0000-4000-8000-000000000001"
    both = {"queue_id": queue["id"], "assign_to_type": "user", "assign_to_id": str(admin.id)}
    problem(client.post(R, json={"name": "x", "items": [both]}, headers=admin.headers), 422, "items[0].queue_id")
    problem(client.post(R, json={"name": "x", "items": [{}]}, headers=admin.headers), 422, "items[0].queue_id")
    problem(client.post(R, json={"name": "x", "items": [{"queue_id": missing}]}, headers=admin.headers),
            422, "items[0].queue_id")
    r = client.post(R, json={"name": "x", "items": [{"assign_to_type": "team", "assign_to_id": missing}]},
                    headers=admin.headers)
    problem(r, 422, "items[0].assign_to_id")


def test_routing_rules_are_for_admins(client, org: OrgBuilder) -> None:
    csr = org.user("csr@example.com", ["Customer Service Representative"])
    problem(client.post(R, json={"name": "Mine"}, headers=csr.headers), 403)
    problem(client.get(R, headers=csr.headers), 403)


def test_one_rule_set_is_active_at_a_time_and_is_read_only(client, admin: TestUser) -> None:
    queue = _queue(client, admin)
    first = _rule(client, admin, [{"queue_id": queue["id"]}], name="First")
    assert (first["state"], first["statuscode"]) == ("Active", 2)
    second = _rule(client, admin, [{"queue_id": queue["id"]}], name="Second")
    assert client.get(f"{R}/{first['id']}", headers=admin.headers).json()["state"] == "Draft"
    assert [r["name"] for r in client.get(R, params={"statecode": 1}, headers=admin.headers).json()["items"]] == [
        "Second"]
    problem(client.patch(f"{R}/{second['id']}", json={"name": "Changed"}, headers=admin.headers), 409)
    problem(client.delete(f"{R}/{second['id']}", headers=admin.headers), 409)
    empty = _rule(client, admin, [], activate=False, name="Empty")
    problem(client.post(f"{R}/{empty['id']}/activate", headers=admin.headers), 422, "items")
    assert client.post(f"{R}/{second['id']}/deactivate", headers=admin.headers).json()["state"] == "Draft"
    r = client.patch(f"{R}/{second['id']}", json={"items": [{"queue_id": queue["id"], "name": "All"}]},
                     headers=admin.headers)
    assert [(i["sequence_number"], i["name"]) for i in r.json()["items"]] == [(1, "All")]


def test_a_new_case_lands_in_the_queue_of_the_first_matching_item(client, admin: TestUser) -> None:
    hardware = created(client, admin, "subjects", {"title": "Hardware"})
    printers = created(client, admin, "subjects", {"title": "Printers", "parent_id": hardware["id"]})
    escalations, hardware_q, email_q, general = (_queue(client, admin, n) for n in
                                                 ("Escalations", "Hardware", "Email", "General"))
    _rule(client, admin, [
        {"name": "Urgent", "queue_id": escalations["id"], "conditions": {"all": [
            {"field": "priority_code", "op": "eq", "value": 1},
            {"any": [{"field": "title", "op": "contains", "value": "OUTAGE"},
                     {"field": "case_type_code", "op": "eq", "value": 2}]}]}},
        {"name": "Hardware", "queue_id": hardware_q["id"],
         "conditions": {"field": "subject_id", "op": "under", "value": hardware["id"]}},
        {"name": "By mail", "queue_id": email_q["id"],
         "conditions": {"field": "origin_code", "op": "in", "value": [2]}},
        {"name": "The rest", "queue_id": general["id"]},
    ])
    cases = {
        "Escalations": _case(client, admin, title="Network outage", priority_code=1, origin_code=2),
        "Hardware": _case(client, admin, title="Paper jam", priority_code=1, subject_id=printers["id"]),
        "Email": _case(client, admin, title="Question", origin_code=2),
        "General": _case(client, admin, title="Other"),
    }
    names = {q["id"]: q["name"] for q in (escalations, hardware_q, email_q, general)}
    assert {expected: names[c["queue_id"]] for expected, c in cases.items()} == {n: n for n in cases}
    assert [i["title"] for i in _items(client, admin, escalations)] == ["Network outage"]


def test_routing_can_assign_to_a_user_and_skips_inactive_queues(client, org: OrgBuilder, admin: TestUser) -> None:
    tier2 = org.user("tier2@example.com", ["Customer Service Representative"])
    closed = _queue(client, admin, "Closed")
    client.post(f"{Q}/{closed['id']}/deactivate", headers=admin.headers)
    _rule(client, admin, [
        {"queue_id": closed["id"]},
        {"assign_to_type": "user", "assign_to_id": str(tier2.id),
         "conditions": {"field": "customer_type", "op": "eq", "value": "account"}},
    ])
    case = _case(client, admin)
    assert (case["owner_id"], case["queue_id"]) == (str(tier2.id), None)
    trail = client.get(f"{C}/{case['id']}/audit", headers=admin.headers).json()
    assert any(t["action"] == "route" and "owning_user_id" in t["changes"] for t in trail)


def test_without_an_active_rule_nothing_is_routed_and_route_applies_it_later(client, admin: TestUser) -> None:
    queue = _queue(client, admin, "High")
    rule = _rule(client, admin, [{"queue_id": queue["id"],
                                  "conditions": {"field": "priority_code", "op": "eq", "value": 1}}], activate=False)
    case = _case(client, admin)
    assert case["queue_id"] is None
    client.post(f"{R}/{rule['id']}/activate", headers=admin.headers)
    r = client.post(f"{C}/{case['id']}/route", headers=admin.headers)
    assert r.json()["queue_id"] is None  # Normal priority: no item matches
    client.patch(f"{C}/{case['id']}", json={"priority_code": 1}, headers=admin.headers)
    r = client.post(f"{C}/{case['id']}/route", headers=admin.headers)
    assert r.json()["queue_id"] == queue["id"]
    client.post(f"{C}/{case['id']}/resolve", json={"subject": "Done"}, headers=admin.headers)
    problem(client.post(f"{C}/{case['id']}/route", headers=admin.headers), 409)


def test_routing_needs_no_access_to_the_target_queue(client, org: OrgBuilder, admin: TestUser) -> None:
    csr = org.user("csr@example.com", ["Customer Service Representative"])
    vip = _queue(client, admin, "VIP", queue_view_type=1)
    _rule(client, admin, [{"queue_id": vip["id"]}])
    case = _case(client, csr)
    assert case["queue_id"] == vip["id"]
    problem(client.get(f"{Q}/{vip['id']}/items", headers=csr.headers), 403)
