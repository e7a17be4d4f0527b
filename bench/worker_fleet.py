"""The worker benchmark's moving parts (bench/workers.py): a CRM database holding one approved IMAP mailbox per
Dovecot account, the `crm worker` and `crm beat` processes on a Redis broker, and one timed run of them: from
the processes' start until every message of every mailbox is tracked.

The processes are the real ones a deployment runs (the `crm` console script beside this interpreter), each in
a scratch folder of its own (no developer's .env applies) with only the CRM_* variables set here."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import redis
from sqlalchemy import func, make_url, select

from bench.servers import TICKS, database_cpu, machine_cpu
from crm_core import hooks
from crm_core.db import migrate
from crm_core.db.engine import make_engine, make_session_factory
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Contact, EmailServerProfile, Mailbox, MailboxSyncRun, MailQuarantine, MailSighting, User
from crm_core.security import secrets
from crm_core.services.mailboxes import secret_context
from crm_core.services.organisation import ensure_organisation

SECRET_KEY = "workers-bench"  # seals the mailbox passwords in the bench's throw-away databases; the workers get it
POLL_SECONDS = 0.5
STALL_SECONDS = 120.0  # no new tracked message for this long: something is wrong, stop and show the logs


@dataclass(frozen=True)
class Login:
    """One Dovecot account, as a CRM mailbox reaches it."""

    host: str
    port: int
    username: str
    password: str


def setup_crm(url: str, logins: list[Login], senders: list[str]) -> int:
    """Migrates the database at `url` and makes one approved IMAP mailbox (incoming filter "all": every message
    is tracked) per login, each with its own user, on one server profile; a quarter of the senders are known
    contacts, as in the IMAP sync benchmark. Returns the number of mailboxes."""
    migrate.upgrade(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    hooks.install(factory)
    secrets.install(factory, secrets.Keyring(SECRET_KEY))
    try:
        with UnitOfWork(factory) as uow:
            session = uow.session
            root = ensure_organisation(session)
            profile = EmailServerProfile(id=uuid.uuid4(), name="Bench Dovecot", incoming_host=logins[0].host,
                                         incoming_port=logins[0].port, incoming_security="plain")
            session.add(profile)
            users = [User(id=uuid.uuid4(), email=f"rep{k}@contoso.example", full_name=f"Rep {k}",
                          business_unit_id=root.id) for k in range(len(logins))]
            session.add_all(users)
            session.flush()
            for user, login in zip(users, logins, strict=True):
                mailbox = Mailbox(id=uuid.uuid4(), name=user.email, email_address=user.email, user_id=user.id,
                                  server_profile_id=profile.id, business_unit_id=root.id, incoming_filter="all",
                                  folders=["INBOX"], approval_status="approved", approved_on=utcnow(),
                                  username=login.username)
                mailbox.password_secret = secrets.keyring_of(session).seal(
                    login.password, secret_context(mailbox.id, "password"))
                session.add(mailbox)
            for i, address in enumerate(senders[::4]):
                session.add(Contact(id=uuid.uuid4(), first_name="Person", last_name=str(i), full_name=f"Person {i}",
                                    email_address1=address, owning_user_id=users[0].id,
                                    owning_business_unit_id=root.id))
            uow.commit()
    finally:
        engine.dispose()
    return len(logins)


def crm_command() -> list[str]:
    """The `crm` console script installed beside this interpreter (the module if it is not there)."""
    script = Path(sys.executable).parent / "crm"
    return [str(script)] if script.exists() else [sys.executable, "-m", "workers.cli"]


@dataclass(frozen=True)
class FleetConfig:
    workers: int
    concurrency: int  # tasks (syncs) at once per worker: threads of its pool
    parse_workers: int  # CRM_MAIL_PARSE_WORKERS of each worker (0: it parses in its own process)
    broker_url: str


class Fleet:
    """`workers` x `crm worker` and one `crm beat`, each in its own process group, logging to a file."""

    def __init__(self, config: FleetConfig, database_url: str, workdir: Path) -> None:
        self.config, self.workdir = config, workdir
        self.queue = f"bench-workers-{uuid.uuid4().hex[:10]}"  # keeps this run's tasks apart on a shared broker
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
        # The Dovecot the workers sync is on loopback: allowed explicitly (bench/__init__.py).
        inherited["CRM_OUTBOUND_ALLOW"] = os.environ["CRM_OUTBOUND_ALLOW"]
        self.env = {**inherited, "CRM_DATABASE_URL": database_url, "CRM_BROKER_URL": config.broker_url,
                    "CRM_QUEUE": self.queue, "CRM_SECRET_KEY": SECRET_KEY, "CRM_DATA_DIR": str(workdir / "data"),
                    "CRM_DISPATCH_SECONDS": "1", "CRM_MAIL_PARSE_WORKERS": str(config.parse_workers)}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        for i in range(1, self.config.workers + 1):
            self._spawn(f"worker{i}", ["worker", f"--concurrency={self.config.concurrency}",
                                       f"--hostname=bench{i}@%h"])
        self._spawn("beat", ["beat"])

    def _spawn(self, name: str, args: list[str]) -> None:
        with (self.workdir / f"{name}.log").open("wb") as log:
            self.processes[name] = subprocess.Popen([*crm_command(), *args], cwd=self.workdir, env=self.env,
                                                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def log_tail(self, name: str, chars: int = 3000) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")[-chars:]

    def exited(self) -> str | None:
        """A process that stopped on its own, with the end of its log; None while all run."""
        for name, process in self.processes.items():
            if process.poll() is not None:
                return f"{name} exited with {process.returncode}:\n{self.log_tail(name)}"
        return None

    def cpu(self, prefix: str) -> float:
        """CPU seconds of the processes whose name starts with `prefix` (and of any children they made)."""
        return sum(tree_cpu(p.pid) for name, p in self.processes.items() if name.startswith(prefix))

    def stop(self) -> None:
        """Celery's warm shutdown (SIGTERM to each group), then SIGKILL for any still there after 30 s."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        client = redis.Redis.from_url(self.config.broker_url)
        try:  # the queue is this run's alone: leave nothing of it on the broker
            client.delete(self.queue, f"_kombu.binding.{self.queue}", f"_kombu.binding_permanent.{self.queue}")
        finally:
            client.close()


