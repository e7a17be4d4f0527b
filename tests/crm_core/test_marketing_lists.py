"""Marketing lists through the API: static members, dynamic criteria computed when asked, preview counts,
copy to static, locks and states, and a member the caller cannot read never showing anywhere."""

from datetime import timedelta

from crm_core.services.list_criteria import today_utc, years_before
from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

L = "/api/v1/marketing-lists"


def born_aged(years: int) -> str:
    """A birth date that makes someone `years` old today, well away from a birthday."""
    return (years_before(today_utc(), years) - timedelta(days=100)).isoformat()


def contact(client, user: TestUser, last_name: str, **body) -> dict:
    return created(client, user, "contacts", {"last_name": last_name, **body})


def static_list(client, user: TestUser, member_type: str = "contact", **body) -> dict:
    return created(client, user, "marketing-lists", {"name": "Newsletter", "member_type": member_type, **body})


def dynamic_list(client, user: TestUser, criteria: dict, member_type: str = "contact", **body) -> dict:
    return created(client, user, "marketing-lists", {"name": "Seattle 25-35", "member_type": member_type,
                                                     "is_dynamic": True, "criteria": criteria, **body})


def member_ids(client, user: TestUser, list_id: str, limit: int = 50) -> list[str]:
    ids, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        r = client.get(f"{L}/{list_id}/members", params=params, headers=user.headers)
        assert r.status_code == 200, r.text
        ids += [m["id"] for m in r.json()["items"]]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return ids


def count(client, user: TestUser, list_id: str) -> int:
    r = client.get(f"{L}/{list_id}/preview-count", headers=user.headers)
    assert r.status_code == 200, r.text
    return r.json()["count"]


def add(client, user: TestUser, list_id: str, *ids: str):
    return client.post(f"{L}/{list_id}/members", json={"ids": list(ids)}, headers=user.headers)


# --- static lists --------------------------------------------------------------------------------------
def test_static_list_adds_lists_in_pages_and_removes_members(client, admin: TestUser) -> None:
    people = [contact(client, admin, f"Person {i}", email_address1=f"p{i}@example.com") for i in range(5)]
    lst = static_list(client, admin)
    assert lst["state"] == "Active" and lst["status"] == "Active" and lst["statuscode"] == 0
    assert not lst["is_dynamic"] and lst["criteria"] is None

    r = add(client, admin, lst["id"], *[p["id"] for p in people[:3]])
    assert r.status_code == 200, r.text
    assert r.json() == {"added": [p["id"] for p in people[:3]], "already_members": []}
    # Ids already in the list are reported and not added twice; a repeated id counts once.
    r = add(client, admin, lst["id"], people[2]["id"], people[3]["id"], people[3]["id"], people[4]["id"])
    assert r.json() == {"added": [people[3]["id"], people[4]["id"]], "already_members": [people[2]["id"]]}

    assert member_ids(client, admin, lst["id"], limit=2) == [p["id"] for p in people]
    first = client.get(f"{L}/{lst['id']}/members", headers=admin.headers).json()["items"][0]
    assert first == {"id": people[0]["id"], "member_type": "contact", "name": "Person 0",
                     "email_address": "p0@example.com", "do_not_email": False, "statecode": 0}
    assert count(client, admin, lst["id"]) == 5

    r = client.delete(f"{L}/{lst['id']}/members/{people[1]['id']}", headers=admin.headers)
    assert r.status_code == 204
    assert people[1]["id"] not in member_ids(client, admin, lst["id"])
    problem(client.delete(f"{L}/{lst['id']}/members/{people[1]['id']}", headers=admin.headers), 404)


