"""The worker `crm serve` starts beside the API in embedded mode: `crm worker --beat` as a child process, in its
own process group, stopped (warm shutdown, then killed) when the server stops, and stopping by itself when the
server is gone (workers.cli_workers). A child that dies is started again, so a crash in a task does not leave
the embedded CRM without its syncs."""

import logging
import os
import signal
import subprocess
import sys
import threading

log = logging.getLogger(__name__)


class WorkerChild:
    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watch = threading.Thread(target=self._keep_alive, name="worker child", daemon=True)

    def _spawn(self) -> None:
        command = [sys.executable, "-m", "workers.cli", "worker", "--beat"]
        # The child watches that we live (CRM_WORKER_PARENT_PID): a server killed by any signal, even SIGKILL,
        # leaves no orphaned worker syncing behind it.
        env = dict(os.environ, CRM_WORKER_PARENT_PID=str(os.getpid()))
        self._process = subprocess.Popen(command, start_new_session=True, env=env)
        log.info("started the embedded worker and scheduler (pid %d)", self._process.pid)

    def start(self) -> None:
        self._spawn()
        self._watch.start()

    def _keep_alive(self) -> None:
        while not self._stopping.wait(2.0):
            process = self._process
            if process is not None and process.poll() is not None and not self._stopping.is_set():
                log.warning("the embedded worker exited with %s; starting it again", process.returncode)
                self._spawn()

    def stop(self, timeout: float = 20.0) -> None:
        self._stopping.set()
        process = self._process
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)  # Celery's warm shutdown: finish the running tasks
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
