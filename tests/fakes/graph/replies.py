"""What the fake answers with, independent of the transport: a `Reply` (status, headers, body bytes) and the two
error shapes it speaks, Microsoft Graph's `{"error": {"code", "message", "innerError"}}` and Entra ID's token
endpoint error (`error`, `error_description` "AADSTSnnn: ...", `error_codes`, `timestamp`, `trace_id`,
`correlation_id`). Handlers raise `GraphError`/`EntraError`; the dispatcher turns them into replies, the same way
at the top level and inside a `$batch`."""

import datetime as dt
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

JSON_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """Graph's DateTimeOffset as the samples print it: UTC, whole seconds, a Z."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Reply(status, {"Content-Type": JSON_TYPE, **(headers or {})}, body)


def empty_reply(status: int, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, dict(headers or {}), b"")


def graph_error_body(code: str, message: str) -> dict[str, Any]:
    # innerError as Graph adds it to every error (the throttling and batching samples show it).
    request_id = str(uuid.uuid4())
    return {"error": {"code": code, "message": message, "innerError": {
        "date": utcnow().strftime("%Y-%m-%dT%H:%M:%S"), "request-id": request_id,
        "client-request-id": request_id}}}


class GraphError(Exception):
    """A Graph error answer; `headers` carries Retry-After, Location, WWW-Authenticate when the case has one."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})

    def reply(self) -> Reply:
        return json_reply(self.status, graph_error_body(self.code, self.message), self.headers)


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    return GraphError(400, code, message)


def not_found_item() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


class EntraError(Exception):
    """An Entra ID (v2.0 token endpoint) error. `number` is the AADSTS code, repeated in `error_codes`."""

    def __init__(self, status: int, error: str, number: int, description: str) -> None:
        super().__init__(f"{error}: AADSTS{number}: {description}")
        self.status, self.error, self.number, self.description = status, error, number, description

    def reply(self) -> Reply:
        trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = utcnow().strftime("%Y-%m-%d %H:%M:%SZ")
        # Entra appends the trace, correlation and time to the description, each on its own line.
        text = (f"AADSTS{self.number}: {self.description}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}"
                f"\r\nTimestamp: {stamp}")
        payload = {"error": self.error, "error_description": text, "error_codes": [self.number],
                   "timestamp": stamp, "trace_id": trace, "correlation_id": correlation,
                   "error_uri": f"https://login.microsoftonline.com/error?code={self.number}"}
        headers = {"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store, no-cache",
                   "Pragma": "no-cache"}
        return Reply(self.status, headers, json.dumps(payload).encode())