def test_members_must_be_readable_records_of_the_lists_type(client, org: OrgBuilder, admin: TestUser) -> None:
    account = created(client, admin, "accounts", {"name": "Contoso"})
    person = contact(client, admin, "Right Type")
    lst = static_list(client, admin)
    body = problem(add(client, admin, lst["id"], person["id"], account["id"]), 422, "ids[1]")
    assert f"no contact with id {account['id']}" in body["detail"]
    assert member_ids(client, admin, lst["id"]) == []  # all or nothing

    unit_b = org.unit("B")
    outsider = org.user("bob@b.example", ["Salesperson"], unit_b)
    hidden = contact(client, outsider, "Hidden")
    mine = static_list(client, outsider, name="Bob's")
    problem(add(client, outsider, mine["id"], person["id"]), 422, "ids[0]")  # admin's contact, beyond his reach
    assert add(client, outsider, mine["id"], hidden["id"]).status_code == 200
    problem(client.post(f"{L}/{lst['id']}/members", json={"ids": []}, headers=admin.headers), 422, "ids")


def test_a_member_the_caller_cannot_read_never_appears(client, org: OrgBuilder) -> None:
    unit_a, unit_b = org.unit("A"), org.unit("B")
    manager = org.user("manager@example.com", ["Sales Manager"])  # root unit: reaches A and B
    alice = org.user("alice@a.example", ["Salesperson"], unit_a)
    bob = org.user("bob@b.example", ["Salesperson"], unit_b)
    in_a = contact(client, alice, "In A", birth_date=born_aged(30))
    in_b = contact(client, bob, "In B", birth_date=born_aged(30))

    lst = static_list(client, manager)
    assert add(client, manager, lst["id"], in_a["id"], in_b["id"]).status_code == 200
    # Alice reads the list once it is shared with her, but only her unit's member.
    r = client.post(f"{L}/{lst['id']}/share", json={"principal_type": "user", "principal_id": str(alice.id),
                                                    "rights": ["read"]}, headers=manager.headers)
    assert r.status_code == 200, r.text
    assert member_ids(client, manager, lst["id"]) == [in_a["id"], in_b["id"]]
    assert member_ids(client, alice, lst["id"]) == [in_a["id"]]
    assert count(client, manager, lst["id"]) == 2
    assert count(client, alice, lst["id"]) == 1

    dyn = dynamic_list(client, manager, {"field": "age", "op": "eq", "value": 30})
    client.post(f"{L}/{dyn['id']}/share", json={"principal_type": "user", "principal_id": str(alice.id),
                                                "rights": ["read"]}, headers=manager.headers)
    assert set(member_ids(client, manager, dyn["id"])) == {in_a["id"], in_b["id"]}
    assert member_ids(client, alice, dyn["id"]) == [in_a["id"]]
    assert count(client, alice, dyn["id"]) == 1
    # Bob cannot read the lists at all.
    problem(client.get(f"{L}/{dyn['id']}/members", headers=bob.headers), 404)
    problem(client.get(f"{L}/{dyn['id']}/preview-count", headers=bob.headers), 404)


# --- dynamic lists -------------------------------------------------------------------------------------
def test_dynamic_list_of_contacts_aged_25_to_35_in_seattle_is_computed_when_asked(client, admin: TestUser) -> None:
    seattle = [{"city": "Seattle"}]
    young = contact(client, admin, "Young", birth_date=born_aged(24), addresses=seattle)
    in_range = contact(client, admin, "Thirty", birth_date=born_aged(30), addresses=[{"city": "seattle"}])
    old = contact(client, admin, "Old", birth_date=born_aged(36), addresses=seattle)
    elsewhere = contact(client, admin, "Elsewhere", birth_date=born_aged(30), addresses=[{"city": "Tacoma"}])
    no_birthday = contact(client, admin, "Unknown age", addresses=seattle)
    lst = dynamic_list(client, admin, {"all": [{"field": "age", "op": "between", "value": [25, 35]},
                                               {"field": "addresses.city", "op": "eq", "value": "Seattle"}]})
    assert lst["is_dynamic"]
    assert member_ids(client, admin, lst["id"]) == [in_range["id"]]
    assert count(client, admin, lst["id"]) == 1

    # Members are computed at the moment of asking: a new match appears, a changed record leaves.
    late = contact(client, admin, "Late", birth_date=born_aged(25), addresses=seattle)
    r = client.patch(f"/api/v1/contacts/{in_range['id']}", json={"addresses": [{"city": "Portland"}]},
                     headers=admin.headers)
    assert r.status_code == 200
    assert member_ids(client, admin, lst["id"]) == [late["id"]]
    assert {young["id"], old["id"], elsewhere["id"], no_birthday["id"]}.isdisjoint(member_ids(client, admin,
                                                                                              lst["id"]))


