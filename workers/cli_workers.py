"""`crm worker` and `crm beat`: the processes that run the Celery tasks and their schedule. With CRM_BROKER_URL
(Redis or RabbitMQ) and a shared database, run as many workers as you like on as many machines, and one beat.
Without it, `crm serve` starts one worker with the scheduler inside (the embedded broker is for one machine)."""

from typing import Annotated

import typer

from workers import logs, runtime


def _prepare() -> None:
    settings = runtime.settings()
    logs.configure(settings)
    settings.resolved_secret_key()  # made once, here, before several processes could race to make it


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
    app.worker_main(argv)


def beat() -> None:
    """Run the scheduler (one per deployment): it sends the dispatcher every few seconds, which finds the
    mailboxes that are due by their own interval in the database; the chores every minute."""
    from workers.celery_app import app

    _prepare()
    app.start(["beat", "--loglevel=INFO", f"--schedule={runtime.settings().data_dir / 'celerybeat-schedule'}"])
