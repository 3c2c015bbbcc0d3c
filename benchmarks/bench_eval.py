"""The evaluation harness on the largest dev recording, with backtesting.py as the peer.

    .venv/bin/python benchmarks/bench_eval.py [--market PATH]

Runs `tradegraph eval` (a real process, offline analyst deciding every candle, memory on) on
binance-2020-12_2021-07-5m BTC/USDT (65,741 candles) and reads the figures from its
report.json; then, in the same run, backtesting.py replays an SMA 20/50 crossover over the same
candles. Target: at least 300 decisions/s end to end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MARKET = ROOT.parent / "shared" / "markets" / "binance-2020-12_2021-07-5m" / "BTC_USDT-5m.csv.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--market", type=Path, default=MARKET)
    args = parser.parse_args()
    if not args.market.is_file():
        print(f"skipped: no recording at {args.market}")
        return
    from core.market.source import MarketRequest, open_market
    from evals.parity import backtesting_trades

    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        started = time.perf_counter()
        subprocess.run(
            [str(Path(sys.executable).parent / "tradegraph"), "eval", "--market", str(args.market),
             "--out", tmp, "--quiet"],
            check=True,
        )  # fmt: skip
        wall = time.perf_counter() - started
        report = json.loads((Path(tmp) / "report.json").read_text())
    _, series = open_market(MarketRequest(spec=str(args.market)))
    bt_started = time.perf_counter()
    trades = backtesting_trades(series, fast=20, slow=50, commission=0.001)
    bt_wall = time.perf_counter() - bt_started
    bars = report["market"]["bars"]
    print(f"market {args.market.name}: {bars:,} candles")
    print(
        f"tradegraph eval, process start to report: {bars / wall:,.0f} decisions/s ({wall:.1f} s)"
    )
    loop = report["perf"]["decisions_per_second"]
    print(f"tradegraph eval, decision loop (report perf): {loop:,.0f} decisions/s")
    print(
        f"backtesting.py SMA 20/50 over the same candles: {bars / bt_wall:,.0f} bars/s "
        f"({bt_wall:.1f} s, {len(trades)} trades)"
    )


if __name__ == "__main__":
    main()
