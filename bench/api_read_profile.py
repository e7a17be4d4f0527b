"""Where the time of one /api/v1/contacts request goes: token, principal, query, rendering, serialisation.

    .venv/bin/python bench/api_read_profile.py [--contacts 100000] [--requests 300] [--cprofile FILE]

Builds the same database as bench/api_read.py, then drives the real app in this process, straight through
ASGI (no HTTP, no client), one request at a time. Three measurements per scenario:
- wall time per request as the app runs in production (sync routes and dependencies in worker threads);
- the same with worker threads replaced by inline calls, which is what the profiles below see;
- sections: the wall time inside each step of the request path, with the SQL statements (count and time,
  client side: round trip plus PostgreSQL's work) issued inside it. "framework" is the rest: routing,
  dependency solving, query parsing, the ASGI response.
With --cprofile, a cProfile of the inline run of each scenario is written next to FILE and its top
functions printed."""

import argparse
import asyncio
import cProfile
import importlib
import json
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import anyio.to_thread
from sqlalchemy import event

from bench import dataset
from crm_core.settings import Settings
from workers.app import create_app

DEFAULT_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/"


class Sections:
    """Wall time and SQL per named step; a step inside another is charged to the inner one only."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.sql_time: dict[str, float] = defaultdict(float)
        self.sql_count: dict[str, int] = defaultdict(int)
        self.stack: list[str] = ["framework"]
        self.statements: list[str] = []
        self.recording = False
        self.active = False  # only the inline runs are broken down (in worker threads the stack would mix)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        if not self.active:
            yield
            return
        self.stack.append(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            self.wall[name] += time.perf_counter() - started
            self.stack.pop()
            if self.stack[-1] != "framework":  # the outer step must not count our time twice
                self.wall[self.stack[-1]] -= time.perf_counter() - started

    def wrapper(self, original: Callable[..., Any], name: str) -> Callable[..., Any]:
        if asyncio.iscoroutinefunction(original):
            async def awrapped(*args: Any, **kwargs: Any) -> Any:
                with self.step(name):
                    return await original(*args, **kwargs)
            return awrapped

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            with self.step(name):
                return original(*args, **kwargs)
        return wrapped

    def watch_sql(self, engine: Any) -> None:
        @event.listens_for(engine, "before_cursor_execute")
        def before(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
            conn.info["bench_started"] = time.perf_counter()
            if self.recording:
                self.statements.append(f"[{self.stack[-1]}] {' '.join(statement.split())[:300]}")

        @event.listens_for(engine, "after_cursor_execute")
        def after(conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool) -> None:
            if not self.active:
                return
            section = self.stack[-1]
            self.sql_time[section] += time.perf_counter() - conn.info.pop("bench_started")
            self.sql_count[section] += 1

    def reset(self) -> None:
        self.wall.clear()
        self.sql_time.clear()
        self.sql_count.clear()


# The steps of the request path: (module, function or Class.method, label). Steps missing from the code
# as it stands are skipped, so the breakdown follows the code as it changes.
STEPS = (
    ("crm_core.api.auth", "authenticate", "authenticate (cache, epoch)"),
    ("crm_core.security.tokens", "user_for", "token lookup"),
    ("crm_core.security.tokens", "verify", "token lookup"),
    ("crm_core.security.principal", "load_principal", "load principal"),
    ("crm_core.services.records", "RecordService.list", "service: list query + ORM"),
    ("crm_core.services.records", "RecordService.get", "service: get + access check"),
    ("crm_core.api.resource", "Resource.render", "render (ORM -> response model)"),
    ("fastapi.routing", "serialize_response", "response model validation + dump"),
)


def instrument(app: Any) -> Sections:
    """Wraps each step where it is defined and wherever it was imported by name (after the app is built)."""
    sections = Sections()
    for module_name, attribute, label in STEPS:
        try:
            owner: Any = importlib.import_module(module_name)
        except ImportError:
            continue
        *classes, name = attribute.split(".")
        for cls in classes:
            owner = getattr(owner, cls, None)
        original = getattr(owner, name, None)
        if original is None:
            continue
        wrapped = sections.wrapper(original, label)
        setattr(owner, name, wrapped)
        if not classes:
            for module in list(sys.modules.values()):
                if getattr(module, "__name__", "").startswith(("crm_core", "workers", "fastapi")) \
                        and getattr(module, name, None) is original:
                    setattr(module, name, wrapped)
    sections.watch_sql(app.state.crm.session_factory.kw["bind"])
    return sections


@contextmanager
def inline_threads(sections: Sections) -> Iterator[None]:
    """Runs what FastAPI sends to worker threads inline, so that one profiler sees the whole request."""
    original = anyio.to_thread.run_sync

    async def run_sync(func: Callable[..., Any], *args: Any, **_kwargs: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
    sections.active = True
    try:
        yield
    finally:
        anyio.to_thread.run_sync = original
        sections.active = False


async def call(app: Any, path: str, token: str) -> tuple[int, bytes]:
    """One GET straight through ASGI: the status and the body."""
    route, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
        "path": route, "raw_path": route.encode(), "query_string": query.encode(), "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80), "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return int(sent[0]["status"]), b"".join(m.get("body", b"") for m in sent[1:])


async def timed(app: Any, paths: list[str], token: str) -> float:
    started = time.perf_counter()
    for path in paths:
        status, _ = await call(app, path, token)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}")
    return (time.perf_counter() - started) * 1000 / len(paths)


def scenarios(app: Any, token: str, ids: list[Any], requests: int) -> dict[str, list[str]]:
    """The same three scenarios as bench/api_read.py, as lists of paths (pages by following the cursors)."""
    chain: list[str] = []
    cursor = None
    for _ in range(min(requests, 50)):
        path = "/api/v1/contacts?limit=50" + (f"&cursor={cursor}" if cursor else "")
        status, body = asyncio.run(call(app, path, token))
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        chain.append(path)
        cursor = json.loads(body)["next_cursor"]
        if cursor is None:
            break
    rng = random.Random(7)
    return {
        "list, first page": ["/api/v1/contacts?limit=50"] * requests,
        "list, paging with cursors": (chain * (requests // len(chain) + 1))[:requests],
        "read by id": [f"/api/v1/contacts/{rng.choice(ids)}" for _ in range(requests)],
    }


def report(name: str, threaded: float, inline_runs: list[float], sections: Sections, requests: int) -> None:
    inline = statistics.median(inline_runs)
    print(f"\n== {name}: {threaded:.2f} ms/request with worker threads, {inline:.2f} ms inline "
          f"(threads cost {threaded - inline:+.2f} ms; medians of {len(inline_runs)} runs)")
    inline_seconds = sum(inline_runs) * requests / 1000
    sections.wall["framework (routing, dependencies, ASGI)"] = inline_seconds - sum(sections.wall.values())
    requests *= len(inline_runs)
    total = sum(sections.wall.values())
    print(f"   {'section':<40} {'ms/req':>7} {'share':>6} {'SQL ms':>7} {'queries':>7}")
    for section, wall in sorted(sections.wall.items(), key=lambda kv: -kv[1]):
        print(f"   {section:<40} {wall * 1000 / requests:7.3f} {wall / total:6.1%} "
              f"{sections.sql_time[section] * 1000 / requests:7.3f} {sections.sql_count[section] / requests:7.1f}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--contacts", type=int, default=100_000)
    p.add_argument("--requests", type=int, default=300, help="requests per scenario and measurement")
    p.add_argument("--database-url", default=DEFAULT_SERVER)
    p.add_argument("--cprofile", type=Path, help="write cProfile stats to FILE.<scenario>.prof and print the top")
    p.add_argument("--repeat", type=int, default=3, help="runs of each measurement (medians are shown)")
    p.add_argument("--show-sql", action="store_true", help="print the statements of one request per scenario")
    args = p.parse_args(argv)
    with dataset.fresh_database(args.database_url) as url, tempfile.TemporaryDirectory() as tmp:
        print(f"loading {args.contacts:,} contacts ...", flush=True)
        data = dataset.build(url, args.contacts, sample=1000)
        app = create_app(Settings(database_url=url, secret_key="benchmark-secret", data_dir=Path(tmp)))
        sections = instrument(app)
        try:
            for name, paths in scenarios(app, data.token, data.readable_ids, args.requests).items():
                asyncio.run(timed(app, paths[:30], data.token))  # warm caches, pool and statement cache
                # Alternate the two ways a few times; the sections add up over every inline run.
                threaded, inline = [], []
                sections.reset()
                for _ in range(args.repeat):
                    threaded.append(asyncio.run(timed(app, paths, data.token)))
                    with inline_threads(sections):
                        inline.append(asyncio.run(timed(app, paths, data.token)))
                report(name, statistics.median(threaded), inline, sections, len(paths))
                with inline_threads(sections):
                    if args.show_sql:
                        sections.statements.clear()
                        sections.recording = True
                        asyncio.run(timed(app, paths[:1], data.token))
                        sections.recording = False
                        print("   statements of one request:")
                        print("\n".join(f"     {s}" for s in sections.statements))
                    if args.cprofile:
                        profiler = cProfile.Profile()
                        profiler.enable()
                        asyncio.run(timed(app, paths, data.token))
                        profiler.disable()
                        slug = name.replace(", ", "-").replace(" ", "-")
                        out = args.cprofile.with_name(f"{args.cprofile.name}.{slug}.prof")
                        profiler.dump_stats(out)
                        print(f"   cProfile ({out}), top by own time:")
                        pstats.Stats(profiler).sort_stats("tottime").print_stats(18)
        finally:
            app.state.crm.session_factory.kw["bind"].dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
