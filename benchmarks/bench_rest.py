"""The operator API under load: GET /v1/decisions and GET /v1/portfolio over 100,000 traces.

    .venv/bin/python benchmarks/bench_rest.py [--seconds 30] [--clients 50] [--traces 100000]

Builds a trace store once, cached under the system's temporary folder
(`tradegraph-bench-rest-N`; delete it to build again): a short real run on the synthetic
market trades the served account (its ledger, its positions), then `--traces` decisions are
written through the real trace store (`memory.traces.TraceStore`, hashing embedder, batches
of 1,000). Serves the real app (the read routers of `tradegraph serve`, the rate limit lifted:
one process is the 50 clients) under uvicorn on 127.0.0.1, in a process of its own, and runs
`--clients` asyncio clients over httpx for `--seconds`, each alternating GET
/v1/decisions?limit=50 and GET /v1/portfolio. Prints each endpoint's requests, p50 and p99 in
milliseconds (target: p99 <= 100 ms), and the first request's time (the decision index
read from the store).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from contextlib import closing
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents.stress import StressAnalyst
from api.server.app import create_app
from api.server.health_routes import health_router
from api.server.ops_routes import ops_router
from api.server.rate_limit import RateLimit
from api.server.serve import bind, serve_forever, url_of
from core.api_keys import open_api_keys
from core.backends import Storage
from core.market.source import MarketRequest, open_market
from core.settings import Settings
from core.types import Trace
from graphs.chat.service import ChatEngine
from graphs.session import SessionPlan, run_session
from memory.embeddings import text_embedder
from memory.session_stores import RUNS_EMBEDDING
from memory.store import open_chroma, release_chroma, vector_collection
from memory.traces import COLLECTION, RUNS_COLLECTION, TraceStore

ACCOUNT = "bench"
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
VERDICTS = (("HOLD", "hold"), ("BUY", "approved"), ("SELL", "denied"))
TARGET_P99_MS = 100.0
RUN_BARS = 300
"""The real run that trades the account first (its decisions count in the total too)."""
UNLIMITED = RateLimit(rate=1e6, burst=1_000_000)


def settings_for(data: Path) -> Settings:
    return Settings(data_dir=data, market="synthetic:7", memory={"embedding": "hashing"})


def sample_trace(run_id: str, seq: int) -> Trace:
    action, verdict = VERDICTS[seq % 3]
    return Trace(
        run_id=run_id,
        seq=seq,
        ts=1_700_000_000_000 + seq * 60_000,
        symbol=SYMBOLS[seq % len(SYMBOLS)],
        market_source="bench",
        inputs_hash=f"{seq:016x}",
        features={"ready": True, "close": 100.0 + seq % 17, "rsi_14": 40 + seq % 20},
        analyst="offline",
        proposal={
            "action": action,
            "symbol": SYMBOLS[seq % len(SYMBOLS)],
            "size_fraction": None if action == "HOLD" else 0.05,
            "confidence": 0.5,
            "thesis": f"bench decision {seq}: RSI {40 + seq % 20}, range regime",
        },
        verdict=verdict,
        refusals=("max_position: over the cap",) if verdict == "denied" else (),
        trading_state="ACTIVE",
        equity=10_000.0 + (seq % 500),
    )


def build_store(data: Path, traces: int) -> float:
    """A short real run trading the account (its ledger and positions), then `traces`
    decisions of another run written through the trace store; the seconds it took."""
    started = time.perf_counter()
    info, series = open_market(MarketRequest(spec="synthetic:5", bars=RUN_BARS))
    plan = SessionPlan(
        run_id="bench-account", info=info, series=series, settings=settings_for(data),
        data_dir=data, account=ACCOUNT,
    )  # fmt: skip
    run_session(plan, StressAnalyst())
    embedder = text_embedder("hashing")
    client = open_chroma(data)
    try:
        store = TraceStore(
            vector_collection(client, COLLECTION, embedding=f"{embedder.name}-{embedder.dim}"),
            "bench-run",
            embedder=embedder,
            runs=vector_collection(client, RUNS_COLLECTION, embedding=RUNS_EMBEDDING),
            batch_size=1_000,
        )
        for seq in range(traces):
            store.append(sample_trace("bench-run", seq))
        store.close()
    finally:
        release_chroma(client)
    return time.perf_counter() - started


def cached_store(traces: int) -> Path:
    data = Path(tempfile.gettempdir()) / f"tradegraph-bench-rest-{traces}"
    done = data / "built"
    if done.exists():
        print(f"store: {traces:,} traces cached in {data}")
        return data
    data.mkdir(parents=True, exist_ok=True)
    seconds = build_store(data, traces)
    done.write_text(f"{seconds:.1f}\n")
    print(f"store: {traces:,} traces written through TraceStore in {seconds:.1f} s ({data})")
    return data


def serve(data: Path, ready: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """The server's process: the read routers over the store, the rate limit lifted."""
    settings = settings_for(data)
    sock = bind("127.0.0.1", 0)
    with (
        closing(sock),
        ChatEngine(settings, account=ACCOUNT) as engine,
        closing(open_api_keys(Storage(data))) as keys,
    ):
        token = keys.create(f"bench-{time.time_ns()}", "viewer").token
        routers = [health_router(engine.desk), ops_router(engine.desk, keys, UNLIMITED)]
        ready.put((url_of(sock), token))
        serve_forever(create_app(engine, keys, routers=routers), sock, log_level="warning")


async def client_loop(url: str, token: str, until: float, timings: dict[str, list[float]]) -> None:
    paths = ("/v1/decisions?limit=50", "/v1/portfolio")
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": token}, timeout=30) as c:
        turn = 0
        while time.perf_counter() < until:
            path = paths[turn % 2]
            started = time.perf_counter()
            response = await c.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"{path}: {response.status_code} {response.text[:200]}")
            timings[path].append(elapsed)
            turn += 1


async def load(url: str, token: str, clients: int, seconds: float) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"/v1/decisions?limit=50": [], "/v1/portfolio": []}
    until = time.perf_counter() + seconds
    await asyncio.gather(*(client_loop(url, token, until, timings) for _ in range(clients)))
    return timings


def percentile(values: list[float], q: float) -> float:
    return (
        statistics.quantiles(values, n=100, method="inclusive")[q - 1]
        if len(values) > 1
        else values[0]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--traces", type=int, default=100_000)
    args = parser.parse_args()

    data = cached_store(args.traces)
    context = multiprocessing.get_context("spawn")
    ready = context.Queue()
    server = context.Process(target=serve, args=(data, ready), daemon=True)
    server.start()
    try:
        url, token = ready.get(timeout=120)
        with httpx.Client(base_url=url, headers={"X-API-Key": token}, timeout=300) as c:
            started = time.perf_counter()
            total = c.get("/v1/decisions", params={"limit": 1}).json()["total"]
            first = time.perf_counter() - started
        print(f"first request (index read from the store): {first:.2f} s; {total:,} decisions")
        timings = asyncio.run(load(url, token, args.clients, args.seconds))
    finally:
        server.terminate()
        server.join(10)
    print(f"{args.clients} clients for {args.seconds:g} s on 127.0.0.1:")
    for path, values in timings.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        verdict = "meets" if p99 <= TARGET_P99_MS else "misses"
        print(
            f"  GET {path}: {len(values):,} requests ({len(values) / args.seconds:,.0f}/s), "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms ({verdict} the {TARGET_P99_MS:g} ms target)"
        )


if __name__ == "__main__":
    main()
