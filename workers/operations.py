"""The operations endpoints: /healthz (the process answers), /readyz (it can work: the database answers and is
at the latest schema, the broker accepts connections) and /metrics (Prometheus, workers.metrics).

/metrics names mailboxes, so it is not open to anyone: with CRM_METRICS_TOKEN set, a scrape must send it as a
bearer token (Prometheus' `authorization: {credentials: ...}`); without it, only loopback may scrape."""

import hmac
import ipaddress
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from crm_core.api.deps import ApiContext
from crm_core.settings import Settings
from workers import metrics

router = APIRouter(include_in_schema=False)


def _context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.crm
    return context


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> Response:
    context = _context(request)
    checks: dict[str, str] = {"database": _database(context), "broker": _broker(context.settings)}
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503)


def _database(context: ApiContext) -> str:
    from alembic.script import ScriptDirectory

    from crm_core.db import migrate

    try:
        with context.session_factory() as session:
            current = session.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except Exception as exc:  # the check reports why, whatever the driver raised
        return f"unavailable: {type(exc).__name__}"
    head = ScriptDirectory.from_config(migrate.config(context.settings.database_url)).get_current_head()
    return "ok" if head in current else f"schema {','.join(current) or 'none'} is not the latest ({head})"


def _broker(settings: Settings) -> str:
    if not settings.broker_url:
        folder = settings.data_dir / "broker"
        return "ok" if folder.is_dir() or not folder.exists() else "the embedded broker's folder is not a folder"
    from kombu import Connection

    try:
        with Connection(settings.broker_url, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # any transport's error: not ready, and why
        return f"unavailable: {type(exc).__name__}"
    return "ok"


@router.get("/metrics")
def prometheus(request: Request) -> Response:
    context = _context(request)
    token = context.settings.metrics_token.get_secret_value()
    if token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return Response("a bearer token (CRM_METRICS_TOKEN) is needed", status_code=401,
                            headers={"WWW-Authenticate": "Bearer"})
    elif not _loopback(request):
        return Response("set CRM_METRICS_TOKEN to scrape from elsewhere than this machine", status_code=403)
    return Response(metrics.exposition(context.session_factory), media_type=metrics.content_type())


def _loopback(request: Request) -> bool:
    host: Any = request.client.host if request.client else None
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "testclient"  # Starlette's TestClient
