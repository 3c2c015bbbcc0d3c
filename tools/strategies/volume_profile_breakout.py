"""Volume profile breakout: buy a close above the value area on heavy volume.

The profile is that of the `window` candles before the current one (`tools.levels`), so the
level a close breaks is the one that stood before it. Enter when the close is above the value
area high and the candle's volume is above `volume_factor` times the mean volume of those same
candles (acceptance above value, with participation); exit on a close back below the point of
control, where the market has rejected the breakout.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import talib
from pydantic import Field, model_validator

from core.market.series import CandleSeries
from tools.levels import rolling_value_area
from tools.strategies.base import BoolArray, Strategy, StrategyParams, latch, previous


class VolumeProfileBreakoutParams(StrategyParams):
    window: int = Field(
        default=120, ge=10, le=2000, description="candles before the current one in the profile"
    )
    bins: int = Field(default=24, ge=5, le=200, description="price bins in the profile")
    value_area: float = Field(
        default=0.7, ge=0.5, le=0.95, description="share of the volume in the value area"
    )
    volume_factor: float = Field(
        default=1.5,
        ge=0.0,
        le=10.0,
        description="breakout volume must exceed this x the profile's mean volume (0: off)",
    )

    @model_validator(mode="after")
    def _enough_candles(self) -> Self:
        if self.window < self.bins:
            raise ValueError(
                f"window ({self.window}) must be at least bins ({self.bins}) candles, "
                "or most bins of the profile stay empty"
            )
        return self


def volume_profile_breakout_signal(
    candles: CandleSeries, p: VolumeProfileBreakoutParams, partner: CandleSeries | None = None
) -> BoolArray:
    close = candles.close
    poc, _, vah = rolling_value_area(candles, p.window, p.bins, p.value_area)
    volume = np.ascontiguousarray(candles.volume, dtype=np.float64)
    mean_volume = previous(talib.SMA(volume, timeperiod=p.window))
    with np.errstate(invalid="ignore"):
        enter = (close > vah) & (volume > p.volume_factor * mean_volume)
        return latch(enter, close < poc)


VOLUME_PROFILE_BREAKOUT = Strategy(
    name="volume_profile_breakout",
    description="buy a close above the prior value area high on heavy volume; sell below the POC",
    params=VolumeProfileBreakoutParams,
    signal=volume_profile_breakout_signal,
    warmup=lambda p: p.window,
)
