"""A service's selection rule: which resources a booking of the service needs, as data (Dynamics keeps it in
resourcespec records; DOMAIN.md §11). The booking engine (calendar_sync.scheduling) reads it; here it is
only checked and stored.

A rule is a tree of nodes, each choosing `count` of its options (-1 = all of them, as Dynamics'
requiredcount), optionally all on one site (`same_site`, Dynamics' samesite):

    {"group": "<resource group id>", "count": 1, "same_site": false}    members of a resource group
    {"resources": ["<resource id>", ...], "count": 1, "same_site": false}  listed resources
    {"rules": [<node>, ...], "count": -1, "same_site": true}            nested rules (a doctor AND a room)
    {"case_owner": true, "count": 1, "same_site": false}                the user who handles the booking's case

The stored form is normalised: ids as strings, `count` and `same_site` always present."""

import uuid
from collections.abc import Callable
from typing import Any

from crm_core.errors import ValidationFailed

ALL = -1
MAX_DEPTH = 6
MAX_NODES = 200
_KINDS = ("group", "resources", "rules", "case_owner")


def normalise(rule: Any, resource_exists: Callable[[uuid.UUID, str], None],
              group_exists: Callable[[uuid.UUID, str], None], field: str = "selection_rule") -> dict[str, Any]:
    """The rule, checked and normalised. The callbacks raise (naming the field) when an id names nothing."""
    counter = [0]
    return _node(rule, field, 1, counter, resource_exists, group_exists)


def _node(node: Any, field: str, depth: int, counter: list[int], resource_exists: Callable[[uuid.UUID, str], None],
          group_exists: Callable[[uuid.UUID, str], None]) -> dict[str, Any]:
    counter[0] += 1
    if counter[0] > MAX_NODES:
        raise ValidationFailed.field(field, f"a selection rule has at most {MAX_NODES} nodes")
    if depth > MAX_DEPTH:
        raise ValidationFailed.field(field, f"selection rules nest at most {MAX_DEPTH} levels deep")
    if not isinstance(node, dict):
        raise ValidationFailed.field(field, 'a node is an object such as {"group": "<id>", "count": 1}')
    kinds = [k for k in _KINDS if k in node]
    if len(kinds) != 1:
        raise ValidationFailed.field(field, "a node has exactly one of group, resources, rules or case_owner")
    kind = kinds[0]
    unknown = set(node) - {kind, "count", "same_site"}
    if unknown:
        raise ValidationFailed.field(field, f"unknown keys {sorted(unknown)}; a node has {kind}, count and same_site")
    count = node.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or (count < 1 and count != ALL):
        raise ValidationFailed.field(f"{field}.count", "a whole number of at least 1, or -1 for all")
    same_site = node.get("same_site", False)
    if not isinstance(same_site, bool):
        raise ValidationFailed.field(f"{field}.same_site", "true or false")
    out: dict[str, Any] = {}
    if kind == "case_owner":
        if node["case_owner"] is not True or count != 1:
            raise ValidationFailed.field(f"{field}.case_owner", 'write {"case_owner": true}: one resource, the '
                                         "user who owns the case the booking is for")
        out["case_owner"] = True
    elif kind == "group":
        group_id = _uuid(node["group"], f"{field}.group")
        group_exists(group_id, f"{field}.group")
        out["group"] = str(group_id)
    else:
        options = node[kind]
        if not isinstance(options, list) or not options:
            raise ValidationFailed.field(f"{field}.{kind}", "a non-empty list")
        if count > len(options):
            raise ValidationFailed.field(f"{field}.count", f"cannot choose {count} of {len(options)} {kind}")
        if kind == "resources":
            ids = [_uuid(value, f"{field}.resources[{i}]") for i, value in enumerate(options)]
            for i, resource_id in enumerate(ids):
                if resource_id in ids[:i]:
                    raise ValidationFailed.field(f"{field}.resources[{i}]", "listed twice")
                resource_exists(resource_id, f"{field}.resources[{i}]")
            out["resources"] = [str(r) for r in ids]
        else:
            out["rules"] = [_node(child, f"{field}.rules[{i}]", depth + 1, counter, resource_exists, group_exists)
                            for i, child in enumerate(options)]
    out["count"] = count
    out["same_site"] = same_site
    return out


def _uuid(value: Any, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value)) if not isinstance(value, uuid.UUID) else value
    except ValueError:
        raise ValidationFailed.field(field, f"{value!r} is not an id") from None


def references(rule: dict[str, Any] | None) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """(resource ids, group ids) a stored rule names anywhere in its tree."""
    resources: set[uuid.UUID] = set()
    groups: set[uuid.UUID] = set()
    todo = [rule] if rule else []
    while todo:
        node = todo.pop()
        if "group" in node:
            groups.add(uuid.UUID(node["group"]))
        resources.update(uuid.UUID(r) for r in node.get("resources", ()))
        todo.extend(node.get("rules", ()))
    return resources, groups
