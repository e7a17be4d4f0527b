"""Service scheduling: find available times over 4 weeks, our engine against a straightforward minute-grid scan.

    .venv/bin/python bench/scheduling.py [--bookings 50000] [--series 2000] [--runs 30] [--limit 20]
                                         [--database-url URL] [--no-postgresql] [--output FILE] [--profile] [--quick]

Per database (SQLite, then PostgreSQL when a server answers): a fresh migrated database with 150 resources (a
group of 50 advisers, a group of 50 technicians and 50 devices), their weekly hours, time off and the business
closures, --bookings service activities booking them over a year and --series recurring meetings of their
users (bench/scheduling_data.py, loaded in bulk; not measured). The service needs one adviser and two of the
second group for 60 minutes on a 15-minute grid.

Then --runs requests, each a different 4-week window (from midnight or from a time of day, across the DST
changes and holidays) with 0 to 3 preferred resources and the API's default of 20 proposals: ours is
`calendar_sync.scheduling.availability.find`, the baseline bench/scheduling_baseline.py, which loads the same
data with the same `resource_time.load` and scans the window minute by minute. Each gets a session of its
own; the two alternate which goes first; one warm-up request each is not counted. Both must propose the same
start times, or the run fails. Times are wall-clock, split into the load (`resource_time.load`: the
resources' hours, exceptions, bookings and meetings, series expanded) and the rest (search: for ours the rule,
the working time, the candidates and the bitset search; for the baseline the rule and the scan).

Writes the section `scheduling` of docs/benchmarks.md (not with --quick unless --output)."""

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project on the path instead of bench/ itself
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

# Every import below comes after that set-up.
import argparse
import cProfile
import pstats
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bench import report, scheduling_baseline, scheduling_data
from bench.dataset import on_each_database
from bench.quick import apply_quick
from calendar_sync.scheduling import availability
from crm_core.db.engine import make_engine, make_session_factory
from crm_core.models import Service

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
WINDOW = timedelta(days=28)
ZONE = "Europe/Berlin"
REPO = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--bookings", type=int, default=50_000, help="service activities (default 50000)")
    p.add_argument("--series", type=int, default=2000, help="recurring series of the users (default 2000)")
    p.add_argument("--runs", type=int, default=30, help="requests measured per database (default 30)")
    p.add_argument("--limit", type=int, default=20, help="proposals asked for (default 20, the API's default)")
    p.add_argument("--database-url", default=DEFAULT_SERVER, help="PostgreSQL server (a fresh database each)")
    p.add_argument("--no-postgresql", action="store_true", help="SQLite only")
    p.add_argument("--seed", type=int, default=11)
    p.add_argument("--profile", action="store_true", help="print where our engine's time goes (cProfile, on "
                   "SQLite; its overhead skews ours, so no docs are written)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 5,000 bookings, 200 series, 5 requests; "
                   "writes no docs unless --output")
    p.add_argument("--output", type=Path, help="Markdown file to update (default docs/benchmarks.md, none with "
                   "--quick)")
    args = p.parse_args(argv)
    if args.quick:
        apply_quick(args, argv, {"--bookings": 5000, "--series": 200, "--runs": 5})
    if args.runs < 2 or args.bookings < 1 or args.series < 1 or not 1 <= args.limit <= availability.MAX_RESULTS:
        p.error(f"--runs is at least 2; --bookings and --series at least 1; --limit 1 to {availability.MAX_RESULTS}")
    if args.output is None and not args.quick and not args.profile:
        args.output = REPO / "docs" / "benchmarks.md"
    return args


# --- the measurement ---------------------------------------------------------------------------------------
@dataclass
class Times:
    """One database's figures: per request, seconds in total and in the load, for each side."""

    database: str
    data: scheduling_data.SchedulingData | None = None
    total: dict[str, list[float]] = field(default_factory=lambda: {"ours": [], "baseline": []})
    load: dict[str, list[float]] = field(default_factory=lambda: {"ours": [], "baseline": []})
    booked: list[int] = field(default_factory=list)  # booking spans in each window, of the service's resources
    meetings: list[int] = field(default_factory=list)  # meeting occurrences in each window, of its users

    def median(self, what: str, side: str) -> float:
        return statistics.median(self.values(what, side))

    def p99(self, what: str, side: str) -> float:
        return statistics.quantiles(self.values(what, side), n=100, method="inclusive")[98]

    def values(self, what: str, side: str) -> list[float]:
        if what == "search":  # everything but the load
            return [t - load for t, load in zip(self.total[side], self.load[side], strict=True)]
        return (self.total if what == "total" else self.load)[side]


