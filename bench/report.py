"""Machine facts and the writing of one benchmark's section of docs/benchmarks.md.

Each benchmark owns the text between its two markers `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`;
writing replaces that text only, so that every benchmark can add and refresh its own section."""

import os
import platform
import re
import shlex
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

DOC_HEADER = """# Benchmarks

Figures measured on the machine named in each section, by the script named there. Each section is
rewritten by its script (`--output docs/benchmarks.md`); the text outside the markers is left alone.
Absolute numbers depend on the machine: compare ratios measured in the same run.
"""
PACKAGES = ("fastapi", "starlette", "pydantic", "sqlalchemy", "psycopg", "uvicorn", "uvloop", "httptools")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def machine_facts(database_url: str) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu_model(),
        "nproc": os.cpu_count(),
        "memory_gib": round(_mem_total_kib() / 1024 / 1024, 1),
        "load_average": load_average(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "database": _database_version(database_url),
        "packages": {name: _version(name) for name in PACKAGES},
        "commit": _git_commit(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mem_total_kib() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _database_version(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                return "PostgreSQL " + str(conn.execute(text("SHOW server_version")).scalar())
            return f"{engine.dialect.name} {conn.execute(text('select sqlite_version()')).scalar()}"
    finally:
        engine.dispose()


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


def _git_commit() -> str:
    repo = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=repo,
                               capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    files = [line[3:] for line in dirty.splitlines() if line.strip()]
    if not files:
        return head
    shown = ", ".join(files[:6]) + (f" and {len(files) - 6} more" if len(files) > 6 else "")
    return f"{head} with uncommitted changes to {shown}"


def facts_lines(facts: dict[str, Any]) -> list[str]:
    packages = ", ".join(f"{k} {v}" for k, v in facts["packages"].items())
    return [
        f"- Date: {facts['date']}; code at commit {facts['commit']}",
        f"- Machine: {facts['nproc']} CPUs ({facts['cpu']}), {facts['memory_gib']} GiB memory, {facts['os']}; "
        f"load average (1, 5, 15 min) at start {facts['load_average']}"
        + (f", at end {facts['load_average_end']}" if facts.get("load_average_end") else ""),
        f"- Python {facts['python']}, {facts['database']}",
        f"- Packages: {packages}",
    ]


def command_line(script: str, argv: list[str]) -> str:
    """How the figures were made, for the docs: the command, a --database-url's password hidden."""
    shown = list(argv)
    for i, arg in enumerate(shown[:-1]):
        if arg == "--database-url":  # never write a password into the docs
            shown[i + 1] = make_url(shown[i + 1]).render_as_string(hide_password=True)
    return shlex.join([".venv/bin/python", script, *shown])


def table(header: list[str], rows: list[list[str]], align: str = "") -> list[str]:
    """A Markdown table; `align` has one letter per column, l or r (default: first l, others r)."""
    align = align or "l" + "r" * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    return ["| " + " | ".join(r) + " |" for r in (header, rule, *rows)]


def write_section(path: Path, name: str, body: str) -> None:
    """Replaces the section `name` of the Markdown file at `path` (appending it, or creating the file)."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    current = path.read_text() if path.exists() else DOC_HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(current):
        updated = pattern.sub(lambda _m: block, current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(updated)
