"""Bullish RSI divergence: price makes a lower low while RSI makes a higher low.

Lows are swing lows: a candle whose low is the lowest of the `pivot` candles either side. Such a
low is only known once those `pivot` later candles have closed, so a divergence is acted on at
the close that confirms the second low, never earlier. The signal fires when a newly confirmed
swing low is below the previous swing low (at most `lookback` candles before it) while RSI at
the new low is above RSI at the previous one and below `rsi_level` (still weak, but less so).
The position is closed on the first close with RSI above `exit_rsi`, or after `max_hold`
candles, whichever comes first; an entry on a close whose RSI is already above `exit_rsi` is
not taken.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import talib
from pydantic import Field, model_validator

from core.market.series import CandleSeries, FloatArray
from tools.levels import swing_points
from tools.strategies.base import BoolArray, Strategy, StrategyParams


class RsiDivergenceParams(StrategyParams):
    rsi_period: int = Field(default=14, ge=2, le=100, description="RSI period, candles")
    pivot: int = Field(
        default=3, ge=1, le=20, description="candles either side that make a swing low"
    )
    lookback: int = Field(
        default=50, ge=5, le=500, description="most candles between the two swing lows"
    )
    rsi_level: float = Field(
        default=40.0, ge=10.0, le=60.0, description="RSI at the second low must be below this"
    )
    exit_rsi: float = Field(
        default=60.0, ge=30.0, le=95.0, description="exit when RSI closes above this"
    )
    max_hold: int = Field(
        default=48, ge=1, le=1000, description="exit after this many candles long at most"
    )

    @model_validator(mode="after")
    def _exit_above_entry(self) -> Self:
        if self.exit_rsi <= self.rsi_level:
            raise ValueError(
                f"exit_rsi ({self.exit_rsi}) must be above rsi_level ({self.rsi_level})"
            )
        return self


def divergence_entries(
    low: FloatArray, rsi: FloatArray, swing_low: BoolArray, p: RsiDivergenceParams
) -> BoolArray:
    """True at the close that confirms a swing low completing a bullish divergence."""
    entries = np.zeros(low.size, dtype=np.bool_)
    pivots = np.flatnonzero(swing_low)
    if pivots.size < 2:
        return entries
    earlier, later = pivots[:-1], pivots[1:]
    with np.errstate(invalid="ignore"):
        divergent = (
            (later - earlier <= p.lookback)
            & (low[later] < low[earlier])
            & (rsi[later] > rsi[earlier])
            & (rsi[later] < p.rsi_level)
        )
    entries[later[divergent] + p.pivot] = True
    return entries


def hold(entries: BoolArray, exits: BoolArray, max_hold: int) -> BoolArray:
    """Long from an entry until the first exit after it or `max_hold` candles, whichever comes
    first; entries while long are ignored, and an exit on the entry candle cancels it. A walk
    over the entries only (they are rare), each reading candles up to its own exit."""
    want = np.zeros(entries.size, dtype=np.bool_)
    exit_at = np.flatnonzero(exits)
    free_from = 0
    for start in np.flatnonzero(entries & ~exits).tolist():
        if start < free_from:
            continue
        following = exit_at[np.searchsorted(exit_at, start, side="right") :]
        first_exit = int(following[0]) if following.size else entries.size
        stop = min(start + max_hold, first_exit)
        want[start:stop] = True
        free_from = stop
    return want


def rsi_divergence_signal(
    candles: CandleSeries, p: RsiDivergenceParams, partner: CandleSeries | None = None
) -> BoolArray:
    low = np.ascontiguousarray(candles.low, dtype=np.float64)
    rsi = talib.RSI(np.ascontiguousarray(candles.close, dtype=np.float64), timeperiod=p.rsi_period)
    _, swing_low = swing_points(candles, p.pivot)
    entries = divergence_entries(low, rsi, swing_low, p)
    with np.errstate(invalid="ignore"):
        exits = np.asarray(rsi > p.exit_rsi)
    return hold(entries, exits, p.max_hold)


RSI_DIVERGENCE = Strategy(
    name="rsi_divergence",
    description="buy a confirmed swing low below the previous one while RSI makes a higher low",
    params=RsiDivergenceParams,
    signal=rsi_divergence_signal,
    warmup=lambda p: p.rsi_period + p.pivot + 1,
)
