"""Stochastic oscillator reversal: buy %K crossing up through %D in the oversold zone.

TA-Lib's STOCH (slow stochastic, simple moving averages): %K is where the close sits in the
range of the last `fastk` candles, smoothed over `slowk`; %D is %K smoothed over `slowd`. Enter
on the close where %K crosses above %D while %D is still below `oversold`; exit on the close
where %K rises above `overbought` or crosses back below %D.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import talib
from pydantic import Field, model_validator

from core.market.series import CandleSeries
from tools.strategies.base import BoolArray, Strategy, StrategyParams, latch, previous


class StochasticParams(StrategyParams):
    fastk: int = Field(default=14, ge=2, le=200, description="%K range lookback, candles")
    slowk: int = Field(default=3, ge=1, le=50, description="%K smoothing period, candles")
    slowd: int = Field(default=3, ge=1, le=50, description="%D smoothing period, candles")
    oversold: float = Field(
        default=20.0, ge=1.0, le=50.0, description="enter on a cross up while %D is below this"
    )
    overbought: float = Field(
        default=80.0, ge=50.0, le=99.0, description="exit when %K rises above this"
    )

    @model_validator(mode="after")
    def _zones_apart(self) -> Self:
        if self.overbought <= self.oversold:
            raise ValueError(
                f"overbought ({self.overbought}) must be above oversold ({self.oversold})"
            )
        return self


def stochastic_signal(
    candles: CandleSeries, p: StochasticParams, partner: CandleSeries | None = None
) -> BoolArray:
    k, d = talib.STOCH(
        np.ascontiguousarray(candles.high, dtype=np.float64),
        np.ascontiguousarray(candles.low, dtype=np.float64),
        np.ascontiguousarray(candles.close, dtype=np.float64),
        fastk_period=p.fastk,
        slowk_period=p.slowk,
        slowd_period=p.slowd,
    )
    k_before, d_before = previous(k), previous(d)
    with np.errstate(invalid="ignore"):
        cross_up = (k > d) & (k_before <= d_before)
        cross_down = (k < d) & (k_before >= d_before)
        return latch(cross_up & (d < p.oversold), cross_down | (k > p.overbought))


STOCHASTIC = Strategy(
    name="stochastic",
    description="buy %K crossing above %D in the oversold zone; sell overbought or on a cross down",
    params=StochasticParams,
    signal=stochastic_signal,
    warmup=lambda p: p.fastk + p.slowk + p.slowd - 2,
)
