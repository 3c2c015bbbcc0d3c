"""Signals to positions to equity, vectorized, with the engine's one fill model.

`want[t]` is decided at the close of candle t and traded at the open of candle t+1: a market
order moved against the trader by the slippage, the taker fee on its notional, a buy all in and
rounded down to 8 decimals, a sell of everything held (`tools.fills`). Cash and units change
only at those fills, so the work per candle is array arithmetic and the per-trade work is a
short loop over the fills; the arithmetic is the ledger's, in the same order, so the equity
curve equals the candle-by-candle baselines of `evals.baselines` to the last bit (tested), and
the round trips are those the graph's strategy analyst makes on the same candles (tested).
One difference, where it cannot matter: a buy that cannot afford 1e-8 units (equity all but
gone) is skipped for its whole stretch, where the baselines try again at every open.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from core.market.series import CandleSeries, FloatArray, IntArray
from core.settings import ExecutionSettings
from core.types import Side
from tools.fills import affordable_quantity, fee, market_fill_price
from tools.metrics import PerformanceMetrics, performance

BROKER = ExecutionSettings()


class BacktestCosts(BaseModel):
    """What trading costs: the paper broker's defaults unless asked otherwise."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    initial_cash: float = Field(default=BROKER.initial_cash, gt=0, le=1e12)
    fee_rate: float = Field(default=BROKER.fee_rate, ge=0, le=0.01, description="per side")
    slippage_bps: float = Field(
        default=BROKER.slippage_bps, ge=0, le=100, description="per fill, against the trade"
    )


@dataclass(frozen=True)
class VectorRun:
    """What trading `want` did: equity (the starting cash, then every close), the candle of
    every fill that opened or closed a position, and each closed trade's realized pnl."""

    equity: FloatArray
    entries: IntArray
    exits: IntArray
    entry_prices: FloatArray
    exit_prices: FloatArray
    trade_pnls: FloatArray
    bars_exposed: int
    traded_notional: float
    fees_paid: float

    def metrics(self, period_seconds: float) -> PerformanceMetrics:
        return performance(
            self.equity,  # type: ignore[arg-type]
            period_seconds=period_seconds,
            trade_pnls=self.trade_pnls.tolist(),
            bars_exposed=self.bars_exposed,
            traded_notional=self.traded_notional,
            fees_paid=self.fees_paid,
        )


def trade_signal(
    series: CandleSeries, want: npt.NDArray[np.bool_], costs: BacktestCosts | None = None
) -> VectorRun:
    """Trade `want` over `series` (one desired position per close) from the next open."""
    costs = costs or BacktestCosts()
    n = len(series)
    if want.shape != (n,):
        raise ValueError(f"the signal has {want.shape[0]} values for {n} candles")
    held = np.zeros(n, dtype=np.bool_)
    held[1:] = want[:-1]
    change = np.flatnonzero(held[1:] != held[:-1]) + 1
    if n and held[0]:
        change = np.concatenate(([0], change))
    opens, closes = series.open, series.close
    cash, units = costs.initial_cash, 0.0
    cash_after = np.empty(change.size + 1)
    units_after = np.empty(change.size + 1)
    cash_after[0], units_after[0] = cash, units
    entries: list[int] = []
    exits: list[int] = []
    entry_prices: list[float] = []
    exit_prices: list[float] = []
    pnls: list[float] = []
    notional_sum = fees_sum = 0.0
    paid = 0.0
    for k, t in enumerate(change.tolist()):
        if held[t]:
            price = market_fill_price(float(opens[t]), Side.BUY, costs.slippage_bps)
            quantity = affordable_quantity(cash, price, costs.fee_rate)
            if quantity > 0:
                notional = quantity * price
                paid_fee = fee(notional, costs.fee_rate)
                cash = cash - notional - paid_fee
                units += quantity
                paid = notional + paid_fee
                notional_sum += notional
                fees_sum += paid_fee
                entries.append(t)
                entry_prices.append(price)
        elif units > 0.0:
            price = market_fill_price(float(opens[t]), Side.SELL, costs.slippage_bps)
            notional = units * price
            paid_fee = fee(notional, costs.fee_rate)
            cash = cash + notional - paid_fee
            pnls.append(-paid + (notional - paid_fee))
            units = 0.0
            notional_sum += notional
            fees_sum += paid_fee
            exits.append(t)
            exit_prices.append(price)
        cash_after[k + 1], units_after[k + 1] = cash, units
    segment = np.searchsorted(change, np.arange(n), side="right")
    equity = np.empty(n + 1)
    equity[0] = costs.initial_cash
    equity[1:] = cash_after[segment] + units_after[segment] * closes
    return VectorRun(
        equity=equity,
        entries=np.asarray(entries, dtype=np.int64),
        exits=np.asarray(exits, dtype=np.int64),
        entry_prices=np.asarray(entry_prices),
        exit_prices=np.asarray(exit_prices),
        trade_pnls=np.asarray(pnls),
        bars_exposed=int(np.count_nonzero(units_after[segment] > 0.0)),
        traded_notional=notional_sum,
        fees_paid=fees_sum,
    )