def tree_cpu(pid: int) -> float:
    """User + system CPU seconds of a process, of the children it has reaped and of its live descendants (0 if it
    is gone): Dovecot's master with its IMAP processes, a worker with any parsing processes."""
    children: dict[int, list[int]] = {}
    own: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:  # gone meanwhile
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
            own[int(entry.name)] = sum(int(f) for f in fields[11:15]) / TICKS  # utime stime cutime cstime
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += own.get(current, 0.0)
        todo.extend(children.get(current, []))
    return total


@dataclass(frozen=True)
class RunResult:
    workers: int
    messages: int
    seconds: float  # from the processes' start until the last message was tracked
    first_seconds: float  # from the start until the first message was tracked (start-up, first dispatch)
    worker_cpu: float  # CPU seconds of the worker processes
    database_cpu: float  # of the PostgreSQL backends serving the run's database
    dovecot_cpu: float  # of Dovecot (its master, login and IMAP processes)
    machine_cpu: float  # that the whole machine was busy meanwhile, all of the above included

    @property
    def other_cpu(self) -> float:
        """CPU seconds of everything else on the machine: beat, Redis, PostgreSQL's own background processes,
        this script, and whatever else ran meanwhile (a busy machine shows here)."""
        return max(0.0, self.machine_cpu - self.worker_cpu - self.database_cpu - self.dovecot_cpu)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def timed_run(config: FleetConfig, database_url: str, expected: int, workdir: Path, dovecot_pid: int,
              progress: Callable[[int], None] = lambda _n: None) -> RunResult:
    """Starts the fleet on the prepared database, counts tracked messages (mail sightings) every half second
    until all `expected` are there, stops the fleet. Raises, with the logs' end, if a process exits, a sync
    fails or nothing moves for STALL_SECONDS."""
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    engine = make_engine(database_url)
    fleet = Fleet(config, database_url, workdir)
    count, first = 0, 0.0
    cpu_before, dovecot_before = machine_cpu(), tree_cpu(dovecot_pid)
    started = last_change = time.perf_counter()
    fleet.start()
    try:
        while count < expected:
            time.sleep(POLL_SECONDS)
            with engine.connect() as conn:
                seen = conn.scalar(select(func.count()).select_from(MailSighting)) or 0
                failed = conn.execute(select(MailboxSyncRun.outcome, MailboxSyncRun.error_message).where(
                    MailboxSyncRun.outcome.in_(("failed", "stopped", "partial"))).limit(1)).first()
            now = time.perf_counter()
            if seen > count:
                first = first or now - started
                count, last_change = seen, now
                progress(count)
            if failed is not None:
                raise RuntimeError(f"a mailbox sync ended {failed.outcome}: {failed.error_message}")
            if (why := fleet.exited()) is not None:
                raise RuntimeError(why)
            if now - last_change > STALL_SECONDS:
                raise RuntimeError(f"{count} of {expected} tracked, nothing new for {STALL_SECONDS:.0f} s:\n"
                                   + "\n".join(f"--- {name}\n{fleet.log_tail(name)}" for name in fleet.processes))
        seconds = time.perf_counter() - started
        busy, workers_cpu = machine_cpu() - cpu_before, fleet.cpu("worker")
        postgres_cpu = database_cpu(make_url(database_url).database or "")
        dovecot_cpu = tree_cpu(dovecot_pid) - dovecot_before
    finally:
        fleet.stop()
    try:
        with engine.connect() as conn:
            quarantined = conn.scalar(select(func.count()).select_from(MailQuarantine)) or 0
    finally:
        engine.dispose()
    if count != expected or quarantined:
        raise RuntimeError(f"{count} sightings for {expected} messages, {quarantined} quarantined")
    return RunResult(config.workers, expected, seconds, first, workers_cpu, postgres_cpu, dovecot_cpu, busy)
