"""Workers: messages tracked per second by ONE and by TWO `crm worker` processes sharing a Redis broker and one
PostgreSQL database, and the ratio two / one.

    .venv/bin/python bench/workers.py [--mailboxes 20] [--per-mailbox 1000] [--concurrency 2] [--parse-workers 0]
                                      [--rounds 2] [--database-url URL] [--redis-url URL] [--quick]
                                      [--output docs/benchmarks.md]

One private Dovecot (tests/mailbridge/dovecot.py) holds --mailboxes accounts of --per-mailbox generated messages
each (bench/imap_corpus.py, written straight into the Maildirs, a seed per account so that no two accounts share
a message), indexed and read into the page cache before anything is timed. Each round runs both configurations
(one worker and two; the order alternates from round to round), each on a fresh database: one approved IMAP mailbox per
account (incoming filter "all": every message is tracked), then the real processes: N x `crm worker
--concurrency C` and one `crm beat` (CRM_DISPATCH_SECONDS=1: every mailbox is due at once) with a queue of their
own on Redis. Timed from their start until every message is tracked (mail sightings counted every 0.5 s), then
stopped. The figure is the ratio two / one of each round (its two runs are nearest in time), median of the rounds,
with the CPU time of the workers, PostgreSQL, Dovecot and everything else, to show what the 2 CPUs were doing.
Writes the section `workers` of docs/benchmarks.md (not with --quick unless --output)."""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: this file is not the `workers` package; the project is importable
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import redis
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench import report
from bench.dataset import fresh_database
from bench.imap_corpus import CorpusFacts, Generator, fill_maildir
from bench.imap_sync import Account, BenchDovecot
from bench.worker_fleet import FleetConfig, Login, RunResult, setup_crm, timed_run
from tests.mailbridge.dovecot import find_dovecot

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
OTHER_BUSY = 0.25  # CPUs of "other" above which a run shared the machine with programs not of the bench
console = Console(stderr=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mailboxes", type=int, default=20, help="Dovecot accounts and CRM mailboxes (default 20)")
    p.add_argument("--per-mailbox", type=int, default=1000, help="messages in each INBOX (default 1000)")
    p.add_argument("--concurrency", type=int, default=2, help="syncs at once per worker (default 2)")
    p.add_argument("--parse-workers", type=int, default=0,
                   help="CRM_MAIL_PARSE_WORKERS of each worker (default 0: each worker is one process)")
    p.add_argument("--rounds", type=int, default=2,
                   help="rounds of one run per configuration, the order alternating (default 2); median")
    p.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server (a fresh database per run)")
    p.add_argument("--redis-url", default=DEFAULT_REDIS, help=f"Celery's broker (default {DEFAULT_REDIS})")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--quick", action="store_true", help="a smoke run: 4 mailboxes of 500 messages, 1 round")
    p.add_argument("--output", type=Path, help="Markdown file to update (default docs/benchmarks.md, none with "
                   "--quick)")
    args = p.parse_args(argv)
    if args.quick:
        args.mailboxes, args.per_mailbox, args.rounds = 4, 500, 1
    if args.output is None and not args.quick:
        args.output = Path("docs/benchmarks.md")
    if args.mailboxes < 2 or args.per_mailbox < 10 or args.concurrency < 1 or args.rounds < 1 or args.parse_workers < 0:
        p.error("--mailboxes is at least 2, --per-mailbox at least 10, --concurrency and --rounds at least 1")
    return args


def missing_services(args: argparse.Namespace) -> list[str]:
    """What is not there: Dovecot, PostgreSQL or Redis, each with how to get it."""
    missing = []
    if find_dovecot() is None:
        missing.append("Dovecot is not installed: apt-get install dovecot-imapd")
    try:
        report.machine_facts(args.database_url)
    except Exception as exc:  # any failure to connect: say which and why
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        missing.append(f"PostgreSQL does not answer at {args.database_url}: {first_line}")
    try:
        client = redis.Redis.from_url(args.redis_url, socket_connect_timeout=2)
        client.ping()
        client.close()
    except redis.RedisError as exc:
        missing.append(f"Redis does not answer at {args.redis_url}: {exc} (apt-get install redis-server; "
                       "redis-server --daemonize yes)")
    return missing


def redis_version(url: str) -> str:
    client = redis.Redis.from_url(url)
    try:
        return str(client.info("server")["redis_version"])
    finally:
        client.close()


class WorkersDovecot(BenchDovecot):
    def pid(self) -> int:
        """Dovecot's master process, whose reaped children's CPU time it accounts."""
        assert self._process is not None, "not started"
        return self._process.pid


def build_corpus(server: BenchDovecot, args: argparse.Namespace) -> tuple[list[Account], CorpusFacts]:
    """The accounts, filled on disk and then indexed by Dovecot (its first SELECT) and read into the page cache."""
    accounts, facts = [], CorpusFacts(0, 0, 0)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("writing the corpus", total=args.mailboxes * args.per_mailbox)
        for k in range(args.mailboxes):
            account = Account(server, *server.add_user())
            made = fill_maildir(account.maildir, server.mail_owner(), Generator(args.seed + k), args.per_mailbox,
                                lambda n: bar.advance(task, n))
            facts = CorpusFacts(facts.messages + made.messages, facts.bytes + made.bytes,
                                facts.with_attachments + made.with_attachments)
            accounts.append(account)
        for account in accounts:
            account.warm()
            if account.count() != args.per_mailbox:
                raise RuntimeError(f"Dovecot sees {account.count()} messages in {account.username}")
    return accounts, facts


def measure(args: argparse.Namespace, accounts: list[Account], workers: int, dovecot_pid: int) -> RunResult:
    logins = [Login(a.server.host, a.server.port, a.username, a.password) for a in accounts]
    expected = args.mailboxes * args.per_mailbox
    config = FleetConfig(workers, args.concurrency, args.parse_workers, args.redis_url)
    os.sync()  # the previous run's writes are not this one's
    with fresh_database(args.database_url) as url, tempfile.TemporaryDirectory(prefix="crm-workers-bench-") as tmp:
        setup_crm(url, logins, Generator(args.seed).senders)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task(f"{workers} worker{'s' if workers > 1 else ''}", total=expected)
            result = timed_run(config, url, expected, Path(tmp), dovecot_pid, lambda n: bar.update(task, completed=n))
    console.log(f"{workers} worker(s): {expected:,} messages in {result.seconds:.1f} s, {result.rate:,.0f} msg/s")
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = missing_services(args)
    if missing:
        for line in missing:
            print(f"bench/workers.py cannot run: {line}", file=sys.stderr)
        return 2
    started_facts = report.machine_facts(args.database_url)
    dovecot = find_dovecot()
    assert dovecot is not None
    server = WorkersDovecot(dovecot)
    server.start()
    rounds: Rounds = []
    try:
        accounts, facts = build_corpus(server, args)
        for r in range(args.rounds):
            rounds.append({workers: measure(args, accounts, workers, server.pid())
                           for workers in ((1, 2) if r % 2 == 0 else (2, 1))})
        versions = {"dovecot": server.version(), "redis": redis_version(args.redis_url)}
    finally:
        server.stop()
    Console(width=max(120, console.width)).print(rich_table(rounds))  # never wrapped to a pipe's 80 columns
    print(summary(rounds, args))
    if args.output is not None:
        machine = report.machine_facts(args.database_url)
        for key in ("date", "load_average", "commit"):  # as when the code was loaded and the run began
            machine[key] = started_facts[key]
        machine["load_average_end"] = report.load_average()
        report.write_section(args.output, "workers", section(args, argv, machine, facts, versions, rounds))
    return 0


# --- the figures -------------------------------------------------------------------------------------------
Rounds = list[dict[int, RunResult]]  # per round: workers -> its run


def median_rate(rounds: Rounds, workers: int) -> float:
    return statistics.median(r[workers].rate for r in rounds)


def ratio(rounds: Rounds) -> float:
    """Two workers' rate over one's, per round (the two runs of a round are closest in time), median of the
    rounds."""
    return statistics.median(r[2].rate / r[1].rate for r in rounds)


HEADER = ["Round", "Configuration", "first tracked, s", "all tracked, s", "msg/s", "two / one",
          "CPU s: workers", "PostgreSQL", "Dovecot", "other", "CPUs busy"]


def rows(rounds: Rounds) -> list[list[str]]:
    out = []
    for number, runs in enumerate(rounds, 1):
        for workers, run in sorted(runs.items()):
            out.append([str(number), f"{workers} worker{'s' if workers > 1 else ''}", f"{run.first_seconds:.1f}",
                        f"{run.seconds:.1f}", f"{run.rate:,.0f}",
                        f"{run.rate / runs[1].rate:.2f}" if workers == 2 else "", f"{run.worker_cpu:.1f}",
                        f"{run.database_cpu:.1f}", f"{run.dovecot_cpu:.1f}", f"{run.other_cpu:.1f}",
                        f"{run.machine_cpu / run.seconds:.2f}"])
    return out


def rich_table(rounds: Rounds) -> Table:
    table = Table(title="Mail tracked by one and by two `crm worker` processes")
    for i, name in enumerate(HEADER):
        table.add_column(name, justify="left" if i == 1 else "right")
    for row in rows(rounds):
        table.add_row(*row)
    return table


def summary(rounds: Rounds, args: argparse.Namespace) -> str:
    one, two = median_rate(rounds, 1), median_rate(rounds, 2)
    return (f"workers: one {one:,.0f} msg/s, two {two:,.0f} msg/s: two / one = {ratio(rounds):.2f} "
            f"({os.cpu_count()} CPUs; --concurrency {args.concurrency}, parse workers {args.parse_workers})")


def section(args: argparse.Namespace, argv: list[str] | None, machine: dict[str, Any], facts: CorpusFacts,
            versions: dict[str, str], rounds: Rounds) -> str:
    given = list(sys.argv[1:] if argv is None else argv)
    shown = [a for i, a in enumerate(given)  # where the figures went is not part of how they were made
             if not a.startswith("--output") and not (i and given[i - 1] == "--output")]
    command = report.command_line("bench/workers.py", shown)  # a --database-url's password hidden
    cpus = machine["nproc"]
    parse = ("`CRM_MAIL_PARSE_WORKERS=0`: each worker parses mail in its own process, so a worker is one process "
             "and the comparison is about workers" if args.parse_workers == 0 else
             f"`CRM_MAIL_PARSE_WORKERS={args.parse_workers}`: each worker has that many parsing processes besides")
    return "\n".join([
        "## Workers: one and two `crm worker` processes",
        "",
        "What it measures: how many messages per second the workers track when one, then two, `crm worker` "
        "processes share the work of many mailboxes, and the ratio two / one. The real processes, as a "
        "deployment runs them: `crm worker` (Celery, threads pool) on a Redis broker, one `crm beat` whose "
        "dispatcher runs every second (`CRM_DISPATCH_SECONDS=1`) and finds every mailbox due at once, and "
        "PostgreSQL. Each configuration starts on a fresh database with the same mailboxes; the time runs from "
        "the processes' start (interpreter and Celery start-up included: the \"first tracked\" column) until "
        "the last message is tracked (mail sightings counted every 0.5 s). Every message is tracked in full "
        "(incoming filter \"all\": parse, correlate, parties, the email activity with attachments and raw bytes).",
        "",
        f"Command: `{command}`",
        "",
        *report.facts_lines(machine),
        f"- Servers: Dovecot {versions['dovecot']} (Maildir, `mail_fsync = never`) on loopback, Redis "
        f"{versions['redis']}, all on the same {cpus} CPUs as the workers",
        f"- Each worker: `crm worker --concurrency {args.concurrency}` ({args.concurrency} syncs at once, in "
        f"threads); {parse}. One `crm beat` beside them in both configurations.",
        f"- Corpus: {args.mailboxes} mailboxes of {args.per_mailbox:,} generated messages ({facts.messages:,} in "
        f"all, {facts.bytes / 1024 / 1024:,.0f} MiB, {facts.bytes / facts.messages / 1024:.1f} KB on average, "
        f"{facts.with_attachments:,} with an attachment), indexed by Dovecot and in the page cache before any run.",
        f"- {args.rounds} round(s), each one run of both configurations (order alternating from round to round); "
        "\"two / one\" is the round's ratio of rates, the figure their median. CPU seconds during each run: the "
        "worker processes, the PostgreSQL backends of the run's database, Dovecot, and everything else on the "
        "machine (beat, Redis, PostgreSQL's background processes, this script, and whatever else ran); \"CPUs "
        f"busy\" is the machine's busy CPU time over the run's time, at most {cpus}.",
        "",
        *report.table(HEADER, rows(rounds), "rl" + "r" * (len(HEADER) - 2)),
        "",
        *conclusion(rounds, cpus),
    ])


def conclusion(rounds: Rounds, cpus: int) -> list[str]:
    """What the figures say, from the figures: the ratio, and where the CPUs went."""
    def per_second(workers: int, what: str) -> float:
        return statistics.median(getattr(r[workers], what) / r[workers].seconds for r in rounds)

    return [
        f"**Two workers track {ratio(rounds):.2f} times as many messages per second as one** "
        f"({median_rate(rounds, 1):,.0f} and {median_rate(rounds, 2):,.0f} msg/s, medians), on a machine of {cpus} "
        "CPUs that the workers share with PostgreSQL, Dovecot, Redis and beat. CPUs used on average (medians): "
        f"one worker {per_second(1, 'worker_cpu'):.2f}, two workers {per_second(2, 'worker_cpu'):.2f} together; "
        f"PostgreSQL {per_second(1, 'database_cpu'):.2f} and {per_second(2, 'database_cpu'):.2f}; Dovecot "
        f"{per_second(1, 'dovecot_cpu'):.2f} and {per_second(2, 'dovecot_cpu'):.2f}; everything else "
        f"{per_second(1, 'other_cpu'):.2f} and {per_second(2, 'other_cpu'):.2f}; the machine "
        f"{per_second(1, 'machine_cpu'):.2f} and {per_second(2, 'machine_cpu'):.2f} of {cpus}. A second worker can "
        "only use what the first leaves idle: where the machine is already near its CPUs with one worker, two "
        "cannot double the rate; with more CPUs, or workers on other machines, the ratio can grow until the "
        "database is the limit.",
        *_busy_note(rounds),
    ]


def _busy_note(rounds: Rounds) -> list[str]:
    """Says which rounds shared the machine with other programs (the machine has no CPU to spare for them)."""
    busy = [n for n, runs in enumerate(rounds, 1) if any(r.other_cpu / r.seconds > OTHER_BUSY for r in runs.values())]
    if not busy:
        return []
    quiet = [f"{runs[2].rate / runs[1].rate:.2f}" for n, runs in enumerate(rounds, 1) if n not in busy]
    return ["", f"Round(s) {', '.join(map(str, busy))} shared the machine with other programs (\"other\" above "
            f"{OTHER_BUSY:g} CPU): their rates are lower and their ratio less sure"
            + (f"; the ratio of the quiet round(s): {', '.join(quiet)}." if quiet else "; no round was quiet.")]


if __name__ == "__main__":
    raise SystemExit(main())
