"""Calendar sync: our CalDAV sync against vdirsyncer on the same Radicale collection, and our recurrence
expansion against recurring-ical-events on the same calendar.

    .venv/bin/python bench/calendar.py [--events 5000] [--recurring 500] [--repeats 3] [--database-url URL]
                                       [--no-postgresql] [--series 300] [--quick]

One Radicale on loopback (tests/calendar_sync/dav_servers.py). Per database (SQLite, then PostgreSQL when a
server answers): a fresh collection filled over HTTP with --events generated events, --recurring of them
weekly series with two moved occurrences each (bench/calendar_caldav.py; setup, not measured); a fresh CRM
database with the organizer as a user and the attendees as contacts, and a CalDAV calendar on the
collection; a fresh vdirsyncer pairing the collection with a folder of .ics files.

1. first sync: ours (`calendar_sync.runner.sync_calendar`, in process, as the worker runs it) takes every
   event into the CRM; vdirsyncer (`vdirsyncer sync`, a process per run) copies every event into its folder;
2. incremental: 10 events changed (a fifth of them series) and 2 deleted on the server over HTTP, then both
   sync that same change; `--repeats` change sets. The first change set waits until a minute (the CRM cursor's
   margin for late commits, calendar_sync.stores.crm_changes.LATE_COMMIT) has passed since our first sync, as
   it has for the periodic pass (every 5 minutes): a pass within it reads the versions of everything the
   first sync wrote.

Neither tool writes to the server (checked: our pass uploads nothing), so both sync the same starting
state and the same edits. The tools alternate which goes first; each timed run follows a depth-1 PROPFIND
of the collection (Radicale's side warm for either). After each run the result is checked: the CRM has
every event as an open appointment or series, the changed ones with their new subject and the deleted ones
canceled; vdirsyncer's folder has every event, the changed ones in their new version. On PostgreSQL the
CRM database is ANALYZEd after the first sync, as autovacuum would have done before the next periodic
pass (OurCalendar.settle).

3. expansion: a year of --series weekly series with exceptions across both DST changes
   (bench/calendar_expansion.py), ours against recurring-ical-events, identical occurrences required.

Targets (the calendar issue): the incremental sync at least 3 times faster than vdirsyncer; the expansion at
least as fast as recurring-ical-events. Prints the figures (docs/benchmarks.md is written by hand)."""

import sys
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script, this folder would come first on sys.path, and this file would shadow the standard
    # library's `calendar` (which http.cookiejar and others import): put the project root there instead.
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))
# Every import below comes after that fix.

import argparse
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

from bench import report
from bench.calendar_caldav import (
    ChangeSet,
    Collection,
    Corpus,
    OurCalendar,
    Vdirsyncer,
    generate,
    make_changes,
    startup_seconds,
)
from bench.dataset import on_each_database
from bench.imap_sync import Times, console
from calendar_sync.stores.crm_changes import LATE_COMMIT
from tests.calendar_sync.dav_servers import DavServer, run_radicale

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
CHANGES, DELETIONS = 10, 2
TOOLS = ("ours", "vdirsyncer")
SCENARIOS = (  # key, title, target of ours/theirs (None: no target)
    ("first", "First sync (every event)", None),
    ("change", f"Incremental ({CHANGES} changed, {DELETIONS} deleted)", 1 / 3),
)
EXPANSION_TARGET = 1.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--events", type=int, default=5000, help="events in the collection (default 5000)")
    p.add_argument("--recurring", type=int, default=500, help="of which weekly series (default 500)")
    p.add_argument("--repeats", type=int, default=3, help="change sets per database (default 3); median")
    p.add_argument("--series", type=int, default=300, help="weekly series for the expansion (default 300)")
    p.add_argument("--expansion-rounds", type=int, default=5, help="expansion runs of each; median")
    p.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server (a fresh database each)")
    p.add_argument("--no-postgresql", action="store_true", help="SQLite only")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--quick", action="store_true", help="a smoke run: 300 events (30 series), 1 change set, "
                   "30 series expanded once")
    args = p.parse_args(argv)
    if args.quick:
        args.events, args.recurring, args.repeats, args.series, args.expansion_rounds = 300, 30, 1, 30, 1
    if args.events < 50 or not 5 <= args.recurring <= args.events // 2 or args.repeats < 1:
        p.error("--events is at least 50, --recurring between 5 and half of them, --repeats at least 1")
    return args


