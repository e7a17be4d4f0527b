"""A selection of POST and PATCH operations, with bodies Hypothesis draws from each operation's own request
schema, sent by the four users of test_read_operations.py: each answer keeps the contract (no 5xx, a
documented status, a body its schema accepts or an RFC 9457 problem), and what the Salesperson of unit A gets
back names no record of unit B, even when he aims his PATCH at one."""

import os
from collections import Counter
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.contract.checks import Contract, leaked
from tests.contract.conftest import CONTRACT
from tests.contract.schema_strategy import from_schema
from tests.contract.world import World, build, path_values

ROLES = ("admin", "sales_a", "csr_b", "nobody")
CREATES = (
    "accounts",
    "contacts",
    "leads",
    "activities",
    "cases",
    "opportunities",
    "marketing-lists",
    "campaigns",
    "quotes",
    "queues",
    "knowledge-articles",
    "email-templates",
)
UPDATES = ("accounts", "contacts", "leads", "activities", "cases", "opportunities", "quotes", "campaigns")
# CONTRACT_WIDE=1: every POST, PATCH and PUT with a JSON body (a few hundred operations; a long run).
WIDE = bool(os.environ.get("CONTRACT_WIDE"))


def every_write(spec: dict[str, Any], world: World) -> list[tuple[str, str, list[dict[str, str]]]]:
    out = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            if path.startswith("/api/v1/") and method in ("post", "patch", "put") and "application/json" in content:
                names = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
                targets = [{n: path_values(world, path, n, u) for n in names} for u in (world.a, world.b)]
                out.append((method, path, targets))
    return out


def body_schema(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return schema


def _exercise(
    client: Any,
    contract: Contract,
    world: World,
    role: str,
    method: str,
    path: str,
    targets: list[dict[str, str]],
    answered: Counter[tuple[str, int]],
) -> str | None:
    """Runs one operation as one role; the failure Hypothesis settled on, or None."""
    foreign = world.foreign_to_a()
    user = world.roles[role]

    @CONTRACT
    @given(body=from_schema(contract.spec, body_schema(contract.spec, path, method)), target=st.sampled_from(targets))
    def check(body: Any, target: dict[str, str]) -> None:
        r = client.request(method.upper(), path.format(**target), json=body, headers=user.headers)
        answered[method, r.status_code] += 1
        problems = contract.violations(method, path, r)
        if role == "sales_a" and (shown := leaked(r, foreign)):
            problems.append(f"{method.upper()} {path} as Salesperson A shows unit B's records {sorted(shown)}")
        assert problems == [], problems

    try:
        check()
    except AssertionError as failure:
        return f"{method.upper()} {path} as {role}: {failure}"
    return None


def test_writes_with_generated_bodies_keep_the_contract(client, org, contract: Contract) -> None:
    world = build(client, org)
    operations: list[tuple[str, str, list[dict[str, str]]]] = [("post", f"/api/v1/{c}", [{}]) for c in CREATES]
    operations += [
        ("patch", f"/api/v1/{c}/{{record_id}}", [{"record_id": u.records[c][0]} for u in (world.a, world.b)])
        for c in UPDATES
    ]
    if WIDE:
        operations = every_write(contract.spec, world)
    answered: Counter[tuple[str, int]] = Counter()
    failures = [
        failure
        for method, path, targets in operations
        for role in ROLES
        if (failure := _exercise(client, contract, world, role, method, path, targets, answered))
    ]
    print(
        f"contract: {len(operations)} write operations x {len(ROLES)} roles x {CONTRACT.max_examples} examples:",
        sorted(answered.items()),
    )
    assert failures == [], "\n".join(failures)
