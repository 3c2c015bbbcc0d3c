"""The market on a higher timeframe, built only from buckets that have fully closed.

The analyst trades the history's timeframe but often wants the 4h or daily picture. Resampling
the closed candles gives it, provided the bucket still forming is left out: its close would be
a price from the middle of the bucket, and its high and low would change later.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from core.errors import UserError
from core.market.history import MarketHistory
from core.market.series import CandleSeries
from core.types import Candle, Regime, timeframe_seconds
from tools.features import compute_features
from tools.indicators import MIN_BARS, WINDOW

HigherTimeframe = Literal[
    "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w"
]
"""The ccxt timeframes up to a week; the caller offers these to the model."""

CCXT_TIMEFRAMES: Final = (
    "1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d", "1w"
)  # fmt: skip
MAX_TIMEFRAME: Final = "1w"

_WEEK_OFFSET_MS: Final = 4 * 86_400_000
"""Exchanges open weekly candles on Monday 00:00 UTC; the epoch fell on a Thursday."""


class TimeframeQuery(BaseModel):
    """What the model asks for: the higher timeframe to look at."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeframe: HigherTimeframe = Field(
        description="above the market's own timeframe and a whole multiple of it"
    )


class TimeframeView(BaseModel):
    """Features of the last closed higher-timeframe bar; indicator fields are None until ready.

    Prices keep 8 significant digits, fractions 6 decimals, RSI and ADX 2 decimals.
    `return_1` and `return_24` are over 1 and 24 bars of this timeframe.
    """

    model_config = ConfigDict(frozen=True)

    timeframe: str
    bars: int
    ready: bool
    bar_open: str | None = None
    close: float | None = None
    regime: Regime = Regime.WARMUP
    rsi_14: float | None = None
    ema_fast: float | None = None
    ema_slow: float | None = None
    adx_14: float | None = None
    macd_hist: float | None = None
    atr_14: float | None = None
    volatility: float | None = None
    return_1: float | None = None
    return_24: float | None = None
    note: str | None = None


def _seconds(timeframe: str) -> int:
    try:
        return timeframe_seconds(timeframe)
    except UserError as exc:
        raise ValueError(str(exc)) from exc


def _bucket_ms(base: str, timeframe: str) -> int:
    """Length of one `timeframe` bar in ms, after checking it can be built from `base` candles."""
    if timeframe not in CCXT_TIMEFRAMES:
        raise ValueError(
            f"unknown timeframe {timeframe!r}: use one of {', '.join(CCXT_TIMEFRAMES)}"
        )
    base_s, target_s = _seconds(base), _seconds(timeframe)
    if target_s <= base_s:
        raise ValueError(f"timeframe {timeframe!r} is not higher than the history's own {base!r}")
    if target_s % base_s:
        raise ValueError(
            f"timeframe {timeframe!r} is not a whole multiple of the history's {base!r}"
        )
    if target_s > _seconds(MAX_TIMEFRAME):
        raise ValueError(f"timeframe {timeframe!r} is longer than {MAX_TIMEFRAME}")
    return target_s * 1000


def resample_closed(history: MarketHistory, timeframe: str, *, limit: int = WINDOW) -> CandleSeries:
    """The last `limit` complete `timeframe` bars, aligned to UTC boundaries like exchanges do.

    A bucket is complete once the time of its end has passed, i.e. the history holds a candle
    that closes at or after it; a bucket the history starts in the middle of is left out too.
    """
    period = _bucket_ms(history.info.timeframe, timeframe)
    offset = _WEEK_OFFSET_MS if timeframe == "1w" else 0
    if not len(history):
        return _empty()
    ts_all = history.ts()
    now = int(ts_all[-1]) + history.info.period_ms
    end = (now - offset) // period * period + offset
    lo = int(np.searchsorted(ts_all, end - limit * period, side="left"))
    hi = int(np.searchsorted(ts_all, end, side="left"))
    if lo == 0 and hi > 0:
        first_start = (int(ts_all[0]) - offset) // period * period + offset
        if int(ts_all[0]) != first_start:
            lo = int(np.searchsorted(ts_all, first_start + period, side="left"))
    if hi <= lo:
        return _empty()
    ts = ts_all[lo:hi]
    buckets = (ts - offset) // period
    starts = np.concatenate(([0], np.flatnonzero(np.diff(buckets)) + 1))
    ends = np.concatenate((starts[1:], [ts.size])) - 1
    return CandleSeries(
        ts=(buckets[starts] * period + offset).astype(np.int64),
        open=history.open()[lo:hi][starts],
        high=np.maximum.reduceat(history.high()[lo:hi], starts),
        low=np.minimum.reduceat(history.low()[lo:hi], starts),
        close=history.close()[lo:hi][ends],
        volume=np.add.reduceat(history.volume()[lo:hi], starts),
    )


def _empty() -> CandleSeries:
    floats = np.zeros(0, dtype=np.float64)
    return CandleSeries(
        ts=np.zeros(0, dtype=np.int64),
        open=floats,
        high=floats,
        low=floats,
        close=floats,
        volume=floats,
    )


def _price(x: float) -> float:
    return float(f"{x:.8g}")


def higher_timeframe_view(history: MarketHistory, timeframe: str) -> TimeframeView:
    """Features of `history` resampled to `timeframe`, as of its last complete bar.

    Raises ValueError for a timeframe that is unknown, not above the history's own, not a whole
    multiple of it, or longer than a week.
    """
    bars = resample_closed(history, timeframe)
    n = len(bars)
    if n == 0:
        return TimeframeView(
            timeframe=timeframe,
            bars=0,
            ready=False,
            note=f"no complete {timeframe} bar in the history yet",
        )
    resampled = MarketHistory(history.info.model_copy(update={"timeframe": timeframe}), n)
    for i in range(n):
        resampled.append(
            Candle(
                ts=int(bars.ts[i]),
                open=float(bars.open[i]),
                high=float(bars.high[i]),
                low=float(bars.low[i]),
                close=float(bars.close[i]),
                volume=float(bars.volume[i]),
            )
        )
    features = compute_features(resampled)
    bar_open = datetime.fromtimestamp(features.ts / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")
    if not features.ready:
        return TimeframeView(
            timeframe=timeframe,
            bars=n,
            ready=False,
            bar_open=bar_open,
            close=_price(features.close),
            note=f"only {n} complete {timeframe} bars; indicators need {MIN_BARS}",
        )
    return TimeframeView(
        timeframe=timeframe,
        bars=n,
        ready=True,
        bar_open=bar_open,
        close=_price(features.close),
        regime=features.regime,
        rsi_14=round(features.rsi_14, 2),
        ema_fast=_price(features.ema_fast),
        ema_slow=_price(features.ema_slow),
        adx_14=round(features.adx_14, 2),
        macd_hist=_price(features.macd_hist),
        atr_14=_price(features.atr_14),
        volatility=round(features.volatility, 6),
        return_1=round(features.return_1, 6),
        return_24=round(features.return_24, 6),
    )
