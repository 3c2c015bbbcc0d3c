"""Moving-average crossover: long while the fast simple average of the closes is above the slow.

The same rule as `agents.sma_cross` and the harness's SMA baseline, with backtesting.py's
warm-up (the first candle with a slow average only warms up).
"""

from __future__ import annotations

from typing import Self

import numpy as np
import talib
from pydantic import Field, model_validator

from core.market.series import CandleSeries
from tools.strategies.base import BoolArray, Strategy, StrategyParams


class MaCrossoverParams(StrategyParams):
    fast: int = Field(default=20, ge=2, le=200, description="fast SMA period, in candles")
    slow: int = Field(default=50, ge=3, le=500, description="slow SMA period, above fast")

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.slow <= self.fast:
            raise ValueError(f"slow ({self.slow}) must be greater than fast ({self.fast})")
        return self


def ma_crossover_signal(
    candles: CandleSeries, p: MaCrossoverParams, partner: CandleSeries | None = None
) -> BoolArray:
    close = np.ascontiguousarray(candles.close, dtype=np.float64)
    fast = talib.SMA(close, timeperiod=p.fast)
    slow = talib.SMA(close, timeperiod=p.slow)
    with np.errstate(invalid="ignore"):
        want = np.asarray(fast > slow)
    want[: min(p.slow, want.size)] = False
    return want


MA_CROSSOVER = Strategy(
    name="ma_crossover",
    description="long while the fast simple moving average of closes is above the slow one",
    params=MaCrossoverParams,
    signal=ma_crossover_signal,
    warmup=lambda p: p.slow,
)
