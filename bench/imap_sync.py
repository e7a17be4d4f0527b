"""IMAP sync: our `sync_mailbox` against `mbsync` (Debian's isync) on one Dovecot on loopback, three ways: the
first sync of a large INBOX, a sync with nothing changed, and a sync after a small change.

    .venv/bin/python bench/imap_sync.py [--messages 50000] [--rounds 3] [--repeats 3] [--database-url URL]
                                        [--no-postgresql] [--quick] [--output docs/benchmarks.md]

One private Dovecot (tests/mailbridge/dovecot.py) holds one account whose INBOX is filled straight on disk
with --messages generated mails (bench/imap_corpus.py: 25 KB on average, a quarter with attachments). Each
round, on a fresh database (SQLite, and PostgreSQL when a server answers) and a fresh mbsync Maildir:

1. first sync: ours tracks every message (parse, correlate, parties, store the activity, attachments and
   raw bytes); mbsync copies every message into its Maildir, fsync'ed (its default);
2. no change: both sync again, `--repeats` times;
3. small change: 10 new messages (APPEND), 20 flag changes and 5 expunges made on the server through an
   ordinary IMAP client, then both sync that same change set; `--repeats` change sets.

The two tools run in alternating order (the first of a pair changes each time), each timed run after a
warm-up: pending writes flushed (`sync`), every message file of the server read into the page cache, and
one IMAP session that selects the INBOX and fetches every message's FLAGS, INTERNALDATE and RFC822.SIZE (so
Dovecot's index and cache are as warm for one tool as for the other). mbsync sleeps a second when its Maildir
changed in the current second (to tell later changes apart); a real periodic sync never meets that, so the
warm-up also waits for the next second after mbsync's last change. Ours runs in this process, as the worker
runs it (no interpreter start); mbsync is a process per run. Median per scenario and tool.

Targets (issue 4): no change at least 10 times faster than mbsync; the small change at least 1.3 times
faster; the first sync no more than 2 times slower. Writes the section `imap_sync` of docs/benchmarks.md (not
with --quick unless --output)."""

