"""Exchange Online sync: our Graph source against our IMAP source on the same messages, in the same run, and the
HTTP requests a Graph sync costs (round trips are what Exchange Online throttles).

    .venv/bin/python bench/exchange_sync.py [--messages 10000] [--rounds 2] [--repeats 3] [--database-url URL]
                                            [--no-postgresql] [--quick] [--output docs/benchmarks.md]

One corpus (bench/imap_corpus.py: 25 KB on average, a quarter with attachments) goes into the inbox of a fake
Exchange Online mailbox (tests/fakes/graph, in a process of its own: bench/exchange_graph.py) and into the INBOX
of a private Dovecot (as bench/imap_sync.py fills it). Each round, each side syncs into a fresh database of its
own (SQLite, and PostgreSQL when a server answers) through `mailbridge.tracking.sync_mailbox`, as the worker
runs it: a mailbox on a Graph profile (application access with the app's secret; tracked mail marked with a
category, as Dynamics does) and one on an IMAP profile.

1. first sync: every message tracked;
2. the next pass, nothing new: for Graph, the delta hands back every message our marking changed;
3. 10 new messages delivered on both sides, then an incremental sync; `--repeats` times.

The two sides alternate which goes first. Each IMAP run follows imap_sync's warm-up (Dovecot's files in the page
cache, its index read); the fake keeps everything in memory. Exchange Online's limit of 10,000 requests per 10
minutes per app and mailbox is lifted for the timing (see bench/exchange_graph.py); the requests each Graph sync
sent are counted from the fake's log, on the wire and as Graph's limits count them (inside a $batch one by one).
Writes the section `exchange_sync` of docs/benchmarks.md (not with --quick unless --output)."""

