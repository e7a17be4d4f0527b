"""Sites, resources, resource groups and services as an administrator sets them up for scheduling."""

import uuid

import pytest

from tests.api import created, problem
from tests.org import OrgBuilder, TestUser

API = "/api/v1"


def _site(client, admin: TestUser, name: str = "Head office", time_zone: str = "Europe/Paris") -> dict:
    return created(client, admin, "sites", {"name": name, "time_zone": time_zone, "city": "Paris"})


def _equipment(client, admin: TestUser, name: str, **extra) -> dict:
    return created(client, admin, "resources", {"kind": "equipment", "name": name, **extra})


def _group(client, admin: TestUser, name: str, **extra) -> dict:
    return created(client, admin, "resource-groups", {"name": name, **extra})


# --- sites -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "localtime", "europe/paris", "+02:00", ""])
def test_a_site_time_zone_must_be_an_iana_name(client, admin: TestUser, zone: str) -> None:
    r = client.post(f"{API}/sites", json={"name": "Lyon", "time_zone": zone}, headers=admin.headers)
    problem(r, 422, "time_zone")


def test_site_keeps_its_address_and_zone_and_refuses_a_bad_change(client, admin: TestUser) -> None:
    site = _site(client, admin, time_zone="America/Argentina/Buenos_Aires")
    assert (site["time_zone"], site["city"]) == ("America/Argentina/Buenos_Aires", "Paris")
    problem(client.patch(f"{API}/sites/{site['id']}", json={"time_zone": "Nowhere/Land"}, headers=admin.headers),
            422, "time_zone")
    problem(client.post(f"{API}/sites", json={"name": "No zone"}, headers=admin.headers), 422, "time_zone")
    r = client.patch(f"{API}/sites/{site['id']}", json={"time_zone": "Asia/Tokyo"}, headers=admin.headers)
    assert r.json()["time_zone"] == "Asia/Tokyo"
    trail = client.get(f"{API}/sites/{site['id']}/audit", headers=admin.headers).json()
    assert [e["action"] for e in trail] == ["update", "create"]
    assert trail[0]["changes"]["time_zone"] == ["America/Argentina/Buenos_Aires", "Asia/Tokyo"]


def test_a_site_with_resources_is_not_deleted(client, admin: TestUser) -> None:
    site = _site(client, admin)
    room = created(client, admin, "resources", {"kind": "facility", "name": "Room 1", "site_id": site["id"]})
    problem(client.delete(f"{API}/sites/{site['id']}", headers=admin.headers), 409)
    assert client.delete(f"{API}/resources/{room['id']}", headers=admin.headers).status_code == 204
    assert client.delete(f"{API}/sites/{site['id']}", headers=admin.headers).status_code == 204


# --- resources -------------------------------------------------------------------------------------

def test_a_user_resource_points_at_the_user_takes_his_name_and_unit(client, org: OrgBuilder) -> None:
    admin = org.admin()
    branch = org.unit("Branch")
    agent = org.user("agent@example.com", ["Customer Service Representative"], branch)
    res = created(client, admin, "resources", {"kind": "user", "user_id": str(agent.id)})
    assert (res["name"], res["user_id"], res["business_unit_id"]) == ("Agent", str(agent.id), str(branch))

    problem(client.post(f"{API}/resources", json={"kind": "user", "user_id": str(agent.id)}, headers=admin.headers),
            409)
    problem(client.post(f"{API}/resources", json={"kind": "user"}, headers=admin.headers), 422, "user_id")
    problem(client.post(f"{API}/resources", json={"kind": "user", "user_id": str(uuid.uuid4())},
                        headers=admin.headers), 422, "user_id")
    problem(client.post(f"{API}/resources", json={"kind": "user", "user_id": str(admin.id),
                                                  "business_unit_id": str(branch)}, headers=admin.headers),
            422, "business_unit_id")
    problem(client.post(f"{API}/resources", json={"kind": "equipment", "name": "Van", "user_id": str(admin.id)},
                        headers=admin.headers), 422, "user_id")
    problem(client.post(f"{API}/resources", json={"kind": "equipment"}, headers=admin.headers), 422, "name")
    problem(client.patch(f"{API}/resources/{res['id']}", json={"business_unit_id": str(org.root_id)},
                         headers=admin.headers), 422, "business_unit_id")
    # When the user moves to another business unit, his resource goes with him.
    r = client.patch(f"{API}/users/{agent.id}", json={"business_unit_id": str(org.root_id)}, headers=admin.headers)
    assert r.status_code == 200, r.text
    moved = client.get(f"{API}/resources/{res['id']}", headers=admin.headers).json()
    assert moved["business_unit_id"] == str(org.root_id)


