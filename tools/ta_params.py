"""The typed, bounded parameters of the whole-series indicators in `tools.ta`.

Bounds are TA-Lib's own minimums and a ceiling no sensible request exceeds, so a model or a
person asking for `rsi period 1` or `sma period 10**6` gets a clear refusal instead of
TA-Lib's error code or a column of NaN. The regime defaults are the decision cycle's (see
`tools.features`), so the regime column agrees with the features a cycle sees.
"""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tools.features import MEDIAN_VOL_WINDOWS, VOL_LOOKBACK

MAX_OSCILLATOR_PERIOD = 500
MAX_WINDOW = 5000
"""Moving averages and volatility windows may span days of minute candles."""
MAX_CANDLES_PER_YEAR = 365 * 86400
"""One-second candles: the shortest timeframe an exchange offers."""


class IndicatorParams(BaseModel):
    """Parameters of one indicator: frozen, no unknown keys, no NaN, every field bounded."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class NoParams(IndicatorParams):
    """For indicators with nothing to choose (OBV)."""


class PeriodParams(IndicatorParams):
    period: int = Field(
        default=14, ge=2, le=MAX_OSCILLATOR_PERIOD, description="lookback, in candles"
    )


class MovingAverageParams(IndicatorParams):
    period: int = Field(default=20, ge=2, le=MAX_WINDOW, description="window, in candles")


class AtrParams(IndicatorParams):
    period: int = Field(
        default=14, ge=1, le=MAX_OSCILLATOR_PERIOD, description="Wilder smoothing, in candles"
    )


class RocParams(IndicatorParams):
    period: int = Field(
        default=10, ge=1, le=MAX_OSCILLATOR_PERIOD, description="candles back to compare with"
    )


class MacdParams(IndicatorParams):
    fast: int = Field(default=12, ge=2, le=MAX_OSCILLATOR_PERIOD, description="fast EMA period")
    slow: int = Field(
        default=26, ge=3, le=MAX_OSCILLATOR_PERIOD, description="slow EMA period, above fast"
    )
    signal: int = Field(
        default=9, ge=1, le=MAX_OSCILLATOR_PERIOD, description="EMA period of the signal line"
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.slow <= self.fast:
            raise ValueError(f"slow ({self.slow}) must be greater than fast ({self.fast})")
        return self


class BbandsParams(IndicatorParams):
    period: int = Field(
        default=20, ge=2, le=MAX_OSCILLATOR_PERIOD, description="SMA window, in candles"
    )
    nbdev_up: float = Field(
        default=2.0, ge=0.1, le=10.0, description="standard deviations above the mean"
    )
    nbdev_dn: float = Field(
        default=2.0, ge=0.1, le=10.0, description="standard deviations below the mean"
    )


class StochParams(IndicatorParams):
    fastk_period: int = Field(
        default=5, ge=1, le=MAX_OSCILLATOR_PERIOD, description="high-low range window of %K"
    )
    slowk_period: int = Field(
        default=3, ge=1, le=MAX_OSCILLATOR_PERIOD, description="SMA smoothing %K into slow %K"
    )
    slowd_period: int = Field(
        default=3, ge=1, le=MAX_OSCILLATOR_PERIOD, description="SMA of slow %K giving slow %D"
    )


class RealizedVolatilityParams(IndicatorParams):
    window: int = Field(
        default=VOL_LOOKBACK, ge=2, le=MAX_WINDOW, description="log returns in the window"
    )
    candles_per_year: float | None = Field(
        default=None,
        ge=1.0,
        le=MAX_CANDLES_PER_YEAR,
        description="annualize by its square root (8760 for 1h); none gives per-candle values",
    )


class RegimeParams(IndicatorParams):
    adx_period: int = Field(
        default=14, ge=2, le=MAX_OSCILLATOR_PERIOD, description="ADX period (trend strength)"
    )
    ema_fast: int = Field(
        default=12, ge=2, le=MAX_WINDOW, description="fast EMA period (trend direction)"
    )
    ema_slow: int = Field(default=48, ge=3, le=MAX_WINDOW, description="slow EMA, above fast")
    vol_window: int = Field(
        default=VOL_LOOKBACK, ge=2, le=MAX_WINDOW, description="log returns per volatility"
    )
    median_window: int = Field(
        default=MEDIAN_VOL_WINDOWS,
        ge=1,
        le=MAX_WINDOW,
        description="volatilities whose median a spike is measured against",
    )

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.ema_slow <= self.ema_fast:
            raise ValueError(
                f"ema_slow ({self.ema_slow}) must be greater than ema_fast ({self.ema_fast})"
            )
        return self
