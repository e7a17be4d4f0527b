"""The processes of a benchmark: uvicorn servers on free loopback ports, the load generator, and the CPU
time they (and the PostgreSQL backends of one database) spend, read from /proc."""

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`uvicorn <factory> --factory` in a subprocess: one process, one event loop, as `crm serve` runs."""

    def __init__(self, name: str, factory: str, env: dict[str, str], workdir: Path) -> None:
        self.name, self.port = name, free_port()
        self.log = workdir / f"{name}.log"
        cmd = [sys.executable, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1",
               "--port", str(self.port), "--log-level", "warning", "--no-access-log"]
        # The working folder is a scratch one, so that no developer's .env changes what is measured.
        full_env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(cmd, cwd=workdir, env=full_env, stdout=log, stderr=subprocess.STDOUT)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} server exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} server did not answer within {timeout:.0f} s")

    def cpu_seconds(self) -> float:
        return process_cpu(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads), or 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_cpu() -> float:
    """CPU seconds the whole machine has been busy (all CPUs, idle and I/O wait excluded), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / TICKS


def database_cpu(database: str) -> float:
    """CPU seconds of the PostgreSQL backends serving `database` on this machine (0 if none is visible).

    Backends name their database in their process title ("postgres: ... user dbname host(port) state")."""
    total = 0.0
    marker = f" {database} ".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if title.startswith(b"postgres:") and marker in title:
            total += process_cpu(int(entry.name))
    return total


def run_load(job: dict[str, Any], watched: dict[str, Callable[[], float]]) -> dict[str, Any]:
    """Runs bench/http_load.py in its own process with `job` and returns what it measured, with the CPU
    seconds that each of `watched` (name -> reading) spent during the measured window (after the warm-up)."""
    load = subprocess.Popen([sys.executable, str(REPO / "bench" / "http_load.py")], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert load.stdin is not None
    assert load.stdout is not None
    load.stdin.write(json.dumps(job))
    load.stdin.close()
    if load.stdout.readline().strip() != "started":
        load.wait(60)
        raise RuntimeError(f"load generator failed:\n{load.stderr.read()[-3000:] if load.stderr else ''}")
    time.sleep(job["warmup"])
    before = {name: read() for name, read in watched.items()}
    time.sleep(job["duration"])
    cpu = {name: read() - before[name] for name, read in watched.items()}
    out = load.stdout.read()
    assert load.stderr is not None
    err = load.stderr.read()
    if load.wait(60) != 0:
        raise RuntimeError(f"load generator failed:\n{err[-3000:]}")
    result: dict[str, Any] = json.loads(out)
    result["cpu_seconds"] = cpu
    return result