def test_only_facilities_have_a_capacity_and_kinds_do_not_change(client, admin: TestUser) -> None:
    room = created(client, admin, "resources", {"kind": "facility", "name": "Room 2", "capacity": 12,
                                                "time_zone": "Europe/Oslo"})
    assert room["capacity"] == 12
    problem(client.post(f"{API}/resources", json={"kind": "equipment", "name": "Projector", "capacity": 3},
                        headers=admin.headers), 422, "capacity")
    problem(client.post(f"{API}/resources", json={"kind": "facility", "name": "Closet", "capacity": 0},
                        headers=admin.headers), 422, "capacity")
    problem(client.post(f"{API}/resources", json={"kind": "robot", "name": "R2"}, headers=admin.headers), 422, "kind")
    problem(client.post(f"{API}/resources", json={"kind": "facility", "name": "Room", "time_zone": "CEST"},
                        headers=admin.headers), 422, "time_zone")
    problem(client.patch(f"{API}/resources/{room['id']}", json={"kind": "equipment"}, headers=admin.headers),
            422, "kind")


def test_resources_belong_to_a_unit_and_only_administrators_keep_them(client, org: OrgBuilder) -> None:
    admin = org.admin()
    branch = org.unit("Branch")
    rep = org.user("rep@example.com", ["Salesperson"], branch)
    van = _equipment(client, admin, "Van")
    assert van["business_unit_id"] == str(org.root_id)  # the creator's unit
    moved = client.patch(f"{API}/resources/{van['id']}", json={"business_unit_id": str(branch)},
                         headers=admin.headers)
    assert moved.json()["business_unit_id"] == str(branch)
    problem(client.patch(f"{API}/resources/{van['id']}", json={"business_unit_id": str(uuid.uuid4())},
                         headers=admin.headers), 422, "business_unit_id")
    # Everybody reads the scheduling records; only administrators change them.
    listed = client.get(f"{API}/resources", params={"kind": "equipment"}, headers=rep.headers).json()["items"]
    assert [r["name"] for r in listed] == ["Van"]
    problem(client.post(f"{API}/resources", json={"kind": "equipment", "name": "Bike"}, headers=rep.headers), 403)
    problem(client.post(f"{API}/sites", json={"name": "Mine", "time_zone": "UTC"}, headers=rep.headers), 403)


# --- resource groups -------------------------------------------------------------------------------

def test_groups_hold_resources_and_groups_but_never_themselves(client, admin: TestUser) -> None:
    van, truck = _equipment(client, admin, "Van"), _equipment(client, admin, "Truck")
    a = _group(client, admin, "A", resource_ids=[van["id"], van["id"], truck["id"]])
    assert a["resource_ids"] == [van["id"], truck["id"]]
    b = _group(client, admin, "B")
    c = _group(client, admin, "C")
    url = f"{API}/resource-groups"
    assert client.patch(f"{url}/{a['id']}", json={"group_ids": [b["id"]]}, headers=admin.headers).status_code == 200
    assert client.patch(f"{url}/{b['id']}", json={"group_ids": [c["id"]]}, headers=admin.headers).status_code == 200

    p = problem(client.patch(f"{url}/{c['id']}", json={"group_ids": [a["id"]]}, headers=admin.headers),
                422, "group_ids[0]")
    assert "cycle" in p["detail"]
    problem(client.patch(f"{url}/{b['id']}", json={"group_ids": [c["id"], b["id"]]}, headers=admin.headers),
            422, "group_ids[1]")
    problem(client.patch(f"{url}/{a['id']}", json={"resource_ids": [str(uuid.uuid4())]}, headers=admin.headers),
            422, "resource_ids[0]")
    problem(client.patch(f"{url}/{a['id']}", json={"group_ids": [str(uuid.uuid4())]}, headers=admin.headers),
            422, "group_ids[0]")
    assert client.get(f"{url}/{c['id']}", headers=admin.headers).json()["group_ids"] == []
    # The membership changes are in the group's audit trail.
    trail = client.get(f"{url}/{a['id']}/audit", headers=admin.headers).json()
    assert trail[0]["changes"]["groups"] == [[], [b["id"]]]