def test_dynamic_lists_of_accounts_and_leads(client, admin: TestUser) -> None:
    big = created(client, admin, "accounts", {"name": "Big Co", "number_of_employees": 500,
                                              "addresses": [{"city": "Paris", "country": "France"}]})
    created(client, admin, "accounts", {"name": "Small Co", "number_of_employees": 5})
    lst = dynamic_list(client, admin, {"any": [{"field": "number_of_employees", "op": "gte", "value": 100},
                                               {"field": "addresses.country", "op": "eq", "value": "Spain"}]},
                       member_type="account")
    assert member_ids(client, admin, lst["id"]) == [big["id"]]
    first = client.get(f"{L}/{lst['id']}/members", headers=admin.headers).json()["items"][0]
    assert first["name"] == "Big Co" and first["member_type"] == "account"

    hot = created(client, admin, "leads", {"subject": "Hot one", "last_name": "Doe", "lead_quality_code": 1,
                                           "company_name": "Fabrikam Ltd"})
    created(client, admin, "leads", {"subject": "Cold one", "last_name": "Roe", "lead_quality_code": 3})
    leads = dynamic_list(client, admin, {"all": [{"field": "lead_quality_code", "op": "in", "value": [1, 2]},
                                                 {"field": "company_name", "op": "contains", "value": "fab"}]},
                         member_type="lead")
    assert member_ids(client, admin, leads["id"]) == [hot["id"]]
    # Leads have no addresses and no age: those fields are not on their allow-list.
    r = client.post(L, json={"name": "x", "member_type": "lead", "is_dynamic": True,
                             "criteria": {"field": "addresses.city", "op": "eq", "value": "Paris"}},
                    headers=admin.headers)
    assert "a lead list can filter on" in problem(r, 422, "criteria.field")["detail"]


BAD_CRITERIA = [
    ({"all": [{"field": "password_hash", "op": "eq", "value": "x"}]}, "criteria.all[0].field"),
    ({"all": [{"field": "last_name", "op": "gte", "value": "x"}]}, "criteria.all[0].op"),
    ({"all": [{"field": "age", "op": "between", "value": [35, 25]}]}, "criteria.all[0].value"),
    ({"all": [{"field": "birth_date", "op": "eq", "value": "not a date"}]}, "criteria.all[0].value"),
    ({"any": [{"not": {"field": "do_not_email", "op": "eq", "value": "yes"}}]}, "criteria.any[0].not.value"),
    ({"all": [{"field": "last_name", "op": "eq", "value": "a\x00b"}]}, "criteria.all[0].value"),
    ({"all": [{"field": "last_name", "op": "eq", "value": "x" * 51}]}, "criteria.all[0].value"),
    ({"all": [{"field": "preferred_contact_method_code", "op": "eq", "value": 2**40}]}, "criteria.all[0].value"),
    ({"all": [{"field": "created_on", "op": "gte", "value": "2024-01-01T00:00:00"}]}, "criteria.all[0].value"),
    ({"all": {"field": "age", "op": "eq", "value": 3}}, "criteria.all"),
    ({"every": []}, "criteria"),
    ({"all": [], "any": []}, "criteria"),
]


def test_criteria_outside_the_language_are_422_naming_the_path(client, admin: TestUser) -> None:
    for criteria, field in BAD_CRITERIA:
        r = client.post(L, json={"name": "Bad", "member_type": "contact", "is_dynamic": True, "criteria": criteria},
                        headers=admin.headers)
        problem(r, 422, field)
    assert client.get(L, headers=admin.headers).json()["items"] == []


