"""Every GET operation under /api/v1, as four users (an administrator, a Salesperson of unit A, a Customer Service
Representative of unit B, a user without roles), on records of both units: each answer keeps the contract
(tests/contract/checks.py), the Salesperson of A sees no record of B in any body, the representative of B none
of A, and the user without roles none of either."""

from collections import Counter
from typing import Any

from tests.contract.checks import Contract, leaked
from tests.contract.world import build, path_values

ROLES = ("admin", "sales_a", "csr_b", "nobody")


def read_operations(spec: dict[str, Any]) -> list[tuple[str, list[str]]]:
    out = []
    for path, ops in spec["paths"].items():
        if path.startswith("/api/v1/") and "get" in ops:
            out.append((path, [p["name"] for p in ops["get"].get("parameters", []) if p["in"] == "path"]))
    return out


def test_every_read_keeps_the_contract_for_every_role(client, org, contract: Contract) -> None:
    world = build(client, org)
    hidden = world.hidden()
    operations = read_operations(contract.spec)
    assert len(operations) > 150  # the sweep reaches the whole API, not a corner of it
    problems: list[str] = []
    answered: Counter[tuple[str, int]] = Counter()
    for path, params in operations:
        # Items of both units: the same path is asked for A's record and for B's.
        urls = {path.format(**{p: path_values(world, path, p, unit) for p in params}) for unit in (world.a, world.b)}
        for url in sorted(urls):
            for role in ROLES:
                r = client.get(url, headers=world.roles[role].headers)
                answered[role, r.status_code] += 1
                problems += contract.violations("get", path, r)
                if shown := leaked(r, hidden.get(role, set())):
                    problems.append(f"GET {url} as {role} shows another unit's records {sorted(shown)}")
    print(f"contract: {len(operations)} read operations, {answered.total()} calls: {sorted(answered.items())}")
    # The sweep reads real records, not only refusals: the administrator sees most of the API.
    assert answered["admin", 200] > len(operations) // 2
    assert problems == [], "\n".join(problems)
