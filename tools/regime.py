"""Market regime from trend strength and volatility: the analyst's first question."""

from __future__ import annotations

from core.types import Regime

ADX_TRENDING = 20.0
"""ADX above this reads as a trend (Wilder's usual threshold)."""

VOL_SPIKE = 1.8
"""Current volatility above this multiple of its recent median reads as turbulence."""


def classify_regime(
    *, adx: float, ema_fast: float, ema_slow: float, volatility: float, median_volatility: float
) -> Regime:
    if median_volatility > 0 and volatility > VOL_SPIKE * median_volatility:
        return Regime.HIGH_VOLATILITY
    if adx >= ADX_TRENDING:
        return Regime.TREND_UP if ema_fast > ema_slow else Regime.TREND_DOWN
    return Regime.RANGE
