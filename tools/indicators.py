"""Technical indicators through TA-Lib, the library the field trusts, on the recent window only."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import talib

from core.market.series import FloatArray

WINDOW = 250
"""Candles of history the indicators read: enough for the slowest one (EMA 48) to converge."""

MIN_BARS = 60
"""Fewer closed candles than this and the features are not ready (warm-up)."""


@dataclass(frozen=True)
class IndicatorValues:
    rsi_14: float
    ema_fast: float
    ema_slow: float
    atr_14: float
    adx_14: float
    macd_hist: float
    bb_upper: float
    bb_lower: float


def _last(values: FloatArray) -> float:
    return float(values[-1])


def compute_indicators(
    high: FloatArray, low: FloatArray, close: FloatArray, *, fast: int = 12, slow: int = 48
) -> IndicatorValues:
    """Latest value of each indicator; inputs are the recent window, oldest first."""
    h = np.ascontiguousarray(high, dtype=np.float64)
    lo = np.ascontiguousarray(low, dtype=np.float64)
    c = np.ascontiguousarray(close, dtype=np.float64)
    _, _, macd_hist = talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
    upper, _, lower = talib.BBANDS(c, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
    return IndicatorValues(
        rsi_14=_last(talib.RSI(c, timeperiod=14)),
        ema_fast=_last(talib.EMA(c, timeperiod=fast)),
        ema_slow=_last(talib.EMA(c, timeperiod=slow)),
        atr_14=_last(talib.ATR(h, lo, c, timeperiod=14)),
        adx_14=_last(talib.ADX(h, lo, c, timeperiod=14)),
        macd_hist=_last(macd_hist),
        bb_upper=_last(upper),
        bb_lower=_last(lower),
    )
