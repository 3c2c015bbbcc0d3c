"""MACD trend following: long while the MACD line is above its signal line.

TA-Lib's MACD: the line is EMA(fast) - EMA(slow) of the closes, the signal line its EMA over
`signal`; the histogram is their difference, so "line above signal" is "histogram above zero".
With `above_zero`, also only while the line itself is above zero (the fast average above the
slow one): momentum turning up inside an uptrend, not a bounce in a downtrend.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import talib
from pydantic import Field, model_validator

from core.market.series import CandleSeries
from tools.strategies.base import BoolArray, Strategy, StrategyParams


class MacdSignalParams(StrategyParams):
    fast: int = Field(default=12, ge=2, le=200, description="fast EMA period, candles")
    slow: int = Field(default=26, ge=3, le=500, description="slow EMA period, above fast")
    signal: int = Field(default=9, ge=2, le=200, description="signal line EMA period, candles")
    above_zero: bool = Field(default=False, description="also require the MACD line above zero")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.slow <= self.fast:
            raise ValueError(f"slow ({self.slow}) must be greater than fast ({self.fast})")
        return self


def macd_signal_signal(
    candles: CandleSeries, p: MacdSignalParams, partner: CandleSeries | None = None
) -> BoolArray:
    close = np.ascontiguousarray(candles.close, dtype=np.float64)
    line, signal, _ = talib.MACD(close, fastperiod=p.fast, slowperiod=p.slow, signalperiod=p.signal)
    with np.errstate(invalid="ignore"):
        want = np.asarray(line > signal)
        if p.above_zero:
            want &= line > 0
    return want


MACD_SIGNAL = Strategy(
    name="macd_signal",
    description="long while the MACD line is above its signal line (optionally also above zero)",
    params=MacdSignalParams,
    signal=macd_signal_signal,
    warmup=lambda p: p.slow + p.signal - 2,
)