# --- the measurement ---------------------------------------------------------------------------------------
@dataclass
class Figures:
    """What the benchmark found: sync times per database, the expansion's figures, the context."""

    sync: list[Times] = field(default_factory=list)
    expansion: dict[str, Any] | None = None
    events: int = 0
    recurring: int = 0
    vdirsyncer_startup: float = 0.0
    versions: dict[str, str] = field(default_factory=dict)


class CaldavBench:
    def __init__(self, server: DavServer, args: argparse.Namespace, vdirsyncer: str, scratch: Path) -> None:
        self.server, self.args, self.vdirsyncer, self.scratch = server, args, vdirsyncer, scratch
        self.first_sync_ended = 0.0  # when our last sync ended (perf_counter)

    def measure(self, name: str, fresh: Callable[[], AbstractContextManager[str]]) -> Times:
        times = Times(name)
        corpus = generate(self.args.events, self.args.recurring, self.args.seed)  # the same on each database
        rng = random.Random(self.args.seed)  # so the same change sets too
        collection = Collection(self.server.new_calendar(f"Bench {name}"), self.server.username,
                                self.server.password)
        started = time.perf_counter()
        collection.fill(corpus)
        console.log(f"{name}: {len(corpus.items)} events PUT into {collection.url} in "
                    f"{time.perf_counter() - started:.1f} s")
        folder = self.scratch / name
        shutil.rmtree(folder, ignore_errors=True)
        try:
            with fresh() as url:
                ours = OurCalendar(url, collection)
                peer = Vdirsyncer(self.vdirsyncer, folder, collection)
                try:
                    self._pair(0, "first", times, collection, corpus, ours, peer, None)
                    ours.settle()
                    self._after_first_sync()
                    for flip in range(1, self.args.repeats + 1):
                        change = make_changes(corpus, CHANGES, DELETIONS, rng)
                        collection.apply(corpus, change)
                        self._pair(flip, "change", times, collection, corpus, ours, peer, change)
                finally:
                    ours.close()
        finally:
            collection.close()
        return times

    def _after_first_sync(self) -> None:
        """Waits until the CRM cursor's margin for late commits has passed since our first sync ended, as it has
        for a periodic pass (every calendar_sync_seconds, 300 s by default): a pass within that margin reads the
        versions of every appointment the first sync wrote (calendar_sync/stores/crm_changes.py)."""
        wait = LATE_COMMIT.total_seconds() - (time.perf_counter() - self.first_sync_ended)
        if wait > 0:
            console.log(f"waiting {wait:.0f} s: the CRM cursor's margin for late commits after the first sync")
            time.sleep(wait)

    def _pair(self, flip: int, scenario: str, times: Times, collection: Collection, corpus: Corpus,
              ours: OurCalendar, peer: Vdirsyncer, change: ChangeSet | None) -> None:
        for tool in TOOLS if flip % 2 == 0 else TOOLS[::-1]:
            held = collection.count()  # the warm-up, and a check that nothing else touched the server
            if held != len(corpus.items):
                raise RuntimeError(f"the collection holds {held} objects, expected {len(corpus.items)}")
            if tool == "ours":
                seconds, summary = ours.sync()
                if summary.error or summary.quarantined or summary.conflicts or summary.report.deferred:
                    raise RuntimeError(f"our {scenario} sync: {summary}")
                if summary.to_server:
                    raise RuntimeError(f"our {scenario} sync wrote {summary.to_server} object(s) to the server: "
                                       f"{dict(summary.report.done)}")
                self.first_sync_ended = time.perf_counter()
                ours.check_all(corpus)
                if change is not None:
                    ours.check_change(change)
                console.log(f"{times.database}: {scenario} ours {seconds:.3f} s {dict(summary.report.done)}")
            else:
                seconds = peer.sync()
                peer.check(corpus, change)
                console.log(f"{times.database}: {scenario} vdirsyncer {seconds:.3f} s")
            times.add(scenario, tool, seconds)


