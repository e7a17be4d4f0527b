"""The worker and the scheduler `crm serve` starts beside the API in embedded mode: `crm worker` and `crm beat`
as child processes, each in its own process group, stopped (warm shutdown, then killed) when the server stops,
and stopping by themselves when the server is gone (they watch it: workers.cli_workers). A child that dies is
started again, so a crash does not leave the embedded CRM without its syncs.

Two processes rather than `crm worker --beat`: Celery's embedded beat is a forked process of the worker that
would outlive a worker ended by its idle-exit watchdog."""

import logging
import os
import signal
import subprocess
import sys
import threading

log = logging.getLogger(__name__)

COMMANDS = (("worker", ["worker"]), ("scheduler", ["beat"]))


class WorkerChild:
    def __init__(self) -> None:
        self._processes: dict[str, subprocess.Popen[bytes]] = {}
        self._stopping = threading.Event()
        self._watch = threading.Thread(target=self._keep_alive, name="worker children", daemon=True)

    def _spawn(self, name: str, args: list[str]) -> None:
        # The child watches that we live (CRM_WORKER_PARENT_PID): a server killed by any signal, even SIGKILL,
        # leaves no orphaned worker syncing behind it.
        env = dict(os.environ, CRM_WORKER_PARENT_PID=str(os.getpid()))
        process = subprocess.Popen([sys.executable, "-m", "workers.cli", *args], start_new_session=True, env=env)
        self._processes[name] = process
        log.info("started the embedded %s (pid %d)", name, process.pid)

    def start(self) -> None:
        for name, args in COMMANDS:
            self._spawn(name, args)
        self._watch.start()

    def _keep_alive(self) -> None:
        while not self._stopping.wait(2.0):
            for name, args in COMMANDS:
                process = self._processes.get(name)
                if process is not None and process.poll() is not None and not self._stopping.is_set():
                    log.warning("the embedded %s exited with %s; starting it again", name, process.returncode)
                    self._spawn(name, args)

    def stop(self, timeout: float = 20.0) -> None:
        self._stopping.set()
        running = [p for p in self._processes.values() if p.poll() is None]
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)  # Celery's warm shutdown: finish the running tasks
        for process in running:
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
