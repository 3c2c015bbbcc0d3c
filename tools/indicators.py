"""Technical indicators as recurrences, advanced one closed candle at a time.

Each class is TA-Lib's algorithm (the library the field trusts) written as a recurrence with
TA-Lib's seeding and the same order of operations, so after its warm-up it gives TA-Lib's value
over the whole history up to that candle (tests/tools/test_indicators.py checks every candle of
real recordings to 1e-9). A cycle then costs a few arithmetic operations per indicator instead
of TA-Lib over a window of candles, and an indicator can only ever see the candles it was given:
it has no way to look ahead.

`update` takes the newest closed candle and returns the indicator's value, or None while it
warms up (TA-Lib's NaN).
"""

from __future__ import annotations

import math
import operator
from collections import deque

WINDOW = 250
"""Candles of history the windowed statistics (volatility and its median) read."""

MIN_BARS = 60
"""Fewer closed candles than this and the features are not ready (warm-up)."""

TA_EPSILON = 0.00000001
"""TA-Lib's TA_IS_ZERO: a sum this close to zero counts as zero."""


def _is_zero(x: float) -> bool:
    return -TA_EPSILON < x < TA_EPSILON


class Ema:
    """TA_EMA: seeded with the simple mean of the first `period` values (after `skip` values,
    which MACD uses to align its fast average with its slow one), then
    `ema += (x - ema) * 2 / (period + 1)`."""

    def __init__(self, period: int, *, skip: int = 0) -> None:
        self.period = period
        self.k = 2.0 / (period + 1)
        self._skip = skip
        self._seen = 0
        self._sum = 0.0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        value = self.value
        if value is not None:
            value = ((x - value) * self.k) + value
            self.value = value
            return value
        if self._skip:
            self._skip -= 1
            return None
        self._sum += x
        self._seen += 1
        if self._seen == self.period:
            self.value = self._sum / self.period
        return self.value


class Rsi:
    """TA_RSI (classic, not Metastock): Wilder's averages of gains and losses, seeded with
    their simple means over the first `period` changes."""

    def __init__(self, period: int = 14) -> None:
        self.period = period
        self._prev: float | None = None
        self._changes = 0
        self._gain = 0.0
        self._loss = 0.0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        prev, self._prev = self._prev, x
        if prev is None:
            return None
        change = x - prev
        n = self.period
        if self._changes < n:
            if change < 0.0:
                self._loss -= change
            else:
                self._gain += change
            self._changes += 1
            if self._changes < n:
                return None
            self._loss /= n
            self._gain /= n
        else:
            self._loss *= n - 1
            self._gain *= n - 1
            if change < 0.0:
                self._loss -= change
            else:
                self._gain += change
            self._loss /= n
            self._gain /= n
        total = self._gain + self._loss
        self.value = 0.0 if _is_zero(total) else 100.0 * (self._gain / total)
        return self.value


def true_range(high: float, low: float, prev_close: float) -> float:
    """TA-Lib's TRUE_RANGE: the largest of the candle's range and its gaps to the last close."""
    tr = high - low
    up = abs(high - prev_close)
    if up > tr:
        tr = up
    down = abs(low - prev_close)
    if down > tr:
        tr = down
    return tr


class Atr:
    """TA_ATR: the mean of the first `period` true ranges, then Wilder's average."""

    def __init__(self, period: int = 14) -> None:
        self.period = period
        self._prev_close: float | None = None
        self._ranges = 0
        self._sum = 0.0
        self.value: float | None = None

    def update(self, high: float, low: float, close: float) -> float | None:
        prev, self._prev_close = self._prev_close, close
        if prev is None:
            return None
        tr = true_range(high, low, prev)
        n = self.period
        if self.value is not None:
            value = self.value * (n - 1)
            value += tr
            value /= n
            self.value = value
            return value
        self._sum += tr
        self._ranges += 1
        if self._ranges == n:
            self.value = self._sum / n
        return self.value


