"""The evaluation harness on the largest dev recording, against a bare LangGraph graph.

    .venv/bin/python benchmarks/bench_eval.py [--market PATH] [--no-backtesting]

Runs `tradegraph eval` (a real process, offline analyst deciding every candle, memory on) on
binance-2020-12_2021-07-5m BTC/USDT (65,741 candles) and reads the figures from its
report.json. In the same run it times the peer, a bare LangGraph graph of the decision cycle's
shape whose nodes do nothing (half of the candles' worth before the eval, half after), and
prints both rates and their ratio: the machines are shared, so the ratio is the honest figure.
Then backtesting.py replays an SMA 20/50 crossover over the same candles, for scale.
Targets: at least 400 decisions/s end to end, and at least 0.4x the bare graph.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MARKET = ROOT.parent / "shared" / "markets" / "binance-2020-12_2021-07-5m" / "BTC_USDT-5m.csv.gz"


def run_eval(market: Path) -> tuple[float, dict[str, Any]]:
    """Wall seconds of `tradegraph eval` from process start to report, and its report."""
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        started = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "tradegraph"), "eval", "--market", str(market),
             "--out", tmp, "--quiet"],
            check=True,
        )  # fmt: skip
        wall = time.perf_counter() - started
        return wall, json.loads((Path(tmp) / "report.json").read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--market", type=Path, default=MARKET)
    parser.add_argument("--no-backtesting", action="store_true", help="skip the backtesting.py run")
    args = parser.parse_args()
    if not args.market.is_file():
        print(f"skipped: no recording at {args.market}")
        return
    from benchmarks.langgraph_peer import bare_langgraph_around
    from core.market.source import MarketRequest, open_market

    _, series = open_market(MarketRequest(spec=str(args.market)))
    bare, (wall, report) = bare_langgraph_around(len(series), lambda: run_eval(args.market))
    bars = report["market"]["bars"]
    loop = report["perf"]["decisions_per_second"]
    print(f"market {args.market.name}: {bars:,} candles")
    end_to_end = bars / wall
    print(f"tradegraph eval, process start to report: {end_to_end:,.0f} decisions/s ({wall:.1f} s)")
    print(f"tradegraph eval, decision loop (report perf): {loop:,.0f} decisions/s")
    print(f"bare LangGraph graph of the same shape, same run: {bare:,.0f} invokes/s")
    print(f"ratio to the bare graph: {end_to_end / bare:.2f}x end to end, {loop / bare:.2f}x loop")
    if args.no_backtesting:
        return
    from evals.parity import backtesting_trades

    bt_started = time.perf_counter()
    trades = backtesting_trades(series, fast=20, slow=50, commission=0.001)
    bt_wall = time.perf_counter() - bt_started
    print(
        f"backtesting.py SMA 20/50 over the same candles: {bars / bt_wall:,.0f} bars/s "
        f"({bt_wall:.1f} s, {len(trades)} trades)"
    )


if __name__ == "__main__":
    main()
