"""Vector memory on the hot path: batched trace writes, and recall latency at 10k and 100k.

    .venv/bin/python benchmarks/bench_memory.py [--traces 5000] [--batch 256] [--queries 2000]

Trace writes: real traces of a synthetic run's shape are sealed onto the chain and written to
a fresh embedded chromadb store in batches through `TraceStore` (headlines embedded with the
default wordllama embedder, the full trace in the metadata, the run's head record updated),
and the script prints traces per second, with the wordllama embedding's share. Recall: a
`SituationMemory` holding N situations (8-dimension vectors drawn from a seeded normal, each
with three horizons' outcomes) answers `--queries` top-5 recalls; p50 and p95 per recall.
Targets: at least 500 traces/s; recall p95 at most 10 ms at 100,000 situations.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.types import Trace
from memory.embeddings import text_embedder
from memory.situations import SituationMemory
from memory.store import open_chroma, vector_collection
from memory.traces import TraceStore, headline

DIM = 8


def sample_trace(seq: int) -> Trace:
    """A trace as large as a real offline cycle's: full features, a thesis, latencies."""
    features = {
        "ts": seq, "close": 100.0 + seq % 17, "ready": True, "return_1": 0.001,
        "return_24": -0.012, "rsi_14": 48.2, "ema_fast": 100.1, "ema_slow": 99.7,
        "atr_14": 1.2, "adx_14": 23.4, "macd_hist": 0.02, "bb_position": 0.4,
        "volatility": 0.61, "volume_z": 0.3, "regime": "range",
    }  # fmt: skip
    thesis = (
        "[contrarian, range regime; memory: contrarian +0.41% over 5 similar] contrarian: "
        f"stand aside: not oversold: RSI {40 + seq % 20} (wants <= 35), Bollinger position 0.40"
    )
    return Trace(
        run_id="bench",
        seq=seq,
        ts=1_700_000_000_000 + seq * 3_600_000,
        symbol="BTC/USDT",
        market_source="bench",
        inputs_hash=f"{seq:016x}",
        features=features,
        recalled=tuple(f"abc:{seq - i}" for i in range(5)),
        analyst="offline",
        prompt_version="offline-personas@1",
        proposal={"action": "HOLD", "symbol": "BTC/USDT", "confidence": 0.0, "thesis": thesis},
        verdict="hold",
        trading_state="ACTIVE",
        equity=10_000.0 + seq,
        latency_ms={"observe": 0.2, "features": 0.25, "recall": 0.1, "analyze": 0.03},
    )


def bench_traces(n: int, batch: int) -> float:
    embedder = text_embedder("wordllama")
    traces = [sample_trace(i) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        client = open_chroma(Path(tmp))
        kind = f"{embedder.name}-{embedder.dim}"
        store = TraceStore(
            vector_collection(client, "traces", embedding=kind),
            "bench",
            embedder=embedder,
            runs=vector_collection(client, "trace_runs", embedding="none-1"),
            batch_size=batch,
        )
        started = time.perf_counter()
        for trace in traces:
            store.append(trace)
        store.flush()
        wall = time.perf_counter() - started
    embed_started = time.perf_counter()
    embedder.embed([headline(t) for t in traces])
    embed = time.perf_counter() - embed_started
    print(
        f"trace writes: {n:,} traces in batches of {batch}: {n / wall:,.0f} traces/s "
        f"({wall / n * 1000:.2f} ms each; embedding the headlines alone {n / embed:,.0f}/s)"
    )
    return n / wall


def bench_recall(size: int, queries: int, rng: np.random.Generator) -> tuple[float, float]:
    memory = SituationMemory(None, horizons=(1,))
    vectors = rng.normal(size=(size + queries, DIM))
    for i in range(size):
        memory.remember(id=f"s{i}", ts=i, vector=vectors[i].tolist(), close=100.0, bars=i)
        memory.observe(bars=i + 1, close=100.5, low=99.5, now_ms=i + 1)
    assert len(memory) == size
    timings = []
    for q in vectors[size:]:
        query = q.tolist()
        started = time.perf_counter_ns()
        memory.recall(query, 5)
        timings.append((time.perf_counter_ns() - started) / 1e6)
    p50 = statistics.median(timings)
    p95 = statistics.quantiles(timings, n=100)[94]
    print(f"recall top-5 among {size:>7,} situations: p50 {p50:.3f} ms, p95 {p95:.3f} ms")
    return p50, p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    bench_traces(args.traces, args.batch)
    rng = np.random.default_rng(7)
    for size in (10_000, 100_000):
        bench_recall(size, args.queries, rng)


if __name__ == "__main__":
    main()
