"""Price levels a trader reads off a chart, per candle and without look-ahead.

Two kinds: the volume profile (how much volume traded at each price over a window: its point of
control and value area) and support/resistance from swing pivots. The strategies need a value
for every candle of a long history, so both are computed for all candles at once with strided
numpy views, in chunks of rows so memory stays bounded (100k candles take a fraction of a second).

What each candle may read:
- `rolling_value_area` at t reads candles t-window .. t-1 only: the profile a breakout at t is
  measured against is the one that stood before the candle broke out.
- `support_resistance` at t reads swing pivots confirmed by t. A swing high at i is a candle whose
  high is the highest of i-pivot .. i+pivot, so it is known only at the close of i+pivot; before
  that it does not exist.

A candle's volume is put at its typical price (high + low + close) / 3, one bin per candle, as
charting tools build volume-by-price from candles of the chart's own timeframe.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
import talib
from numpy.lib.stride_tricks import sliding_window_view
from pydantic import BaseModel, ConfigDict

from core.market.series import CandleSeries

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

CHUNK_ROWS = 4096
"""Windows processed at once: bounds the temporary arrays to CHUNK_ROWS x window values."""


class VolumeProfile(BaseModel):
    """Volume per price bin over some candles. `edges` has one more entry than `volume`; the
    point of control is the middle of the busiest bin; the value area is the run of bins around
    it holding the asked share of the volume (low edge of its lowest bin, high edge of its
    highest)."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    edges: tuple[float, ...]
    volume: tuple[float, ...]
    point_of_control: float
    value_area_low: float
    value_area_high: float


class LevelsNow(BaseModel):
    """The levels around the last close, nearest first, for a person or a model to read."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    close: float
    supports: tuple[float, ...]
    resistances: tuple[float, ...]
    point_of_control: float | None
    value_area_low: float | None
    value_area_high: float | None


def _check_profile_args(bins: int, value_area: float) -> None:
    if not 2 <= bins <= 1000:
        raise ValueError(f"bins must be between 2 and 1000, got {bins}")
    if not 0.0 < value_area <= 1.0:
        raise ValueError(f"value_area is a share of volume in (0, 1], got {value_area}")


def _typical_price(series: CandleSeries) -> FloatArray:
    return np.asarray((series.high + series.low + series.close) / 3.0, dtype=np.float64)


def _bin_volume(
    price: FloatArray, volume: FloatArray, low: FloatArray, width: FloatArray, bins: int
) -> FloatArray:
    """Rows of candles (price, volume: rows x candles) into `bins` equal bins from `low`
    (rows x bins). A flat window (width 0) puts everything in the first bin."""
    step = np.where(width > 0, width, 1.0)[:, None]
    index = np.floor((price - low[:, None]) / step).astype(np.int64)
    np.clip(index, 0, bins - 1, out=index)
    rows = price.shape[0]
    flat = (index + bins * np.arange(rows, dtype=np.int64)[:, None]).ravel()
    counts = np.bincount(flat, weights=volume.ravel(), minlength=rows * bins)
    return np.asarray(counts.reshape(rows, bins), dtype=np.float64)


def _value_area_bins(volume: FloatArray, share: float) -> tuple[IntArray, IntArray, IntArray]:
    """The busiest bin of each row and the run of bins around it that first holds `share` of
    the row's volume, grown one bin at a time towards the busier neighbour (upwards on a tie):
    the usual value-area construction, run for all rows at once."""
    rows, bins = volume.shape
    row = np.arange(rows)
    poc = np.argmax(volume, axis=1).astype(np.int64)
    low, high = poc.copy(), poc.copy()
    held = volume[row, poc]
    target = share * volume.sum(axis=1)
    for _ in range(bins - 1):
        short = held < target
        if not short.any():
            break
        below = np.where(low > 0, volume[row, np.maximum(low - 1, 0)], -1.0)
        above = np.where(high < bins - 1, volume[row, np.minimum(high + 1, bins - 1)], -1.0)
        up = short & (above >= below) & (above >= 0)
        down = short & ~up & (below >= 0)
        high += up
        low -= down
        held = held + np.where(up, above, 0.0) + np.where(down, below, 0.0)
    return poc, low, high


def volume_profile(candles: CandleSeries, bins: int = 24, value_area: float = 0.7) -> VolumeProfile:
    """The volume profile of all of `candles`, binned between their lowest low and highest high."""
    _check_profile_args(bins, value_area)
    if len(candles) == 0:
        raise ValueError("a volume profile needs at least one candle")
    if float(candles.volume.sum()) <= 0:
        raise ValueError("these candles traded no volume: a volume profile needs some")
    low = np.array([candles.low.min()])
    width = (np.array([candles.high.max()]) - low) / bins
    volume = _bin_volume(
        _typical_price(candles)[None, :], candles.volume[None, :], low, width, bins
    )
    poc, va_low, va_high = _value_area_bins(volume, value_area)
    lo, w = float(low[0]), float(width[0])
    return VolumeProfile(
        edges=tuple(float(x) for x in lo + w * np.arange(bins + 1)),
        volume=tuple(float(v) for v in volume[0]),
        point_of_control=lo + w * (poc[0] + 0.5),
        value_area_low=lo + w * va_low[0],
        value_area_high=lo + w * (va_high[0] + 1),
    )


def _chunks(rows: int) -> Iterator[slice]:
    for start in range(0, rows, CHUNK_ROWS):
        yield slice(start, min(start + CHUNK_ROWS, rows))


def rolling_value_area(
    series: CandleSeries, window: int, bins: int = 24, value_area: float = 0.7
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(point of control, value area low, value area high) at every candle t, from the profile
    of candles t-window .. t-1 (the current candle excluded). NaN until `window` candles have
    closed, and where those candles traded no volume. At t it equals
    `volume_profile(series.window(t - window, t), bins, value_area)`."""
    _check_profile_args(bins, value_area)
    if window < 2:
        raise ValueError(f"window must be at least 2 candles, got {window}")
    n = len(series)
    poc, val, vah = (np.full(n, np.nan) for _ in range(3))
    rows = n - window
    if rows <= 0:
        return poc, val, vah
    low = np.asarray(talib.MIN(series.low, timeperiod=window)[window - 1 : n - 1])
    high = np.asarray(talib.MAX(series.high, timeperiod=window)[window - 1 : n - 1])
    width = (high - low) / bins
    prices = sliding_window_view(_typical_price(series), window)
    volumes = sliding_window_view(series.volume, window)
    for part in _chunks(rows):
        volume = _bin_volume(prices[part], volumes[part], low[part], width[part], bins)
        bin_poc, bin_low, bin_high = _value_area_bins(volume, value_area)
        lo, w = low[part], width[part]
        traded = volume.sum(axis=1) > 0
        at = np.arange(part.start, part.stop) + window
        poc[at] = np.where(traded, lo + w * (bin_poc + 0.5), np.nan)
        val[at] = np.where(traded, lo + w * bin_low, np.nan)
        vah[at] = np.where(traded, lo + w * (bin_high + 1), np.nan)
    return poc, val, vah


