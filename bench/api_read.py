"""List and read throughput of /api/v1/contacts, as a ratio to a bare FastAPI endpoint serving the same bytes.

    .venv/bin/python bench/api_read.py [--contacts 100000] [--duration 10] [--database-url URL] [--quick]

Makes a fresh database on the server of --database-url (dropped at the end), migrates it, builds an
organisation and N contacts (bench/dataset.py), starts the real app (workers.app.create_app under uvicorn)
and captures from it the first pages of the list and a sample of records; then starts a bare FastAPI app
that serves those very bytes from memory (bench/bare_app.py). A load generator in its own process
(bench/http_load.py) runs each scenario against both, same concurrency and duration, after a warm-up.
Writes the figures to the section `api_read` of docs/benchmarks.md (not in --quick mode unless --output)."""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

if __package__ in (None, ""):  # run as a script: make `bench` and the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy.engine import make_url

from bench import dataset, report, servers
from bench.quick import apply_quick

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"
LIMIT = 50
DEFAULT_SORT = "-created_on"  # the API's default order
SCENARIOS = (  # key, title, how the load generator moves through the captured paths
    ("list", "List, first page (`?limit=50`)", "cycle"),
    ("paging", "List, paging with cursors", "walk"),
    ("read", "Read one contact by id (random)", "random"),
)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--contacts", type=int, default=100_000, help="contacts to load (default 100000)")
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per scenario and server")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up before each measurement")
    p.add_argument("--concurrency", type=int, default=8, help="keep-alive connections of the load generator")
    p.add_argument("--rounds", type=int, default=1, help="measure each pair this many times, keep the median")
    p.add_argument("--pages", type=int, default=100, help="depth of the cursor walk, in pages of 50")
    p.add_argument("--paging-sort", default=DEFAULT_SORT, help="the sort of the cursor walk (default -created_on)")
    p.add_argument("--reads", type=int, default=1000, help="distinct contacts read at random")
    p.add_argument("--database-url", default=DEFAULT_SERVER,
                   help="PostgreSQL server to make the fresh database on (its database part is ignored)")
    p.add_argument("--keep-database", action="store_true", help="do not drop the database (prints its URL)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--quick", action="store_true",
                   help="2,000 contacts, 2 s per scenario, 10 pages: a smoke run; writes no docs unless --output")
    p.add_argument("--output", type=Path, help="Markdown file to update (default docs/benchmarks.md, "
                   "none with --quick)")
    p.add_argument("--json", type=Path, help="also write the raw results here")
    args = p.parse_args(argv)
    if args.quick:
        apply_quick(args, argv, {"--contacts": 2000, "--duration": 2.0, "--warmup": 0.5, "--pages": 10,
                                 "--reads": 200})
    if args.output is None and not args.quick:
        args.output = servers.REPO / "docs" / "benchmarks.md"
    return args


def capture(base_url: str, token: str, ids: list[Any], pages: int, sort: str) -> dict[str, Any]:
    """The paths the load generator will ask for, and the bytes our API answers to each."""
    bodies, records = {}, {}
    with httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http:
        first = f"/api/v1/contacts?limit={LIMIT}"
        answer = http.get(first)
        answer.raise_for_status()
        bodies[f"{DEFAULT_SORT} "] = answer.text
        chain, cursor = [], None
        for _ in range(pages):
            path = f"{first}&sort={quote(sort)}" + (f"&cursor={quote(cursor)}" if cursor else "")
            answer = http.get(path)
            answer.raise_for_status()
            chain.append(path)
            bodies[f"{sort} {cursor or ''}"] = answer.text
            cursor = answer.json()["next_cursor"]
            if cursor is None:
                break
        reads = []
        for record_id in ids:
            path = f"/api/v1/contacts/{record_id}"
            answer = http.get(path)
            answer.raise_for_status()
            reads.append(path)
            records[str(record_id)] = answer.text
    return {"first": first, "chain": chain, "reads": reads,
            "fixtures": {"limit": LIMIT, "pages": bodies, "records": records}}


