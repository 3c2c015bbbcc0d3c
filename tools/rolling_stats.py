"""Rolling statistics of log returns over whole series: realized volatility, the median a
volatility is compared with, and the correlation matrix of several markets.

Every value at candle t reads candles 0..t only (TA-Lib's running sums and pandas' rolling
windows only move forward), so cutting a series after t never changes what was computed up
to t; tests/tools/test_ta.py checks this bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import talib

from core.market.series import FloatArray
from core.types import timeframe_seconds

SECONDS_PER_YEAR = 365 * 86400
"""Crypto trades around the clock, so a year is 365 full days of candles."""


def candles_per_year(timeframe: str) -> float:
    """How many candles of `timeframe` a year holds: the factor whose square root annualizes a
    per-candle volatility."""
    return SECONDS_PER_YEAR / timeframe_seconds(timeframe)


def log_returns(close: FloatArray) -> FloatArray:
    """`log(close[t] / close[t-1])` at t, NaN at 0 (no earlier close)."""
    out = np.full(close.shape, np.nan, dtype=np.float64)
    if close.size > 1:
        logs = np.log(close)
        out[1:] = logs[1:] - logs[:-1]
    return out


def realized_volatility(
    close: FloatArray, window: int, candles_per_year: float | None = None
) -> FloatArray:
    """Population standard deviation (ddof 0, as TA-Lib's STDDEV and the decision cycle's
    features) of the last `window` log returns, per candle, or annualized by the square root of
    `candles_per_year` when given. NaN until `window` returns exist (t < window)."""
    returns = log_returns(np.ascontiguousarray(close, dtype=np.float64))
    if returns.size <= window:
        return np.full(returns.shape, np.nan)
    vol = np.asarray(talib.STDDEV(returns, timeperiod=window, nbdev=1.0), dtype=np.float64)
    return vol if candles_per_year is None else vol * math.sqrt(candles_per_year)


def rolling_median(values: FloatArray, window: int) -> FloatArray:
    """The median of the defined values among the last `window` (fewer while the series is
    young, as the features' median volatility), NaN until one is defined."""
    series = pd.Series(values, dtype=np.float64)
    median = series.rolling(window, min_periods=1).median()
    return np.asarray(median.to_numpy(dtype=np.float64), dtype=np.float64)


def rolling_correlation(closes: Mapping[str, FloatArray] | FloatArray, window: int) -> FloatArray:
    """Pearson correlation matrices of the log returns of k aligned markets over the last
    `window` returns, shape (n, k, k) for n candles.

    `closes` is a mapping symbol -> closes (axes in its key order) or an (n, k) array (axes in
    column order). Entry [t, i, j] reads returns up to t only, so it is NaN while t < window.
    A market whose window is flat (zero variance, as in exchange maintenance) has no defined
    correlation there: its row and column are NaN, diagonal included, where TA-Lib's CORREL
    would say 0.
    """
    matrix = _aligned_closes(closes)
    if isinstance(window, bool) or not isinstance(window, int) or window < 2:
        raise ValueError(f"window must be an integer of at least 2 returns, got {window!r}")
    n, k = matrix.shape
    out = np.full((n, k, k), np.nan, dtype=np.float64)
    if n <= window:
        return out
    returns = [np.ascontiguousarray(log_returns(matrix[:, i])) for i in range(k)]
    flat = np.stack([talib.STDDEV(r, timeperiod=window, nbdev=1.0) == 0.0 for r in returns], 1)
    for i in range(k):
        out[:, i, i] = 1.0
        for j in range(i + 1, k):
            out[:, i, j] = out[:, j, i] = talib.CORREL(returns[i], returns[j], timeperiod=window)
    undefined = flat[:, :, None] | flat[:, None, :]
    undefined[:window] = True
    out[undefined] = np.nan
    return np.clip(out, -1.0, 1.0)


def _aligned_closes(closes: Mapping[str, FloatArray] | FloatArray) -> FloatArray:
    """The closes as an (n, k) float array, after checking they can have log returns."""
    if isinstance(closes, Mapping):
        if not closes:
            raise ValueError("rolling_correlation needs the closes of at least one market")
        columns = [np.asarray(c, dtype=np.float64) for c in closes.values()]
        lengths = {c.shape for c in columns}
        if len(lengths) != 1 or columns[0].ndim != 1:
            raise ValueError(
                f"closes must be 1-D arrays of one length (aligned candles), got shapes {lengths}"
            )
        matrix = np.stack(columns, axis=1)
    else:
        matrix = np.asarray(closes, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] == 0:
            raise ValueError(f"closes must be an (n candles, k markets) array, got {matrix.shape}")
    if not np.all(np.isfinite(matrix) & (matrix > 0)):
        raise ValueError("closes must be finite and positive: fill or drop missing candles first")
    return matrix
