"""Baselines an agent is measured against, filled exactly as the paper broker fills the agent.

A signal decided at a candle's close is traded at the next candle's open, with slippage against
the trade and the taker fee on its notional, the buy rounded down to 8 decimals (the fill model
of `tools.fills`); positions are all in (spot, long only); equity is marked at every close.
`buy_and_hold` buys at the second candle's open (the first decision is taken at the first
close, as the agent's is), `sma_crossover` is long while the fast simple moving average of the
closes is above the slow one, and `cash` never trades.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from core.market.series import CandleSeries
from core.types import Fill, Side
from tools.fills import affordable_quantity, fee, market_fill_price
from tools.metrics import PerformanceMetrics, performance
from tools.trades import RoundTrips

SMA_FAST = 20
SMA_SLOW = 50
BASELINE_SYMBOL = "BASELINE"
BASELINE_ORDER = "baseline"


@dataclass(frozen=True)
class Costs:
    initial_cash: float = 10_000.0
    fee_rate: float = 0.001
    slippage_bps: float = 5.0


@dataclass
class SimulatedRun:
    """A baseline's equity curve (starting capital first, then every close) and its trading."""

    equity: list[float]
    trade_pnls: list[float] = field(default_factory=list)
    entries: list[int] = field(default_factory=list)
    """Candle index of each fill that opened a position (for the parity check and the plot)."""
    exits: list[int] = field(default_factory=list)
    bars_exposed: int = 0
    traded_notional: float = 0.0
    fees_paid: float = 0.0

    def metrics(self, period_seconds: float) -> PerformanceMetrics:
        return performance(
            self.equity,
            period_seconds=period_seconds,
            trade_pnls=self.trade_pnls,
            bars_exposed=self.bars_exposed,
            traded_notional=self.traded_notional,
            fees_paid=self.fees_paid,
        )


def simulate_long_signal(series: CandleSeries, want_long: np.ndarray, costs: Costs) -> SimulatedRun:
    """Trade `want_long[t]` (decided at the close of candle t) from the open of candle t+1,
    all in and all out, with market orders filled by the broker's fill model; its round trips
    are closed by the one trade model (`tools.trades`), as the agent's are."""
    cash, units = costs.initial_cash, 0.0
    trips = RoundTrips()
    run = SimulatedRun(equity=[costs.initial_cash])
    opens, closes, times = series.open, series.close, series.ts
    for t in range(len(series)):
        wanted_before = bool(want_long[t - 1]) if t > 0 else False
        side = _trade(wanted_before, units)
        if side is not None:
            price = market_fill_price(float(opens[t]), side, costs.slippage_bps)
            quantity = (
                affordable_quantity(cash, price, costs.fee_rate) if side is Side.BUY else units
            )
            if quantity > 0:
                fill = Fill(
                    client_order_id=f"{BASELINE_ORDER}-{t}",
                    symbol=BASELINE_SYMBOL,
                    side=side,
                    quantity=quantity,
                    price=price,
                    fee=fee(quantity * price, costs.fee_rate),
                    ts=int(times[t]),
                )
                cash, units = _after(cash, units, fill)
                run.traded_notional += fill.notional
                run.fees_paid += fill.fee
                (run.entries if side is Side.BUY else run.exits).append(t)
                closed = trips.on_fill(fill)
                if closed is not None:
                    run.trade_pnls.append(closed.pnl)
        if units > 0.0:
            run.bars_exposed += 1
        run.equity.append(cash + units * closes[t])
    return run


def _trade(wanted: bool, units: float) -> Side | None:
    """The market order that brings the position to what the signal wanted, if any."""
    if wanted and units == 0.0:
        return Side.BUY
    if not wanted and units > 0.0:
        return Side.SELL
    return None


def _after(cash: float, units: float, fill: Fill) -> tuple[float, float]:
    """Cash and units after a fill, moved as the ledger moves them."""
    if fill.side is Side.BUY:
        return cash - fill.notional - fill.fee, units + fill.quantity
    return cash + fill.notional - fill.fee, 0.0


def buy_and_hold(series: CandleSeries, costs: Costs) -> SimulatedRun:
    return simulate_long_signal(series, np.ones(len(series), dtype=bool), costs)


def sma_crossover(
    series: CandleSeries, costs: Costs, fast: int = SMA_FAST, slow: int = SMA_SLOW
) -> SimulatedRun:
    return simulate_long_signal(series, sma_signal(series.close, fast, slow), costs)


def sma_signal(close: np.ndarray, fast: int, slow: int) -> np.ndarray:
    """True where the fast SMA is above the slow one; False until the candle after the first
    full slow average (backtesting.py's warm-up, so the parity check compares like with like)."""
    if fast >= slow:
        raise ValueError(f"the fast SMA ({fast}) must be shorter than the slow one ({slow})")
    want = np.zeros(close.size, dtype=bool)
    if close.size < slow:
        return want
    sums = np.concatenate(([0.0], np.cumsum(close, dtype=np.float64)))
    fast_sma = (sums[fast:] - sums[:-fast]) / fast
    slow_sma = (sums[slow:] - sums[:-slow]) / slow
    want[slow - 1 :] = fast_sma[slow - fast :] > slow_sma
    want[slow - 1] = False
    return want


def cash(series: CandleSeries, costs: Costs) -> SimulatedRun:
    return simulate_long_signal(series, np.zeros(len(series), dtype=bool), costs)