def test_criteria_are_stored_in_canonical_form_and_replaced_by_patch(client, admin: TestUser) -> None:
    lst = dynamic_list(client, admin, {"all": [
        {"field": "created_on", "op": "gte", "value": "2024-01-01T10:00:00+02:00"},
        {"field": "parent_account_id", "op": "is_null"},
    ]})
    assert lst["criteria"] == {"all": [
        {"field": "created_on", "op": "gte", "value": "2024-01-01T08:00:00+00:00"},
        {"field": "parent_account_id", "op": "is_null", "value": True},
    ]}
    r = client.patch(f"{L}/{lst['id']}", json={"criteria": {"field": "last_name", "op": "eq", "value": "Doe"}},
                     headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["criteria"] == {"field": "last_name", "op": "eq", "value": "Doe"}
    problem(client.patch(f"{L}/{lst['id']}", json={"criteria": {"field": "nope", "op": "eq", "value": 1}},
                         headers=admin.headers), 422, "criteria.field")


def test_type_and_kind_are_fixed_and_criteria_belong_to_dynamic_lists(client, admin: TestUser) -> None:
    r = client.post(L, json={"name": "x", "member_type": "contact", "criteria": {"all": []}}, headers=admin.headers)
    problem(r, 422, "criteria")
    problem(client.post(L, json={"name": "x", "member_type": "contact", "is_dynamic": True},
                        headers=admin.headers), 422, "criteria")
    problem(client.post(L, json={"name": "x", "member_type": "opportunity"}, headers=admin.headers), 422,
            "member_type")
    lst = static_list(client, admin)
    problem(client.patch(f"{L}/{lst['id']}", json={"member_type": "lead"}, headers=admin.headers), 422,
            "member_type")
    problem(client.patch(f"{L}/{lst['id']}", json={"is_dynamic": True}, headers=admin.headers), 422, "is_dynamic")
    dyn = dynamic_list(client, admin, {"all": []})
    problem(add(client, admin, dyn["id"], contact(client, admin, "X")["id"]), 409)
    problem(client.post(L, json={"name": "x", "member_type": "contact", "cost": "10"}, headers=admin.headers),
            422, "currency_code")
    r = client.post(L, json={"name": "x", "member_type": "contact", "cost": "10", "currency_code": "EUR"},
                    headers=admin.headers)
    assert r.status_code == 201, r.text
    assert r.json()["currency_code"] == "EUR"


# --- copy, lock, state -----------------------------------------------------------------------------
def test_copy_to_static_snapshots_the_current_members(client, admin: TestUser) -> None:
    a = contact(client, admin, "Doe", first_name="Ann")
    b = contact(client, admin, "Doe", first_name="Ben")
    dyn = dynamic_list(client, admin, {"field": "last_name", "op": "eq", "value": "doe"})
    r = client.post(f"{L}/{dyn['id']}/copy-to-static", json={"name": "Does, frozen"}, headers=admin.headers)
    assert r.status_code == 201, r.text
    copy = r.json()
    assert copy["name"] == "Does, frozen" and not copy["is_dynamic"] and copy["criteria"] is None
    assert copy["id"] != dyn["id"] and copy["member_type"] == "contact"
    contact(client, admin, "Doe", first_name="Cid")  # joins the dynamic list, not the snapshot
    assert member_ids(client, admin, copy["id"]) == [a["id"], b["id"]]
    assert len(member_ids(client, admin, dyn["id"])) == 3
    default = client.post(f"{L}/{dyn['id']}/copy-to-static", headers=admin.headers).json()
    assert default["name"] == "Seattle 25-35 (copy)"
    problem(client.post(f"{L}/{copy['id']}/copy-to-static", headers=admin.headers), 409)


def test_copy_to_static_leaves_out_what_the_caller_cannot_read(client, org: OrgBuilder) -> None:
    unit_a, unit_b = org.unit("A"), org.unit("B")
    manager = org.user("manager@example.com", ["Sales Manager"])
    alice = org.user("alice@a.example", ["Salesperson"], unit_a)
    mine = contact(client, alice, "Doe")
    contact(client, org.user("bob@b.example", ["Salesperson"], unit_b), "Doe")
    dyn = dynamic_list(client, manager, {"field": "last_name", "op": "eq", "value": "Doe"})
    client.post(f"{L}/{dyn['id']}/share", json={"principal_type": "user", "principal_id": str(alice.id),
                                                "rights": ["read"]}, headers=manager.headers)
    copy = client.post(f"{L}/{dyn['id']}/copy-to-static", headers=alice.headers).json()
    assert copy["owner_id"] == str(alice.id)
    assert member_ids(client, manager, copy["id"]) == [mine["id"]]


def test_a_locked_list_refuses_every_change_but_unlocking(client, admin: TestUser) -> None:
    person = contact(client, admin, "Member")
    lst = static_list(client, admin)
    add(client, admin, lst["id"], person["id"])
    assert client.patch(f"{L}/{lst['id']}", json={"locked": True}, headers=admin.headers).json()["locked"]
    problem(client.patch(f"{L}/{lst['id']}", json={"name": "Renamed"}, headers=admin.headers), 409)
    problem(client.patch(f"{L}/{lst['id']}", json={"name": "Renamed", "locked": False}, headers=admin.headers), 409)
    problem(add(client, admin, lst["id"], contact(client, admin, "Other")["id"]), 409)
    problem(client.delete(f"{L}/{lst['id']}/members/{person['id']}", headers=admin.headers), 409)
    problem(client.delete(f"{L}/{lst['id']}", headers=admin.headers), 409)
    assert member_ids(client, admin, lst["id"]) == [person["id"]]  # still readable
    r = client.patch(f"{L}/{lst['id']}", json={"locked": False}, headers=admin.headers)
    assert r.status_code == 200 and not r.json()["locked"]
    assert client.patch(f"{L}/{lst['id']}", json={"name": "Renamed"}, headers=admin.headers).status_code == 200
    assert client.delete(f"{L}/{lst['id']}", headers=admin.headers).status_code == 204


def test_an_inactive_list_is_read_only_until_activated(client, admin: TestUser) -> None:
    lst = static_list(client, admin)
    r = client.post(f"{L}/{lst['id']}/deactivate", headers=admin.headers)
    assert r.status_code == 200 and r.json()["state"] == "Inactive" and r.json()["statuscode"] == 1
    problem(client.patch(f"{L}/{lst['id']}", json={"name": "x"}, headers=admin.headers), 409)
    problem(add(client, admin, lst["id"], contact(client, admin, "X")["id"]), 409)
    assert client.post(f"{L}/{lst['id']}/activate", headers=admin.headers).json()["state"] == "Active"
    assert client.patch(f"{L}/{lst['id']}", json={"name": "x"}, headers=admin.headers).status_code == 200


def test_lists_are_owned_and_audited(client, org: OrgBuilder, admin: TestUser) -> None:
    unit_a, unit_b = org.unit("A"), org.unit("B")
    alice = org.user("alice@a.example", ["Salesperson"], unit_a)
    anna = org.user("anna@a.example", ["Salesperson"], unit_a)
    bob = org.user("bob@b.example", ["Salesperson"], unit_b)
    lst = static_list(client, alice)
    assert lst["owner_id"] == str(alice.id)
    names = [x["id"] for x in client.get(L, headers=anna.headers).json()["items"]]
    assert names == [lst["id"]]  # business-unit read
    problem(client.patch(f"{L}/{lst['id']}", json={"name": "Mine"}, headers=anna.headers), 403)  # own write
    assert client.get(L, headers=bob.headers).json()["items"] == []
    person = contact(client, alice, "Audited")
    add(client, alice, lst["id"], person["id"])
    trail = client.get(f"{L}/{lst['id']}/audit", headers=admin.headers).json()
    assert trail[0]["action"] == "add_members"
    assert f"member.{person['id']}.member_id" in trail[0]["changes"]
    assert client.get(f"{L}?member_type=contact&is_dynamic=false", headers=alice.headers).json()["items"]
