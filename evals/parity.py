"""Parity with backtesting.py: the same crossover, the same candles, the same fills.

`backtesting_trades` runs the rule as a backtesting.py strategy (market orders filled at the
next bar's open, commission on each leg, no spread); `session_trades` reads the round trips
the agent's replay made from its traces, closed by the one trade model (`tools.trades`). Both
give (entry bar, exit bar, entry price, exit price) for every closed trade, comparable one for
one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.market.series import CandleSeries
from core.types import Trace
from tools.trades import closed_trades

BACKTESTING_CASH = 1e12
"""backtesting.py buys whole units: with this much cash the rounding is negligible."""


@dataclass(frozen=True)
class RoundTrip:
    entry_bar: int
    exit_bar: int
    entry_price: float
    exit_price: float


def backtesting_trades(
    series: CandleSeries, *, fast: int, slow: int, commission: float
) -> list[RoundTrip]:
    import pandas as pd
    from backtesting import Backtest, Strategy

    frame = pd.DataFrame(
        {
            "Open": series.open,
            "High": series.high,
            "Low": series.low,
            "Close": series.close,
            "Volume": series.volume,
        },
        index=pd.to_datetime(series.ts, unit="ms"),
    )

    def sma(values: np.ndarray, n: int) -> np.ndarray:
        means: np.ndarray = pd.Series(values).rolling(n).mean().to_numpy()
        return means

    class Crossover(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.fast = self.I(sma, self.data.Close, fast)
            self.slow = self.I(sma, self.data.Close, slow)

        def next(self) -> None:
            above = self.fast[-1] > self.slow[-1]
            if above and not self.position:
                self.buy(size=0.999)
            elif not above and self.position:
                self.position.close()

    stats = Backtest(frame, Crossover, cash=BACKTESTING_CASH, commission=commission).run()
    trades = stats["_trades"]
    return [
        RoundTrip(int(t.EntryBar), int(t.ExitBar), float(t.EntryPrice), float(t.ExitPrice))
        for t in trades.itertuples()
    ]


def session_trades(traces: list[Trace], series: CandleSeries) -> list[RoundTrip]:
    """Closed round trips from the fills in a replay's traces, bars indexed into `series`."""
    bar_of = {int(ts): i for i, ts in enumerate(series.ts)}
    fills = (fill for trace in traces for fill in trace.fills)
    return [
        RoundTrip(bar_of[t.opened_ms], bar_of[t.closed_ms], t.entry_price, t.exit_price)
        for t in closed_trades(fills)
    ]
