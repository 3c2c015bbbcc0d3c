"""Time-series momentum: long while the price has risen enough over the lookback.

Momentum is TA-Lib's rate of change, ROC = (close / close[lookback candles ago] - 1) x 100.
Long while it is above `threshold_pct`; with `trend_period` set, also only while the close is
above its simple moving average over that many candles (a trend filter that keeps a bounce in a
falling market from counting).
"""

from __future__ import annotations

import numpy as np
import talib
from pydantic import Field

from core.market.series import CandleSeries
from tools.strategies.base import BoolArray, Strategy, StrategyParams


class MomentumParams(StrategyParams):
    lookback: int = Field(default=20, ge=2, le=1000, description="rate-of-change lookback, candles")
    threshold_pct: float = Field(
        default=0.5, ge=0.0, le=50.0, description="long while ROC is above this, in percent"
    )
    trend_period: int | None = Field(
        default=None,
        ge=2,
        le=1000,
        description="also require the close above its SMA over this many candles (None: off)",
    )


def _warmup(p: MomentumParams) -> int:
    return max(p.lookback, (p.trend_period or 0) - 1)


def momentum_signal(
    candles: CandleSeries, p: MomentumParams, partner: CandleSeries | None = None
) -> BoolArray:
    close = np.ascontiguousarray(candles.close, dtype=np.float64)
    roc = talib.ROC(close, timeperiod=p.lookback)
    with np.errstate(invalid="ignore"):
        want = np.asarray(roc > p.threshold_pct)
        if p.trend_period is not None:
            want &= close > talib.SMA(close, timeperiod=p.trend_period)
    return want


MOMENTUM = Strategy(
    name="momentum",
    description="long while the rate of change over lookback candles is above threshold_pct",
    params=MomentumParams,
    signal=momentum_signal,
    warmup=_warmup,
)