@contextmanager
def timed_load(into: list[float]) -> Iterator[None]:
    """Our engine's calls of `resource_time.load` timed, by wrapping the name availability.find calls."""
    original = availability.load

    def load(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            into.append(time.perf_counter() - started)

    availability.load = load  # type: ignore[assignment]
    try:
        yield
    finally:
        availability.load = original  # type: ignore[assignment]


def requests(data: scheduling_data.SchedulingData, runs: int, seed: int, limit: int) -> list[availability.Request]:
    """Different 4-week windows inside the booked year, half from midnight and half from a time of day (a
    scheduler searching from now), with 0 to 3 preferred resources."""
    rng = random.Random(seed)
    zone = scheduling_data.BERLIN
    out = []
    for n in range(runs + 1):  # the first is the warm-up
        day = scheduling_data.FIRST_DAY + timedelta(days=rng.randrange(14, scheduling_data.SPAN_WEEKS * 7 - 42))
        minute = 0 if n % 2 else rng.randrange(7 * 60, 18 * 60)
        start = datetime(day.year, day.month, day.day, tzinfo=zone) + timedelta(minutes=minute)
        preferred = frozenset(rng.sample([*data.group_a, *data.group_b], rng.choice((0, 1, 2, 3))))
        out.append(availability.Request(start, start + WINDOW, preferred=preferred, time_zone=ZONE,
                                        limit=limit))
    return out


class SchedulingBench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.profile = cProfile.Profile() if args.profile else None

    def measure(self, name: str, fresh: Callable[[], AbstractContextManager[str]]) -> Times:
        times = Times(name)
        with fresh() as url:
            print(f"{name}: loading {self.args.bookings:,} bookings and {self.args.series:,} series ...", flush=True)
            data = times.data = scheduling_data.build(url, self.args.bookings, self.args.series, self.args.seed)
            print(f"  loaded in {data.load_seconds:.1f} s ({data.booking_rows:,} resource bookings, "
                  f"{data.moved} moved occurrences)", flush=True)
            engine = make_engine(url)
            factory = make_session_factory(engine)
            try:
                for n, request in enumerate(requests(data, self.args.runs, self.args.seed, self.args.limit)):
                    self._pair(n, request, factory, data, times)
            finally:
                engine.dispose()
        print(f"  ours {times.median('total', 'ours') * 1000:.0f} ms, baseline "
              f"{times.median('total', 'baseline') * 1000:.0f} ms (medians)", flush=True)
        return times

    def _pair(self, n: int, request: availability.Request, factory: Any, data: scheduling_data.SchedulingData,
              times: Times) -> None:
        counted = n > 0  # the first request warms both up
        ours: list[int] = []
        theirs: list[int] = []
        for side in ("ours", "baseline") if n % 2 == 0 else ("baseline", "ours"):
            loads: list[float] = []
            with factory() as session:
                service = session.get(Service, data.service_id)
                assert service is not None
                if side == "ours":
                    profile = self.profile if counted and times.database == "SQLite" else None
                    with timed_load(loads):
                        started = time.perf_counter()
                        if profile is not None:
                            profile.enable()
                        found = availability.find(session, service, request)
                        if profile is not None:
                            profile.disable()
                        seconds = time.perf_counter() - started
                    ours = [p.start for p in found.proposals]
                    if counted:
                        times.booked.append(sum(len(s) for s in found.loaded.bookings.values()))
                        times.meetings.append(sum(len(s) for s in found.loaded.appointments.values()))
                else:
                    started = time.perf_counter()
                    theirs = scheduling_baseline.find(session, service, request, loads)
                    seconds = time.perf_counter() - started
            if counted:
                times.total[side].append(seconds)
                times.load[side].append(sum(loads))
        if ours != theirs:
            raise AssertionError(f"{times.database}, request {n} ({request.start.isoformat()}): the engine proposed "
                                 f"{ours}, the minute-grid scan {theirs}")
        if not ours:
            raise AssertionError(f"{times.database}, request {n}: no proposal at all; the data is too busy to tell")


# --- the figures -------------------------------------------------------------------------------------------
def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def rows(results: list[Times]) -> tuple[list[list[str]], list[list[str]]]:
    latency, split = [], []
    for t in results:
        latency.append([t.database, ms(t.median("total", "ours")), ms(t.p99("total", "ours")),
                        ms(t.median("total", "baseline")), ms(t.p99("total", "baseline")),
                        f"**{t.median('total', 'ours') / t.median('total', 'baseline'):.2f}**"])
        split.append([t.database, ms(t.median("load", "ours")), ms(t.median("search", "ours")),
                      ms(t.p99("search", "ours")), ms(t.median("load", "baseline")),
                      ms(t.median("search", "baseline")), ms(t.p99("search", "baseline")),
                      f"**{t.median('search', 'ours') / t.median('search', 'baseline'):.3f}**"])
    return latency, split


def section(args: argparse.Namespace, results: list[Times], facts: dict[str, Any], command: str) -> str:
    data = results[0].data
    assert data is not None
    latency, split = rows(results)
    loads = "; ".join(f"{t.database} {t.data.load_seconds:.0f} s" for t in results if t.data is not None)
    lines = [
        "## Service scheduling",
        "",
        "What it measures: the latency of one find-available-times request over 4 weeks "
        "(`calendar_sync.scheduling.availability.find`, in process, a session of its own) for a service needing "
        "one of 50 advisers and two of 100 technicians and devices for 60 minutes on a 15-minute grid, next to "
        "a straightforward minute-grid scan written in the benchmark (`bench/scheduling_baseline.py`): the same "
        "`resource_time.load` and the same working-time rules, then for every grid minute of the window and "
        "each requirement, every resource checked minute by minute against its plain lists of working "
        "intervals, bookings and meetings. Both must propose the same start times (checked on every request). "
        "The load (`resource_time.load`: hours, exceptions, closures, bookings, meetings with their series "
        "expanded) is shown apart from the rest (search: for ours the rule, working time, candidates and the "
        "bitset search; for the baseline the rule and the scan). Ratio = ours / baseline: lower is better.",
        "",
        f"Command: `{command}`",
        "",
        *report.facts_lines(facts),
        f"- Data: {data.bookings:,} service activities over {scheduling_data.SPAN_WEEKS} weeks "
        f"({data.booking_rows:,} resource bookings), {data.series:,} recurring series of "
        f"{scheduling_data.USERS} users ({data.moved} moved occurrences), 150 resources (100 of them users) "
        "with five patterns of weekly hours (breaks, part time, a Saturday shift), time off and public "
        f"holidays. Loaded in bulk: {loads}.",
        f"- Requests: {args.runs} per database (after one warm-up), each a different 4-week window in "
        f"{ZONE} (half from midnight, half from a time of day), 0 to 3 preferred resources, "
        f"{args.limit} proposals asked{' (the API default)' if args.limit == 20 else ''}; a window holds about "
        f"{statistics.median(results[0].booked):,.0f} bookings and {statistics.median(results[0].meetings):,.0f} "
        "meeting occurrences of the service's resources. Ours and the baseline alternate which goes first. "
        f"p99 of {args.runs} requests is close to the slowest.",
        "",
        "Latency of a request, ms:",
        "",
        *report.table(["Database", "ours median", "ours p99", "baseline median", "baseline p99", "ours/baseline"],
                      latency),
        "",
        "Where it goes, ms (medians, p99 of the search):",
        "",
        *report.table(["Database", "ours load", "ours search", "ours search p99", "baseline load",
                       "baseline search", "baseline search p99", "search ours/baseline"], split),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    bench = SchedulingBench(args)
    facts = report.machine_facts("sqlite://")
    results, facts_url = on_each_database(bench.measure, args.database_url, not args.no_postgresql,
                                          "crm-scheduling-bench-db-")
    if facts_url != "sqlite://":
        facts["database"] += " and " + report.machine_facts(facts_url)["database"]
    facts["load_average_end"] = report.load_average()
    latency, split = rows(results)
    print()
    for line in [*report.table(["Database", "ours median ms", "ours p99", "baseline median", "baseline p99",
                                "ours/baseline"], latency), "",
                 *report.table(["Database", "ours load", "ours search", "p99", "baseline load", "baseline search",
                                "p99", "search ratio"], split)]:
        print(line)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    if bench.profile is not None:
        print("\nOur engine on SQLite, every counted request (cProfile, cumulative):")
        pstats.Stats(bench.profile, stream=sys.stdout).sort_stats("cumulative").print_stats(40)
    if args.output:
        command = report.command_line("bench/scheduling.py", sys.argv[1:] if argv is None else argv)
        report.write_section(args.output, "scheduling", section(args, results, facts, command))
        print(f"wrote the scheduling section of {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
