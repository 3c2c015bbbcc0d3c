"""What the decision graph may see of a market: the candles that have closed, and nothing else.

The replay feed hands candles over one at a time; the history only ever holds what it was
given, so a future candle is unreachable from the graph, not merely unused.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from core.market.series import CandleSeries, FloatArray, IntArray
from core.types import Candle, MarketInfo


class MarketHistory:
    """Append-only candle buffer with read-only views of the past."""

    def __init__(self, info: MarketInfo, capacity: int = 1024) -> None:
        self.info = info
        self._n = 0
        self._cap = max(capacity, 16)
        self._ts: IntArray = np.zeros(self._cap, dtype=np.int64)
        self._cols: dict[str, FloatArray] = {
            k: np.zeros(self._cap, dtype=np.float64)
            for k in ("open", "high", "low", "close", "volume")
        }

    def __len__(self) -> int:
        return self._n

    def append(self, candle: Candle) -> None:
        if self._n and candle.ts <= self._ts[self._n - 1]:
            raise ValueError(f"candle at {candle.ts} is not after the last one seen")
        if self._n == self._cap:
            self._grow()
        i = self._n
        self._ts[i] = candle.ts
        self._cols["open"][i] = candle.open
        self._cols["high"][i] = candle.high
        self._cols["low"][i] = candle.low
        self._cols["close"][i] = candle.close
        self._cols["volume"][i] = candle.volume
        self._n += 1

    def _grow(self) -> None:
        self._cap *= 2
        self._ts = np.resize(self._ts, self._cap)
        self._cols = {k: np.resize(v, self._cap) for k, v in self._cols.items()}

    def _view(self, column: FloatArray, last: int | None) -> FloatArray:
        start = 0 if last is None else max(0, self._n - last)
        view = column[start : self._n]
        view.flags.writeable = False
        return view

    def ts(self, last: int | None = None) -> IntArray:
        start = 0 if last is None else max(0, self._n - last)
        view = self._ts[start : self._n]
        view.flags.writeable = False
        return view

    def open(self, last: int | None = None) -> FloatArray:
        return self._view(self._cols["open"], last)

    def high(self, last: int | None = None) -> FloatArray:
        return self._view(self._cols["high"], last)

    def low(self, last: int | None = None) -> FloatArray:
        return self._view(self._cols["low"], last)

    def close(self, last: int | None = None) -> FloatArray:
        return self._view(self._cols["close"], last)

    def volume(self, last: int | None = None) -> FloatArray:
        return self._view(self._cols["volume"], last)

    def last(self) -> Candle:
        if not self._n:
            raise IndexError("no candle has closed yet")
        i = self._n - 1
        # The values were a validated Candle when appended: build it back without validating.
        return Candle.model_construct(
            ts=int(self._ts[i]),
            open=float(self._cols["open"][i]),
            high=float(self._cols["high"][i]),
            low=float(self._cols["low"][i]),
            close=float(self._cols["close"][i]),
            volume=float(self._cols["volume"][i]),
        )

    def series(self) -> CandleSeries:
        """Every candle seen so far as read-only columns (views, not copies)."""
        return CandleSeries(
            ts=self.ts(),
            open=self.open(),
            high=self.high(),
            low=self.low(),
            close=self.close(),
            volume=self.volume(),
        )


def replay(series: CandleSeries) -> Iterator[Candle]:
    """Yield the candles of a series in time order, one at a time."""
    for i in range(len(series)):
        yield series.candle(i)
