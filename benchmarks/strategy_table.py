"""The ten strategies walked forward on every dev recording at 1h and 4h, against buy-and-hold.

    .venv/bin/python benchmarks/strategy_table.py [--timeframes 1h,4h] [--objective sharpe]

For each candle file and each strategy: a small grid around the defaults (`GRIDS`), best point
by `--objective` on each in-sample window (3/8 of the candles), traded on the next 1/8 it never
saw (about five folds, `tradegraph backtest --walk-forward`'s defaults), the out-of-sample
folds stitched into one account. Buy-and-hold is measured over the same out-of-sample candles,
with the same fills and costs (the paper broker's). Pairs trades each file against ETH/USDT
(BTC/USDT for ETH itself). Prints one markdown table of stitched out-of-sample returns (max
drawdown in brackets), a row per strategy and a column per file, then buy-and-hold.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.offline_vs_hold import DEFAULT_MARKETS, discover  # noqa: E402

GRIDS: dict[str, dict[str, tuple[object, ...]]] = {
    "ma_crossover": {"fast": (10, 20, 30), "slow": (50, 100, 200)},
    "zscore_reversion": {"window": (20, 50, 100), "entry_z": (1.5, 2.0, 2.5)},
    "momentum": {"lookback": (10, 20, 50), "threshold_pct": (0.0, 0.5, 2.0)},
    "pairs": {"window": (200, 500), "entry_z": (1.5, 2.0, 2.5)},
    "bollinger": {"period": (10, 20, 40), "nbdev": (1.5, 2.0, 2.5)},
    "rsi_divergence": {"lookback": (30, 50, 100), "rsi_level": (30.0, 40.0)},
    "macd_signal": {"fast": (8, 12), "slow": (26, 52), "above_zero": (False, True)},
    "stochastic": {"fastk": (9, 14, 21), "oversold": (15.0, 20.0, 30.0)},
    "volume_profile_breakout": {"window": (60, 120, 240), "volume_factor": (1.0, 1.5)},
    "support_resistance_breakout": {"window": (50, 100, 200), "pivot": (3, 5)},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeframes", default="1h,4h")
    parser.add_argument("--objective", default="sharpe")
    parser.add_argument("--markets", type=Path, default=DEFAULT_MARKETS)
    args = parser.parse_args()

    from core.market.source import MarketRequest, open_market
    from core.types.market import timeframe_seconds
    from tools.grid import ParameterGrid
    from tools.grid_execution import in_process
    from tools.strategies.partner import align_partner
    from tools.vector_backtest import BacktestCosts, trade_signal
    from tools.walk_forward import walk_forward

    wanted = set(args.timeframes.split(","))
    files = [
        f for f in discover(args.markets) if f.name.removesuffix(".csv.gz").split("-")[-1] in wanted
    ]
    costs = BacktestCosts()
    columns: list[str] = []
    cells: dict[str, list[str]] = {name: [] for name in GRIDS}
    held_row: list[str] = []
    started = time.perf_counter()
    for path in files:
        info, series = open_market(MarketRequest(spec=str(path)))
        other = "ETH/USDT" if info.symbol != "ETH/USDT" else "BTC/USDT"
        _, partner_series = open_market(
            MarketRequest(spec=str(path.parent), symbol=other, timeframe=info.timeframe)
        )
        partner = align_partner(series, partner_series)
        recording = path.parent.name.removeprefix("binance-")
        columns.append(f"{recording} {info.symbol} {info.timeframe}")
        out = max(20, len(series) // 8)
        first = last = 0
        for name, values in GRIDS.items():
            result = walk_forward(
                series, ParameterGrid(strategy=name, values=values), costs,
                in_sample=3 * out, out_of_sample=out, objective=args.objective,
                partner=partner if name == "pairs" else None,
                period_seconds=timeframe_seconds(info.timeframe), map_points=in_process,
            )  # fmt: skip
            s = result.stitched
            cells[name].append(f"{s.total_return:+.1%} ({s.max_drawdown:.0%})")
            first, last = result.folds[0].out_of_sample.start, result.folds[-1].out_of_sample.stop
        span = series.window(first, last)
        held = trade_signal(span, np.ones(len(span), dtype=np.bool_), costs)
        held_return = held.equity[-1] / held.equity[0] - 1.0
        held_drawdown = float(np.max(1.0 - held.equity / np.maximum.accumulate(held.equity)))
        held_row.append(f"{held_return:+.1%} ({held_drawdown:.0%})")
    print(f"| strategy | {' | '.join(columns)} |")
    print(f"|---|{'---|' * len(columns)}")
    for name, row in cells.items():
        print(f"| {name} | {' | '.join(row)} |")
    print(f"| **buy and hold** | {' | '.join(held_row)} |")
    print(
        f"\n{len(files)} files x {len(GRIDS)} strategies, objective {args.objective}, "
        f"{time.perf_counter() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
