"""The operator API under load: GET /v1/decisions and GET /v1/portfolio over 100,000 traces.

    .venv/bin/python benchmarks/bench_rest.py [--seconds 30] [--clients 50] [--traces 100000]
        [--load httpx|wrk] [--procs 2]

Builds a trace store once, cached under the system's temporary folder
(`tradegraph-bench-rest-N`; delete it to build again; `rest_store`): a short real run on the
synthetic market trades the served account (its ledger, its positions), then `--traces`
decisions are written through the real trace store. Serves the real app (the read routers of
`tradegraph serve`, the rate limit lifted: one key is all the clients) under uvicorn on
127.0.0.1, in a process of its own, and puts `--clients` clients on it for `--seconds`:

- `--load httpx` (the default): asyncio clients over httpx, split over `--procs` processes
  (which import nothing of the project's), each alternating GET /v1/decisions?limit=50 and
  GET /v1/portfolio; each client is connected before any is timed. Python clients on the
  same cores as the server take most of the CPU: the figures are theirs as much as the
  server's.
- `--load wrk`: Debian's `wrk` (`apt-get install wrk`; C, one thread for each route, half
  the connections on each), which leaves the CPU to the server: the server's own figures.

Prints each route's requests, p50 and p99 in milliseconds (target: p99 <= 100 ms), the
server's requests a second and CPU per request (its process's user and system time over
the run, from /proc), and the first request's time (the decision index read from the store).

    .venv/bin/python benchmarks/bench_rest.py --restart [--traces 100000]

A restart instead, on a copy of the store in a temporary folder of its own (its writer lock
and its cache its own, not the cached store's): the server started with no decision index
cache (cold: every trace read from the store), stopped once it wrote its cache
(DATA_DIR/cache/decision_index.json), and started again (warm); for each, the seconds from
the server process's start to /readyz answering and to the first GET /v1/decisions answered
(the index built or restored); then, in this process, a new `DecisionReader`'s first refresh
without the cache and with it, and how many traces it read from the store.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_P99_MS = 100.0


PATHS = ("/v1/decisions?limit=50", "/v1/portfolio")
WRK_LUA = """
token = os.getenv("BENCH_REST_KEY")
wrk.headers["X-API-Key"] = token
done = function(summary, latency, requests)
  io.write(string.format("BENCH %d %d %d %d %d\\n", summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""
"""Each wrk prints one line at its end: requests, non-2xx answers, socket errors, p50 and p99
in microseconds (the key comes from the environment: never on a command line)."""


@dataclass(frozen=True)
class Figures:
    requests: int
    p50_ms: float
    p99_ms: float


async def client_loop(
    client: httpx.AsyncClient, until: float, timings: dict[str, list[float]]
) -> None:
    turn = 0
    while time.time() < until:
        path = PATHS[turn % 2]
        started = time.perf_counter()
        response = await client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path}: {response.status_code} {response.text[:200]}")
        timings[path].append(elapsed)
        turn += 1


async def load(url: str, token: str, clients: int, seconds: float) -> dict[str, list[float]]:
    """`clients` clients, each connected (one request of each route, not timed) before any
    is timed: building a client takes tens of milliseconds of the loop every client shares,
    which the first requests of the others would otherwise count as waiting for the server."""
    timings: dict[str, list[float]] = {path: [] for path in PATHS}
    async with AsyncExitStack() as stack:
        made = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=url, headers={"X-API-Key": token}, timeout=30)
            )
            for _ in range(clients)
        ]
        for client in made:
            for path in PATHS:
                (await client.get(path)).raise_for_status()
        until = time.time() + seconds
        await asyncio.gather(*(client_loop(client, until, timings) for client in made))
    return timings


def client_process(
    url: str, token: str, clients: int, seconds: float, ready: Any, go: Any, out: Any
) -> None:
    """One process of httpx clients: once every process is ready, they start together."""
    ready.put(True)
    go.wait()
    out.put(asyncio.run(load(url, token, clients, seconds)))


