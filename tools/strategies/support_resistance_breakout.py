"""Support/resistance breakout: buy a close through the nearest resistance, sell through support.

Levels are confirmed swing pivots from `tools.levels` (a swing high is known only `pivot` candles
after it formed). The resistance a close must break is the nearest one above the previous close,
as it stood then; entry needs the close above it by `margin_pct`. Exit on a close below the
nearest support that stood at the previous close, or below the lowest low of the previous
`exit_channel` candles (a trailing channel stop, for when no swing low is near).
"""

from __future__ import annotations

from typing import Self

import numpy as np
import talib
from pydantic import Field, model_validator

from core.market.series import CandleSeries
from tools.levels import support_resistance
from tools.strategies.base import BoolArray, Strategy, StrategyParams, latch, previous


class SupportResistanceBreakoutParams(StrategyParams):
    window: int = Field(
        default=100, ge=10, le=2000, description="candles back in which pivots count as levels"
    )
    pivot: int = Field(
        default=5, ge=1, le=50, description="candles either side that make a swing high or low"
    )
    margin_pct: float = Field(
        default=0.2, ge=0.0, le=10.0, description="close must clear resistance by this, percent"
    )
    exit_channel: int = Field(
        default=24, ge=2, le=1000, description="exit below the lowest low of this many candles"
    )

    @model_validator(mode="after")
    def _room_for_pivots(self) -> Self:
        if self.window <= 2 * self.pivot:
            raise ValueError(
                f"window ({self.window}) must be longer than 2 x pivot ({2 * self.pivot}) "
                "to hold a confirmed swing"
            )
        return self


def support_resistance_breakout_signal(
    candles: CandleSeries, p: SupportResistanceBreakoutParams, partner: CandleSeries | None = None
) -> BoolArray:
    close = candles.close
    support, resistance = support_resistance(candles, p.window, p.pivot)
    low = np.ascontiguousarray(candles.low, dtype=np.float64)
    channel_low = previous(talib.MIN(low, timeperiod=p.exit_channel))
    with np.errstate(invalid="ignore"):
        enter = close > previous(resistance) * (1.0 + p.margin_pct / 100.0)
        enter[: _warmup(p)] = False
        leave = (close < previous(support)) | (close < channel_low)
        return latch(enter, leave)


def _warmup(p: SupportResistanceBreakoutParams) -> int:
    """A swing is confirmed at 2 x pivot at the earliest, read from the next close; the exit
    channel must be there too, or a position would have no stop."""
    return max(2 * p.pivot + 1, p.exit_channel)


SUPPORT_RESISTANCE_BREAKOUT = Strategy(
    name="support_resistance_breakout",
    description="buy a close through the nearest confirmed resistance; sell below support/channel",
    params=SupportResistanceBreakoutParams,
    signal=support_resistance_breakout_signal,
    warmup=_warmup,
)
