"""Z-score mean reversion: buy a close stretched far below its rolling mean, sell on the way back.

z = (close - SMA(window)) / STDDEV(window), both over the window ending at the current close
(TA-Lib's population deviation, as Bollinger bands use). Enter when z < -entry_z; exit once z has
come back to -exit_z (the mean itself by default). Where the deviation is nil (a flat window) z
is undefined and nothing happens.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import talib
from pydantic import Field, model_validator

from core.market.series import CandleSeries, FloatArray
from tools.strategies.base import BoolArray, Strategy, StrategyParams, latch


class ZscoreReversionParams(StrategyParams):
    window: int = Field(default=50, ge=5, le=1000, description="rolling mean/deviation window")
    entry_z: float = Field(
        default=2.0, ge=0.5, le=5.0, description="enter when z falls below -entry_z"
    )
    exit_z: float = Field(
        default=0.0,
        ge=-3.0,
        le=4.5,
        description="exit once z is back at -exit_z or above (0 = the mean; below entry_z)",
    )

    @model_validator(mode="after")
    def _exit_above_entry(self) -> Self:
        if self.exit_z >= self.entry_z:
            raise ValueError(
                f"exit_z ({self.exit_z}) must be below entry_z ({self.entry_z}), "
                "so the exit level -exit_z sits above the entry level -entry_z"
            )
        return self


FLAT = 1e-9
"""A deviation below this fraction of the mean is rounding noise of a flat window, not a move."""


def zscore(close: FloatArray, window: int) -> FloatArray:
    """(close - rolling mean) / rolling population deviation; NaN in warm-up and where flat."""
    mean = talib.SMA(close, timeperiod=window)
    deviation = talib.STDDEV(close, timeperiod=window, nbdev=1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        moving = deviation > FLAT * np.abs(mean)
        return np.asarray(np.where(moving, (close - mean) / deviation, np.nan))


def zscore_reversion_signal(
    candles: CandleSeries, p: ZscoreReversionParams, partner: CandleSeries | None = None
) -> BoolArray:
    z = zscore(np.ascontiguousarray(candles.close, dtype=np.float64), p.window)
    with np.errstate(invalid="ignore"):
        return latch(z < -p.entry_z, z >= -p.exit_z)


ZSCORE_REVERSION = Strategy(
    name="zscore_reversion",
    description="buy a close entry_z deviations below its rolling mean; sell when z is at -exit_z",
    params=ZscoreReversionParams,
    signal=zscore_reversion_signal,
    warmup=lambda p: p.window - 1,
)
