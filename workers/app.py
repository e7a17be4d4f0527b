"""The ASGI app: the one place that wires settings, the database and every package's routes together."""

import logging

from fastapi import FastAPI

from addin_manifest.auth.routes import router as addin_auth_router
from addin_manifest.context_routes import router as addin_context_router
from addin_manifest.cors import AddinCors
from addin_manifest.manifest_routes import router as addin_manifest_router
from addin_manifest.taskpane_route import router as addin_taskpane_router
from addin_manifest.track_routes import router as addin_track_router
from calendar_sync.admin import router as calendar_admin_router
from calendar_sync.instances_route import router as instances_router
from calendar_sync.meetings.router import router as meetings_router
from calendar_sync.scheduling.routes import router as scheduling_router
from calendar_sync.scheduling.view_route import router as service_calendar_router
from crm_core import hooks
from crm_core.analytics.page_route import router as dashboards_page_router
from crm_core.api import problems
from crm_core.api.correlation import CorrelationMiddleware
from crm_core.api.deps import ApiContext
from crm_core.api.router import api_router
from crm_core.api.schemas.common import PROBLEM_RESPONSES
from crm_core.db.engine import make_engine, make_session_factory
from crm_core.security import secrets
from crm_core.settings import Settings
from mailbridge.admin.console_route import router as admin_console_router
from mailbridge.admin.dry_run_route import router as mailbox_dry_run_router
from mailbridge.admin.router import router as mailbox_admin_router
from mailbridge.notifications.router import router as graph_notifications_router
from workers.addin_meetings import track_meeting
from workers.operations import router as operations_router
from workers.runtime import tracking_options

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    settings.resolved_secret_key()
    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    hooks.install(factory)
    secrets.install(factory, secrets.Keyring.from_settings(settings))  # mailbox passwords, sealed at rest
    app = FastAPI(
        title="Mailbox CRM",
        version="0.1.0",
        description="Sales, marketing and service records around email and calendar. "
        "Authenticate with `Authorization: Bearer <token>` (`crm token create`).",
    )
    app.state.crm = ApiContext(settings=settings, session_factory=factory)
    problems.install(app)
    app.add_middleware(CorrelationMiddleware)  # X-Correlation-Id on every response, in problems and in logs
    app.add_middleware(AddinCors, settings=settings)  # /addin/api/ only, from the add-in's origins only
    app.state.addin_tracking_options = lambda: tracking_options(settings)  # with the meeting-mail hook
    app.state.addin_appointments = track_meeting  # the add-in's "track this meeting", through calendar_sync
    app.include_router(api_router())
    app.include_router(mailbox_admin_router, prefix="/api/v1", responses=PROBLEM_RESPONSES)  # mailbox test
    app.include_router(admin_console_router)  # the admin console page: /admin/ and its assets
    app.include_router(dashboards_page_router)  # the dashboards page: /dashboards/, its assets, plotly.js
    app.include_router(mailbox_dry_run_router, prefix="/api/v1", responses=PROBLEM_RESPONSES)  # first sync preview
    app.include_router(calendar_admin_router, prefix="/api/v1", responses=PROBLEM_RESPONSES)  # calendar sync now
    app.include_router(instances_router, prefix="/api/v1", responses=PROBLEM_RESPONSES)  # series expanded
    app.include_router(meetings_router, prefix="/api/v1", responses=PROBLEM_RESPONSES)  # send invitations
    app.include_router(scheduling_router, prefix="/api/v1", responses=PROBLEM_RESPONSES)  # service calendar
    app.include_router(service_calendar_router)  # its view: /api/v1/service-calendar and the /service-calendar page
    app.include_router(graph_notifications_router)  # Graph's webhooks: unauthenticated, clientState checked
    app.include_router(operations_router)  # /healthz, /readyz, /metrics
    app.include_router(addin_manifest_router)  # the Outlook add-in's manifests and icons, unauthenticated
    app.include_router(addin_auth_router, responses=PROBLEM_RESPONSES)  # /addin/api/whoami: the add-in's sign-in
    app.include_router(addin_context_router, responses=PROBLEM_RESPONSES)  # /addin/api/context and /search
    app.include_router(addin_track_router, responses=PROBLEM_RESPONSES)  # /addin/api/track, contacts, leads, cases
    app.include_router(addin_taskpane_router)  # the task pane page /addin/taskpane.html, unauthenticated

    return app
