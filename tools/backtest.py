"""A quick, honest backtest of a simple long-only rule on the closed candles the analyst has.

It lets the model test a hunch ("would an EMA cross have worked here lately?") before acting
on it. Honest means: a signal is known at a candle's close and fills at the next candle's open
as the paper broker would fill it (the fill model of `tools.fills`: slippage against the trade,
the taker fee on both sides), and only the history given is read, so nothing after "now" exists.
"""

from __future__ import annotations

from typing import Literal, Self

import numpy as np
import talib
from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.market.history import MarketHistory
from core.market.series import FloatArray
from core.settings import ExecutionSettings
from core.types import Side
from tools.fills import buy_cost_factor, market_fill_price, sell_proceeds_factor
from tools.metrics import buy_and_hold_return, max_drawdown

RSI_PERIOD = 14
RSI_WARMUP = 100
"""Candles before the test window that RSI's smoothing reads, so its first values are settled."""

EMA_WARMUP_FACTOR = 3
"""Slow EMA periods read before the test window, so the EMA has forgotten its seed."""

BROKER_DEFAULTS = ExecutionSettings()
"""The paper broker's default costs and cash: what a backtest assumes unless asked otherwise."""


class Hypothesis(BaseModel):
    """A rule to test, with bounds that keep the model's request cheap and meaningful.

    - ema_cross: long while EMA(fast) is above EMA(slow) at the close.
    - rsi_reversion: go long when RSI(14) closes below `rsi_buy`, exit when it closes above
      `rsi_sell`.
    - breakout: go long when the close breaks above the highest high of the previous
      `breakout_bars` candles, exit when it breaks below the lowest low of the previous
      `breakout_bars // 2` (turtle-style: a shorter exit channel).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    rule: Literal["ema_cross", "rsi_reversion", "breakout"]
    fast: int = Field(default=12, ge=2, le=200, description="fast EMA period (ema_cross)")
    slow: int = Field(
        default=48, ge=3, le=400, description="slow EMA period, above fast (ema_cross)"
    )
    rsi_buy: float = Field(
        default=30.0, ge=5, le=50, description="enter when RSI(14) closes below (rsi_reversion)"
    )
    rsi_sell: float = Field(
        default=55.0, ge=40, le=95, description="exit when RSI(14) closes above (rsi_reversion)"
    )
    breakout_bars: int = Field(
        default=24, ge=5, le=500, description="entry channel length; exit is half (breakout)"
    )
    lookback_bars: int = Field(
        default=1000, ge=100, le=5000, description="recent closed candles to test over"
    )
    fee_rate: float = Field(
        default=BROKER_DEFAULTS.fee_rate,
        ge=0,
        le=0.01,
        description="fee per side, fraction of notional",
    )
    slippage_bps: float = Field(
        default=BROKER_DEFAULTS.slippage_bps,
        ge=0,
        le=100,
        description="slippage per fill against the trade, in basis points",
    )

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if self.rule == "ema_cross" and self.slow <= self.fast:
            raise ValueError(f"slow ({self.slow}) must be greater than fast ({self.fast})")
        if self.rule == "rsi_reversion" and self.rsi_sell <= self.rsi_buy:
            raise ValueError(
                f"rsi_sell ({self.rsi_sell}) must be greater than rsi_buy ({self.rsi_buy})"
            )
        return self


class BacktestResult(BaseModel):
    """What the rule would have done over the last `bars` closed candles.

    Returns and drawdown are fractions (0.05 is 5%); an open position is marked at the last
    close without its exit fee. `trades` counts completed round trips, `win_rate` is over
    those. `buy_and_hold_return` is the one buy-and-hold of `tools.metrics` (all in at the
    first open a signal could have filled at), with the same costs.
    `last_signal` is what the rule says at the last close: it has not been filled.
    """

    model_config = ConfigDict(frozen=True)

    rule: str
    bars: int
    trades: int
    win_rate: float
    total_return: float
    buy_and_hold_return: float
    max_drawdown: float
    exposure: float
    last_signal: Literal["long", "flat"]
    note: str | None = None


def _warmup(h: Hypothesis) -> int:
    if h.rule == "ema_cross":
        return EMA_WARMUP_FACTOR * h.slow
    if h.rule == "rsi_reversion":
        return RSI_WARMUP
    return h.breakout_bars


def _latch(enter: np.ndarray, leave: np.ndarray) -> np.ndarray:
    """Long from an entry event until the next exit event; the events never coincide."""
    event = np.where(enter, 1, np.where(leave, -1, 0))
    last_event = np.maximum.accumulate(np.where(event != 0, np.arange(event.size), 0))
    return np.asarray(event[last_event] == 1)


def _signal(h: Hypothesis, high: FloatArray, low: FloatArray, close: FloatArray) -> np.ndarray:
    """Desired position (True = long) at each close; False while the indicator warms up."""
    if h.rule == "ema_cross":
        fast = talib.EMA(close, timeperiod=h.fast)
        slow = talib.EMA(close, timeperiod=h.slow)
        return np.asarray(fast > slow)
    if h.rule == "rsi_reversion":
        rsi = talib.RSI(close, timeperiod=RSI_PERIOD)
        return _latch(rsi < h.rsi_buy, rsi > h.rsi_sell)
    exit_bars = max(2, h.breakout_bars // 2)
    upper = np.concatenate(([np.nan], talib.MAX(high, timeperiod=h.breakout_bars)[:-1]))
    lower = np.concatenate(([np.nan], talib.MIN(low, timeperiod=exit_bars)[:-1]))
    return _latch(close > upper, close < lower)


def _first_signal_index(h: Hypothesis) -> int:
    """Index of the first close at which the rule's indicator is defined."""
    if h.rule == "ema_cross":
        return h.slow - 1
    if h.rule == "rsi_reversion":
        return RSI_PERIOD
    return h.breakout_bars


