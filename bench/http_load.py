"""A closed-loop HTTP/1.1 load generator, run in its own process by bench/api_read.py.

Reads a job as JSON on standard input, prints the measurement as JSON on standard output:
  {"host", "port", "paths": [...], "mode": "cycle" | "walk" | "random", "headers": {...},
   "concurrency", "warmup", "duration", "seed"}
Each of `concurrency` keep-alive connections sends its next request as soon as the previous answer is read.
"walk" gives each connection its own starting point in `paths` (a chain of pages) and moves along it;
"random" picks a path at random per request; "cycle" goes round `paths` from the start.

Written on bare asyncio streams rather than httpx because, on a small machine, the client shares the CPUs
with the server it measures: httpx spends several times more CPU per request than this, which would cap the
baseline and flatter the ratio. Its own CPU per request is reported, so one can see how much it took."""

import asyncio
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any


class Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        headers = head.lower()
        at = headers.find(b"\r\ncontent-length:")
        if at >= 0:
            end = headers.index(b"\r\n", at + 2)
            body = await self.reader.readexactly(int(headers[at + 17:end]))
        elif b"transfer-encoding: chunked" in headers:
            body = await self._chunked()
        else:
            raise RuntimeError(f"answer without a length: {head[:200]!r}")
        if b"\r\nconnection: close" in headers:
            await self.close()
        return status, body

    async def _chunked(self) -> bytes:
        assert self.reader is not None
        parts = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size + 2))
            parts[-1] = parts[-1][:-2]

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


def _requests(job: dict[str, Any], client: int, rng: random.Random) -> Iterator[bytes]:
    head = "".join(f"{k}: {v}\r\n" for k, v in job["headers"].items())
    raw = [f"GET {p} HTTP/1.1\r\nHost: {job['host']}:{job['port']}\r\n{head}\r\n".encode() for p in job["paths"]]
    if job["mode"] == "random":
        while True:
            yield rng.choice(raw)
    start = client * len(raw) // job["concurrency"] if job["mode"] == "walk" else 0
    while True:
        yield from raw[start:]
        yield from raw[:start]


async def run(job: dict[str, Any]) -> dict[str, Any]:
    begin = time.perf_counter()
    measure_from = begin + job["warmup"]
    stop_at = measure_from + job["duration"]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    cpu: dict[str, float] = {}

    async def client(number: int) -> None:
        rng = random.Random(job.get("seed", 0) * 1000 + number)
        conn = Connection(job["host"], job["port"])
        for raw in _requests(job, number, rng):
            started = time.perf_counter()
            if started >= stop_at:
                break
            status, _ = await conn.request(raw)
            if started >= measure_from:
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1
        await conn.close()

    async def cpu_marks() -> None:
        await asyncio.sleep(job["warmup"])
        cpu["from"] = time.process_time()
        await asyncio.sleep(job["duration"])
        cpu["to"] = time.process_time()

    await asyncio.gather(cpu_marks(), *(client(i) for i in range(job["concurrency"])))
    return summarise(latencies, statuses, job["duration"], cpu["to"] - cpu["from"])


def summarise(latencies: list[float], statuses: Counter[int], seconds: float, client_cpu: float) -> dict[str, Any]:
    ordered = sorted(latencies)
    n = len(ordered)

    def pct(q: float) -> float:
        return ordered[min(n - 1, round(q * (n - 1)))] * 1000 if n else float("nan")

    return {
        "requests": n, "seconds": seconds, "rps": n / seconds,
        "p50_ms": pct(0.50), "p90_ms": pct(0.90), "p99_ms": pct(0.99), "max_ms": pct(1.0),
        "errors": sum(c for s, c in statuses.items() if s != 200),
        "statuses": {str(s): c for s, c in statuses.items()},
        "client_cpu_ms_per_request": client_cpu * 1000 / n if n else float("nan"),
    }


def main() -> None:
    job = json.load(sys.stdin)
    try:
        import uvloop  # the client should cost as little CPU as it can

        runner = uvloop.run
    except ImportError:
        runner = asyncio.run
    # The first line tells bench/api_read.py that the clock started, so it can time its CPU readings.
    print("started", flush=True)
    print(json.dumps(runner(run(job))))


if __name__ == "__main__":
    main()