def check_same_bytes(ours: str, bare: str, token: str, paths: list[str]) -> None:
    """The baseline must answer every path with the bytes our API gave, or the ratio means nothing."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=60) as http:
        for path in paths:
            a, b = http.get(ours + path), http.get(bare + path)
            if a.content != b.content or a.headers["content-type"] != b.headers["content-type"]:
                raise RuntimeError(f"the bare server does not answer {path} as our API does")


def measure(args: argparse.Namespace, ours: servers.Server, bare: servers.Server, database: str,
            token: str, paths: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for key, title, mode in SCENARIOS:
        runs: dict[str, list[dict[str, Any]]] = {"ours": [], "bare": []}
        for round_no in range(args.rounds):
            order = (ours, bare) if round_no % 2 == 0 else (bare, ours)  # alternate, so drift cancels out
            for server in order:
                watched = {"server": server.cpu_seconds, "machine": servers.machine_cpu}
                if server is ours:
                    watched["database"] = lambda: servers.database_cpu(database)
                job = {"host": "127.0.0.1", "port": server.port, "paths": paths[key], "mode": mode,
                       "headers": {"Authorization": f"Bearer {token}"}, "concurrency": args.concurrency,
                       "warmup": args.warmup, "duration": args.duration, "seed": args.seed + round_no}
                run = servers.run_load(job, watched)
                if run["errors"]:
                    raise RuntimeError(f"{server.name} answered errors in {key}: {run['statuses']}")
                runs[server.name].append(run)
                print(f"  {title:<36} {server.name:<4} {run['rps']:8.0f} req/s  p50 {run['p50_ms']:6.2f} ms  "
                      f"p99 {run['p99_ms']:6.2f} ms  (other load {_others(run):.2f} CPUs)", flush=True)
        results[key] = {"title": title, **{name: _median_run(r) for name, r in runs.items()}}
    return results


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(runs, key=lambda r: r["rps"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["rps_all"] = [round(r["rps"], 1) for r in runs]
    chosen["rps_stdev"] = statistics.pstdev(r["rps"] for r in runs) if len(runs) > 1 else 0.0
    return chosen


def _per_request_ms(run: dict[str, Any], what: str) -> float:
    return run["cpu_seconds"].get(what, 0.0) * 1000 / run["requests"]


def _others(run: dict[str, Any]) -> float:
    """CPUs kept busy by anything but this benchmark's processes during the window: noise, ideally 0."""
    cpu = run["cpu_seconds"]
    ours = cpu.get("server", 0.0) + cpu.get("database", 0.0) + run["client_cpu_ms_per_request"] * run["requests"] / 1000
    return max(0.0, cpu.get("machine", 0.0) - ours) / run["seconds"]


def section(args: argparse.Namespace, data: dataset.BenchData, facts: dict[str, Any],
            results: dict[str, dict[str, Any]], command: str) -> str:
    rows, cpu_rows = [], []
    for r in results.values():
        o, b = r["ours"], r["bare"]
        rows.append([r["title"], f"{o['rps']:,.0f}", f"{b['rps']:,.0f}", f"**{o['rps'] / b['rps']:.3f}**",
                     f"{o['p50_ms']:.2f}", f"{b['p50_ms']:.2f}", f"{o['p99_ms']:.2f}", f"{b['p99_ms']:.2f}"])
        cpu_rows.append([r["title"], f"{_per_request_ms(o, 'server'):.2f}", f"{_per_request_ms(o, 'database'):.2f}",
                         f"{_per_request_ms(b, 'server'):.2f}", f"{o['client_cpu_ms_per_request']:.3f}",
                         f"{b['client_cpu_ms_per_request']:.3f}", f"{_others(o):.2f} / {_others(b):.2f}"])
    lines = [
        "## API read throughput: `/api/v1/contacts` against a bare FastAPI endpoint",
        "",
        "What it measures: requests per second and latency of our contacts API, reading from PostgreSQL "
        "as an authenticated user whose access is filtered by business unit, team and shares, next to a "
        "bare FastAPI app (`bench/bare_app.py`) answering the same paths with the same bytes from memory. "
        "The ratio (ours / bare, req/s) is the share of the framework's ceiling that our request path keeps: "
        "token lookup, principal loading, the access-filtered query, the ORM, the response model and "
        "serialisation. Both run as one uvicorn process (`uvloop`, `httptools`) on a loopback port; the load "
        "generator (`bench/http_load.py`, keep-alive HTTP/1.1, closed loop) runs in a third process. "
        "On a machine with few CPUs, server, client and database share them: compare the ratio, and the CPU "
        "per request, rather than absolute req/s.",
        "",
        f"Command: `{command}`",
        "",
        *report.facts_lines(facts),
        f"- Data: {data.contacts:,} contacts ({data.addresses:,} addresses, {data.accounts:,} accounts) over "
        f"{data.units} business units and {data.users} users (a tenth team-owned); the caller is a "
        f"{data.role} of one region (parent-child depth, one team, {data.shares} shares) who may read "
        f"{data.visible:,} of them. Loaded in {data.load_seconds:.0f} s.",
        f"- Load: {args.concurrency} connections, {args.warmup:g} s warm-up then {args.duration:g} s measured per "
        f"scenario and server, {args.rounds} round(s) (median kept); paging walks {args.pages} pages of 50 "
        f"(`sort={args.paging_sort}`), each connection from its own starting page; reads pick at random among "
        f"{args.reads:,} readable contacts.",
        "",
        *report.table(["Scenario", "ours req/s", "bare req/s", "ratio", "ours p50 ms", "bare p50 ms",
                       "ours p99 ms", "bare p99 ms"], rows),
        "",
        "CPU per request (ms), measured over the same windows from /proc: our server process, the PostgreSQL "
        "backends of the benchmark database, the bare server, and the load generator itself. The last column "
        "is the number of CPUs other processes kept busy meanwhile (during ours / during bare): other work on "
        "the machine, which lowers every figure; near 0 for a clean run.",
        "",
        *report.table(["Scenario", "ours server", "PostgreSQL", "bare server", "client (ours)", "client (bare)",
                       "other CPUs busy"], cpu_rows),
        "",
        "Where the time of one request goes (token, principal, query, rendering, serialisation, framework): "
        "`.venv/bin/python bench/api_read_profile.py` measures it step by step on the same data.",
    ]
    return "\n".join(lines)


