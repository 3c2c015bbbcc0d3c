"""The fill model: how a decision taken at a candle's close turns into a price, a fee and a
quantity during the next candle.

One set of rules, so the paper broker, the baselines an agent is measured against and the
quick backtest the analyst can run all fill alike (a baseline or a backtest filled more kindly
than the agent would flatter itself):
- a market order fills at the next candle's open, moved against the trader by the slippage;
- a limit order fills at its limit (or the open, if better) when the candle trades through
  it, else not at all (one candle in force);
- a resting stop-loss fills at the stop, or at the open if the candle gapped below it, with
  slippage;
- every fill pays the taker fee on its notional;
- a buy is capped by the cash, fee included, and rounded down to the exchange's 8 decimals.

The price rules are plain arithmetic, so they apply to a candle's open or, in a vectorized
backtest, to an array of opens.
"""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from core.types import Side

QUANTITY_DECIMALS = 8
BPS = 10_000.0

Price = TypeVar("Price", float, npt.NDArray[np.float64])
"""A price, or an array of prices (one per candle)."""


def slippage_fraction(slippage_bps: float) -> float:
    return slippage_bps / BPS


def market_fill_price(open_: Price, side: Side, slippage_bps: float) -> Price:
    """Where a market order fills: the next open, moved against the trader by the slippage."""
    direction = 1.0 if side is Side.BUY else -1.0
    return open_ * (1.0 + direction * slippage_fraction(slippage_bps))


def stop_fill_price(stop: float, open_: float, slippage_bps: float) -> float:
    """Where a resting stop-loss sells: the stop, or the open if the candle gapped below it,
    with slippage (a stop becomes a market order once touched)."""
    return market_fill_price(min(stop, open_), Side.SELL, slippage_bps)


def stop_triggered(stop: float, low: float) -> bool:
    """A resting stop is reached when the candle's low touches it."""
    return low <= stop


def limit_fill_price(
    side: Side, limit: float, *, open_: float, high: float, low: float
) -> float | None:
    """Where a limit order fills in a candle: its limit, or the open if that is better; None
    when the candle never traded through the limit (the order then lapses)."""
    if side is Side.BUY and low <= limit:
        return min(limit, open_)
    if side is Side.SELL and high >= limit:
        return max(limit, open_)
    return None


def fee(notional: float, rate: float) -> float:
    """The taker fee on a fill's notional, in the quote currency."""
    return notional * rate


def round_down_quantity(quantity: float) -> float:
    """A quantity the exchange accepts: truncated, never rounded up, to 8 decimals."""
    scale = 10**QUANTITY_DECIMALS
    return float(math.floor(quantity * scale) / scale)


def affordable_quantity(cash: float, price: float, fee_rate: float) -> float:
    """The most a buy at `price` can take with `cash`, its fee included, rounded down."""
    if cash <= 0 or price <= 0:
        return 0.0
    return round_down_quantity(cash / buy_cost_factor(price, fee_rate))


def buy_cost_factor(price: Price, fee_rate: float) -> Price:
    """What one unit bought at `price` costs, fee included (cash per unit)."""
    return price * (1.0 + fee_rate)


def sell_proceeds_factor(price: Price, fee_rate: float) -> Price:
    """What one unit sold at `price` brings in, fee deducted (cash per unit)."""
    return price * (1.0 - fee_rate)
