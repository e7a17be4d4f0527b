"""A correlation id on every request: taken from the caller's `X-Correlation-Id` when it is a sensible token (the
Outlook add-in sends its own, so that what a user reads in the pane matches the server's logs), made otherwise;
returned in the response's `X-Correlation-Id`, put in every problem body (`correlation_id`) and in every log
record written while the request runs. Support asks the user for it and finds the request in the logs."""

import logging
import re
import uuid
from contextvars import ContextVar
from typing import Any

HEADER = "x-correlation-id"
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")
current: ContextVar[str | None] = ContextVar("correlation_id", default=None)


class CorrelationMiddleware:
    """Pure ASGI, so that it wraps streaming and file responses alike."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == HEADER.encode()), "")
        correlation_id = given if _SAFE.match(given) else uuid.uuid4().hex
        # Not reset afterwards: each request runs in a context of its own, and the 500 handler (outside this
        # middleware) still reads it for its problem body.
        current.set(correlation_id)

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((HEADER.encode(), correlation_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)


class CorrelationFilter(logging.Filter):
    """Adds `correlation_id` to the log records of a request (and to none other)."""

    def filter(self, record: logging.LogRecord) -> bool:
        correlation_id = current.get()
        if correlation_id is not None:
            record.correlation_id = correlation_id
        return True
