"""Benchmark of `tradegraph run` on a whole recorded year, against a bare LangGraph graph.

    .venv/bin/python benchmarks/bench_run.py [--market PATH]

Prints: decisions/s end to end (process start to summary), the same for a bare LangGraph graph
of the decision cycle's shape (nodes that do nothing) run in this process over the same number
of candles, peak memory of the run, time from process start to the first decision, and how long
`tradegraph --help` takes.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_MARKET = ROOT.parent / "shared" / "markets" / "binance-2023" / "BTC_USDT-1h.csv.gz"
TRADEGRAPH = Path(sys.executable).parent / "tradegraph"


def help_seconds(repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([str(TRADEGRAPH), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    from benchmarks.langgraph_peer import bare_langgraph

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--market", type=Path, default=DEFAULT_MARKET)
    args = parser.parse_args()
    if not args.market.exists():
        sys.exit(f"no market at {args.market}: pass --market PATH (../shared/markets is absent?)")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        started = time.perf_counter()
        subprocess.run(
            [
                str(TRADEGRAPH),
                "run",
                "--market",
                str(args.market),
                "--json",
                str(out),
                "--data-dir",
                tmp,
                "--quiet",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wall = time.perf_counter() - started
        summary = json.loads(out.read_text())
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    decisions = summary["decisions"]
    bare = bare_langgraph(decisions)
    rows = [
        ("market", f"{args.market.name} ({decisions:,} candles)"),
        ("tradegraph run, decisions/s (process start to summary)", f"{decisions / wall:,.0f}"),
        (
            "tradegraph run, decisions/s (decision loop, from summary)",
            f"{summary['perf']['decisions_per_second']:,.0f}",
        ),
        ("bare LangGraph graph of the same shape, invokes/s", f"{bare:,.0f}"),
        ("ratio to the bare graph (process start to summary)", f"{decisions / wall / bare:.2f}x"),
        ("peak memory of the run (MB)", f"{peak_mb:,.0f}"),
        ("time to first decision (s)", f"{summary['perf']['first_decision_seconds']:.2f}"),
        ("wall time of the run (s)", f"{wall:.1f}"),
        ("tradegraph --help (s, median of 5)", f"{help_seconds():.2f}"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main()
