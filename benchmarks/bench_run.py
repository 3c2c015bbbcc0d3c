"""Benchmark of `tradegraph run` on a whole recorded year, against a bare LangGraph graph.

    .venv/bin/python benchmarks/bench_run.py [--market PATH]

Prints: decisions/s end to end (process start to summary), the same for a bare LangGraph graph
with seven trivial nodes run in this process over the same number of candles, peak memory of the
run, time from process start to the first decision, and how long `tradegraph --help` takes.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TypedDict

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MARKET = ROOT.parent / "shared" / "markets" / "binance-2023" / "BTC_USDT-1h.csv.gz"
TRADEGRAPH = Path(sys.executable).parent / "tradegraph"


def bare_langgraph(cycles: int) -> float:
    """Decisions/s of a graph shaped like the decision cycle whose nodes do nothing."""
    from langgraph.graph import END, START, StateGraph

    class State(TypedDict, total=False):
        seq: int
        approved: bool

    graph = StateGraph(State)
    from graphs.decision import STEPS

    names = list(STEPS)
    for name in names:
        graph.add_node(name, lambda state: {"approved": False})
    graph.add_edge(START, "observe")
    for a, b in itertools.pairwise(names[: names.index("validate") + 1]):
        graph.add_edge(a, b)
    graph.add_conditional_edges(
        "validate", lambda s: "execute" if s["approved"] else "record", ["execute", "record"]
    )
    graph.add_edge("execute", "record")
    graph.add_edge("record", END)
    app = graph.compile()
    started = time.perf_counter()
    for seq in range(cycles):
        app.invoke({"seq": seq})
    return cycles / (time.perf_counter() - started)


def help_seconds(repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([str(TRADEGRAPH), "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
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
        ("bare LangGraph, 7 trivial nodes, invokes/s", f"{bare:,.0f}"),
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