def console_table(results: dict[str, dict[str, Any]]) -> str:
    out = [f"{'scenario':<36} {'ours/s':>8} {'bare/s':>8} {'ratio':>6} {'p50 ours':>9} {'p50 bare':>9} "
           f"{'p99 ours':>9} {'p99 bare':>9}"]
    for r in results.values():
        o, b = r["ours"], r["bare"]
        out.append(f"{r['title']:<36} {o['rps']:8.0f} {b['rps']:8.0f} {o['rps'] / b['rps']:6.3f} "
                   f"{o['p50_ms']:9.2f} {b['p50_ms']:9.2f} {o['p99_ms']:9.2f} {b['p99_ms']:9.2f}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as tmp, \
            dataset.fresh_database(args.database_url, keep=args.keep_database) as url:
        work = Path(tmp)
        print(f"loading {args.contacts:,} contacts into a fresh database ...", flush=True)
        data = dataset.build(url, args.contacts, seed=args.seed, sample=args.reads)
        print(f"  loaded in {data.load_seconds:.1f} s; the caller reads {data.visible:,} of them", flush=True)
        if args.keep_database:
            print(f"  database kept: {url}\n  token: {data.token}")
        facts = report.machine_facts(url)
        env = {"CRM_DATABASE_URL": url, "CRM_SECRET_KEY": "benchmark-secret", "CRM_DATA_DIR": str(work / "var"),
               "CRM_LOG_LEVEL": "WARNING"}
        ours = servers.Server("ours", "workers.app:create_app", env, work)
        bare = None
        try:
            ours.wait_ready()
            captured = capture(ours.base_url, data.token, data.readable_ids, args.pages, args.paging_sort)
            (work / "responses.json").write_text(json.dumps(captured["fixtures"]))
            fixtures = {"BENCH_RESPONSES": str(work / "responses.json")}
            bare = servers.Server("bare", "bench.bare_app:create_app", fixtures, work)
            bare.wait_ready()
            paths = {"list": [captured["first"]], "paging": captured["chain"], "read": captured["reads"]}
            args.pages, args.reads = len(paths["paging"]), len(paths["read"])  # what was captured, for the docs
            check_same_bytes(ours.base_url, bare.base_url, data.token,
                             [*paths["list"], *paths["paging"], *paths["read"][:50]])
            print(f"measuring ({args.concurrency} connections, {args.duration:g} s each) ...", flush=True)
            results = measure(args, ours, bare, make_url(url).database or "", data.token, paths)
            facts["load_average_end"] = report.load_average()  # other work on the machine skews the figures
        finally:
            ours.stop()
            if bare is not None:
                bare.stop()
    print()
    print(console_table(results))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")
    command = report.command_line("bench/api_read.py", sys.argv[1:] if argv is None else argv)
    if args.output:
        report.write_section(args.output, "api_read", section(args, data, facts, results, command))
        print(f"wrote the api_read section of {args.output}")
    if args.json:
        args.json.write_text(json.dumps({"facts": facts, "results": results, "command": command,
                                         "data": {k: v for k, v in vars(data).items()
                                                  if k not in ("readable_ids", "token", "url")}}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
