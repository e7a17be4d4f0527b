"""The one Celery app. Its configuration is read from the CRM's settings when Celery first needs it (not at
import), so `crm worker`, `crm beat`, `crm serve` and Flower (`celery -A workers.celery_app flower`) all see the
same broker, queues and schedule.

- A broker URL (CRM_BROKER_URL: Redis or RabbitMQ) lets any number of `crm worker` processes on any number of
  machines share the work, with one `crm beat`.
- Without one, the embedded broker keeps its messages in files under the data folder (kombu's filesystem
  transport): `crm serve` runs the API, one worker and the scheduler on one machine, with nothing to install.

Tasks are acknowledged late and given back if their worker dies (acks_late, reject_on_worker_lost): every task
is idempotent, and the mailbox lease keeps a redelivered sync from running twice at once."""

from pathlib import Path
from typing import Any

from celery import Celery

from crm_core.settings import Settings
from workers.beat_schedule import beat_schedule
from workers.embedded_broker import TRANSPORT

app = Celery("crm", include=["workers.tasks"])


def embedded_broker(data_dir: Path) -> dict[str, Any]:
    folder = data_dir / "broker"
    for sub in ("messages", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {"broker_url": "filesystem://", "broker_transport": TRANSPORT,  # kombu's, safe against kill -9
            "broker_transport_options": {"data_folder_in": str(folder / "messages"),
                                         "data_folder_out": str(folder / "messages"),
                                         "processed_folder": str(folder / "processed"), "store_processed": False,
                                         # fanout (remote control, events) in files too, not in the cwd
                                         "control_folder": str(folder / "control")},
            # The file broker has no fanout exchange: no remote control (Flower needs a real broker anyway).
            "worker_enable_remote_control": False}


def configuration(settings: Settings) -> dict[str, Any]:
    config: dict[str, Any] = {
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,  # a long sync does not hold other tasks hostage in its prefetch
        "task_default_queue": settings.queue,
        "task_ignore_result": True,  # outcomes live in the database (runs, states), not in a result backend
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "worker_hijack_root_logger": False,  # our logging (workers.logs) stays
        "worker_send_task_events": True,  # for Flower and `celery events`
        "task_send_sent_event": True,
        "broker_connection_retry_on_startup": True,
        "beat_schedule": beat_schedule(settings),
        "beat_schedule_filename": str(settings.data_dir / "celerybeat-schedule"),
    }
    settings.ensure_data_dir()  # beat's schedule file lives there, whichever the broker
    if settings.broker_url:
        config["broker_url"] = settings.broker_url
        # Redis gives an unacknowledged task back after this long; the dispatcher resends a lost sync sooner.
        config["broker_transport_options"] = {"visibility_timeout": 3600}
    else:
        config.update(embedded_broker(settings.data_dir))
    return config


@app.on_configure.connect
def _configure(sender: Celery, **_: Any) -> None:
    from workers import runtime

    sender.conf.update(configuration(runtime.settings()))
