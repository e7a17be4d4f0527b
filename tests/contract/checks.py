"""What every answer of the API must keep, whoever asks: no 5xx, a status the operation documents, a 2xx body
that its documented schema accepts, a 4xx body that is an RFC 9457 problem, and (for a user confined to his
business unit) no id of another unit's records anywhere in the body."""

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

Schema = dict[str, Any]
PROBLEM = "application/problem+json"


class Contract:
    """The OpenAPI document with a validator per referenced schema (built once: the document is large)."""

    def __init__(self, spec: Schema) -> None:
        self.spec = spec
        self._validators: dict[str, Draft202012Validator] = {}

    def validator(self, schema: Schema) -> Draft202012Validator:
        key = repr(schema)
        if key not in self._validators:
            # The components ride along at the root, so "#/components/schemas/X" resolves as in the document.
            self._validators[key] = Draft202012Validator(
                {**schema, "components": self.spec["components"]}, format_checker=FormatChecker()
            )
        return self._validators[key]

    def violations(self, method: str, path: str, r: Any) -> list[str]:
        """What is wrong with the answer `r` to `method path`; empty when it keeps the contract."""
        where = f"{method.upper()} {r.request.url.path} -> {r.status_code}"
        op = self.spec["paths"][path][method]
        status = r.status_code
        if status >= 500:
            return [f"{where}: server error {r.text[:300]}"]
        documented = op.get("responses", {})
        if str(status) not in documented and f"{str(status)[0]}XX" not in documented:
            return [f"{where}: status not documented ({sorted(documented)}) {r.text[:200]}"]
        if status == 204 or status in (301, 302, 303, 307, 308):
            return []
        content = documented.get(str(status), {}).get("content", {})
        ctype = r.headers.get("content-type", "").split(";")[0]
        if status >= 400:
            return self._problem(where, r, ctype)
        schema = content.get("application/json", {}).get("schema")
        if ctype != "application/json" or schema is None:
            if ctype == "application/json" and not content:
                return [f"{where}: JSON answer but no documented content"]
            return []  # a file, a page, a stream: documented by media type only
        return [f"{where}: {e.json_path}: {e.message[:200]}" for e in self.validator(schema).iter_errors(r.json())]

    def _problem(self, where: str, r: Any, ctype: str) -> list[str]:
        if ctype != PROBLEM:
            return [f"{where}: error as {ctype!r}, not {PROBLEM} {r.text[:200]}"]
        body = r.json()
        out = [
            f"{where}: problem: {e.message[:200]}"
            for e in self.validator({"$ref": "#/components/schemas/Problem"}).iter_errors(body)
        ]
        if isinstance(body, dict) and body.get("status") != r.status_code:
            out.append(f"{where}: problem status {body.get('status')} differs from the response's")
        if isinstance(body, dict) and not (body.get("title") and body.get("detail")):
            out.append(f"{where}: problem without title or detail")
        return out


def strings_in(body: Any) -> Iterator[str]:
    """Every string of a JSON body, keys included (an id may key a map)."""
    if isinstance(body, str):
        yield body
    elif isinstance(body, dict):
        for k, v in body.items():
            yield k
            yield from strings_in(v)
    elif isinstance(body, list):
        for v in body:
            yield from strings_in(v)


def leaked(r: Any, foreign_ids: set[str]) -> set[str]:
    """The ids of another unit's records that a JSON answer shows."""
    if not r.headers.get("content-type", "").startswith(("application/json", PROBLEM)):
        return set()
    return {s for s in strings_in(r.json()) if s in foreign_ids}
