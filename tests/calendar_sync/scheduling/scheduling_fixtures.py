"""Building a service calendar through the API, as an administrator would: a site, resources, groups, a service."""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tests.api import created
from tests.org import OrgBuilder, TestUser

API = "/api/v1"
PARIS = ZoneInfo("Europe/Paris")


def at(text: str, zone: ZoneInfo = PARIS) -> datetime:
    """'2026-03-02 09:00' in `zone`."""
    return datetime.fromisoformat(text).replace(tzinfo=zone)


def site(client: Any, admin: TestUser, name: str = "Paris", time_zone: str = "Europe/Paris") -> dict[str, Any]:
    return created(client, admin, "sites", {"name": name, "time_zone": time_zone})


def resource(client: Any, admin: TestUser, name: str, kind: str = "equipment", **extra: Any) -> dict[str, Any]:
    """A resource in Paris's zone unless it has a site (whose zone it takes)."""
    if "site_id" not in extra:
        extra.setdefault("time_zone", "Europe/Paris")
    body = {"kind": kind, "name": name, **extra}
    return created(client, admin, "resources", {k: str(v) if k.endswith("_id") else v for k, v in body.items()})


def group(client: Any, admin: TestUser, name: str, members: list[dict[str, Any]]) -> dict[str, Any]:
    return created(client, admin, "resource-groups", {"name": name, "resource_ids": [m["id"] for m in members]})


def service(client: Any, admin: TestUser, rule: dict[str, Any], duration: int = 60, **extra: Any) -> dict[str, Any]:
    return created(client, admin, "services", {"name": extra.pop("name", "Check-up"), "duration_minutes": duration,
                                               "selection_rule": rule, **extra})


def search(client: Any, user: TestUser, service_id: str, start: datetime, end: datetime,
           **extra: Any) -> list[dict[str, Any]]:
    r = client.post(f"{API}/services/{service_id}/available-times", headers=user.headers,
                    json={"start": start.isoformat(), "end": end.isoformat(), **extra})
    assert r.status_code == 200, r.text
    return r.json()["proposals"]  # type: ignore[no-any-return]


def book(client: Any, user: TestUser, service_id: str, start: datetime, resources: list[dict[str, Any]],
         **extra: Any) -> Any:
    return client.post(f"{API}/service-activities", headers=user.headers, json={
        "service_id": service_id, "start": start.isoformat(), "resource_ids": [r["id"] for r in resources], **extra})


def names(proposal: dict[str, Any]) -> set[str]:
    return {r["name"] for r in proposal["resources"]}


def local(proposal: dict[str, Any], zone: ZoneInfo = PARIS) -> str:
    return datetime.fromisoformat(proposal["start"]).astimezone(zone).strftime("%a %H:%M")


def unit_planner(client: Any, admin: TestUser, org: OrgBuilder, unit_id: Any, email: str) -> TestUser:
    """A scheduler who reads the resources of his own business unit only (the default roles read them all)."""
    privileges = [{"entity": "resource", "privilege": "read", "depth": "business_unit"},
                  {"entity": "service", "privilege": "read", "depth": "organization"},
                  *({"entity": "activity", "privilege": p, "depth": "business_unit"}
                    for p in ("create", "read", "write", "append", "append_to"))]
    r = client.post(f"{API}/security-roles", json={"name": f"Planner {email}", "privileges": privileges},
                    headers=admin.headers)
    assert r.status_code == 201, r.text
    user = org.user(email, [], unit_id)
    r = client.put(f"{API}/users/{user.id}/roles", json={"role_ids": [r.json()["id"]]}, headers=admin.headers)
    assert r.status_code == 200, r.text
    return user
