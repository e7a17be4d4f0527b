"""One mailbox's HTTP client for Graph (httpx): the token on every request, renewed once when Graph refuses
it; 429, 503 and 504 retried after the server's Retry-After (or an exponential back-off), up to the client's
longest wait, beyond which the caller gets TemporaryFailure with the wait as `retry_after`; at most 4 requests
in flight per app and mailbox, whichever client of this process sends them, and the app's request budget kept
(throttling.py); JSON batching (`batch`), 20 requests per $batch, each taking as many of the mailbox's 4 slots
as it carries requests (so a full batch has the mailbox to itself: Graph runs its requests four at once and
counts each one), each inner request counted in the budget and retried on its own when Graph throttles it.

`sent` counts HTTP requests on the wire; `inner` the requests carried inside batches (what Graph's limits
count): the benchmark reports both."""

import base64
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from mailbridge.sources.graph.auth import TokenProvider
from mailbridge.sources.graph.errors import response_error, transport_error
from mailbridge.sources.graph.settings import GraphSettings
from mailbridge.sources.graph.throttling import MailboxSlots, RequestBudget, retry_after_seconds, retry_wait

RETRIED = frozenset({429, 503, 504})
BATCH_LIMIT = 20  # Graph's JSON batching limit


@dataclass(frozen=True)
class BatchRequest:
    id: str
    method: str
    url: str  # relative to the Graph base, e.g. /users/{user}/messages/{id}/$value
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchResponse:
    id: str
    status: int
    headers: Mapping[str, str]
    body: Any  # JSON as parsed; a non-JSON body (a $value) as bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class GraphClient:
    def __init__(self, settings: GraphSettings, tokens: TokenProvider | None = None) -> None:
        self.settings = settings
        self.tokens = tokens or TokenProvider(settings)
        self.limits = settings.limits
        self.budget = RequestBudget.shared(settings.client_id, settings.user, settings.limits)
        self.slots = MailboxSlots.shared(settings.client_id, settings.user, settings.limits)
        self._count_lock = threading.Lock()
        self.sent = 0
        self.inner = 0
        self._http = httpx.Client(
            base_url=settings.graph_url, timeout=settings.timeout,
            verify=settings.ssl_context if settings.ssl_context is not None else True,
            limits=httpx.Limits(max_connections=settings.limits.concurrency,
                                max_keepalive_connections=settings.limits.concurrency),
            headers={"Accept": "application/json"})

    def close(self) -> None:
        self._http.close()

    # --- single requests ---------------------------------------------------------------------------
    def request(self, method: str, url: str, what: str, *, json_body: Any = None, content: bytes | None = None,
                headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None,
                counted: int = 1) -> httpx.Response:
        """A 2xx answer, after the retries the limits allow; else the mapped error (`what` names the request in
        words for it). `counted`: the requests Graph counts for it (a $batch: those it carries), each taking a
        slot of the mailbox and a place in its budget."""
        token = self.tokens.token()
        renewed = False
        for attempt in range(self.limits.attempts):
            self.budget.take(counted, self.limits.max_wait)
            response = self._send(method, url, token, json_body, content, headers, params, counted)
            if response.status_code == 401 and not renewed:
                token, renewed = self.tokens.refreshed(token), True
                continue
            if response.status_code in RETRIED and attempt + 1 < self.limits.attempts:
                wait = retry_wait(response.headers.get("Retry-After"), attempt, self.limits)
                if wait <= self.limits.max_wait:
                    time.sleep(wait)
                    continue
            if response.is_success:
                return response
            raise response_error(response.status_code, _json(response), what,
                                 retry_after_seconds(response.headers.get("Retry-After")))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def get_json(self, url: str, what: str, *, headers: Mapping[str, str] | None = None,
                 params: Mapping[str, str] | None = None) -> dict[str, Any]:
        payload = _json(self.request("GET", url, what, headers=headers, params=params))
        if not isinstance(payload, dict):
            raise response_error(502, None, what)
        return payload

    def _send(self, method: str, url: str, token: str, json_body: Any, content: bytes | None,
              headers: Mapping[str, str] | None, params: Mapping[str, str] | None, counted: int) -> httpx.Response:
        all_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        with self.slots.hold(counted):
            with self._count_lock:
                self.sent += 1
            try:
                return self._http.request(method, url, json=json_body, content=content, headers=all_headers,
                                           params=params)
            except httpx.HTTPError as exc:
                raise transport_error(exc, self.settings.graph_url) from None

    # --- JSON batching -----------------------------------------------------------------------------
    def batch(self, requests: Sequence[BatchRequest], what: str) -> dict[str, BatchResponse]:
        """Every request's final answer by id, in $batch requests of up to 20 sent one after another; an inner
        429/503 is sent again (in a later batch) after its Retry-After, within the limits' waits."""
        answers: dict[str, BatchResponse] = {}
        pending = list(requests)
        for attempt in range(self.limits.attempts):
            if not pending:
                break
            # One $batch at a time: Graph runs a batch's requests to one mailbox four at once, which is the
            # mailbox's whole concurrency allowance (the slots say so to any other request, too).
            results = [self._batch_once(pending[i:i + BATCH_LIMIT], what)
                       for i in range(0, len(pending), BATCH_LIMIT)]
            throttled: list[BatchResponse] = []
            wait = 0.0
            for answer in (answer for result in results for answer in result):
                if answer.status in RETRIED and attempt + 1 < self.limits.attempts:
                    throttled.append(answer)
                    wait = max(wait, retry_wait(answer.headers.get("Retry-After"), attempt, self.limits))
                else:
                    answers[answer.id] = answer
            if throttled and wait > self.limits.max_wait:
                raise response_error(throttled[0].status, throttled[0].body, what, wait)
            if throttled:
                time.sleep(wait)
            by_id = {r.id: r for r in pending}
            pending = [by_id[answer.id] for answer in throttled]
        return answers

    def _batch_once(self, chunk: Sequence[BatchRequest], what: str) -> list[BatchResponse]:
        with self._count_lock:
            self.inner += len(chunk)
        body = {"requests": [_inner(r) for r in chunk]}
        payload = _json(self.request("POST", "/$batch", what, json_body=body, counted=len(chunk)))
        out: list[BatchResponse] = []
        for item in (payload.get("responses") or []) if isinstance(payload, dict) else []:
            headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
            out.append(BatchResponse(str(item.get("id")), int(item.get("status", 502)), headers,
                                     _inner_body(item.get("body"), headers)))
        missing = {r.id for r in chunk} - {r.id for r in out}
        out.extend(BatchResponse(i, 502, {}, None) for i in sorted(missing))  # never silently lost
        return out


def _inner(request: BatchRequest) -> dict[str, Any]:
    item: dict[str, Any] = {"id": request.id, "method": request.method, "url": request.url}
    if request.body is not None:
        item["body"] = request.body
        item["headers"] = {"Content-Type": "application/json", **request.headers}
    elif request.headers:
        item["headers"] = dict(request.headers)
    return item


def _inner_body(body: Any, headers: Mapping[str, str]) -> Any:
    """A JSON inner body as is; any other content type comes base64-encoded (Graph's JSON batching)."""
    kind = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if isinstance(body, str) and "json" not in kind.lower():
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            return body.encode()
    return body


def _json(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