import argparse
import shlex
import statistics
import sys
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench`, `tests` and the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import imapclient

from bench import report
from bench.dataset import on_each_database
from bench.exchange_graph import (
    CATEGORY,
    GraphServer,
    GraphSync,
    RequestCounts,
    running_graph_process,
    unbudgeted_graph,
)
from bench.imap_corpus import CorpusFacts, Generator
from bench.imap_sync import Account, BenchDovecot, OurSync, Times, _progress, build_corpus, console
from mailbridge.tracking import SyncSummary
from tests.mailbridge.dovecot import find_dovecot

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
NEW = 10  # messages delivered before each incremental sync
SIDES = ("graph", "imap")
SCENARIOS = (  # key, title
    ("first", "First sync (empty database)"),
    ("after", "Next pass, nothing new"),
    ("change", f"Incremental: {NEW} new messages"),
)
EXCHANGE_LIMIT = 10_000  # requests per 10 minutes per app and mailbox (Outlook resources)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--messages", type=int, default=10_000, help="messages in the inbox (default 10000)")
    p.add_argument("--rounds", type=int, default=2, help="rounds, each with a first sync (default 2); median")
    p.add_argument("--repeats", type=int, default=3, help="incremental syncs per round and side (default 3)")
    p.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server (fresh databases per round)")
    p.add_argument("--no-postgresql", action="store_true", help="SQLite only")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="a smoke run: 300 messages, 1 round, 1 repeat")
    p.add_argument("--output", type=Path, help="Markdown file to update (default docs/benchmarks.md, none with "
                   "--quick)")
    args = p.parse_args(argv)
    if args.quick:
        args.messages, args.rounds, args.repeats = 300, 1, 1
    if args.output is None and not args.quick:
        args.output = Path("docs/benchmarks.md")
    if args.messages < 100 or args.rounds < 1 or args.repeats < 1:
        p.error("--messages is at least 100, --rounds and --repeats at least 1")
    return args


# --- the measurement ---------------------------------------------------------------------------------------
@dataclass
class Cost:
    """The requests of one Graph sync and the messages it downloaded."""

    counts: RequestCounts
    messages: int


@dataclass
class Bench:
    account: Account  # the Dovecot side
    graph: GraphServer
    generator: Generator  # the Dovecot side's; the fake's process draws the same messages from its own
    senders: list[str]
    expected: int  # messages in each inbox now
    costs: dict[str, list[Cost]] = field(default_factory=dict)  # scenario -> every Graph sync's requests
    first_sizes: dict[str, list[int]] = field(default_factory=dict)  # database -> messages of each first sync

    def run(self, side: str, scenario: str, ours: OurSync | GraphSync, times: Times) -> None:
        """One timed sync of `side`, checked against what its server holds."""
        if side == "imap":
            self.account.warm()
        else:
            self.graph.clear_requests()
        wanted = {"first": self.expected, "after": 0, "change": NEW}[scenario]
        if scenario == "first":
            self.first_sizes.setdefault(times.database, []).append(wanted)
            with _progress(f"{side + ' first sync':<18}", self.expected) as advance:
                seconds, summary = ours.sync(lambda event: advance(event.done))
        else:
            seconds, summary = ours.sync()
        _check(side, scenario, summary, wanted)
        if side == "graph":
            self.costs.setdefault(scenario, []).append(Cost(self.graph.requests(), wanted))
        times.add(scenario, side, seconds)
        console.log(f"{times.database}: {scenario} {side} {seconds:.3f} s")

    def deliver(self) -> None:
        """The next NEW messages of the corpus, delivered on both sides (APPEND without flags: unread)."""
        client = imapclient.IMAPClient(self.account.server.host, self.account.server.port, ssl=False)
        try:
            client.login(self.account.username, self.account.password)
            for number in range(self.expected, self.expected + NEW):
                raw, when, _ = self.generator.message(number)
                client.append("INBOX", raw.replace(b"\n", b"\r\n"), msg_time=datetime.fromtimestamp(when, UTC))
        finally:
            client.logout()
        self.graph.deliver(NEW)
        self.expected += NEW
        if (self.account.count(), self.graph.count()) != (self.expected, self.expected):
            raise RuntimeError(f"the inboxes hold {self.account.count()} and {self.graph.count()} messages, "
                               f"not {self.expected}")

    def measure(self, name: str, url_factory: Callable[[], AbstractContextManager[str]], rounds: int,
                repeats: int) -> Times:
        times = Times(name)
        for round_number in range(rounds):
            self.graph.unmark()  # a fresh database's first sync marks every message again
            with url_factory() as graph_url, url_factory() as imap_url:
                graph = GraphSync(graph_url, self.graph.endpoint, self.senders)
                imap = OurSync(imap_url, self.account, self.senders)
                try:
                    syncs: dict[str, OurSync | GraphSync] = {"graph": graph, "imap": imap}
                    # The first of a pair alternates within a round, and the first sync's between rounds.
                    for pair, scenario in enumerate(["first", "after"] + ["change"] * repeats):
                        if scenario == "change":
                            self.deliver()
                        for side in SIDES if (round_number + pair) % 2 == 0 else SIDES[::-1]:
                            self.run(side, scenario, syncs[side], times)
                finally:
                    graph.close()
                    imap.close()
        return times


def _check(side: str, scenario: str, summary: SyncSummary, wanted: int) -> None:
    folder = summary.folders["INBOX"]
    if (folder.fetched, folder.vanished) != (wanted, 0) or folder.quarantined or folder.error:
        raise RuntimeError(f"{side} {scenario} sync: fetched {folder.fetched}, vanished {folder.vanished}, "
                           f"quarantined {folder.quarantined}, error {folder.error}; expected {wanted} fetched")


# --- the run -----------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    dovecot = find_dovecot()
    if dovecot is None:
        print("needs Dovecot: apt-get install dovecot-imapd", file=sys.stderr)
        return 2
    started_facts = report.machine_facts("sqlite://")
    server = BenchDovecot(dovecot)
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="crm-exchange-bench-") as tmp, \
                running_graph_process(args.seed, Path(tmp) / "graph-tls") as graph, unbudgeted_graph():
            username, password = server.add_user()
            account = Account(server, username, password)
            generator = Generator(args.seed)
            facts = build_corpus(account, generator, args.messages)
            with _progress(f"{'filling the fake':<18}", args.messages) as advance:
                for done in range(0, args.messages, 500):
                    graph.fill(min(500, args.messages - done))
                    advance(min(done + 500, args.messages))
            if (account.count(), graph.count()) != (args.messages, args.messages):
                raise RuntimeError(f"the inboxes hold {account.count()} and {graph.count()} messages, "
                                   f"not {args.messages}")
            bench = Bench(account, graph, generator, generator.senders, args.messages)

            results, facts_url = on_each_database(
                lambda name, fresh: bench.measure(name, fresh, args.rounds, args.repeats), args.database_url,
                not args.no_postgresql, "crm-exchange-bench-db-")
            versions = {"dovecot": server.version(), "graph": graph.version()}
    finally:
        server.stop()
    for line in summary_lines(results, bench.costs):
        print(line)
    if args.output is not None:
        machine = report.machine_facts(facts_url)
        for key in ("date", "load_average", "commit"):  # as when the code was loaded and the run began
            machine[key] = started_facts[key]
        machine["load_average_end"] = report.load_average()
        report.write_section(args.output, "exchange_sync",
                             section(args, argv, machine, facts, versions, results, bench))
    return 0


# --- the figures -------------------------------------------------------------------------------------------
def ratio(times: Times, scenario: str) -> float:
    """Graph's median time over IMAP's: above 1, Graph is slower."""
    return times.median(scenario, "graph") / times.median(scenario, "imap")


def median_cost(costs: list[Cost]) -> tuple[dict[str, float], float]:
    """The median of each count over the syncs of a scenario, and of the messages they downloaded."""
    counts = {f.name: statistics.median(getattr(c.counts, f.name) for c in costs) for f in fields(RequestCounts)}
    return counts, statistics.median(c.messages for c in costs)


def per_thousand(costs: list[Cost], name: str) -> str:
    """The median count of a scenario's syncs, and (when they downloaded messages) the median per 1,000."""
    value = statistics.median(getattr(c.counts, name) for c in costs)
    if not all(c.messages for c in costs):
        return f"{value:,.0f}"
    rate = statistics.median(getattr(c.counts, name) * 1000 / c.messages for c in costs)
    return f"{value:,.0f} ({rate:,.0f})"


def summary_lines(results: list[Times], costs: dict[str, list[Cost]]) -> list[str]:
    lines = [f"{t.database}: {title}: Graph {t.median(key, 'graph'):.3f} s, IMAP {t.median(key, 'imap'):.3f} s: "
             f"Graph/IMAP {ratio(t, key):.2f}" for t in results for key, title in SCENARIOS]
    for key, title in SCENARIOS:
        lines.append(f"Graph requests, {title}: on the wire {per_thousand(costs[key], 'wire')}, counted by Graph "
                     f"{per_thousand(costs[key], 'counted')}, 429 answers {per_thousand(costs[key], 'throttled')} "
                     "(per 1,000 messages in brackets)")
    return lines


def section(args: argparse.Namespace, argv: list[str] | None, machine: dict[str, Any], facts: CorpusFacts,
            versions: dict[str, str], results: list[Times], bench: Bench) -> str:
    given = list(sys.argv[1:] if argv is None else argv)
    shown = [a for i, a in enumerate(given)  # where the figures went is not part of how they were made
             if not a.startswith("--output") and not (i and given[i - 1] == "--output")]
    command = ".venv/bin/python bench/exchange_sync.py" + (" " + shlex.join(shown) if shown else "")
    costs = bench.costs
    times_rows = [[t.database, title, t.shown(key, "graph"), t.shown(key, "imap"), f"**{ratio(t, key):.2f}**"]
                  for t in results for key, title in SCENARIOS]
    request_rows = []
    for key, title in SCENARIOS:
        counts, messages = median_cost(costs[key])
        request_rows.append([title, f"{messages:,.0f}", per_thousand(costs[key], "wire"),
                             per_thousand(costs[key], "counted"), f"{counts['delta_pages']:,.0f}",
                             f"{counts['batches']:,.0f}", f"{counts['downloads']:,.0f}", f"{counts['marks']:,.0f}",
                             f"{counts['other']:,.0f}", f"{counts['throttled']:,.0f}", f"{counts['token']:,.0f}"])
    first, first_messages = median_cost(costs["first"])
    budgeted = first["counted"] - first["throttled"]  # a request refused with 429 may not spend the budget
    windows = int((budgeted - 1) // EXCHANGE_LIMIT)  # full 10-minute windows to wait for, the requests sent at once
    budget = (f"A first sync of {first_messages:,.0f} messages sends Graph {budgeted:,.0f} requests besides the "
              f"429 answers, against Exchange Online's {EXCHANGE_LIMIT:,} per 10 minutes per app and mailbox: "
              + (f"with the budget kept it waits at least {10 * windows} minutes for it (the folder stops at its "
                 "last commit and a later pass resumes it), on top of the time above." if windows else
                 "within the budget."))
    throttled = sum(c.counts.throttled for scenario in costs.values() for c in scenario)
    limits = ("The fake injects no faults in this run, so a 429 could only be Graph's limit of 4 requests in flight "
              "per app and mailbox answering our own client: " + (
                  "there was none in any sync (our client counts each request inside a `$batch` against the "
                  "mailbox's 4 slots, so a full batch has the mailbox to itself, and marks a batch after its "
                  "downloads, never beside them)." if throttled == 0 else
                  f"{throttled:,} over all the syncs, each retried after its Retry-After."))
    after, _ = median_cost(costs["after"])
    echo = (f"The next pass with nothing new reads the delta pages our own marking filled ({after['delta_pages']:,.0f}"
            f" here; Graph's delta cannot leave a change out by who made it) and downloads {after['downloads']:,.0f} "
            f"and marks {after['marks']:,.0f}: the messages are known, so they are flag changes, and pages of "
            "nothing else share one checkpoint per 1,000 messages.")
    sizes = {t.database: statistics.median(bench.first_sizes[t.database]) for t in results}
    rates = [f"{t.database}: Graph {sizes[t.database] / t.median('first', 'graph'):,.0f} msg/s, IMAP "
             f"{sizes[t.database] / t.median('first', 'imap'):,.0f} msg/s" for t in results]
    samples = f"{args.rounds} round(s) of a first sync and {args.repeats} incremental sync(s) per round"
    return "\n".join([
        "## Exchange Online sync: Graph against IMAP",
        "",
        "What it measures: the wall-clock time of one sync by `mailbridge.tracking.sync_mailbox` (in process, as "
        "the worker runs it: fetch, normalise, dedupe, correlate, parties, store the activity, attachments and raw "
        "bytes with the folder checkpoint, mark what was tracked; default options) of the same messages from a "
        "fake Exchange Online mailbox through our Graph source (messages delta, MIME by `$value` in JSON batches, "
        f"tracked mail given the category \"{CATEGORY}\") and from a Dovecot INBOX through our IMAP source, as a "
        "ratio Graph/IMAP measured in the same run, each side in a fresh database of its own; and the HTTP "
        "requests each Graph sync sent, from the fake's request log. Scenarios: the first sync; the next pass with "
        f"nothing new (Graph's delta hands back every message our marking changed); {NEW} new messages delivered "
        "on both sides, then an incremental sync. The sides alternate which goes first; each IMAP run follows "
        "imap_sync's warm-up. Both servers are on loopback with no added latency, so the times compare our work "
        "and the request counts carry the network's cost: against Exchange Online every round trip on the wire "
        "adds its latency, and every counted request spends the mailbox's budget. That budget (10,000 requests per "
        "10 minutes per app and mailbox) is lifted for the timing, in the fake and in our client; the fake keeps "
        "Graph's limit of 4 requests in flight per app and mailbox (429 with Retry-After: 1 beyond it).",
        "",
        f"Command: `{command}`",
        "",
        *report.facts_lines(machine),
        f"- Servers: Dovecot {versions['dovecot']} (Maildir, loopback, plain IMAP); the fake Graph: "
        f"{versions['graph']}, HTTPS on loopback, in a process of its own, its replies sent with TCP_NODELAY",
        f"- Corpus: {facts.messages:,} generated messages in each inbox ({facts.bytes / 1024 / 1024:,.0f} MiB, "
        f"{facts.bytes / facts.messages / 1024:.1f} KB on average, {facts.with_attachments:,} with an attachment "
        "of 10 to 88 KB); a third replies, a third with an HTML part; a quarter of the 200 senders are known "
        f"contacts. Median of {samples}, per database.",
        f"- First sync rates: {'; '.join(rates)}.",
        "- The machine is shared with other work (see the load average), so seconds vary between runs; the two "
        "sides alternate within a run: compare their ratio.",
        "",
        *report.table(["Database", "Scenario", "Graph: median (range), s", "IMAP: median (range), s",
                       "Graph / IMAP"], times_rows, "llrrr"),
        "",
        "Graph requests per sync (median over the syncs of every database and round; per 1,000 messages "
        "downloaded in brackets). On the wire: HTTP requests to Graph, a `$batch` counting one. Graph counts: "
        "requests as Graph's limits count them, each request inside a `$batch` on its own (the envelope not), "
        "those answered 429 included; they split into delta pages, `$value` downloads, category PATCHes and "
        "other requests (folder look-ups). 429: answers Too Many Requests, each request retried after its "
        "Retry-After. Token: msal's requests to Entra ID (discovery and token), a host of its own.",
        "",
        *report.table(["Scenario", "messages", "on the wire", "Graph counts", "delta pages", "$batch", "$value",
                       "PATCH", "other", "429", "token"], request_rows, "lrrrrrrrrrr"),
        "",
        budget + " " + limits + " " + echo,
    ])


if __name__ == "__main__":
    raise SystemExit(main())