import argparse
import gc
import imaplib
import os
import random
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench`, `tests` and the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import imapclient
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.orm import Session, sessionmaker

from bench import report
from bench.dataset import on_each_database
from bench.imap_corpus import OWNER, ChangeSet, CorpusFacts, Generator, apply_changes, fill_maildir
from bench.mbsync import Mbsync, find_mbsync, version
from crm_core import hooks
from crm_core.db import migrate
from crm_core.db.engine import make_engine, make_session_factory
from crm_core.db.types import utcnow
from crm_core.db.unit_of_work import UnitOfWork
from crm_core.models import Contact, EmailServerProfile, Mailbox, User
from crm_core.security import secrets
from crm_core.services.mailboxes import secret_context
from crm_core.services.organisation import ensure_organisation
from mailbridge.tracking import SyncSummary, TrackingOptions, sync_mailbox
from mailbridge.tracking.results import Progress as SyncProgress
from tests.mailbridge.dovecot import DovecotServer, find_dovecot

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET_KEY = "imap-sync-bench"  # seals the mailbox password in the bench's own throw-away databases
SCENARIOS = (  # key, title, how ours compares, target
    ("first", "First sync (empty database / empty Maildir)", "slower", 2.0),
    ("unchanged", "No change", "faster", 10.0),
    ("change", "Small change (10 new, 20 flags, 5 expunged)", "faster", 1.3),
)
TOOLS = ("ours", "mbsync")
console = Console(stderr=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=50_000, help="messages in the INBOX (default 50000)")
    p.add_argument("--rounds", type=int, default=3, help="rounds, each with a first sync (default 3); median")
    p.add_argument("--repeats", type=int, default=3,
                   help="no-change syncs and change sets per round and tool (default 3)")
    p.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server (a fresh database per round)")
    p.add_argument("--no-postgresql", action="store_true", help="SQLite only")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="a smoke run: 1,000 messages, 1 round, 1 repeat")
    p.add_argument("--output", type=Path, help="Markdown file to update (default docs/benchmarks.md, none with "
                   "--quick)")
    args = p.parse_args(argv)
    if args.quick:
        args.messages, args.rounds, args.repeats = 1000, 1, 1
    if args.output is None and not args.quick:
        args.output = Path("docs/benchmarks.md")
    if args.messages < 100 or args.rounds < 1 or args.repeats < 1:
        p.error("--messages is at least 100, --rounds and --repeats at least 1")
    return args


# --- the server --------------------------------------------------------------------------------------------
class BenchDovecot(DovecotServer):
    """The tests' private Dovecot, plus where an account's Maildir lives, to fill it before Dovecot opens it."""

    def maildir(self, username: str) -> Path:
        return self.root / "mail" / username  # the config's mail_location: maildir:<root>/mail/%u

    def mail_owner(self) -> tuple[int, int]:
        """(uid, gid) of the mail processes, which own <root>/mail (made by start())."""
        st = (self.root / "mail").stat()
        return st.st_uid, st.st_gid

    def version(self) -> str:
        out = subprocess.run([self.binary, "--version"], capture_output=True, text=True, check=False)
        return out.stdout.strip().split(" ")[0] or "unknown"


@dataclass
class Account:
    server: BenchDovecot
    username: str
    password: str

    @property
    def maildir(self) -> Path:
        return self.server.maildir(self.username)

    def count(self) -> int:
        """Messages in the INBOX, as the server says (STATUS)."""
        imap = imaplib.IMAP4(self.server.host, self.server.port)
        try:
            imap.login(self.username, self.password)
            _, data = imap.status("INBOX", "(MESSAGES)")
            return int(data[0].decode().rsplit("MESSAGES", 1)[1].strip(" )"))
        finally:
            imap.logout()

    def warm(self) -> None:
        """The server's side of the warm-up: files in the page cache, index and cache fields read."""
        os.sync()
        for sub in ("cur", "new"):
            for path in (self.maildir / sub).iterdir():
                with path.open("rb") as f:
                    while f.read(1 << 20):
                        pass
        imap = imaplib.IMAP4(self.server.host, self.server.port)
        try:
            imap.login(self.username, self.password)
            imap.select("INBOX", readonly=True)
            typ, _ = imap.uid("FETCH", "1:*", "(FLAGS INTERNALDATE RFC822.SIZE)")
            if typ != "OK":
                raise RuntimeError("the warm-up FETCH failed")
            imap.close()
        finally:
            imap.logout()


# --- our side ----------------------------------------------------------------------------------------------
class OurSync:
    """A fresh CRM database with one approved mailbox on the account, and known contacts for a quarter of the
    senders; `sync()` is the worker's task body. A subclass gives another kind of profile (`_profile`) and the
    mailbox's credential (`_credential`)."""

    def __init__(self, url: str, account: Any, senders: list[str], options: TrackingOptions | None = None) -> None:
        migrate.upgrade(url)
        self.engine = make_engine(url)
        self.factory: sessionmaker[Session] = make_session_factory(self.engine)
        hooks.install(self.factory)
        secrets.install(self.factory, secrets.Keyring(SECRET_KEY))
        self.account = account
        self.mailbox_id = self._setup(senders)
        self.options = options or TrackingOptions(timeout=120)

    def _profile(self, session: Session) -> EmailServerProfile:
        return EmailServerProfile(id=uuid.uuid4(), name="Bench Dovecot", incoming_host=self.account.server.host,
                                  incoming_port=self.account.server.port, incoming_security="plain")

    def _credential(self, session: Session, mailbox: Mailbox) -> None:
        mailbox.username = self.account.username
        mailbox.password_secret = secrets.keyring_of(session).seal(
            self.account.password, secret_context(mailbox.id, "password"))

    def _setup(self, senders: list[str]) -> uuid.UUID:
        with UnitOfWork(self.factory) as uow:
            session = uow.session
            root = ensure_organisation(session)
            user = User(id=uuid.uuid4(), email=OWNER, full_name="Rita Rep", business_unit_id=root.id)
            profile = self._profile(session)
            session.add_all([user, profile])
            session.flush()
            mailbox = Mailbox(id=uuid.uuid4(), name=OWNER, email_address=OWNER, user_id=user.id,
                              server_profile_id=profile.id, business_unit_id=root.id, incoming_filter="all",
                              folders=["INBOX"], approval_status="approved", approved_on=utcnow())
            self._credential(session, mailbox)
            session.add(mailbox)
            for i, address in enumerate(senders[::4]):  # a quarter of the senders are known contacts
                session.add(Contact(id=uuid.uuid4(), first_name="Person", last_name=str(i),
                                    full_name=f"Person {i}", email_address1=address, owning_user_id=user.id,
                                    owning_business_unit_id=root.id))
            session.flush()
            uow.commit()
            return mailbox.id

    def sync(self, progress: SyncProgress | None = None) -> tuple[float, SyncSummary]:
        gc.collect()
        started = time.perf_counter()
        summary = sync_mailbox(self.factory, self.mailbox_id, self.options, progress)
        return time.perf_counter() - started, summary

    def close(self) -> None:
        self.engine.dispose()


# --- the measurement ---------------------------------------------------------------------------------------
@dataclass
class Times:
    """Seconds per scenario and tool, for one database."""

    database: str
    seconds: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, scenario: str, tool: str, seconds: float) -> None:
        self.seconds.setdefault((scenario, tool), []).append(seconds)

    def median(self, scenario: str, tool: str) -> float:
        return statistics.median(self.seconds[(scenario, tool)])

    def shown(self, scenario: str, tool: str) -> str:
        """The median, and the range of the samples when there are several."""
        samples = self.seconds[(scenario, tool)]
        median = f"{statistics.median(samples):.3f}"
        return median if len(samples) < 2 else f"{median} ({min(samples):.3f} to {max(samples):.3f})"


@dataclass
class Bench:
    account: Account
    mbsync: Mbsync
    generator: Generator
    senders: list[str]
    expected: int  # messages in the INBOX now
    next_number: int  # the next generated message's number
    rng: random.Random
    change: ChangeSet = field(default_factory=ChangeSet)

    def run(self, tool: str, scenario: str, ours: OurSync, times: Times) -> None:
        """One timed sync of `tool`, after the warm-up, checked against what the server holds."""
        self.account.warm()
        if tool == "mbsync":
            self.mbsync.settle()
            seconds = self.mbsync.sync()
            if self.mbsync.messages() != self.expected:
                raise RuntimeError(f"mbsync holds {self.mbsync.messages()} messages, the server {self.expected}")
        else:
            seconds = self._ours(scenario, ours)
        times.add(scenario, tool, seconds)
        console.log(f"{times.database}: {scenario} {tool} {seconds:.3f} s")

    def _ours(self, scenario: str, ours: OurSync) -> float:
        if scenario == "first":
            with _progress(f"{'our first sync':<18}", self.expected) as advance:
                seconds, summary = ours.sync(lambda event: advance(event.done))
        else:
            seconds, summary = ours.sync()
        folder = summary.folders["INBOX"]
        wanted = {"first": (self.expected, 0), "unchanged": (0, 0),
                  "change": (self.change.new, self.change.expunges)}[scenario]
        if (folder.fetched, folder.vanished) != wanted or folder.quarantined or folder.error:
            raise RuntimeError(f"our {scenario} sync: fetched {folder.fetched}, vanished {folder.vanished}, "
                               f"quarantined {folder.quarantined}, error {folder.error}; expected {wanted}")
        return seconds

    def make_change(self) -> None:
        client = _client(self.account)
        try:
            self.next_number = apply_changes(client, self.generator, self.next_number, self.change, self.rng)
        finally:
            client.logout()
        self.expected += self.change.new - self.change.expunges

    def measure(self, name: str, url_factory: Callable[[], Any], rounds: int, repeats: int) -> Times:
        times = Times(name)
        flip = 0  # which tool goes first in the next pair; a round has an odd number of pairs, so the next
        # round's first sync starts with the other tool

        def pair(scenario: str, ours: OurSync) -> None:
            nonlocal flip
            for tool in (TOOLS if flip % 2 == 0 else TOOLS[::-1]):
                self.run(tool, scenario, ours, times)
            flip += 1

        for _ in range(rounds):
            with url_factory() as url:
                ours = OurSync(url, self.account, self.senders)
                try:
                    self.mbsync.reset()
                    pair("first", ours)
                    for _ in range(repeats):
                        pair("unchanged", ours)
                    for _ in range(repeats):
                        self.make_change()
                        pair("change", ours)
                finally:
                    ours.close()
        return times


def _client(account: Account) -> imapclient.IMAPClient:
    client = imapclient.IMAPClient(account.server.host, account.server.port, ssl=False)
    client.login(account.username, account.password)
    return client


@contextmanager
def _progress(what: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields a function taking the count done so far (updated every 100)."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(what, total=total)

        def advance(done: int) -> None:
            if done % 100 == 0 or done == total:
                bar.update(task, completed=done)

        yield advance


# --- the run -----------------------------------------------------------------------------------------------
def build_corpus(account: Account, generator: Generator, messages: int) -> CorpusFacts:
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task(f"{'writing the corpus':<18}", total=messages)
        facts = fill_maildir(account.maildir, account.server.mail_owner(), generator, messages,
                             lambda n: bar.advance(task, n))
    started = time.perf_counter()
    account.warm()  # Dovecot's first SELECT indexes the mailbox: not part of anything measured
    console.log(f"corpus: {messages} messages, {facts.bytes / 1024 / 1024:.0f} MiB; Dovecot indexed it in "
                f"{time.perf_counter() - started:.1f} s")
    return facts


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dovecot, mbsync_binary = find_dovecot(), find_mbsync()
    if dovecot is None or mbsync_binary is None:
        print("needs Dovecot and mbsync: apt-get install dovecot-imapd isync", file=sys.stderr)
        return 2
    started_facts = report.machine_facts("sqlite://")
    server = BenchDovecot(dovecot)
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="crm-imap-bench-") as tmp:
            username, password = server.add_user()
            account = Account(server, username, password)
            generator = Generator(args.seed)
            facts = build_corpus(account, generator, args.messages)
            if account.count() != args.messages:
                raise RuntimeError(f"Dovecot sees {account.count()} messages, not {args.messages}")
            bench = Bench(account, Mbsync(mbsync_binary, Path(tmp) / "mbsync", server.host, server.port, username,
                                          password),
                          generator, generator.senders, args.messages, args.messages, random.Random(args.seed))

            results, facts_url = on_each_database(
                lambda name, fresh: bench.measure(name, fresh, args.rounds, args.repeats), args.database_url,
                not args.no_postgresql, "crm-imap-bench-db-")
            versions = {"dovecot": server.version(), "mbsync": version(mbsync_binary)}
    finally:
        server.stop()
    for times in results:
        for line in summary_lines(times, args.messages):
            print(line)
    if args.output is not None:
        machine = report.machine_facts(facts_url)
        for key in ("date", "load_average", "commit"):  # as when the code was loaded and the run began
            machine[key] = started_facts[key]
        machine["load_average_end"] = report.load_average()
        report.write_section(args.output, "imap_sync", section(args, argv, machine, facts, versions, results))
    return 0


# --- the figures -------------------------------------------------------------------------------------------
def verdict(times: Times, scenario: str, how: str, target: float) -> tuple[float, str, bool]:
    """(ratio, its wording, met): `how` is "faster" (mbsync ÷ ours, at least target) or "slower" (ours ÷
    mbsync, at most target)."""
    ours, theirs = times.median(scenario, "ours"), times.median(scenario, "mbsync")
    if how == "faster":
        ratio = theirs / ours
        return ratio, (f"{ratio:.1f} times faster" if ratio >= 1 else f"{1 / ratio:.1f} times slower"), ratio >= target
    ratio = ours / theirs
    return ratio, (f"{ratio:.1f} times slower" if ratio >= 1 else f"{1 / ratio:.1f} times faster"), ratio <= target


def summary_lines(times: Times, messages: int) -> list[str]:
    lines = []
    for key, title, how, target in SCENARIOS:
        _, wording, met = verdict(times, key, how, target)
        lines.append(f"{times.database}: {title}: ours {times.median(key, 'ours'):.3f} s, mbsync "
                     f"{times.median(key, 'mbsync'):.3f} s: {wording} (target {target:g} times {how}: "
                     f"{'met' if met else 'NOT met'})")
    return lines


def section(args: argparse.Namespace, argv: list[str] | None, machine: dict[str, Any], facts: CorpusFacts,
            versions: dict[str, str], results: list[Times]) -> str:
    given = list(sys.argv[1:] if argv is None else argv)
    shown = [a for i, a in enumerate(given)  # where the figures went is not part of how they were made
             if not a.startswith("--output") and not (i and given[i - 1] == "--output")]
    command = ".venv/bin/python bench/imap_sync.py" + (" " + shlex.join(shown) if shown else "")
    rows = []
    for times in results:
        for key, title, how, target in SCENARIOS:
            _, wording, met = verdict(times, key, how, target)
            rows.append([times.database, title, times.shown(key, "ours"), times.shown(key, "mbsync"),
                         f"**{wording}**",
                         f"at least {target:g} times faster" if how == "faster" else f"at most {target:g} times slower",
                         "met" if met else "**not met**"])
    rates = [f"{t.database}: ours {facts.messages / t.median('first', 'ours'):,.0f} msg/s, mbsync "
             f"{facts.messages / t.median('first', 'mbsync'):,.0f} msg/s" for t in results]
    missed = [f"{t.database} {title.split(' (')[0].lower()}" for t in results
              for key, title, how, target in SCENARIOS if not verdict(t, key, how, target)[2]]
    samples = f"{args.rounds} round(s) of a first sync and {args.repeats} sync(s) of each other kind per round"
    return "\n".join([
        "## IMAP sync: our sync against mbsync",
        "",
        "What it measures: the wall-clock time of one sync of a Dovecot INBOX on loopback by our IMAP driver "
        "(`mailbridge.tracking.sync_mailbox`, in process, as the worker runs it: fetch, normalise, dedupe, "
        "correlate, parties, and store the email activity, its attachments and raw bytes with the folder "
        "checkpoint; the default options: batches of 100, the next batch normalised in worker processes, the "
        "CPUs but one) and by `mbsync` (isync: copy to a local Maildir, every file fsync'ed, "
        "its default). Three scenarios: the first sync into an empty database / Maildir; a sync with nothing "
        "changed; a sync after 10 new messages (APPEND), 20 flag changes and 5 expunges made on the server, "
        "the same change set for both. Each timed run follows a warm-up (pending writes flushed, the server's "
        "files read into the page cache, one IMAP session fetching every message's flags, date and size; "
        "mbsync's Maildir left unchanged for a second, as a periodic sync finds it) and the two tools "
        "alternate which goes first. Targets (issue 4): no change at least 10 times faster than mbsync, the small "
        "change at least 1.3 times faster, the first sync (which parses and stores what mbsync only copies) at "
        "most 2 times slower.",
        "",
        f"Command: `{command}`",
        "",
        *report.facts_lines(machine),
        f"- Servers and tools: Dovecot {versions['dovecot']} (Maildir, `mail_fsync = never`, CONDSTORE and "
        f"QRESYNC on), {versions['mbsync']} (Debian `isync`)",
        f"- Corpus: {facts.messages:,} generated messages in the INBOX ({facts.bytes / 1024 / 1024:,.0f} MiB, "
        f"{facts.bytes / facts.messages / 1024:.1f} KB on average, {facts.with_attachments:,} with an "
        "attachment of 10 to 88 KB); a third replies, a third with an HTML part; a quarter of the 200 senders "
        f"are known contacts. Median of {samples}, per database.",
        f"- First sync rates: {'; '.join(rates)}. Times are wall-clock: mbsync's first sync waits on an fsync "
        "per message and varies most with other disk activity on the machine (see the load averages); the "
        "ranges show the spread.",
        "",
        *report.table(["Database", "Scenario", "ours: median (range), s", "mbsync: median (range), s",
                       "ours vs mbsync (medians)", "target", "met?"],
                      rows, "llrrrll"),
        "",
        ("All targets met." if not missed else f"Targets not met: {', '.join(missed)}."),
    ])


if __name__ == "__main__":
    raise SystemExit(main())
