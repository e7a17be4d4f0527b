"""The query parameters of every collection (sort, cursor, limit, filters), drawn by Hypothesis from each
parameter's schema or as free text (a cursor or sort is typed by people and scripts alike), sent by the
Salesperson of unit A: the answers keep the contract and show nothing of unit B."""

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.contract.checks import Contract, leaked
from tests.contract.conftest import CONTRACT
from tests.contract.schema_strategy import TEXT, from_schema
from tests.contract.world import CONFINED, build


def query_strategy(spec: dict[str, Any], path: str) -> st.SearchStrategy[dict[str, Any]]:
    params = [p for p in spec["paths"][path]["get"].get("parameters", []) if p["in"] == "query"]
    return st.fixed_dictionaries(
        {},
        optional={
            p["name"]: st.one_of(from_schema(spec, p["schema"]), st.text(TEXT, max_size=20)).filter(
                lambda v: v is not None
            )
            for p in params
        },
    )


def _query(client: Any, contract: Contract, path: str, user: Any, foreign: set[str]) -> str | None:
    """Runs one collection's queries; the failure Hypothesis settled on, or None."""

    @CONTRACT
    @given(query=query_strategy(contract.spec, path))
    def check(query: dict[str, Any]) -> None:
        r = client.get(path, params=query, headers=user.headers)
        problems = contract.violations("get", path, r)
        if shown := leaked(r, foreign):
            problems.append(f"GET {path} as Salesperson A shows unit B's records {sorted(shown)}")
        assert problems == [], problems

    try:
        check()
    except AssertionError as failure:
        return f"GET {path}: {failure}"
    return None


def test_collection_queries_keep_the_contract(client, org, contract: Contract) -> None:
    world = build(client, org)
    user, foreign = world.roles["sales_a"], world.foreign_to_a()
    failures = [f for c in CONFINED if (f := _query(client, contract, f"/api/v1/{c}", user, foreign))]
    assert failures == [], "\n".join(failures)
