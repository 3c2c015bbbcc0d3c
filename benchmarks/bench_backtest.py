"""The vectorized moving-average-crossover backtest on every 5m recording, against its peers.

    .venv/bin/python benchmarks/bench_backtest.py [--markets DIR] [--repeats 7]
        [--peer-candles N] [--no-vectorbt]

For each symbol of each 5m recording in the manifest, times, on the same candles in the same
run (the machines are shared: the ratios are the honest figures):
- ours: `MA_CROSSOVER.want` (two TA-Lib SMAs) then `tools.vector_backtest.trade_signal` (fills
  at the next open, the paper broker's costs, the equity curve): median of `--repeats`;
- backtesting.py 0.6.6: the same crossover as `evals.parity.backtesting_trades` runs it
  (DataFrame, `Backtest(...).run()`, its stats and trades), once: it is slow and steady;
- vectorbt: the same signal shifted to its fill bar, `Portfolio.from_signals` at the open with
  the same fee, and the equity (`value()`). Its first call compiles numba code: that call is
  printed apart; the per-file figure is the median of the warm calls.
Candles/s is candles over seconds per run; the totals are all candles over all medians.
Sanity lines: our round trips (entry and exit bars, zero slippage, the same fee) against
backtesting.py's, and our final return against vectorbt's (vectorbt does not round quantities
to 8 decimals, so the two agree closely, not to the bit).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import talib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py's progress bar, per run
warnings.filterwarnings("ignore", message="Some trades remain open")  # closed trades compared

from core.market.series import CandleSeries  # noqa: E402
from core.market.source import MarketRequest, open_market  # noqa: E402
from tools.strategies.ma_crossover import MA_CROSSOVER, MaCrossoverParams  # noqa: E402
from tools.vector_backtest import BacktestCosts, trade_signal  # noqa: E402

MARKETS = ROOT.parent / "shared" / "markets"
PARAMS = MaCrossoverParams(fast=20, slow=50)
COSTS = BacktestCosts()
NO_SLIPPAGE = BacktestCosts(slippage_bps=0.0)


@dataclass(frozen=True)
class Seconds:
    """Seconds one file took: ours and vectorbt per run (median), backtesting.py once."""

    candles: int
    ours: float
    backtesting_candles: int
    backtesting: float
    vectorbt: float | None


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def ours(series: CandleSeries) -> None:
    trade_signal(series, MA_CROSSOVER.want(series, PARAMS), COSTS)


TIE = 1e-12
"""A decision where the two averages differ by less than this fraction of the slow one is a
tie: TA-Lib's running sums and pandas' rolling means round it either way."""


def differing_trips(
    series: CandleSeries, ours: list[tuple[int, int]], theirs: list[tuple[int, int]]
) -> tuple[int, int]:
    """(round trips that differ, those of them decided at a tie of the two averages)."""
    close = np.ascontiguousarray(series.close)
    gap = np.abs(talib.SMA(close, PARAMS.fast) - talib.SMA(close, PARAMS.slow))
    tied = gap < TIE * talib.SMA(close, PARAMS.slow)
    differ = ties = 0
    for mine, other in zip(ours, theirs, strict=False):
        if mine != other:
            differ += 1
            decided = [min(a, b) - 1 for a, b in zip(mine, other, strict=True) if a != b]
            ties += all(tied[bar] for bar in decided)
    return differ + abs(len(ours) - len(theirs)), ties


def recordings_at_5m(markets: Path) -> list[tuple[str, str]]:
    """(recording, symbol) of every 5m file the manifest lists."""
    manifest = json.loads((markets / "manifest.json").read_text())
    found = []
    for recording in manifest["recordings"]:
        for entry in recording["files"]:
            name = Path(entry["file"]).name
            if name.endswith("-5m.csv.gz"):
                symbol = name.removesuffix("-5m.csv.gz").replace("_", "/")
                found.append((recording["recording"], symbol))
    return found


def vectorbt_runner(vbt: Any, series: CandleSeries) -> Callable[[], float]:
    """One vectorbt backtest of the crossover, filled as ours: the signal known at close t
    trades at open t+1. Returns the final return."""

    def run() -> float:
        want = MA_CROSSOVER.want(series, PARAMS)
        held = np.zeros_like(want)
        held[1:] = want[:-1]
        before = np.concatenate(([False], held[:-1]))
        portfolio = vbt.Portfolio.from_signals(
            series.close,
            held & ~before,
            before & ~held,
            price=series.open,
            fees=COSTS.fee_rate,
            init_cash=COSTS.initial_cash,
        )
        value = np.asarray(portfolio.value())
        return float(value[-1] / COSTS.initial_cash - 1.0)

    return run


def load_vectorbt() -> Any:
    started = time.perf_counter()
    try:
        import vectorbt as vbt
    except Exception as exc:  # any failure to import is reported, and the peer left out
        print(f"vectorbt left out: it does not import here ({type(exc).__name__}: {exc})")
        return None
    print(f"vectorbt {vbt.__version__} imported in {time.perf_counter() - started:.1f} s")
    return vbt


def bench_file(
    markets: Path, recording: str, symbol: str, args: argparse.Namespace, vbt: Any
) -> Seconds:
    from evals.parity import backtesting_trades

    _, series = open_market(
        MarketRequest(spec=str(markets / recording), symbol=symbol, timeframe="5m")
    )
    n = len(series)
    ours_seconds = median_seconds(lambda: ours(series), args.repeats)
    peer = series if args.peer_candles is None else series.window(0, args.peer_candles)
    started = time.perf_counter()
    trips = backtesting_trades(
        peer, fast=PARAMS.fast, slow=PARAMS.slow, commission=NO_SLIPPAGE.fee_rate
    )
    backtesting_seconds = time.perf_counter() - started
    run = trade_signal(peer, MA_CROSSOVER.want(peer, PARAMS), NO_SLIPPAGE)
    ours_trips = list(zip(run.entries[: run.exits.size].tolist(), run.exits.tolist(), strict=True))
    theirs = [(t.entry_bar, t.exit_bar) for t in trips]
    line = f"  {recording} {symbol}: {n:,} candles, ours {n / ours_seconds:,.0f}/s"
    line += f", backtesting.py {len(peer) / backtesting_seconds:,.0f}/s"
    if len(peer) < n:
        line += f" (first {len(peer):,} candles)"
    differ, ties = differing_trips(peer, ours_trips, theirs)
    sanity = (
        f"    round trips ours {len(ours_trips)}, backtesting.py {len(theirs)}:"
        f" {len(ours_trips) - differ} with the same entry and exit bars, {differ} differ"
        f" ({ties} of them decided at a tie of the two averages)"
    )
    vectorbt_seconds = None
    if vbt is not None:
        vbt_run = vectorbt_runner(vbt, series)
        vectorbt_seconds = median_seconds(vbt_run, args.repeats)
        line += f", vectorbt {n / vectorbt_seconds:,.0f}/s"
        whole = trade_signal(series, MA_CROSSOVER.want(series, PARAMS), NO_SLIPPAGE)
        mine = whole.equity[-1] / whole.equity[0] - 1.0
        sanity += (
            f"\n    final return at zero slippage: ours {mine:+.6%}, vectorbt {vbt_run():+.6%}"
        )
    print(line)
    print(sanity)
    return Seconds(n, ours_seconds, len(peer), backtesting_seconds, vectorbt_seconds)


def warm_up_vectorbt(vbt: Any, markets: Path, recording: str, symbol: str) -> None:
    _, series = open_market(
        MarketRequest(spec=str(markets / recording), symbol=symbol, timeframe="5m")
    )
    started = time.perf_counter()
    vectorbt_runner(vbt, series)()
    print(
        f"vectorbt first call (numba compiles) on {recording} {symbol}:"
        f" {time.perf_counter() - started:.1f} s, not in the figures below"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=Path, default=MARKETS)
    parser.add_argument("--repeats", type=int, default=7, help="timed runs of ours and vectorbt")
    parser.add_argument(
        "--peer-candles", type=int, default=None, help="backtesting.py on the first N only"
    )
    parser.add_argument("--no-vectorbt", action="store_true")
    args = parser.parse_args()
    if not (args.markets / "manifest.json").is_file():
        print(f"skipped: no recordings at {args.markets}")
        return
    files = recordings_at_5m(args.markets)
    vbt = None if args.no_vectorbt else load_vectorbt()
    if vbt is not None:
        warm_up_vectorbt(vbt, args.markets, *files[0])
    print(f"ma_crossover fast {PARAMS.fast} slow {PARAMS.slow}, fee {COSTS.fee_rate}:")
    results = [
        bench_file(args.markets, recording, symbol, args, vbt) for recording, symbol in files
    ]
    total = sum(f.candles for f in results)
    ours_rate = total / sum(f.ours for f in results)
    bt_rate = sum(f.backtesting_candles for f in results) / sum(f.backtesting for f in results)
    print(f"all {len(results)} files, {total:,} candles (median of {args.repeats} runs each):")
    print(f"  ours {ours_rate:,.0f} candles/s (target 2,000,000: {ours_rate >= 2e6})")
    print(f"  backtesting.py {bt_rate:,.0f} candles/s: ours is {ours_rate / bt_rate:,.0f}x")
    vectorbt = [f.vectorbt for f in results if f.vectorbt is not None]
    if vectorbt:
        vbt_rate = total / sum(vectorbt)
        print(f"  vectorbt (warm) {vbt_rate:,.0f} candles/s: ours is {ours_rate / vbt_rate:.2f}x")


if __name__ == "__main__":
    main()
