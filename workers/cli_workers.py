"""`crm worker` and `crm beat`: the processes that run the Celery tasks and their schedule. With CRM_BROKER_URL
(Redis or RabbitMQ) and a shared database, run as many workers as you like on as many machines, and one beat.
Without it, `crm serve` starts one worker and the scheduler beside it (the embedded broker is for one machine)."""

import logging
from typing import Annotated

import typer

from workers import logs, runtime


def _prepare() -> None:
    settings = runtime.settings()
    logs.configure(settings)
    settings.resolved_secret_key()  # made once, here, before several processes could race to make it


def _exit_when_idle(grace_seconds: float = 30.0) -> None:
    """On a warm shutdown, once the running tasks are done (or after `grace_seconds`), end the process.

    Celery's polling loop for virtual transports (the embedded file broker) goes on after a warm shutdown in this
    Celery release, so the process would never exit. Ending it once nothing runs is safe: every task is
    idempotent and acknowledged late, and a sync commits each batch with its checkpoint. With Redis or RabbitMQ
    the worker exits by itself first and this never fires."""
    import os
    import threading
    import time

    from celery import signals
    from celery.worker import state

    def watchdog() -> None:
        deadline = time.monotonic() + grace_seconds
        time.sleep(2.0)  # let Celery's own shutdown go first
        while state.active_requests and time.monotonic() < deadline:
            time.sleep(0.2)
        import billiard

        for child in billiard.active_children():  # --beat's scheduler, a forked process of ours
            child.terminate()
            child.join(5)
        logging.getLogger("crm").info("worker stopped")
        logging.shutdown()
        os._exit(0)

    def on_shutdown(**_: object) -> None:
        threading.Thread(target=watchdog, name="exit when idle", daemon=True).start()

    signals.worker_shutting_down.connect(on_shutdown, weak=False)


def _stop_with_parent() -> None:
    """`crm serve`'s children: a warm shutdown as soon as the server that started them is gone."""
    import os
    import signal
    import threading

    parent = os.environ.get("CRM_WORKER_PARENT_PID")
    if not parent:
        return

    def watch() -> None:
        while os.getppid() == int(parent):
            threading.Event().wait(1.0)
        logging.getLogger("crm").info("the server (pid %s) is gone: stopping", parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def worker(
    concurrency: Annotated[int | None, typer.Option(help="Tasks at once (CRM_WORKER_CONCURRENCY).")] = None,
    beat: Annotated[bool, typer.Option(help="Run the scheduler inside this worker (one such process only).")] = False,
    hostname: Annotated[str | None, typer.Option(help="Celery node name, e.g. worker1@%h.")] = None,
    queues: Annotated[str | None, typer.Option(help="Queues to consume, comma-separated (default: CRM_QUEUE).")] = None,
) -> None:
    """Run a worker: mailbox and calendar syncs, sending, chores. Stop it with Ctrl-C (it finishes its tasks) or
    kill it: a task it held is given to another worker, and nothing is tracked twice."""
    from workers.celery_app import app

    _prepare()
    # Threads, not forked children: a sync parses mail in a process pool of its own, which daemonic prefork
    # children may not start; and a thread pool shares one database pool per process.
    argv = ["worker", "--pool=threads", f"--concurrency={concurrency or runtime.settings().worker_concurrency}",
            "--loglevel=INFO", "--without-gossip", "--without-mingle"]
    if beat:
        argv += ["--beat", f"--schedule={runtime.settings().data_dir / 'celerybeat-schedule'}"]
    if hostname:
        argv.append(f"--hostname={hostname}")
    if queues:
        argv.append(f"--queues={queues}")
    _exit_when_idle()
    _stop_with_parent()
    app.worker_main(argv)


def beat(
    ews_streaming: Annotated[bool, typer.Option(help="Hold EWS streaming notifications (a sync sooner when "
                                                     "Exchange reports a change).")] = True,
) -> None:
    """Run the scheduler (one per deployment): it sends the dispatcher every few seconds, which finds the
    mailboxes that are due by their own interval in the database; the chores every minute. Beside it, the EWS
    listener: a streaming connection per EWS mailbox, which asks the dispatcher for a sync when mail arrives."""
    from workers.celery_app import app

    _prepare()
    _stop_with_parent()
    if ews_streaming:
        from workers.ews_streaming import start_ews_listener

        start_ews_listener()
    app.start(["beat", "--loglevel=INFO", f"--schedule={runtime.settings().data_dir / 'celerybeat-schedule'}"])
