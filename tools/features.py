"""Features at decision time, computed from the closed candles in the history and nothing else.

A history's features are kept up to date incrementally: each history has a `FeatureTracker`
that advances its indicator recurrences over the candles appended since it last looked, so a
cycle costs the same on the 65,000th candle as on the 100th. The tracker reads the history
only up to its last candle, so it sees exactly what the history was given and nothing later.
"""

from __future__ import annotations

import bisect
import math
import weakref
from collections import deque

from core.market.history import MarketHistory
from core.types import Features, timeframe_seconds
from tools.indicators import (
    MIN_BARS,
    WINDOW,
    Adx,
    Atr,
    Bollinger,
    Ema,
    MacdHistogram,
    RollingWindow,
    Rsi,
)
from tools.regime import classify_regime

VOL_LOOKBACK = 48
SECONDS_PER_YEAR = 365 * 86400
RETURN_LOOKBACK = 24
MEDIAN_VOL_WINDOWS = WINDOW - VOL_LOOKBACK
"""Volatility is compared with the median of its values over the last `WINDOW` candles: the
48-return windows that fit in them."""

_trackers: weakref.WeakKeyDictionary[MarketHistory, FeatureTracker] = weakref.WeakKeyDictionary()


def compute_features(history: MarketHistory) -> Features:
    """Indicators, returns, volatility and regime as of the last closed candle."""
    tracker = _trackers.get(history)
    if tracker is None:
        tracker = _trackers[history] = FeatureTracker(history.info.timeframe)
    return tracker.features(history)


class FeatureTracker:
    """The indicator state of one history. It holds no reference to the history (the caller
    passes it in), so the registry above forgets a tracker with its history."""

    def __init__(self, timeframe: str) -> None:
        self._annualize = math.sqrt(SECONDS_PER_YEAR / timeframe_seconds(timeframe))
        self._seen = 0
        self._ema_fast = Ema(12)
        self._ema_slow = Ema(48)
        self._rsi = Rsi(14)
        self._atr = Atr(14)
        self._adx = Adx(14)
        self._macd = MacdHistogram(12, 26, 9)
        self._bands = Bollinger(20, 2.0)
        self._band: tuple[float, float] | None = None
        self._closes: deque[float] = deque(maxlen=RETURN_LOOKBACK + 1)
        self._log_returns = RollingWindow(VOL_LOOKBACK)
        self._volumes = RollingWindow(VOL_LOOKBACK)
        self._vols: deque[float] = deque(maxlen=MEDIAN_VOL_WINDOWS)
        self._vols_sorted: list[float] = []
        self._last_ts = 0
        self._prev_log: float | None = None

    def features(self, history: MarketHistory) -> Features:
        new = len(history) - self._seen
        if new < 0:
            raise ValueError("a feature tracker follows one history, which only ever grows")
        if new:
            self._advance(history, new)
        close = self._closes[-1]
        if self._seen < MIN_BARS:
            return Features.model_construct(ts=self._last_ts, close=close, ready=False)
        return self._ready_features(close)

    def _advance(self, history: MarketHistory, new: int) -> None:
        rows = zip(
            history.high(new).tolist(),
            history.low(new).tolist(),
            history.close(new).tolist(),
            history.volume(new).tolist(),
            strict=True,
        )
        for high, low, close, volume in rows:
            self._step(high, low, close, volume)
        self._last_ts = int(history.ts(1)[0])
        self._seen += new

    def _step(self, high: float, low: float, close: float, volume: float) -> None:
        """One closed candle into every recurrence and window."""
        self._ema_fast.update(close)
        self._ema_slow.update(close)
        self._rsi.update(close)
        self._atr.update(high, low, close)
        self._adx.update(high, low, close)
        self._macd.update(close)
        self._band = self._bands.update(close)
        self._closes.append(close)
        self._volumes.push(volume)
        log_close = math.log(close)
        if self._prev_log is not None:
            self._log_returns.push(log_close - self._prev_log)
            if self._log_returns.full:
                self._push_vol(self._log_returns.std())
        self._prev_log = log_close

    def _push_vol(self, vol: float) -> None:
        """The newest 48-return volatility, into the window its median is taken over."""
        if len(self._vols) == self._vols.maxlen:
            oldest = self._vols[0]
            del self._vols_sorted[bisect.bisect_left(self._vols_sorted, oldest)]
        self._vols.append(vol)
        bisect.insort(self._vols_sorted, vol)

    def _median_vol(self) -> float:
        ranked, n = self._vols_sorted, len(self._vols_sorted)
        middle = n // 2
        return ranked[middle] if n % 2 else (ranked[middle - 1] + ranked[middle]) / 2.0

    def _ready_features(self, close: float) -> Features:
        closes = self._closes
        ema_fast, ema_slow = self._ema_fast.value, self._ema_slow.value
        rsi, atr, adx, macd = self._rsi.value, self._atr.value, self._adx.value, self._macd.value
        assert ema_fast is not None and ema_slow is not None and rsi is not None
        assert atr is not None and adx is not None and macd is not None and self._band
        lower, upper = self._band
        band = upper - lower
        vol = self._vols[-1] * self._annualize
        median_vol = self._median_vol() * self._annualize
        volume_std = self._volumes.std()
        volume_z = (
            (self._volumes.values[-1] - self._volumes.mean()) / volume_std
            if volume_std > 0
            else 0.0
        )
        return Features.model_construct(
            ts=self._last_ts,
            close=close,
            ready=True,
            return_1=close / closes[-2] - 1.0,
            return_24=close / closes[0] - 1.0,
            rsi_14=rsi,
            ema_fast=ema_fast,
            ema_slow=ema_slow,
            atr_14=atr,
            adx_14=adx,
            macd_hist=macd,
            bb_position=(close - lower) / band if band > 0 else 0.5,
            volatility=vol,
            volume_z=volume_z,
            regime=classify_regime(
                adx=adx,
                ema_fast=ema_fast,
                ema_slow=ema_slow,
                volatility=vol,
                median_volatility=median_vol,
            ),
        )
