"""The Celery tasks: thin, as ARCHITECTURE.md asks. Each takes ids, re-reads what it needs, calls one service and
returns a short outcome; the services record everything that matters (runs, states, errors) in the database, so
a task is idempotent and safe to acknowledge late. Retrying is not Celery's business here: a failed sync is
given its next time by the run policy (back-off, the server's hint) and the dispatcher sends it when it comes."""

import logging
import uuid

from workers import runtime
from workers.celery_app import app

log = logging.getLogger(__name__)


@app.task(name="crm.sync_mailbox")
def sync_mailbox(mailbox_id: str, trigger: str = "schedule") -> str:
    """One pass of one mailbox (each of its folders), unless another worker holds it."""
    from mailbridge.runs import run_mailbox_sync

    result = run_mailbox_sync(runtime.session_factory(), uuid.UUID(mailbox_id), trigger=trigger,
                              options=runtime.tracking_options(), policy=runtime.run_policy())
    return str(result.outcome)


@app.task(name="crm.dispatch")
def dispatch() -> int:
    """Sends a sync task for each mailbox that is due (marked queued first, committed, then sent)."""
    from mailbridge.runs.dispatch import claim_due

    due = claim_due(runtime.session_factory(), runtime.run_policy())
    for mailbox_id in due:
        sync_mailbox.delay(str(mailbox_id), "schedule")
    if due:
        log.info("dispatched %d mailbox syncs", len(due))
    return len(due)


@app.task(name="crm.sync_calendar")
def sync_calendar(calendar_id: str) -> str:
    """One pass over one calendar, unless another worker holds it. Failures are recorded on the calendar."""
    from calendar_sync.errors import CalendarError, TemporaryFailure
    from calendar_sync.runner import sync_calendar as run
    from crm_core.services import leases
    from mailbridge.runs.runner import worker_name

    factory, owner, key = runtime.session_factory(), worker_name(), f"calendar:{calendar_id}"
    if not leases.acquire(factory, key, owner, runtime.settings().sync_lease_seconds):
        return "busy"
    try:
        run(factory, uuid.UUID(calendar_id))
        return "succeeded"
    except (TemporaryFailure, CalendarError) as exc:
        return f"failed: {getattr(exc, 'reason', type(exc).__name__)}"
    finally:
        leases.release(factory, key, owner)


@app.task(name="crm.sync_calendars")
def sync_calendars() -> int:
    """Sends a sync task for each enabled calendar the server is not asking us to leave alone."""
    from sqlalchemy import or_, select

    from crm_core.db.types import utcnow
    from crm_core.models import Calendar

    with runtime.session_factory()() as session:
        ids = list(session.scalars(select(Calendar.id).where(
            Calendar.enabled.is_(True), or_(Calendar.retry_after.is_(None), Calendar.retry_after <= utcnow()))))
    for calendar_id in ids:
        sync_calendar.delay(str(calendar_id))
    return len(ids)


@app.task(name="crm.send_pending")
def send_pending() -> str:
    """The emails waiting in Pending Send, through their mailboxes (each email claimed, so two workers never
    send one twice)."""
    from mailbridge.outgoing import OutgoingOptions
    from mailbridge.outgoing import send_pending as send

    summary = send(runtime.session_factory(), OutgoingOptions.from_settings(runtime.settings()))
    return f"sent {summary.sent}, retry {summary.retry}, failed {summary.failed}"


@app.task(name="crm.chores")
def chores() -> dict[str, int]:
    """The time-driven chores (SLA warnings and failures, knowledge articles, contracts): `crm tick`."""
    from workers import due_work

    results = due_work.run_due(runtime.session_factory())
    return {r.chore.name: r.changed for r in results}


@app.task(name="crm.deliver_webhooks")
def deliver_webhooks() -> int:
    """The webhook outbox's due deliveries (each claimed, so two workers never post one at once)."""
    from crm_core.services.webhook_delivery import deliver_due

    return deliver_due(runtime.session_factory(), runtime.settings())


@app.task(name="crm.rescore_leads")
def rescore_leads(changed_only: bool = True) -> str:
    """The open leads' scores brought up to date: those whose lead, activities or model changed since."""
    from crm_core.scoring import refresh

    summary = refresh.rescore(runtime.session_factory(), changed_only=changed_only)
    return "busy" if summary.busy else f"scored {summary.leads}"


@app.task(name="crm.retrain_lead_model")
def retrain_lead_model() -> str:
    """Nightly: the predictive lead score retrained on the closed leads, then every open lead rescored (the
    behaviour windows, "in the last 30 days", move with the calendar)."""
    from crm_core.errors import Conflict
    from crm_core.scoring import refresh

    factory = runtime.session_factory()
    try:
        model = refresh.retrain(factory, refresh.Options.from_settings(runtime.settings()))
        outcome = f"version {model.version}, held-out AUC {model.holdout_auc:.3f}"
    except Conflict as exc:  # a young organisation has too little history: the rule score still runs
        outcome = f"not trained: {exc.detail}"
    summary = refresh.rescore(factory, changed_only=False)
    return f"{outcome}; scored {summary.leads}"


@app.task(name="crm.run_rules")
def run_rules() -> dict[str, int]:
    """Business rules: the pending rule events, then the dates and SLA warnings reached (each run once)."""
    from crm_core.api.routes.rules import record_services
    from crm_core.automation.runner import prune_events, run_pending
    from crm_core.automation.scans import scan_due

    factory, depth = runtime.session_factory(), runtime.settings().rule_max_depth
    summary = run_pending(factory, record_services(), depth)
    scan_due(factory, record_services(), depth, summary=summary)
    prune_events(factory)
    return vars(summary)


@app.task(name="crm.prune_history")
def prune_history() -> int:
    """Sync runs and dismissed alerts older than 90 days."""
    from crm_core.db.unit_of_work import UnitOfWork
    from crm_core.services import mailbox_sync

    with UnitOfWork(runtime.session_factory()) as uow:
        removed = mailbox_sync.prune_history(uow.session)
        uow.commit()
    return removed


@app.task(name="crm.graph_subscriptions")
def graph_subscriptions() -> int:
    """Graph change notification subscriptions made or renewed for every Graph mailbox (a trigger only)."""
    from mailbridge.errors import MailError
    from mailbridge.notifications import store
    from mailbridge.notifications.subscriptions import ensure_subscriptions

    factory, url = runtime.session_factory(), runtime.settings().graph_notification_url
    if not url:
        return 0
    done = 0
    for mailbox_id in store.graph_mailboxes(factory):
        try:
            ensure_subscriptions(factory, mailbox_id, url)
            done += 1
        except MailError as exc:
            log.warning("mailbox %s: subscriptions not renewed: %s", mailbox_id, exc.detail)
    return done