def _flat(h: Hypothesis, bars: int, note: str) -> BacktestResult:
    return BacktestResult(
        rule=h.rule,
        bars=bars,
        trades=0,
        win_rate=0.0,
        total_return=0.0,
        buy_and_hold_return=0.0,
        max_drawdown=0.0,
        exposure=0.0,
        last_signal="flat",
        note=note,
    )


def quick_backtest(history: MarketHistory, hypothesis: Hypothesis) -> BacktestResult:
    """Backtest `hypothesis` over the last `lookback_bars` closed candles of `history`.

    Indicators also read up to a warm-up's worth of candles before the window, but positions
    and returns start inside it, flat.
    """
    h = hypothesis
    available = len(history)
    bars = min(h.lookback_bars, available)
    needed = _first_signal_index(h) + 2
    if available < needed or bars < 2:
        return _flat(
            h, bars, f"too little history: {h.rule} needs {needed} closed candles, have {available}"
        )
    span = min(available, bars + _warmup(h))
    close = np.ascontiguousarray(history.close(span), dtype=np.float64)
    high = np.ascontiguousarray(history.high(span), dtype=np.float64)
    low = np.ascontiguousarray(history.low(span), dtype=np.float64)
    want = _signal(h, high, low, close)[-bars:]
    open_ = history.open(bars)
    close = close[-bars:]

    held = np.zeros(bars, dtype=bool)
    held[1:] = want[:-1]
    prev_held = np.concatenate(([False], held[:-1]))
    entered, exited = held & ~prev_held, ~held & prev_held
    prev_close = np.concatenate(([close[0]], close[:-1]))
    paid = buy_cost_factor(market_fill_price(open_, Side.BUY, h.slippage_bps), h.fee_rate)
    received = sell_proceeds_factor(market_fill_price(open_, Side.SELL, h.slippage_bps), h.fee_rate)
    growth = np.ones(bars)
    growth = np.where(held & prev_held, close / prev_close, growth)
    growth = np.where(entered, close / paid, growth)
    growth = np.where(exited, received / prev_close, growth)
    equity = np.cumprod(growth)

    entries, exits = np.flatnonzero(entered), np.flatnonzero(exited)
    trade_returns = received[exits] / paid[entries[: exits.size]] - 1.0
    trades = int(exits.size)
    wins = int(np.count_nonzero(trade_returns > 0))
    note = None
    if bars < h.lookback_bars:
        note = f"only {bars} closed candles available of the {h.lookback_bars} asked for"
    return BacktestResult(
        rule=h.rule,
        bars=bars,
        trades=trades,
        win_rate=round(wins / trades, 4) if trades else 0.0,
        total_return=round(float(equity[-1]) - 1.0, 6),
        buy_and_hold_return=round(
            buy_and_hold_return(
                open_,
                close,
                fee_rate=h.fee_rate,
                slippage_bps=h.slippage_bps,
                initial_cash=BROKER_DEFAULTS.initial_cash,
            ),
            6,
        ),
        max_drawdown=round(max_drawdown(equity.tolist()), 6),
        exposure=round(float(held.mean()), 4),
        last_signal="long" if want[-1] else "flat",
        note=note,
    )