def test_deleting_a_member_takes_it_out_of_its_groups(client, admin: TestUser) -> None:
    van = _equipment(client, admin, "Van")
    inner = _group(client, admin, "Inner", resource_ids=[van["id"]])
    outer = _group(client, admin, "Outer", group_ids=[inner["id"]])
    assert client.delete(f"{API}/resources/{van['id']}", headers=admin.headers).status_code == 204
    assert client.delete(f"{API}/resource-groups/{inner['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"{API}/resource-groups/{outer['id']}", headers=admin.headers).json()["group_ids"] == []
    trail = client.get(f"{API}/resource-groups/{outer['id']}/audit", headers=admin.headers).json()
    assert trail[0]["changes"]["groups"] == [[inner["id"]], []]


# --- services and their selection rules ------------------------------------------------------------

def _service(client, admin: TestUser, rule: dict | None, **extra) -> object:
    body = {"name": "Annual check-up", "duration_minutes": 60, "selection_rule": rule, **extra}
    return client.post(f"{API}/services", json=body, headers=admin.headers)


def test_a_selection_rule_is_a_checked_tree(client, admin: TestUser) -> None:
    doctor, nurse = _equipment(client, admin, "Doctor"), _equipment(client, admin, "Nurse")
    rooms = _group(client, admin, "Rooms")
    rule = {"rules": [{"group": rooms["id"], "same_site": True},
                      {"resources": [doctor["id"], nurse["id"]], "count": 2}],
            "count": -1, "same_site": True}
    r = _service(client, admin, rule, granularity_minutes=15, start_window_from="08:00", start_window_to="16:30")
    assert r.status_code == 201, r.text
    service = r.json()
    assert service["selection_rule"] == {
        "rules": [{"group": rooms["id"], "count": 1, "same_site": True},
                  {"resources": [doctor["id"], nurse["id"]], "count": 2, "same_site": False}],
        "count": -1, "same_site": True,
    }
    assert (service["start_window_from"], service["start_window_to"]) == ("08:00", "16:30")
    assert service["initial_status_code"] == 4  # Reserved
    trail = client.get(f"{API}/services/{service['id']}/audit", headers=admin.headers).json()
    assert trail[0]["changes"]["selection_rule"][1] == service["selection_rule"]
    r = client.patch(f"{API}/services/{service['id']}", json={"selection_rule": None}, headers=admin.headers)
    assert r.json()["selection_rule"] is None


@pytest.mark.parametrize(("rule", "field"), [
    ({"group": "GROUP", "resources": ["DOCTOR"]}, "selection_rule"),
    ({"count": 1}, "selection_rule"),
    ({"group": "GROUP", "count": 0}, "selection_rule.count"),
    ({"group": "GROUP", "count": "2"}, "selection_rule.count"),
    ({"group": "GROUP", "same_site": "yes"}, "selection_rule.same_site"),
    ({"group": "GROUP", "prefer": "least busy"}, "selection_rule"),
    ({"group": "not-an-id"}, "selection_rule.group"),
    ({"group": "MISSING"}, "selection_rule.group"),
    ({"resources": ["DOCTOR"], "count": 2}, "selection_rule.count"),
    ({"resources": []}, "selection_rule.resources"),
    ({"resources": ["DOCTOR", "DOCTOR"]}, "selection_rule.resources[1]"),
    ({"rules": [{"group": "GROUP"}, {"resources": ["MISSING"]}]}, "selection_rule.rules[1].resources[0]"),
    ({"rules": [{"rules": [{"rules": [{"rules": [{"rules": [{"rules": [{"group": "GROUP"}]}]}]}]}]}]},
     "selection_rule" + ".rules[0]" * 6),
])
def test_a_bad_selection_rule_is_refused_naming_the_node(client, admin: TestUser, rule: dict, field: str) -> None:
    doctor = _equipment(client, admin, "Doctor")
    group = _group(client, admin, "Doctors", resource_ids=[doctor["id"]])
    names = {"GROUP": group["id"], "DOCTOR": doctor["id"], "MISSING": str(uuid.uuid4())}

    def fill(value):
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return names.get(value, value) if isinstance(value, str) else value

    problem(_service(client, admin, fill(rule)), 422, field)


@pytest.mark.parametrize(("extra", "field"), [
    ({"granularity_minutes": 7}, "granularity_minutes"),
    ({"start_window_from": "12:00", "start_window_to": "09:00"}, "start_window_to"),
    ({"start_window_from": "12:00:30"}, "start_window_from"),
    ({"initial_status_code": 8}, "initial_status_code"),
    ({"duration_minutes": 0}, "duration_minutes"),
])
def test_service_timing_rules(client, admin: TestUser, extra: dict, field: str) -> None:
    problem(_service(client, admin, None, **extra), 422, field)


def test_records_named_by_a_rule_are_not_deleted(client, admin: TestUser) -> None:
    doctor = _equipment(client, admin, "Doctor")
    rooms = _group(client, admin, "Rooms")
    service = _service(client, admin, {"rules": [{"group": rooms["id"]}, {"resources": [doctor["id"]]}],
                                       "count": -1}).json()
    p = problem(client.delete(f"{API}/resources/{doctor['id']}", headers=admin.headers), 409)
    assert "Annual check-up" in p["detail"]
    problem(client.delete(f"{API}/resource-groups/{rooms['id']}", headers=admin.headers), 409)
    client.patch(f"{API}/services/{service['id']}", json={"selection_rule": {"group": rooms["id"]}},
                 headers=admin.headers)
    assert client.delete(f"{API}/resources/{doctor['id']}", headers=admin.headers).status_code == 204
    problem(client.delete(f"{API}/resource-groups/{rooms['id']}", headers=admin.headers), 409)
    assert client.delete(f"{API}/services/{service['id']}", headers=admin.headers).status_code == 204
    assert client.delete(f"{API}/resource-groups/{rooms['id']}", headers=admin.headers).status_code == 204