def httpx_load(url: str, token: str, args: argparse.Namespace) -> dict[str, list[float]]:
    """`--clients` httpx clients split over `--procs` processes, their timings merged."""
    context = multiprocessing.get_context("spawn")
    ready, go, out = context.Queue(), context.Event(), context.Queue()
    shares = [
        args.clients // args.procs + (i < args.clients % args.procs) for i in range(args.procs)
    ]
    procs = [
        context.Process(target=client_process, args=(url, token, n, args.seconds, ready, go, out))
        for n in shares
        if n
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    go.set()
    merged: dict[str, list[float]] = {path: [] for path in PATHS}
    for _ in procs:
        for path, values in out.get(timeout=args.seconds + 120).items():
            merged[path].extend(values)
    for proc in procs:
        proc.join(10)
    return merged


def wrk_load(url: str, token: str, args: argparse.Namespace) -> dict[str, Figures]:
    """Debian's `wrk` (C, one thread per route): half the connections on each route (the odd
    one on the decisions)."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("--load wrk needs wrk: `apt-get install wrk`, or use --load httpx")
    script = Path(tempfile.mkdtemp()) / "bench_rest.lua"
    script.write_text(WRK_LUA)
    env = {**os.environ, "BENCH_REST_KEY": token}
    runs = {
        path: subprocess.Popen(
            [
                wrk,
                "-t1",
                f"-c{args.clients // 2 + (path == PATHS[0]) * (args.clients % 2)}",
                f"-d{args.seconds:g}s",
                "--timeout",
                "30s",
                "-s",
                str(script),
                url + path,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        for path in PATHS
    }
    figures = {}
    for path, run in runs.items():
        output, _ = run.communicate(timeout=args.seconds + 60)
        found = [line.split() for line in output.splitlines() if line.startswith("BENCH ")]
        if not found:
            raise SystemExit(f"wrk on {path} printed no figures: {output.strip()[:300]}")
        requests, bad, broken, p50, p99 = (int(v) for v in found[-1][1:])
        if bad or broken:
            raise SystemExit(f"wrk on {path}: {bad} answers not 2xx, {broken} socket errors")
        figures[path] = Figures(requests, p50 / 1000, p99 / 1000)
    return figures


def cache_written(path: Path, timeout_s: float = 60.0) -> float:
    """Seconds until the server wrote its decision index cache (`path`), a few seconds after
    the index was built: writing it holds the server's interpreter for a moment, once after
    each change of the index, which the steady load measured here is not about."""
    started = time.perf_counter()
    while not path.exists() and time.perf_counter() - started < timeout_s:
        time.sleep(0.1)
    return time.perf_counter() - started


def percentile(values: list[float], q: int) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def cpu_seconds(pid: int) -> float:
    """User and system CPU the process `pid` has used (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def restart(store: Path) -> None:
    """A start without the index cache, then one with the cache the first one wrote."""
    from memory.decision_cache import cache_file

    with tempfile.TemporaryDirectory(prefix="bench-rest-restart-") as scratch:
        data = Path(scratch) / "data"
        shutil.copytree(store, data, ignore=shutil.ignore_patterns("writer.lock", "cache"))
        for name, written in (("cold (no cache)", cache_file(data)), ("warm (cache)", None)):
            readyz, first, total = start_once(data, written)
            print(
                f"{name}: /readyz at {readyz:.2f} s, first GET /v1/decisions at {first:.2f} s "
                f"from the server process's start ({first - readyz:.2f} s after /readyz; "
                f"{total:,} decisions)"
            )
        cache_file(data).unlink()
        for name in ("cold (no cache)", "warm (cache)"):
            seconds, read = first_refresh(data)
            print(
                f"in process, {name}: the reader's first refresh (store opened, cache loaded, "
                f"caught up) {seconds:.2f} s, {read:,} traces read from the store"
            )


def first_refresh(data: Path) -> tuple[float, int]:
    """Seconds for a new `DecisionReader`'s first refresh, and the traces it read; closing it
    writes its cache."""
    from benchmarks.rest_store import ACCOUNT, settings_for
    from graphs.chat.desk import ChatDesk
    from graphs.chat.desk_decisions import DecisionReader

    reader = DecisionReader(ChatDesk(settings_for(data), account=ACCOUNT))
    try:
        started = time.perf_counter()
        reader.refreshed()
        return time.perf_counter() - started, reader.index.records_read
    finally:
        reader.close()


@contextmanager
def server_process(data: Path) -> Iterator[tuple[str, str, int]]:
    """The store at `data` served by a process of its own (spawned: it inherits nothing of
    this one), with its URL, a key and its pid; stopped on leaving."""
    from benchmarks.rest_store import serve

    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    server = context.Process(target=serve, args=(data, ready), daemon=True)
    server.start()
    try:
        url, token = ready.get(timeout=120)
        assert server.pid is not None
        yield url, token, server.pid
    finally:
        server.terminate()
        server.join(10)


def start_once(data: Path, written: Path | None) -> tuple[float, float, int]:
    """Seconds from the server process's start to /readyz and to the first decisions answer;
    the server stopped once `written` exists (the cache it writes after its first read)."""
    started = time.perf_counter()
    with server_process(data) as (url, token, _):
        with httpx.Client(base_url=url, headers={"X-API-Key": token}, timeout=300) as c:
            while c.get("/readyz").status_code != 200:
                time.sleep(0.01)
            readyz = time.perf_counter() - started
            total = c.get("/v1/decisions", params={"limit": 1}).json()["total"]
            first = time.perf_counter() - started
        deadline = time.monotonic() + 120
        while written is not None and not written.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    return readyz, first, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--traces", type=int, default=100_000)
    parser.add_argument("--load", choices=("httpx", "wrk"), default="httpx")
    parser.add_argument("--procs", type=int, default=2, help="httpx client processes")
    parser.add_argument("--restart", action="store_true", help="cold and warm start times")
    args = parser.parse_args()
    if args.clients < 1 or args.procs < 1 or args.seconds <= 0:
        raise SystemExit("--clients and --procs take 1 or more, --seconds more than 0")
    if args.load == "wrk" and args.clients < 2:
        raise SystemExit("--load wrk puts the clients on the two routes: give --clients 2 or more")

    from benchmarks.rest_store import cached_store

    data = cached_store(args.traces)
    if args.restart:
        restart(data)
        return
    from memory.decision_cache import cache_file

    cache_file(data).unlink(missing_ok=True)  # the first request's figure: the index read whole
    with server_process(data) as (url, token, pid):
        with httpx.Client(base_url=url, headers={"X-API-Key": token}, timeout=300) as c:
            started = time.perf_counter()
            total = c.get("/v1/decisions", params={"limit": 1}).json()["total"]
            first = time.perf_counter() - started
        print(f"first request (index read from the store): {first:.2f} s; {total:,} decisions")
        print(f"index cache written {cache_written(cache_file(data)):.1f} s after it")
        cpu_before = cpu_seconds(pid)
        if args.load == "wrk":
            figures = wrk_load(url, token, args)
        else:
            figures = {
                path: Figures(len(values), percentile(values, 50), percentile(values, 99))
                for path, values in httpx_load(url, token, args).items()
            }
        cpu = cpu_seconds(pid) - cpu_before
    how = "wrk" if args.load == "wrk" else f"httpx in {args.procs} process(es)"
    print(f"{args.clients} clients ({how}) for {args.seconds:g} s on 127.0.0.1:")
    for path, found in figures.items():
        verdict = "meets" if found.p99_ms <= TARGET_P99_MS else "misses"
        print(
            f"  GET {path}: {found.requests:,} requests ({found.requests / args.seconds:,.0f}/s), "
            f"p50 {found.p50_ms:.1f} ms, p99 {found.p99_ms:.1f} ms "
            f"({verdict} the {TARGET_P99_MS:g} ms target)"
        )
    served = sum(found.requests for found in figures.values())
    print(
        f"  the server: {served / args.seconds:,.0f} requests a second, "
        f"{cpu / max(served, 1) * 1000:.2f} ms of CPU per request"
    )


if __name__ == "__main__":
    main()
