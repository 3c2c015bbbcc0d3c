"""Pairs trading, long leg only: buy the first market when it is cheap against its partner.

Both legs are read as log prices. A rolling ordinary least squares fit of the first on the
partner over the last `window` candles (the current one included) gives the hedge ratio and
intercept known at that close; the spread is the first leg's residual from that fit and its
z-score is the residual over the fit's residual deviation. Long the first leg when z < -entry_z
(it is cheap relative to the partner), flat again once z is back at -exit_z. Spot and long only:
the partner is read, never traded. Each candle's fit uses only the window ending at it, so the
signal stays causal; a hedge ratio fitted on the whole sample would not be.

`cointegration` is the Engle-Granger test over a whole sample, for the tool layer and reports
(is this pair worth trading at all?); the signal never uses it.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import talib
from pydantic import BaseModel, ConfigDict, Field, model_validator

from core.market.series import CandleSeries, FloatArray
from tools.strategies.base import BoolArray, Strategy, StrategyParams, latch

FLAT = 1e-12
"""A residual variance below this (in squared log price) is a perfect fit, not a spread."""

MIN_COINTEGRATION_CANDLES = 30
"""Fewer candles than this and an Engle-Granger test says nothing."""


class PairsParams(StrategyParams):
    window: int = Field(
        default=500, ge=20, le=5000, description="rolling hedge-ratio fit window, candles"
    )
    entry_z: float = Field(
        default=2.0, ge=0.5, le=5.0, description="enter when the spread z falls below -entry_z"
    )
    exit_z: float = Field(
        default=0.0,
        ge=-3.0,
        le=4.5,
        description="exit once the spread z is back at -exit_z or above (below entry_z)",
    )

    @model_validator(mode="after")
    def _exit_above_entry(self) -> Self:
        if self.exit_z >= self.entry_z:
            raise ValueError(
                f"exit_z ({self.exit_z}) must be below entry_z ({self.entry_z}), "
                "so the exit level -exit_z sits above the entry level -entry_z"
            )
        return self


class CointegrationResult(BaseModel):
    """Engle-Granger over the whole sample: log(first) = intercept + hedge_ratio x log(partner)
    + residual, and the unit-root t-statistic of that residual (more negative: more strongly
    mean-reverting). A p-value under 0.05 is the usual bar for "cointegrated"."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    t_stat: float
    p_value: float = Field(ge=0.0, le=1.0)
    hedge_ratio: float
    intercept: float
    critical_values: tuple[float, float, float] = Field(description="at 1%, 5% and 10%")
    candles: int


def _log_prices(candles: CandleSeries, base: float) -> FloatArray:
    """Log prices relative to the first close (a constant, so fits are unchanged, but the
    rolling sums stay small and exact)."""
    return np.asarray(np.log(candles.close) - np.log(base), dtype=np.float64)


def spread_zscore(first: CandleSeries, partner: CandleSeries, window: int) -> FloatArray:
    """z-score of the first leg's residual from the rolling log-price fit on the partner, per
    candle; NaN in warm-up and where the fit is degenerate (a flat partner or a perfect fit)."""
    if len(first) == 0:
        return np.zeros(0)
    x = _log_prices(partner, float(partner.close[0]))
    y = _log_prices(first, float(first.close[0]))
    mean_x, mean_y = talib.SMA(x, timeperiod=window), talib.SMA(y, timeperiod=window)
    var_x = talib.SMA(x * x, timeperiod=window) - mean_x * mean_x
    var_y = talib.SMA(y * y, timeperiod=window) - mean_y * mean_y
    cov = talib.SMA(x * y, timeperiod=window) - mean_x * mean_y
    with np.errstate(invalid="ignore", divide="ignore"):
        beta = np.where(var_x > FLAT, cov / var_x, np.nan)
        residual = y - mean_y - beta * (x - mean_x)
        residual_var = var_y - beta * cov
        return np.asarray(np.where(residual_var > FLAT, residual / np.sqrt(residual_var), np.nan))


def pairs_signal(
    candles: CandleSeries, p: PairsParams, partner: CandleSeries | None = None
) -> BoolArray:
    if partner is None:
        raise ValueError("pairs needs the partner market's candles, aligned with the traded one")
    z = spread_zscore(candles, partner, p.window)
    with np.errstate(invalid="ignore"):
        return latch(z < -p.entry_z, z >= -p.exit_z)


def cointegration(first: CandleSeries, partner: CandleSeries) -> CointegrationResult:
    """Engle-Granger cointegration of the two log-price series (statsmodels' `coint`), with the
    hedge ratio of the same regression. Reads the whole sample: a report, not a signal."""
    # statsmodels takes seconds to import; only this report needs it, never the signal.
    from statsmodels.tsa.stattools import coint

    if len(first) != len(partner):
        raise ValueError(
            f"the two markets have {len(first)} and {len(partner)} candles: align them first"
        )
    if len(first) < MIN_COINTEGRATION_CANDLES:
        raise ValueError(
            f"cointegration needs at least {MIN_COINTEGRATION_CANDLES} candles, got {len(first)}"
        )
    y, x = np.log(first.close), np.log(partner.close)
    t_stat, p_value, critical = coint(y, x, trend="c")
    design = np.column_stack([np.ones_like(x), x])
    intercept, hedge_ratio = np.linalg.lstsq(design, y, rcond=None)[0]
    return CointegrationResult(
        t_stat=float(t_stat),
        p_value=float(p_value),
        hedge_ratio=float(hedge_ratio),
        intercept=float(intercept),
        critical_values=(float(critical[0]), float(critical[1]), float(critical[2])),
        candles=len(first),
    )


PAIRS = Strategy(
    name="pairs",
    description="buy the first market when its log spread to the partner is entry_z below the fit",
    params=PairsParams,
    signal=pairs_signal,
    warmup=lambda p: p.window - 1,
    needs_partner=True,
)
