"""Hypothesis strategies from the JSON schemas of our own OpenAPI document (what schemathesis would do, which
the local package index does not offer): small, typed, and only the keywords our pydantic models emit."""

import string
from datetime import UTC, date, datetime, time
from typing import Any

from hypothesis import strategies as st

Schema = dict[str, Any]
# Every code point a JSON string may carry, NUL and controls included (PostgreSQL refuses NUL in text: a
# classic 500), but no lone surrogates, which no UTF-8 JSON body can hold.
TEXT = st.characters(codec="utf-8")
_DEPTH = 4  # nested objects/arrays deeper than this get their smallest value


def resolve(spec: Schema, schema: Schema) -> Schema:
    """Follows a local $ref ("#/components/schemas/X") to the schema it names."""
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def from_schema(spec: Schema, schema: Schema, depth: int = 0) -> st.SearchStrategy[Any]:
    schema = resolve(spec, schema)
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return st.one_of([from_schema(spec, s, depth) for s in schema[key]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema(spec, {**schema, "type": k}, depth) for k in kind])
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        return st.integers(
            _bound(schema, "minimum", "exclusiveMinimum", 1), _bound(schema, "maximum", "exclusiveMaximum", -1)
        )
    if kind == "number":
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        return st.floats(
            min_value=low,
            max_value=schema.get("maximum"),
            allow_nan=False,
            allow_infinity=False,
            exclude_min="exclusiveMinimum" in schema,
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = from_schema(spec, schema.get("items", {}), depth + 1) if depth < _DEPTH else st.nothing()
        return st.lists(
            items,
            min_size=schema.get("minItems", 0),
            max_size=min(schema.get("maxItems", 3), 3) if depth < _DEPTH else schema.get("minItems", 0),
        )
    if kind == "object" or "properties" in schema:
        return _object(spec, schema, depth)
    return st.one_of(st.none(), st.booleans(), st.integers(), st.text(TEXT, max_size=10))  # {}: anything


def _bound(schema: Schema, inclusive: str, exclusive: str, step: int) -> int | None:
    if inclusive in schema:
        return int(schema[inclusive])
    if exclusive in schema:
        return int(schema[exclusive]) + step
    return None


def _string(schema: Schema) -> st.SearchStrategy[str]:
    fmt = schema.get("format")
    if fmt == "uuid":
        return st.uuids().map(str)
    if fmt == "date-time":
        return st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=st.just(UTC)).map(datetime.isoformat)
    if fmt == "date":
        return st.dates(date(1900, 1, 1), date(2200, 1, 1)).map(date.isoformat)
    if fmt == "time":
        return st.times(time(0), time(23, 59, 59)).map(time.isoformat)
    if fmt == "email":
        local = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)
        return st.builds(lambda u, d: f"{u}@{d}.example", local, local)
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True)
    return st.text(TEXT, min_size=schema.get("minLength", 0), max_size=min(schema.get("maxLength", 40), 40))


def _object(spec: Schema, schema: Schema, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    props: dict[str, Schema] = schema.get("properties", {})
    required = set(schema.get("required", []))
    if depth >= _DEPTH:
        props = {k: v for k, v in props.items() if k in required}
    return st.fixed_dictionaries(
        {k: from_schema(spec, v, depth + 1) for k, v in props.items() if k in required},
        optional={k: from_schema(spec, v, depth + 1) for k, v in props.items() if k not in required},
    )