@contextmanager
def radicale() -> Any:
    yield from run_radicale()


def run(args: argparse.Namespace) -> Figures:
    """The whole benchmark; the figures it found."""
    vdirsyncer = shutil.which("vdirsyncer", path=str(Path(sys.executable).parent)) or shutil.which("vdirsyncer")
    if vdirsyncer is None:
        raise SystemExit("needs vdirsyncer (in the project's .venv: pip install vdirsyncer)")
    figures = Figures(events=args.events, recurring=args.recurring, vdirsyncer_startup=startup_seconds(vdirsyncer))
    figures.versions = {name: report._version(name) for name in ("radicale", "vdirsyncer", "recurring-ical-events",
                                                                  "icalendar", "caldav")}
    with radicale() as server, tempfile.TemporaryDirectory(prefix="crm-calendar-bench-") as scratch:
        bench = CaldavBench(server, args, vdirsyncer, Path(scratch))
        figures.sync, _ = on_each_database(bench.measure, args.database_url, not args.no_postgresql,
                                           "crm-calendar-bench-db-")
    figures.expansion = expansion(args)
    return figures


def expansion(args: argparse.Namespace) -> dict[str, Any] | None:
    """bench/calendar_expansion.py's figures (it checks the occurrences are identical), or None without it."""
    try:
        from bench import calendar_expansion
    except ImportError as exc:  # written separately; the sync figures stand without it
        console.log(f"expansion skipped: bench/calendar_expansion.py is not importable ({exc})")
        return None
    return calendar_expansion.run(args.series, args.expansion_rounds, args.seed)


# --- the figures -------------------------------------------------------------------------------------------
def rows(figures: Figures) -> list[list[str]]:
    out = []
    for times in figures.sync:
        for key, title, target in SCENARIOS:
            ours, theirs = times.median(key, "ours"), times.median(key, "vdirsyncer")
            ratio = ours / theirs
            out.append([times.database, title, times.shown(key, "ours"), times.shown(key, "vdirsyncer"),
                        f"{ratio:.2f}", "-" if target is None else f"<= {target:.2f}",
                        "-" if target is None else ("met" if ratio <= target else "NOT met")])
    if figures.expansion is not None:
        e = figures.expansion
        out.append(["-", f"Expansion: {e['series']} weekly series, a year ({e['occurrences']} occurrences, "
                    "identical)", f"{e['ours_seconds']:.3f}", f"{e['theirs_seconds']:.3f} (r-i-e)",
                    f"{e['ratio']:.2f}", f"<= {EXPANSION_TARGET:.2f}",
                    "met" if e["ratio"] <= EXPANSION_TARGET else "NOT met"])
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    figures = run(args)
    print(f"CalDAV: {figures.events} events ({figures.recurring} weekly series), Radicale "
          f"{figures.versions['radicale']}, vdirsyncer {figures.versions['vdirsyncer']} (its start-up alone: "
          f"{figures.vdirsyncer_startup:.2f} s per run); median of 1 first sync and {args.repeats} change set(s)")
    print(f"Expansion: recurring-ical-events {figures.versions['recurring-ical-events']}; "
          f"ratio is ours / theirs (< 1: ours is faster)")
    for line in report.table(["Database", "Scenario", "ours, s", "vdirsyncer, s", "ours/theirs", "target",
                              "met?"], rows(figures), "llrrrll"):
        print(line)
    if figures.expansion is None:
        print("Expansion: TODO, bench/calendar_expansion.py was not importable")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
