"""The store and the server of `bench_rest`: 100,000 traces written once through the real
trace store, and the read routers served over them in a process of their own. Apart from the
load generator, whose processes import none of this (seconds of imports, and CPU the clients
would take from the measure)."""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from contextlib import closing
from pathlib import Path

from agents.stress import StressAnalyst
from api.server.app import create_app
from api.server.health_routes import health_router
from api.server.ops_routes import ops_router
from api.server.rate_limit import RateLimit
from api.server.routers import service_routers
from api.server.serve import bind, serve_forever, url_of
from core.api_keys import open_api_keys
from core.backends import Storage
from core.market.source import MarketRequest, open_market
from core.settings import Settings
from core.types import Trace
from graphs.chat.desk_decisions import DecisionReader
from graphs.chat.service import ChatEngine
from graphs.session import SessionPlan, run_session
from memory.embeddings import text_embedder
from memory.session_stores import RUNS_EMBEDDING
from memory.store import open_chroma, release_chroma, vector_collection
from memory.traces import COLLECTION, RUNS_COLLECTION, TraceStore

ACCOUNT = "bench"
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
VERDICTS = (("HOLD", "hold"), ("BUY", "approved"), ("SELL", "denied"))
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


def serve(data: Path, ready: multiprocessing.Queue, whole_app: bool = False) -> None:  # type: ignore[type-arg]
    """The server's process over the store, the rate limit lifted: the read routers for a
    viewer's key, or (`whole_app`) every router of `tradegraph serve`, the dashboard included,
    for an admin's key."""
    settings = settings_for(data)
    sock = bind("127.0.0.1", 0)
    role = "admin" if whole_app else "viewer"
    with (
        closing(sock),
        ChatEngine(settings, account=ACCOUNT) as engine,
        closing(open_api_keys(Storage(data))) as keys,
    ):
        token = keys.create(f"bench-{role}-{time.time_ns()}", role).token
        reader = DecisionReader(engine.desk)
        routers = (
            service_routers(engine, keys, rate_limit=UNLIMITED)
            if whole_app
            else [
                health_router(engine.desk, reader),
                ops_router(engine.desk, keys, UNLIMITED, shared=reader),
            ]
        )
        ready.put((url_of(sock), token))
        serve_forever(create_app(engine, keys, routers=routers), sock, log_level="warning")
