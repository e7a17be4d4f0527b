"""`POST /$batch` (concepts/json-batching.md): up to 20 requests, each `{id, method, url (relative to /v1.0),
headers, body, dependsOn}`; the envelope answers 200 with `{"responses": [{id, status, headers, body}]}` unless the
payload itself is malformed (400). Each inner request is authorised, throttled, counted and recorded on its own,
so one can get 429 with Retry-After while the others succeed. Requests without `dependsOn` are dispatched four at
a time, as Graph does, and hold their mailbox's concurrency slots together; dependent ones run in order, and one
whose dependency failed gets 424. A non-JSON response body (a `$value`) is base64 encoded; a non-JSON request body
is expected base64 encoded, as the docs say."""

import base64
import binascii
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.fakes.graph.replies import GraphError, Reply, bad_request, graph_error_body, json_reply

if TYPE_CHECKING:
    from tests.fakes.graph.dispatch import Dispatcher

MAX_REQUESTS = 20
PARALLEL = 4


@dataclass
class _Inner:
    id: str
    method: str
    url: str
    headers: dict[str, str]
    body: Any
    depends_on: list[str]


def _parse(body: bytes) -> list[_Inner]:
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        payload = None
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise bad_request("Invalid batch payload format.")
    raw_requests = payload["requests"]
    if len(raw_requests) > MAX_REQUESTS:
        raise bad_request(f"Invalid batch payload format. The batch contains {len(raw_requests)} requests; the "
                          f"maximum is {MAX_REQUESTS}.")
    requests, seen = [], set()
    for item in raw_requests:
        if not isinstance(item, dict) or not all(item.get(k) for k in ("id", "method", "url")):
            raise bad_request("Invalid batch payload format. Each request needs an id, a method and a url.")
        request_id = str(item["id"])
        if request_id.lower() in seen:
            raise bad_request(f"Invalid batch payload format. The request id '{request_id}' is not unique.")
        seen.add(request_id.lower())
        headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
        if "body" in item and not any(k.lower() == "content-type" for k in headers):
            raise bad_request(f"Write request id : {request_id} does not contain Content-Type header or body.")
        depends = item.get("dependsOn") or []
        requests.append(_Inner(request_id, str(item["method"]).upper(), str(item["url"]), headers, item.get("body"),
                               [str(d) for d in depends]))
    ids = {r.id for r in requests}
    for request in requests:
        if any(dep not in ids for dep in request.depends_on):
            raise bad_request(f"Invalid batch payload format. Request '{request.id}' depends on a request that is "
                              "not in the batch.")
    return requests


def _answer(request_id: str, reply: Reply) -> dict[str, Any]:
    answer: dict[str, Any] = {"id": request_id, "status": reply.status, "headers": dict(reply.headers)}
    if reply.body:
        content_type = reply.headers.get("Content-Type", "")
        answer["body"] = (json.loads(reply.body) if content_type.startswith("application/json")
                          else base64.b64encode(reply.body).decode())
    return answer


def _body_bytes(request: _Inner) -> bytes:
    if request.body is None:
        return b""
    content_type = next((v for k, v in request.headers.items() if k.lower() == "content-type"), "")
    if content_type.lower().startswith("application/json") or not isinstance(request.body, str):
        return json.dumps(request.body).encode()
    try:
        return base64.b64decode(request.body + "=" * (-len(request.body) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise bad_request(f"Invalid batch payload format. The body of request '{request.id}' is not base64.") from None


def _run_one(dispatcher: "Dispatcher", request: _Inner, authorization: str | None,
             held: list[tuple[str, str]]) -> dict[str, Any]:
    from urllib.parse import parse_qsl, urlsplit

    if request.url.lower().startswith(("http:", "https:")):
        return _answer(request.id, bad_request("The url of a batched request must be relative to the version.")
                       .reply())
    parts = urlsplit("/" + request.url.lstrip("/"))
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    headers = {k.lower(): v for k, v in request.headers.items()}
    if authorization and "authorization" not in headers:
        headers["authorization"] = authorization
    reply = dispatcher.graph_request(request.method, parts.path, params, headers, _body_bytes(request), held=held)
    return _answer(request.id, reply)


def run(dispatcher: "Dispatcher", method: str, path: str, params: dict[str, str], headers: dict[str, str],
        body: bytes) -> Reply:
    reply = dispatcher.faults.take(path, envelope=True)
    if reply is None:
        dispatcher.pause()
        try:
            if method != "POST":
                raise GraphError(405, "BadRequest", "Specified HTTP method is not allowed for the request target.")
            dispatcher.tenant.authenticate(headers.get("authorization"))
            reply = json_reply(200, {"responses": _execute(dispatcher, _parse(body), headers.get("authorization"))})
        except GraphError as exc:
            reply = exc.reply()
    dispatcher.record(method, path, params, reply.status, False, None)
    return reply


def _execute(dispatcher: "Dispatcher", requests: list[_Inner], authorization: str | None) -> list[dict[str, Any]]:
    answers: dict[str, dict[str, Any]] = {}
    independent = [r for r in requests if not r.depends_on]
    for start in range(0, len(independent), PARALLEL):
        held: list[tuple[str, str]] = []
        try:
            for request in independent[start:start + PARALLEL]:
                answers[request.id] = _run_one(dispatcher, request, authorization, held)
        finally:
            dispatcher.limits.release(held)
    waiting = [r for r in requests if r.depends_on]
    while waiting:
        ready = [r for r in waiting if all(d in answers for d in r.depends_on)]
        if not ready:
            raise bad_request("Invalid batch payload format. The dependsOn chain has a cycle.")
        for request in ready:
            waiting.remove(request)
            if any(answers[d]["status"] >= 400 for d in request.depends_on):
                failed = json_reply(424, graph_error_body("FailedDependency", "A request this one depends on "
                                                                               "failed."))
                answers[request.id] = _answer(request.id, failed)
                continue
            held = []
            try:
                answers[request.id] = _run_one(dispatcher, request, authorization, held)
            finally:
                dispatcher.limits.release(held)
    return [answers[r.id] for r in requests]
