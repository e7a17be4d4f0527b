"""CORS for the add-in's API, and for it alone: the task pane is served by this server, so its calls are
same-origin; another origin may call /addin/api/... only when it is named (CRM_ADDIN_ORIGINS: a pane served from
a development server, say). Every other path keeps the browser's same-origin rule, untouched."""

from urllib.parse import urlsplit

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from crm_core.settings import Settings

PREFIX = "/addin/api/"


def addin_origins(settings: Settings) -> list[str]:
    base = urlsplit(settings.base_url)
    own = f"{base.scheme}://{base.netloc}"
    return [own, *(o.rstrip("/") for o in settings.addin_origins if o.rstrip("/") != own)]


class AddinCors(CORSMiddleware):
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self._inner = app
        super().__init__(app, allow_origins=addin_origins(settings), allow_methods=["GET", "POST", "DELETE"],
                         allow_headers=["Authorization", "Content-Type", "X-Correlation-Id"],
                         expose_headers=["X-Correlation-Id"], max_age=600)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")).startswith(PREFIX):
            await super().__call__(scope, receive, send)
            return
        await self._inner(scope, receive, send)