def _check_pivot_args(window: int, pivot: int) -> None:
    if not 1 <= pivot <= 100:
        raise ValueError(f"pivot must be between 1 and 100 candles, got {pivot}")
    if window <= pivot:
        raise ValueError(f"window ({window}) must be longer than pivot ({pivot})")


def swing_points(series: CandleSeries, pivot: int) -> tuple[BoolArray, BoolArray]:
    """(swing high, swing low) flags at the pivot candle i itself: its high is the highest (its
    low the lowest) of candles i-pivot .. i+pivot. The flag at i is known only at i + pivot."""
    n = len(series)
    is_high, is_low = np.zeros(n, dtype=np.bool_), np.zeros(n, dtype=np.bool_)
    span = 2 * pivot + 1
    if n < span:
        return is_high, is_low
    middle = slice(pivot, n - pivot)
    is_high[middle] = series.high[middle] >= sliding_window_view(series.high, span).max(axis=1)
    is_low[middle] = series.low[middle] <= sliding_window_view(series.low, span).min(axis=1)
    return is_high, is_low


def _confirmed_levels(levels: FloatArray, window: int, pivot: int) -> FloatArray:
    """Rows t: the levels at pivots i with t - window <= i <= t - pivot (NaN where none)."""
    padded = np.concatenate([np.full(window, np.nan), levels])
    return np.asarray(sliding_window_view(padded, window - pivot + 1)[: levels.size])


def support_resistance(
    series: CandleSeries, window: int = 100, pivot: int = 5
) -> tuple[FloatArray, FloatArray]:
    """(support, resistance) at every candle t: the highest confirmed swing low below close[t]
    and the lowest confirmed swing high above it, among pivots at t - window .. t - pivot (each
    confirmed `pivot` candles after it formed). NaN where there is none."""
    _check_pivot_args(window, pivot)
    n = len(series)
    is_high, is_low = swing_points(series, pivot)
    highs = _confirmed_levels(np.where(is_high, series.high, np.nan), window, pivot)
    lows = _confirmed_levels(np.where(is_low, series.low, np.nan), window, pivot)
    support, resistance = np.full(n, np.nan), np.full(n, np.nan)
    for part in _chunks(n):
        close = series.close[part, None]
        above = np.where(highs[part] > close, highs[part], np.inf).min(axis=1)
        below = np.where(lows[part] < close, lows[part], -np.inf).max(axis=1)
        resistance[part] = np.where(np.isfinite(above), above, np.nan)
        support[part] = np.where(np.isfinite(below), below, np.nan)
    return support, resistance


def levels_now(
    series: CandleSeries,
    window: int = 100,
    pivot: int = 5,
    bins: int = 24,
    value_area: float = 0.7,
    count: int = 3,
) -> LevelsNow:
    """Up to `count` confirmed supports below and resistances above the last close (nearest
    first, from pivots in the last `window` candles) and the volume profile of those candles,
    the last one included."""
    _check_pivot_args(window, pivot)
    _check_profile_args(bins, value_area)
    if not 1 <= count <= 20:
        raise ValueError(f"count must be between 1 and 20 levels, got {count}")
    n = len(series)
    if n == 0:
        raise ValueError("levels need at least one closed candle")
    close = float(series.close[-1])
    is_high, is_low = swing_points(series, pivot)
    known = slice(max(0, n - 1 - window), max(0, n - pivot))
    highs = np.unique(series.high[known][is_high[known]])
    lows = np.unique(series.low[known][is_low[known]])
    recent = series.window(max(0, n - window), n)
    profile = volume_profile(recent, bins, value_area) if recent.volume.sum() > 0 else None
    return LevelsNow(
        close=close,
        supports=tuple(float(x) for x in lows[lows < close][::-1][:count]),
        resistances=tuple(float(x) for x in highs[highs > close][:count]),
        point_of_control=profile.point_of_control if profile else None,
        value_area_low=profile.value_area_low if profile else None,
        value_area_high=profile.value_area_high if profile else None,
    )
