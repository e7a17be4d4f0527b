"""The two endpoints Microsoft Graph calls: change notifications and lifecycle notifications
(POST /api/v1/graph/notifications, POST /api/v1/graph/lifecycle; workers.app mounts them).

Both answer Graph's validation handshake (`?validationToken=...` -> 200 text/plain, the token echoed) and
otherwise 202 at once: Graph wants an answer within seconds and retries, then drops, slow endpoints. They take
no bearer token, since Graph cannot send ours: the clientState of each item authenticates it (webhook.py), and
an item without the right one changes nothing. A body is read up to 1 MiB, so a stranger cannot make us hold
more. They are left out of the OpenAPI document, which describes the API people and programs call with a
token; Graph is these endpoints' only caller.

What the lifecycle work needs besides the database (the public URL Graph calls back, and an SSL context when
Graph is reached through a private CA, as in tests) is a `WebhookOptions` on `app.state.graph_webhook` when
the composition root sets one; otherwise the `graph_notification_url` setting and the system's CAs."""

import json
import ssl
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from crm_core.api.deps import ApiContext, ContextDep
from mailbridge.notifications.subscriptions import LIFECYCLE_PATH, NOTIFICATIONS_PATH
from mailbridge.notifications.webhook import apply_lifecycle, handle_notifications, lifecycle_actions

MAX_BODY = 1024 * 1024
MAX_TOKEN = 4096  # Graph's validation tokens are a few hundred characters

router = APIRouter(tags=["graph notifications"])
ValidationToken = Annotated[str | None, Query(alias="validationToken", max_length=MAX_TOKEN,
                                              description="Sent by Graph to validate the endpoint: echoed back.")]


@dataclass(frozen=True)
class WebhookOptions:
    public_url: str | None  # the base URL Graph calls back (https://...)
    ssl_context: ssl.SSLContext | None = None  # for reaching Graph; None: the system's CAs


def webhook_options(request: Request, ctx: ApiContext) -> WebhookOptions:
    options = getattr(request.app.state, "graph_webhook", None)
    if isinstance(options, WebhookOptions):
        return options
    return WebhookOptions(ctx.settings.graph_notification_url)


def _echo(token: str) -> Response:
    # text/plain and nosniff: the echoed token can never be taken for a page.
    return Response(token, media_type="text/plain", headers={"X-Content-Type-Options": "nosniff"})


class _Refused(Exception):
    def __init__(self, status: int, why: str) -> None:
        self.response = Response(why, status_code=status, media_type="text/plain")


async def _payload(request: Request) -> Any:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise _Refused(413, "notification body too large")
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _Refused(400, "not a JSON notification payload") from None


@router.post(NOTIFICATIONS_PATH, status_code=202, response_class=Response, include_in_schema=False)
async def graph_notifications(request: Request, ctx: ContextDep,
                              validation_token: ValidationToken = None) -> Response:
    """Unauthenticated by design: Microsoft Graph calls it and cannot send a bearer token. Each item's
    clientState authenticates it; an authentic item marks its mailbox "sync requested" (sync_requested_on),
    nothing more. Answers Graph's validation handshake."""
    if validation_token is not None:
        return _echo(validation_token)
    try:
        payload = await _payload(request)
    except _Refused as refused:
        return refused.response
    await run_in_threadpool(handle_notifications, ctx.session_factory, payload)
    return Response(status_code=202)


@router.post(LIFECYCLE_PATH, status_code=202, response_class=Response, include_in_schema=False)
async def graph_lifecycle(request: Request, ctx: ContextDep, background: BackgroundTasks,
                          validation_token: ValidationToken = None) -> Response:
    """Unauthenticated by design: Microsoft Graph calls it and cannot send a bearer token. Each item's
    clientState authenticates it. reauthorizationRequired renews the subscription, subscriptionRemoved makes
    it again (both after the answer), missed marks the mailbox "sync requested". Answers Graph's validation
    handshake."""
    if validation_token is not None:
        return _echo(validation_token)
    try:
        payload = await _payload(request)
    except _Refused as refused:
        return refused.response
    outcome = await run_in_threadpool(lifecycle_actions, ctx.session_factory, payload)
    if outcome.graph_work:
        options = webhook_options(request, ctx)
        background.add_task(apply_lifecycle, ctx.session_factory, outcome, options.public_url, options.ssl_context)
    return Response(status_code=202)
