"""Logging for every process: plain lines for a person at a terminal, or one JSON object per line
(CRM_LOG_FORMAT=json) for a log pipeline, each carrying the task and mailbox ids, or the request's correlation id,
it is about. Secrets never
reach a log: settings are logged redacted, and connectors' errors carry no credentials (mailbridge.errors)."""

import logging
import sys
from typing import Any

from celery import current_task
from pythonjsonlogger.json import JsonFormatter

from crm_core.api.correlation import CorrelationFilter
from crm_core.settings import Settings

_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d"


class _TaskContext(logging.Filter):
    """Adds the Celery task's id and name to every record logged while it runs."""

    def filter(self, record: logging.LogRecord) -> bool:
        task: Any = current_task
        if task is not None and getattr(task, "request", None) is not None and task.request.id:
            record.task_id, record.task_name = task.request.id, task.name
            args = task.request.args or ()
            if task.name == "crm.sync_mailbox" and args:
                record.mailbox_id = args[0]
        return True


def configure(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter(_FIELDS, rename_fields={"asctime": "time", "levelname": "level",
                                                                   "name": "logger"}))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_TaskContext())
    handler.addFilter(CorrelationFilter())  # the request's correlation id, as its problem body shows it
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    logging.getLogger("crm").info("settings: %s", settings.redacted())
    for warning in settings.warnings():
        logging.getLogger("crm").warning(warning)
