"""Ten-asset portfolio optimization, each method: median and 95th percentile in ms.

    .venv/bin/python benchmarks/bench_portfolio_optimize.py [--runs 200] [--lookback 2000]

The recordings hold at most six symbols of one timeframe, so the ten assets are the five real
1h series of binance-2020-09_2021-10 (BTC, ETH, SOL, BNB, XRP against USDT) plus five
bootstrapped ones: each real series' returns resampled in blocks of 24 candles (its own seed),
which keeps each asset's distribution and daily rhythm but not its ties to the others. One run
is a whole `tools.portfolio.optimize_portfolio` call over the last `--lookback` common candles:
returns, the Ledoit-Wolf covariance, the solver and the figures. Timed with the default caps
(50% an asset) and with tight ones (15% an asset, which binds and, for risk parity, adds the
capped least-squares pass). Target: at most 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MARKET = ROOT.parent / "shared" / "markets" / "binance-2020-09_2021-10"
REAL = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT")
BLOCK = 24
TARGET_MS = 100.0

if TYPE_CHECKING:
    from tools.portfolio import PortfolioCaps, PortfolioRequest
    from tools.portfolio_data import AlignedCloses


def ten_assets(market: Path) -> AlignedCloses:
    """The five real series and five block-bootstrapped copies (see the module doc)."""
    from tools.portfolio_data import AlignedCloses
    from tools.portfolio_loading import load_aligned_closes

    real = load_aligned_closes(str(market), REAL, timeframe="1h")
    returns = real.closes[1:] / real.closes[:-1] - 1.0
    rng = np.random.default_rng(19)
    candles = returns.shape[0]
    copies = []
    for column in range(len(REAL)):
        starts = rng.integers(0, candles - BLOCK, size=candles // BLOCK + 1)
        picked = np.concatenate([np.arange(s, s + BLOCK) for s in starts])[:candles]
        copies.append(returns[picked, column])
    bootstrapped = np.vstack(
        [real.closes[0], real.closes[0] * np.cumprod(1 + np.array(copies).T, 0)]
    )
    return AlignedCloses(
        symbols=REAL + tuple(f"BOOT{i}/USDT" for i in range(len(REAL))),
        timeframe="1h",
        ts=real.ts,
        closes=np.hstack([real.closes, bootstrapped]),
    )


def time_method(
    closes: AlignedCloses, request: PortfolioRequest, caps: PortfolioCaps, runs: int
) -> list[float]:
    """Milliseconds of each of `runs` calls (after one untimed call)."""
    from tools.portfolio import optimize_portfolio

    optimize_portfolio(closes, request, caps)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        optimize_portfolio(closes, request, caps)
        times.append((time.perf_counter() - started) * 1000.0)
    return times


def main() -> None:
    from tools.portfolio import METHODS, PortfolioCaps, PortfolioRequest

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--lookback", type=int, default=2000)
    args = parser.parse_args()
    if not MARKET.is_dir():
        sys.exit(f"bench_portfolio_optimize: {MARKET} not found (the recordings sit in ../shared)")
    closes = ten_assets(MARKET)
    print(
        f"10 assets: {', '.join(REAL)} (real, {MARKET.name} 1h) + 5 block-bootstrapped copies; "
        f"last {args.lookback:,} of {closes.ts.size:,} common candles; {args.runs} runs each"
    )
    worst = 0.0
    for cap in (0.5, 0.15):
        caps = PortfolioCaps(max_weight=cap, max_gross=1.0)
        for method in METHODS:
            request = PortfolioRequest(method=method, lookback=args.lookback)
            times = time_method(closes, request, caps, args.runs)
            median = statistics.median(times)
            p95 = float(np.percentile(times, 95))
            worst = max(worst, median)
            print(f"  cap {cap:.0%}  {method:<14} median {median:6.2f} ms   p95 {p95:6.2f} ms")
    verdict = "within" if worst <= TARGET_MS else "OVER"
    print(f"slowest median {worst:.2f} ms: {verdict} the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
