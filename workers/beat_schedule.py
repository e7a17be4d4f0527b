"""Beat's schedule. It holds no per-mailbox entries: the dispatcher task runs every few seconds and reads each
mailbox's own interval from the database, so a new mailbox, or a changed interval, needs no restart."""

from datetime import timedelta
from typing import Any

from celery.schedules import crontab

from crm_core.settings import Settings


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    schedule: dict[str, dict[str, Any]] = {
        "dispatch-mailbox-syncs": {"task": "crm.dispatch", "schedule": timedelta(seconds=settings.dispatch_seconds),
                                   "options": {"expires": settings.dispatch_seconds * 4}},
        "sync-calendars": {"task": "crm.sync_calendars", "schedule": timedelta(seconds=settings.calendar_sync_seconds)},
        "send-pending-mail": {"task": "crm.send_pending", "schedule": timedelta(seconds=30)},
        "deliver-webhooks": {"task": "crm.deliver_webhooks", "schedule": timedelta(seconds=10),
                             "options": {"expires": 40}},
        "rescore-leads": {"task": "crm.rescore_leads", "schedule": timedelta(seconds=settings.lead_rescore_seconds),
                          "options": {"expires": settings.lead_rescore_seconds * 2}},
        "retrain-lead-model": {"task": "crm.retrain_lead_model",
                               "schedule": crontab(hour=settings.lead_retrain_hour, minute=15)},
        "run-business-rules": {"task": "crm.run_rules", "schedule": timedelta(seconds=10),
                               "options": {"expires": 40}},
        "time-driven-chores": {"task": "crm.chores", "schedule": timedelta(minutes=1)},
        "prune-sync-history": {"task": "crm.prune_history", "schedule": timedelta(hours=6)},
    }
    if settings.graph_notification_url:
        schedule["renew-graph-subscriptions"] = {"task": "crm.graph_subscriptions", "schedule": timedelta(hours=1)}
    return schedule
