"""Bollinger band reversion: buy a close below the lower band, sell at the middle band.

TA-Lib's BBANDS: the middle band is the simple moving average over `period`, the bands are
`nbdev` population deviations either side. A close under the lower band is read as stretched;
the position is closed once a close gets back to the middle band.
"""

from __future__ import annotations

import numpy as np
import talib
from pydantic import Field

from core.market.series import CandleSeries
from tools.strategies.base import BoolArray, Strategy, StrategyParams, latch


class BollingerParams(StrategyParams):
    period: int = Field(default=20, ge=5, le=500, description="moving average period, candles")
    nbdev: float = Field(
        default=2.0, ge=0.5, le=5.0, description="band width in standard deviations"
    )


def bollinger_signal(
    candles: CandleSeries, p: BollingerParams, partner: CandleSeries | None = None
) -> BoolArray:
    close = np.ascontiguousarray(candles.close, dtype=np.float64)
    _, middle, lower = talib.BBANDS(close, timeperiod=p.period, nbdevup=p.nbdev, nbdevdn=p.nbdev)
    with np.errstate(invalid="ignore"):
        return latch(close < lower, close >= middle)


BOLLINGER = Strategy(
    name="bollinger",
    description="buy a close below the lower Bollinger band, sell when a close reaches the middle",
    params=BollingerParams,
    signal=bollinger_signal,
    warmup=lambda p: p.period - 1,
)