class Adx:
    """TA_ADX: Wilder's sums of +DM, -DM and true range (plain sums over the first
    `period - 1` candles, then smoothed), DX from them, and the ADX as the mean of the first
    `period` DX values, then Wilder's average of DX."""

    def __init__(self, period: int = 14) -> None:
        self.period = period
        self._prev: tuple[float, float, float] | None = None
        self._steps = 0
        self._plus_dm = 0.0
        self._minus_dm = 0.0
        self._tr = 0.0
        self._sum_dx = 0.0
        self.value: float | None = None

    def update(self, high: float, low: float, close: float) -> float | None:
        prev, self._prev = self._prev, (high, low, close)
        if prev is None:
            return None
        prev_high, prev_low, prev_close = prev
        n = self.period
        self._steps += 1
        smoothing = self._steps >= n
        if smoothing:
            self._minus_dm -= self._minus_dm / n
            self._plus_dm -= self._plus_dm / n
        diff_p = high - prev_high
        diff_m = prev_low - low
        if diff_m > 0 and diff_p < diff_m:
            self._minus_dm += diff_m
        elif diff_p > 0 and diff_p > diff_m:
            self._plus_dm += diff_p
        tr = true_range(high, low, prev_close)
        if not smoothing:
            self._tr += tr
            return None
        self._tr = self._tr - (self._tr / n) + tr
        dx = self._dx()
        if self._steps < 2 * n - 1:
            if dx is not None:
                self._sum_dx += dx
            return None
        if self._steps == 2 * n - 1:
            if dx is not None:
                self._sum_dx += dx
            self.value = self._sum_dx / n
        elif dx is not None:
            assert self.value is not None
            self.value = ((self.value * (n - 1)) + dx) / n
        return self.value

    def _dx(self) -> float | None:
        if _is_zero(self._tr):
            return None
        minus_di = 100.0 * (self._minus_dm / self._tr)
        plus_di = 100.0 * (self._plus_dm / self._tr)
        total = minus_di + plus_di
        if _is_zero(total):
            return None
        return 100.0 * (abs(minus_di - plus_di) / total)


class MacdHistogram:
    """TA_MACD's histogram: MACD line (fast EMA - slow EMA, both starting where the slow one
    is seeded) minus its signal EMA."""

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        fast, slow = min(fast, slow), max(fast, slow)
        self._fast = Ema(fast, skip=slow - fast)
        self._slow = Ema(slow)
        self._signal = Ema(signal)
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        fast, slow = self._fast.update(x), self._slow.update(x)
        if fast is None or slow is None:
            return None
        macd = fast - slow
        signal = self._signal.update(macd)
        if signal is None:
            return None
        self.value = macd - signal
        return self.value


class RollingWindow:
    """The last `size` values, with their mean and population standard deviation (two
    passes over exact sums, so the result does not drift over a long replay)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.values: deque[float] = deque(maxlen=size)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def full(self) -> bool:
        return len(self.values) == self.size

    def push(self, x: float) -> None:
        self.values.append(x)

    def mean(self) -> float:
        return math.fsum(self.values) / len(self.values)

    def std(self) -> float:
        mean = self.mean()
        deviations = [v - mean for v in self.values]
        return math.sqrt(math.fsum(map(operator.mul, deviations, deviations)) / len(deviations))


class Bollinger:
    """TA_BBANDS with a simple mean: the mean of the last `period` closes plus and minus
    `deviations` population standard deviations."""

    def __init__(self, period: int = 20, deviations: float = 2.0) -> None:
        self.window = RollingWindow(period)
        self.deviations = deviations

    def update(self, x: float) -> tuple[float, float] | None:
        """(lower, upper) once `period` closes were seen."""
        window = self.window
        window.push(x)
        if not window.full:
            return None
        mean, std = window.mean(), window.std()
        return mean - self.deviations * std, mean + self.deviations * std
