"""Real `crm worker` processes for the worker tests: the three brokers a deployment may choose (the embedded one,
Redis, RabbitMQ), the environment a worker runs with, and a handle that starts, stops or SIGKILLs the worker's
whole process group.

The SQLite and the PostgreSQL suites run at the same time against the same Redis and RabbitMQ: each test gets a
queue (and a worker node name) of its own, and removes only that queue when it ends."""

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from kombu import Connection

from tests.mailbridge.tracking_fixtures import TEST_KEY
from tests.servers import missing

CRM = Path(sys.executable).parent / "crm"
REDIS_URL = "redis://127.0.0.1:6379/0"
RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672//"
BROKERS = ("embedded", "redis", "rabbitmq")
_INSTALL = {"redis": ("Redis", "apt-get install redis-server"),
            "rabbitmq": ("RabbitMQ", "apt-get install rabbitmq-server")}
T = TypeVar("T")


def broker_url(kind: str) -> str:
    """The broker URL for `kind` ("" for the embedded broker); skips (fails under CRM_TEST_STRICT) when the
    server does not answer."""
    if kind == "embedded":
        return ""
    url = {"redis": REDIS_URL, "rabbitmq": RABBITMQ_URL}[kind]
    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # kombu raises the transport's own errors
        what, install = _INSTALL[kind]
        missing(what, f"{install} ({type(exc).__name__}: {exc})")
    return url


def forget_queue(url: str, queue: str) -> None:
    """Deletes this test's queue from the broker (nothing else: another suite may be using the broker)."""
    if not url:
        return
    with Connection(url, connect_timeout=3) as conn:
        channel = conn.default_channel
        if url.startswith("redis"):
            # The queue's lists (one per priority step) and its exchange's binding tables.
            steps = [queue, *(f"{queue}\x06\x16{p}" for p in (3, 6, 9))]
            channel.client.delete(*steps, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        else:
            channel.queue_delete(queue)


def worker_environment(data_dir: Path, database_url: str, broker: str, queue: str, **extra: str) -> dict[str, str]:
    """The environment of a worker: no CRM_* setting of the caller's but these (and the loopback allowance the
    test servers need, tests/conftest.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env["CRM_OUTBOUND_ALLOW"] = os.environ["CRM_OUTBOUND_ALLOW"]
    env.update({"CRM_DATABASE_URL": database_url, "CRM_SECRET_KEY": TEST_KEY, "CRM_DATA_DIR": str(data_dir),
                "CRM_BROKER_URL": broker, "CRM_QUEUE": queue, "CRM_DISPATCH_SECONDS": "1",
                "CRM_MAIL_PARSE_WORKERS": "0", "NO_COLOR": "1", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


class Worker:
    """`crm worker --beat` in a process group of its own (the worker, its beat, any parse pool), logging to a
    file. Started again after a kill, it appends to the same log."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        if not CRM.exists():
            pytest.fail(f"the console script {CRM} is missing: install the project (`make run` does it)")
        self.env, self.log_path, self.args = env, log, args
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> "Worker":
        assert self.process is None or self.process.poll() is not None, "the worker is running already"
        self.starts += 1
        node = f"{self.env['CRM_QUEUE']}-{self.starts}@%h"  # a node name no other test's worker has
        with self.log_path.open("ab") as log:
            log.write(f"\n===== start {self.starts} at {time.strftime('%H:%M:%S')} =====\n".encode())
            log.flush()
            self.process = subprocess.Popen([str(CRM), "worker", "--beat", "--hostname", node, *self.args],
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL to the whole group, as a machine losing power would: nothing gets to clean up."""
        if self.process is not None:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self, grace: float = 20) -> None:
        """SIGTERM (Celery's warm shutdown: running tasks finish), then SIGKILL if it takes too long."""
        if self.process is None:
            return
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(grace)
        self.kill()  # the group too: a child the worker left behind must not outlive the test

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)  # start_new_session: the group's id is the worker's pid


def unique_queue() -> str:
    return f"crm-test-{uuid.uuid4().hex[:12]}"


def wait_for(what: str, probe: Callable[[], T | None], worker: Worker, seconds: float = 90,
             every: float = 0.25) -> T:
    """Polls `probe` until it returns something truthy; fails with the worker's log when the deadline passes or
    the worker died."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if value:
            return value
        if not worker.alive():
            pytest.fail(f"the worker exited ({worker.process and worker.process.returncode}) while waiting for "
                        f"{what}:\n{worker.log()[-6000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {seconds:.0f} s:\n{worker.log()[-6000:]}")
        time.sleep(every)
